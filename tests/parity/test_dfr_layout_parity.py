"""Parity: the DFR layout rules (``ltx_model.modes.dfr``) vs Lightricks' latest ``dfr_layout`` (LTX-2 main @400fd31).

``tests/data/dfr_layout_golden.json`` comes from ``tests/data/golden/dfr_layout_golden.py`` (see its docstring): the
reference ``resolve_canvas`` / ``choose_segment_length`` for every request of ``1 + 8k`` frames (k = 1..40), the
seams and ``tile_ranges`` of temporal rounds 1 and 2 as the reference pipeline walks them, ``stitch_tile_latents``
on labelled tile latents, a few extra tilings (3 and 5 tiles, 16-frame segments, one tile) and seams the
reference refuses.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.modes.dfr import choose_segment_length, resolve_canvas, stitch_tiles, tile_ranges

pytestmark = pytest.mark.parity

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "data" / "dfr_layout_golden.json").read_text())


def check_tiles(case: dict, seams: list[int], frames: int, count: int) -> None:
    tiles = tile_ranges(seams, frames, count)
    rows = [[t.pixel_start, t.pixel_end, t.latent_start, t.latent_stop, list(t.anchors), list(t.slots), t.drop]
            for t in tiles]
    assert rows == case["tiles"]
    latents = [torch.arange(t.latent_frames, dtype=torch.float32).view(1, 1, -1, 1, 1) + 1000 * i
               for i, t in enumerate(tiles)]
    assert stitch_tiles(latents, tiles).flatten().tolist() == case["stitched"]


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=lambda c: f"frames{c['requested']}")
def test_canvas_and_rounds_equal_lightricks_latest(case: dict) -> None:
    canvas = resolve_canvas(case["requested"])
    assert [canvas.frames, canvas.segment, list(canvas.positions)] == case["canvas"]
    assert choose_segment_length(case["requested"] - 1) == case["segment_for_content"]
    carry = list(canvas.positions)
    for step in case["rounds"]:
        seams = [2 * p for p in carry]
        assert seams == step["seams"]
        check_tiles(step, seams, step["frames"], 2 ** step["round"])
        slots = {s for t in tile_ranges(seams, step["frames"], 2 ** step["round"]) for s in t.slots}
        carry = sorted(set(seams) | slots)


@pytest.mark.parametrize("case", GOLDEN["extra"], ids=lambda c: f"seams{c['seams']}-tiles{c['count']}")
def test_extra_tilings_equal_lightricks_latest(case: dict) -> None:
    if "error" in case:  # the reference refuses these seams: so do we (GenerationError is a ValueError)
        with pytest.raises(ValueError):
            tile_ranges(case["seams"], case["frames"], case["count"])
        return
    check_tiles(case, case["seams"], case["frames"], case["count"])
