"""Unit tests for patchify/unpatchify token layouts."""

from __future__ import annotations

import pytest
import torch

from ltx_model.sampling.patchify import patchify_audio, patchify_video, unpatchify_audio, unpatchify_video


def test_patchify_video_layout_frame_major_channel_last() -> None:
    x = torch.randn(2, 5, 3, 4, 6)
    t = patchify_video(x)
    assert t.shape == (2, 3 * 4 * 6, 5)
    f, h, w = 2, 1, 3
    assert torch.equal(t[:, f * 24 + h * 6 + w], x[:, :, f, h, w])


@pytest.mark.parametrize("patch_size", [1, 2])
def test_patchify_video_round_trip(patch_size: int) -> None:
    x = torch.randn(1, 4, 2, 4, 6)
    t = patchify_video(x, patch_size=patch_size)
    assert t.shape == (1, 2 * 4 * 6 // patch_size**2, 4 * patch_size**2)
    y = unpatchify_video(t, frames=2, height=4, width=6, patch_size=patch_size)
    assert torch.equal(x, y)


def test_patchify_audio_layout_and_round_trip() -> None:
    x = torch.randn(2, 8, 7, 16)
    t = patchify_audio(x)
    assert t.shape == (2, 7, 128)
    assert torch.equal(t[:, 3, 5 * 16 + 9], x[:, 5, 3, 9])
    assert torch.equal(unpatchify_audio(t, channels=8, mel_bins=16), x)


def test_patchify_mask_shapes() -> None:
    assert patchify_video(torch.ones(1, 1, 2, 3, 4)).shape == (1, 24, 1)
    assert patchify_audio(torch.ones(1, 1, 9, 1)).shape == (1, 9, 1)


def test_patchify_bad_shapes_raise() -> None:
    with pytest.raises(ValueError):
        unpatchify_video(torch.zeros(1, 10, 4), frames=2, height=2, width=2)
    with pytest.raises(ValueError):
        unpatchify_audio(torch.zeros(1, 3, 100), channels=8, mel_bins=16)
    with pytest.raises(ValueError):
        patchify_video(torch.zeros(1, 4, 1, 3, 4), patch_size=2)
