"""Inpaint / outpaint pipelines (``ltx_model.pipelines.inpaint``) on the LTX-2.3 demo checkpoint and the LTX-2.5 demo
set (random weights, fp32, CPU, 2 steps): outside the softened blend mask the frames are the source's uint8 values
bit for bit, inside they change, the source audio latent is kept (frozen) and bad input fails before sampling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pipeline_models import FAMILIES, load_demo_models, random_contexts

from ltx_model.modes import GenerationError, conform_images
from ltx_model.modes.masks import dilate_mask, outpaint_canvas
from ltx_model.modes.pyramid import soften_mask
from ltx_model.pipelines import PipelineModels, TextContexts
from ltx_model.pipelines.editing import Sampling, SourceClip
from ltx_model.pipelines.inpaint import MaskSettings, inpaint, outpaint, video_to_video
from ltx_model.pipelines.sources import AudioFit, encode_clip_audio

SAMPLING = Sampling(seed=1, sigmas=(1.0, 0.5, 0.0))


@pytest.fixture(scope="module", params=FAMILIES)
def models(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PipelineModels:
    return load_demo_models(tmp_path_factory.mktemp(f"inpaint_{request.param}"), request.param)


@pytest.fixture(scope="module")
def contexts(models: PipelineModels) -> TextContexts:
    return random_contexts(models)


@pytest.fixture(scope="module")
def clip() -> SourceClip:
    yy, xx = np.mgrid[0:64, 0:64]
    frames = np.stack([np.stack([xx * 3, yy * 3, np.full_like(xx, 20 + 9 * i)], -1) % 256 for i in range(9)])
    return SourceClip(torch.from_numpy(frames.astype(np.uint8)), 24.0, torch.rand(2, 18000) * 2 - 1, 48000)


def _source_audio(models: PipelineModels, clip: SourceClip) -> torch.Tensor:
    return encode_clip_audio(models.audio_vae, clip.waveform, 48000, num_frames=9, fps=24.0,
                             fit=AudioFit.ENCODE_THEN_CROP).latent


def test_pipeline_inpaint_keeps_source_outside_mask(models: PipelineModels, contexts: TextContexts,
                                                    clip: SourceClip) -> None:
    mask = torch.zeros(1, 64, 64)
    mask[:, 24:40, 24:40] = 1.0
    settings = MaskSettings(spatial_radius=2, temporal_radius=0, blend_radius=3)
    result = inpaint(models, contexts, clip, mask, settings=settings, sampling=SAMPLING)
    grown = dilate_mask(mask.expand(9, -1, -1), 2)
    outside = soften_mask(grown, 3) == 0
    assert result.frames.dtype == torch.uint8 and result.frames.shape == clip.frames.shape
    assert 0.3 < float(outside.float().mean()) < 0.95
    assert torch.equal(result.frames[outside], clip.frames[outside])
    inside = grown > 0
    assert (result.frames[inside].int() - clip.frames[inside].int()).abs().max() > 10
    assert torch.equal(result.audio_latent, _source_audio(models, clip))


def test_pipeline_outpaint_places_source_on_grid(models: PipelineModels, contexts: TextContexts,
                                                 clip: SourceClip) -> None:
    result = outpaint(models, contexts, clip, width=96, height=64, left=0, right=20, top=0, bottom=0,
                      sampling=SAMPLING)
    canvas = outpaint_canvas(96, 64, source_width=64, source_height=64, left=0, right=20, top=0, bottom=0)
    assert result.frames.shape == (9, 64, 96, 3) and canvas.source_width == 64
    expected = (conform_images(clip.frames.float() / 255.0, height=64, width=64) * 255.0).round().to(torch.uint8)
    outside = soften_mask(canvas.mask(9), 2) == 0
    assert float(outside.float().mean()) > 0.3
    placed = canvas.place(expected)
    assert torch.equal(result.frames[outside], placed[outside])
    assert result.frames[:, :, 64:].float().std() > 1.0
    assert torch.equal(result.audio_latent, _source_audio(models, clip))


@pytest.mark.parametrize(("mask", "words"), [(torch.zeros(1, 32, 64), "64x64"), (torch.zeros(5, 64, 64), "frames")])
def test_pipeline_inpaint_bad_mask_errors_before_sampling(models: PipelineModels, contexts: TextContexts,
                                                          clip: SourceClip, mask: torch.Tensor, words: str) -> None:
    calls: list[object] = []
    handle = models.transformer.register_forward_pre_hook(lambda mod, args: calls.append(1))
    try:
        with pytest.raises(GenerationError, match=words):
            inpaint(models, contexts, clip, mask, sampling=SAMPLING)
        with pytest.raises(GenerationError, match="no source pixels"):
            outpaint(models, contexts, clip, width=64, height=64, left=32, right=32, top=0, bottom=0)
    finally:
        handle.remove()
    assert calls == []


def test_pipeline_v2v_reference_tokens_and_audio_choice(models: PipelineModels, contexts: TextContexts,
                                                        clip: SourceClip) -> None:
    kept = video_to_video(models, contexts, clip, sampling=SAMPLING)
    assert kept.frames.shape == clip.frames.shape
    inverted = SourceClip(255 - clip.frames, clip.fps, clip.waveform, clip.sample_rate)
    other = video_to_video(models, contexts, inverted, sampling=SAMPLING)  # same noise, another reference
    assert (other.video_latent - kept.video_latent).abs().max() > 1e-3
    assert torch.equal(kept.audio_latent, _source_audio(models, clip))
    new = video_to_video(models, contexts, clip, keep_audio=False, sampling=SAMPLING)
    assert new.audio_latent.shape == kept.audio_latent.shape
    assert (new.audio_latent - kept.audio_latent).abs().max() > 0.1
    with pytest.raises(GenerationError, match="1 \\+ 8k"):
        video_to_video(models, contexts, SourceClip(clip.frames[:8], 24.0), sampling=SAMPLING)
