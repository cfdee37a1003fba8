"""Parity: patchify/unpatchify and position grids vs ltx-core 1.0.0 (exact equality)."""

from __future__ import annotations

import pytest
import torch
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape, VideoLatentShape

from ltx_model.sampling.patchify import patchify_audio, patchify_video, unpatchify_audio, unpatchify_video
from ltx_model.sampling.positions import AudioGrid, VideoGrid
from ltx_model.sampling.state import initial_state

pytestmark = pytest.mark.parity


@pytest.mark.parametrize("patch_size", [1, 2])
def test_patchify_video_parity(patch_size: int) -> None:
    ref = VideoLatentPatchifier(patch_size=patch_size)
    x = torch.randn(2, 6, 3, 4, 6)
    tokens = patchify_video(x, patch_size=patch_size)
    assert torch.equal(tokens, ref.patchify(x))
    shape = VideoLatentShape(batch=2, channels=6, frames=3, height=4, width=6)
    assert torch.equal(unpatchify_video(tokens, frames=3, height=4, width=6, patch_size=patch_size),
                       ref.unpatchify(tokens, shape))


def test_patchify_audio_parity() -> None:
    ref = AudioPatchifier(patch_size=1)
    x = torch.randn(2, 8, 11, 16)
    tokens = patchify_audio(x)
    assert torch.equal(tokens, ref.patchify(x))
    shape = AudioLatentShape(batch=2, channels=8, frames=11, mel_bins=16)
    assert torch.equal(unpatchify_audio(tokens, channels=8, mel_bins=16), ref.unpatchify(tokens, shape))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("fps", [24.0, 25.0, 30.0])
def test_patchify_video_state_positions_parity(dtype: torch.dtype, fps: float) -> None:
    shape = VideoLatentShape(batch=2, channels=4, frames=5, height=3, width=4)
    tools = VideoLatentTools(VideoLatentPatchifier(patch_size=1), shape, fps)
    latent = torch.randn(shape.to_torch_shape()).to(dtype)
    ref = tools.create_initial_state(torch.device("cpu"), dtype, latent)
    ours = initial_state(VideoGrid(frames=5, height=3, width=4, fps=fps, channels=4), dtype=dtype, latent=latent)
    for name in ("latent", "denoise_mask", "positions", "clean_latent"):
        r, o = getattr(ref, name), getattr(ours, name)
        assert r.dtype == o.dtype and torch.equal(r, o), name


@pytest.mark.parametrize("frames", [1, 7, 126])
def test_patchify_audio_state_positions_parity(frames: int) -> None:
    shape = AudioLatentShape(batch=1, channels=8, frames=frames, mel_bins=16)
    tools = AudioLatentTools(AudioPatchifier(patch_size=1), shape)
    ref = tools.create_initial_state(torch.device("cpu"), torch.bfloat16)
    ours = initial_state(AudioGrid(frames=frames), dtype=torch.bfloat16)
    for name in ("latent", "denoise_mask", "positions", "clean_latent"):
        r, o = getattr(ref, name), getattr(ours, name)
        assert r.dtype == o.dtype and torch.equal(r, o), name


def test_patchify_audio_shape_from_duration_parity() -> None:
    for duration in (121 / 24.0, 5.0, 0.33, 10.04):
        assert AudioGrid.from_duration(duration).frames == AudioLatentShape.from_duration(1, duration).frames
