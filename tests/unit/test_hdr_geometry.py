"""HDR IC-LoRA geometry and frame rules (``ltx_model.modes.hdr``): the 64-aligned generation size, the reflect-pad
fit of the reference (``resize_and_reflect_pad``) and the high-quality frame doubling (``high_quality_hdr``)."""

from __future__ import annotations

import pytest
import torch

from ltx_model.modes import GenerationError, hdr


def test_hdr_generation_size_rounds_up_to_64():
    assert hdr.hdr_generation_size(96, 64) == (128, 64)
    assert hdr.hdr_generation_size(1920, 1080) == (1920, 1088)
    assert hdr.hdr_generation_size(1, 1) == (64, 64)
    with pytest.raises(GenerationError, match="too small"):
        hdr.hdr_generation_size(0, 64)


def _ramp(height: int, width: int) -> torch.Tensor:
    """``(1, height, width, 3)`` distinct values."""
    return torch.arange(height * width * 3, dtype=torch.float32).reshape(1, height, width, 3)


def test_reflect_pad_resize_pads_without_resizing_when_it_fits():
    frames = _ramp(4, 6)
    out = hdr.reflect_pad_resize(frames, 6, 6)
    assert out.shape == (1, 6, 6, 3)
    torch.testing.assert_close(out[:, :4], frames)  # original pixels untouched
    torch.testing.assert_close(out[:, 4], frames[:, 2])  # reflection (edge row not repeated)
    torch.testing.assert_close(out[:, 5], frames[:, 1])


def test_reflect_pad_resize_replicates_a_pad_as_large_as_the_content():
    frames = _ramp(2, 3)
    out = hdr.reflect_pad_resize(frames, 4, 3)
    for row in (1, 2, 3):
        torch.testing.assert_close(out[:, row], frames[:, 1])


def test_reflect_pad_resize_shrinks_to_fit_then_pads():
    frames = _ramp(8, 12)
    out = hdr.reflect_pad_resize(frames, 4, 8)  # scale min(4/8, 8/12) = 0.5 -> 4x6, then 2 columns reflected
    shrunk = torch.nn.functional.interpolate(frames.permute(0, 3, 1, 2), size=(4, 6), mode="bilinear",
                                             align_corners=False).permute(0, 2, 3, 1)
    assert out.shape == (1, 4, 8, 3)
    torch.testing.assert_close(out[:, :, :6], shrunk)
    torch.testing.assert_close(out[:, :, 6], shrunk[:, :, 4])
    torch.testing.assert_close(out[:, :, 7], shrunk[:, :, 3])


def test_high_quality_frames_double_then_halve():
    frames = torch.arange(12, dtype=torch.float32).reshape(12, 1, 1, 1)
    assert hdr.hq_generation_frames(9) == 17 and hdr.hq_generation_frames(1) == 1
    doubled = hdr.hq_reference(frames, 9)
    assert doubled.flatten().tolist() == [i // 2 for i in range(17)]  # the first 9 frames, each twice, 2N - 1 long
    assert hdr.hq_keep(doubled).flatten().tolist() == list(range(9))


def test_hdr_plan_and_stage_references():
    plan = hdr.plan_hdr(96, 64, 9, high_quality=True)
    assert (plan.gen_width, plan.gen_height, plan.gen_frames) == (128, 64, 17)
    frames = torch.rand(12, 64, 96, 3)
    first, second = (hdr.stage_reference_frames(frames, plan, 1, stage) for stage in (1, 2))
    assert first.shape == (17, 32, 64, 3) and second.shape == (17, 64, 128, 3)
    torch.testing.assert_close(second[1, :, :96], frames[0])  # frame 0 twice, then padded on the right
    torch.testing.assert_close(second[2, :, :96], frames[1])
    assert hdr.stage_reference_frames(frames, hdr.plan_hdr(96, 64, 9), 1, 2).shape == (9, 64, 128, 3)
    decoded = torch.rand(17, 64, 128, 3)
    torch.testing.assert_close(hdr.crop_output(decoded, plan), decoded[::2, :64, :96])
    with pytest.raises(GenerationError, match="multiples of 32"):
        hdr.stage_reference_frames(frames, plan, 2, 1)  # 64x32 / 2
    with pytest.raises(GenerationError, match="1 \\+ 8k|frames"):
        hdr.plan_hdr(96, 64, 10)
