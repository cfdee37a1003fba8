"""Parity: conditioning items vs ltx-core 1.0.0 / ltx-pipelines 1.0.0 (exact equality, fp32 and bf16).

Both sides start from the same initial state; the reference applies its items with ``VideoLatentTools`` /
``AudioLatentTools``, ours with ``item.apply_to(state)``. Compared: latent, clean latent, denoise mask,
positions (values and dtype) and attention mask.
"""

from __future__ import annotations

import pytest
import torch
from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
from ltx_core.conditioning import (
    ConditioningItemAttentionStrengthWrapper,
    VideoConditionByKeyframeIndex,
    VideoConditionByLatentIndex,
    VideoConditionByReferenceLatent,
)
from ltx_core.model.transformer.transformer_args import TransformerArgsPreprocessor
from ltx_core.tools import AudioLatentTools, VideoLatentTools
from ltx_core.types import AudioLatentShape, VideoLatentShape
from ltx_pipelines.ic_lora import ICLoraPipeline
from ltx_pipelines.retake import TemporalRegionMask as RefRegion

from ltx_model.conditioning import (
    ImageAtLatentIndex,
    KeyframeAtFrame,
    ReferenceVideo,
    TemporalRegionMask,
    WithAttentionStrength,
    attention_bias,
    clear_conditioning,
    pixel_mask_to_latent,
)
from ltx_model.sampling.positions import AudioGrid, VideoGrid
from ltx_model.sampling.state import initial_state

pytestmark = pytest.mark.parity

FPS = 24.0
SHAPE = VideoLatentShape(batch=1, channels=4, frames=4, height=3, width=4)
GRID = VideoGrid(frames=4, height=3, width=4, fps=FPS, channels=4)


def _tools() -> VideoLatentTools:
    return VideoLatentTools(VideoLatentPatchifier(patch_size=1), SHAPE, FPS)


def _assert_same(ref, ours) -> None:  # noqa: ANN001
    for name in ("latent", "clean_latent", "denoise_mask", "positions"):
        r, o = getattr(ref, name), getattr(ours, name)
        assert r.dtype == o.dtype and r.shape == o.shape and torch.equal(r, o), name
    if ref.attention_mask is None:
        assert ours.attention_mask is None
    else:
        assert torch.equal(ref.attention_mask, ours.attention_mask)


def _pair(dtype: torch.dtype, ref_items: list, our_items: list) -> None:
    latent = torch.randn(SHAPE.to_torch_shape(), generator=torch.Generator().manual_seed(1)).to(dtype)
    tools = _tools()
    ref = tools.create_initial_state(torch.device("cpu"), dtype, latent)
    ours = initial_state(GRID, dtype=dtype, latent=latent)
    for item in ref_items:
        ref = item.apply_to(ref, tools)
    for item in our_items:
        ours = item.apply_to(ours)
    _assert_same(ref, ours)
    _assert_same(tools.clear_conditioning(ref), clear_conditioning(ours))


def _lat(*shape: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed)).to(dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_conditioning_image_and_keyframes_parity(dtype: torch.dtype) -> None:
    img, key, key0 = _lat(1, 4, 1, 3, 4, dtype=dtype, seed=2), _lat(1, 4, 1, 3, 4, dtype=dtype, seed=3), \
        _lat(1, 4, 1, 3, 4, dtype=dtype, seed=4)
    ref = [VideoConditionByLatentIndex(img, 0.9, 0), VideoConditionByLatentIndex(img, 0.6, 2),
           VideoConditionByKeyframeIndex(key, 17, 0.7), VideoConditionByKeyframeIndex(key0, 0, 1.0)]
    ours = [ImageAtLatentIndex(img, 0.9, 0), ImageAtLatentIndex(img, 0.6, 2),
            KeyframeAtFrame(key, 17, 0.7), KeyframeAtFrame(key0, 0, 1.0)]
    _pair(dtype, ref, ours)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_conditioning_reference_with_attention_strength_parity(dtype: torch.dtype) -> None:
    ref_lat = _lat(1, 4, 4, 2, 2, dtype=dtype, seed=5)
    key = _lat(1, 4, 1, 3, 4, dtype=dtype, seed=6)
    weights = torch.rand(1, 16, generator=torch.Generator().manual_seed(7))
    ref = [ConditioningItemAttentionStrengthWrapper(VideoConditionByReferenceLatent(ref_lat, 2, 1.0), 0.4),
           VideoConditionByKeyframeIndex(key, 8, 0.5),
           ConditioningItemAttentionStrengthWrapper(VideoConditionByReferenceLatent(ref_lat, 1, 0.8), weights)]
    ours = [WithAttentionStrength(ReferenceVideo(ref_lat, 2, 1.0), 0.4), KeyframeAtFrame(key, 8, 0.5),
            WithAttentionStrength(ReferenceVideo(ref_lat, 1, 0.8), weights)]
    _pair(dtype, ref, ours)


@pytest.mark.parametrize(("start", "end"), [(0.0, 0.2), (0.3, 0.7), (0.5, 10.0)])
def test_conditioning_temporal_region_parity(start: float, end: float) -> None:
    tools = _tools()
    ref = RefRegion(start, end, FPS).apply_to(tools.create_initial_state(torch.device("cpu"), torch.bfloat16), tools)
    ours = TemporalRegionMask(start, end).apply_to(initial_state(GRID, dtype=torch.bfloat16))
    assert torch.equal(ref.denoise_mask, ours.denoise_mask)
    a_shape = AudioLatentShape(batch=1, channels=8, frames=20, mel_bins=16)
    a_tools = AudioLatentTools(AudioPatchifier(patch_size=1), a_shape)
    ref_a = RefRegion(start, end, FPS).apply_to(a_tools.create_initial_state(torch.device("cpu"), torch.float32),
                                                a_tools)
    ours_a = TemporalRegionMask(start, end).apply_to(initial_state(AudioGrid(frames=20)))
    assert torch.equal(ref_a.denoise_mask, ours_a.denoise_mask)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_conditioning_attention_bias_parity(dtype: torch.dtype) -> None:
    mask = torch.rand(2, 6, 6, generator=torch.Generator().manual_seed(8))
    mask[:, 0, 1] = 0.0
    mask[:, 2, 3] = 1e-45
    ref = TransformerArgsPreprocessor._prepare_self_attention_mask(None, mask, dtype)
    assert torch.equal(attention_bias(mask, dtype), ref)


def test_conditioning_pixel_mask_parity() -> None:
    mask = torch.rand(1, 1, 25, 96, 128, generator=torch.Generator().manual_seed(9))
    ref = ICLoraPipeline._downsample_mask_to_latent(mask, SHAPE)
    torch.testing.assert_close(pixel_mask_to_latent(mask, frames=4, height=3, width=4), ref, atol=0, rtol=0)
