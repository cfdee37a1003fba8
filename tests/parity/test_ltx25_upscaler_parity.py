"""LTX-2.5 spatial and temporal x2 latent upscaler files against ltx-core 1.0.0 (test-only oracle; fp32, relative
L2 <= 1e-5).

The 2.5 upscaler parts (``latent_upscale_models/ltx-2.5-latent-{spatial,temporal}-upscaler-x2-*.safetensors``) keep
the ``LatentUpsampler`` architecture: flat ``config``, keys without prefix. Ours is loaded from the tiny 2.5 demo
files (``ltx_model.demo.ltx25.write_demo_ltx25_upscaler``) through the real loader (``load_component``); ltx-core
1.0.0's ``LatentUpsampler`` is built by its configurator from the same file's ``config`` and strictly loaded with the
same file's tensors, so the key layout is checked on both sides.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ltx25_text_cases import rel_l2
from ltx_core.model.upsampler import LatentUpsamplerConfigurator

from ltx_model.demo.ltx25 import write_demo_ltx25_upscaler
from ltx_model.loading import Family, load_component, read_header
from ltx_model.loading.detect import FilePart, detect
from ltx_model.loading.safetensors_io import SafetensorsReader

pytestmark = pytest.mark.parity

TOL = 1e-5


def _reference(path: Path) -> torch.nn.Module:
    """ltx-core 1.0.0's upsampler from the file's flat config, strictly loaded with every tensor of the file."""
    header = read_header(path)
    model = LatentUpsamplerConfigurator.from_config(header.config()).eval()
    with SafetensorsReader(header) as reader:
        model.load_state_dict({key: reader.read(key).float() for key in header.tensors}, strict=True)
    return model.float()


@pytest.mark.parametrize("temporal", [False, True], ids=["spatial_x2", "temporal_x2"])
def test_ltx25_upscaler_parity(tmp_path: Path, temporal: bool) -> None:
    name = f"ltx-2.5-latent-{'temporal' if temporal else 'spatial'}-upscaler-x2-demo.safetensors"
    path = write_demo_ltx25_upscaler(tmp_path / name, temporal=temporal, seed=4)
    info = detect(read_header(path))
    assert (info.family, info.part) == (Family.LTX25, FilePart.UPSAMPLER)
    ours = load_component(path, "upsampler", dtype=torch.float32).eval()
    latent = torch.randn(1, 128, 3, 4, 5, generator=torch.Generator().manual_seed(2))  # (B, C, F, H, W)
    with torch.no_grad():
        expected, got = _reference(path)(latent), ours(latent)
    assert got.shape == expected.shape == ((1, 128, 5, 4, 5) if temporal else (1, 128, 3, 8, 10))
    assert rel_l2(got, expected) <= TOL
