"""Parity: our HDR curves and primaries (``ltx_model.modes.hdr``) vs Lightricks' latest (LTX-2 main @400fd31).

``tests/data/hdr_colour_golden.safetensors`` comes from ``tests/data/golden/hdr_colour_golden.py`` (see its
docstring): ``ltx_core.hdr.HDRTransfer`` (LogC3, ACEScct: compress, decompress, to_working_space, to_linear) and
``ltx_core.color.primaries`` (the Rec.709 <-> ACEScg matrices, EXR chromaticities) on seeded inputs. The reference
works channel-first ``(1, 3, F, H, W)``; ours channel-last, so the test permutes.

``tests/data/hdr_geometry_golden.safetensors`` comes from ``tests/data/golden/hdr_geometry_golden.py``: the
pipeline's sizing (``align_resolution`` with ``REFLECT_PAD`` / 64) and ``resize_and_reflect_pad`` (shrink to fit,
reflection or replication padding) on seeded frames, pinned against ``hdr_generation_size`` and
``reflect_pad_resize``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from ltx_model.modes import hdr

pytestmark = pytest.mark.parity

GOLDEN_PATH = Path(__file__).resolve().parents[1] / "data" / "hdr_colour_golden.safetensors"
GOLDEN = load_file(str(GOLDEN_PATH))
GEOMETRY_PATH = GOLDEN_PATH.with_name("hdr_geometry_golden.safetensors")
GEOMETRY = load_file(str(GEOMETRY_PATH))
PRIMARIES = {"709": hdr.REC709, "ap1": hdr.ACESCG}


def last(x: torch.Tensor) -> torch.Tensor:
    """``(1, 3, F, H, W)`` -> ``(1, F, H, W, 3)``."""
    return x.permute(0, 2, 3, 4, 1)


def test_hdr_parity_golden_is_from_the_pinned_commit():
    for path in (GOLDEN_PATH, GEOMETRY_PATH):
        with safe_open(str(path), framework="pt") as f:
            assert f.metadata()["commit"] == "400fd31"


@pytest.mark.parametrize("name", ["logc3", "acescct"])
def test_hdr_parity_curves(name):
    curve = hdr.find_transfer(name)
    torch.testing.assert_close(curve.encode(GOLDEN["linear"]), GOLDEN[f"{name}.compress"], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(curve.decode(GOLDEN["codes"]), GOLDEN[f"{name}.decompress"], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["logc3", "acescct"])
@pytest.mark.parametrize("tag", ["709", "ap1"])
def test_hdr_parity_working_space_and_linear(name, tag):
    curve = hdr.find_transfer(name)
    ours = hdr.to_working(last(GOLDEN["linear"]), curve, PRIMARIES[tag])
    torch.testing.assert_close(ours, last(GOLDEN[f"{name}.to_working_{tag}"]), rtol=1e-5, atol=1e-5)
    linear = hdr.to_linear(last(GOLDEN["codes"]), curve, PRIMARIES[tag])
    torch.testing.assert_close(linear, last(GOLDEN[f"{name}.to_linear_{tag}"]), rtol=1e-5, atol=1e-5)


def test_hdr_parity_primaries_and_chromaticities():
    torch.testing.assert_close(hdr.ACESCG_TO_REC709.float(), GOLDEN["acescg_to_srgb"], rtol=0, atol=1e-7)
    torch.testing.assert_close(hdr.REC709_TO_ACESCG.float(), GOLDEN["srgb_to_acescg"], rtol=0, atol=1e-6)
    for key in (hdr.REC709, hdr.ACESCG):
        assert hdr.CHROMATICITIES[key] == tuple(GOLDEN[f"chromaticities.{key}"].tolist())


def test_hdr_parity_generation_size():
    rows = GEOMETRY["align"].tolist()
    assert len(rows) >= 5
    for width, height, gen_w, gen_h, crop_w, crop_h in rows:
        assert hdr.hdr_generation_size(width, height) == (gen_w, gen_h)
        assert (crop_w, crop_h) == (width, height)  # cropped back to the requested size (ours: always)


def test_hdr_parity_reflect_pad_resize():
    keys = [k for k in GEOMETRY if k.startswith("pad.")]
    assert len(keys) == 6
    for key in keys:
        _, name, size = key.split(".")
        height, width = (int(v) for v in size.split("x"))
        ours = hdr.reflect_pad_resize(GEOMETRY[f"frames.{name}"], height, width)
        torch.testing.assert_close(ours, GEOMETRY[key], rtol=1e-5, atol=1e-4)
