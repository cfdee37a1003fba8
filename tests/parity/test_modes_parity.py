"""Mode parity vs ltx-pipelines 1.0.0 / ltx-core 1.0.0 on the LTX-2.3 demo checkpoint (fp32, CPU, same seed).

Compared exactly (or at the encoder's fp32 tolerance): the conditioning state each reference pipeline builds before
denoising — latent, clean latent, denoise mask, positions, attention mask — after its noise draws (video noise, then
audio noise, one generator):

* keyframes: ``image_conditionings_by_adding_guiding_latent`` (every image an appended keyframe) + noise;
* A2V: ``vae_encode_audio`` + crop, ``denoise_video_only``'s frozen audio state (noise scale 0, mask 0), with an
  I2V first frame on the video;
* retake: ``_encode_audio_for_retake`` + ``retake.TemporalRegionMask`` on the encoded video and audio, noise 1;
* IC-LoRA: ``VideoConditionByReferenceLatent`` (downscale 2) in ``ConditioningItemAttentionStrengthWrapper`` with a
  downsampled pixel mask (``ICLoraPipeline._downsample_mask_to_latent``).

Denoising itself is not compared with 1.0.0: these states mix per-token sigmas (and A2V freezes a stream), where
ltx-core 1.0.0 and HEAD (which our transformer and frozen-sigma rule follow) differ (ltx2-model.md §2.7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.conditioning import ConditioningItemAttentionStrengthWrapper, VideoConditionByReferenceLatent
from ltx_core.model.audio_vae import encode_audio as ref_encode_audio
from ltx_core.types import Audio, VideoPixelShape
from ltx_pipelines.ic_lora import ICLoraPipeline
from ltx_pipelines.retake import TemporalRegionMask as RefRegion
from ltx_pipelines.retake import _encode_audio_for_retake
from ltx_pipelines.utils.args import ImageConditioningInput
from ltx_pipelines.utils.helpers import (
    combined_image_conditionings,
    image_conditionings_by_adding_guiding_latent,
    noise_audio_state,
    noise_video_state,
)
from ltx_pipelines.utils.media_io import normalize_latent
from ltx_pipelines.utils.media_io import resize_and_center_crop as ref_resize
from ltx_pipelines.utils.model_ledger import ModelLedger
from ltx_pipelines.utils.types import PipelineComponents
from PIL import Image

from ltx_model.conditioning import FrozenAudio, TemporalRegionMask
from ltx_model.demo import DemoFamily, write_demo_checkpoint
from ltx_model.pipelines import (
    AudioFit,
    GenerationRequest,
    ICReference,
    ImageCondition,
    PipelineModels,
    StreamSpec,
    audio_grid,
    encode_clip_audio,
    encode_frames,
    image_conditionings,
    keyframe_conditionings,
    load_pipeline_models,
    reference_conditionings,
    video_grid,
)
from ltx_model.pipelines.streams import stream_state
from ltx_model.sampling import LatentState

pytestmark = pytest.mark.parity
ENCODER_ATOL = 1e-5  # fp32 VAE encoders on both sides
CPU, F32 = torch.device("cpu"), torch.float32
HEIGHT, WIDTH, FRAMES, FPS, SEED = 64, 96, 17, 24.0, 5
SHAPE = VideoPixelShape(batch=1, frames=FRAMES, width=WIDTH, height=HEIGHT, fps=FPS)
REQUEST = GenerationRequest(height=HEIGHT, width=WIDTH, num_frames=FRAMES, fps=FPS, seed=SEED)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[PipelineModels, ModelLedger]:
    path = write_demo_checkpoint(tmp_path_factory.mktemp("mp") / "ltx-2.3-demo.safetensors", DemoFamily.LTX23)
    return load_pipeline_models(path, dtype=F32, with_text=False), ModelLedger(F32, CPU, checkpoint_path=str(path))


def _ours(
    models: PipelineModels, video: StreamSpec, audio: StreamSpec, request: GenerationRequest = REQUEST
) -> tuple[LatentState, LatentState]:
    gen = torch.Generator().manual_seed(SEED)
    v = stream_state(video_grid(request), video, gen, dtype=F32, device=CPU)
    return v, stream_state(audio_grid(request, models.audio_vae.config), audio, gen, dtype=F32, device=CPU)


def _reference(video_items: list, audio_items: list, shape: VideoPixelShape = SHAPE, **kw: object) -> tuple:
    noiser = GaussianNoiser(torch.Generator().manual_seed(SEED))
    comp = PipelineComponents(F32, CPU)
    with torch.no_grad():
        v, _ = noise_video_state(shape, noiser, video_items, comp, F32, CPU, initial_latent=kw.get("video_latent"))
        a, _ = noise_audio_state(shape, noiser, audio_items, comp, F32, CPU, noise_scale=kw.get("audio_scale", 1.0),
                                 initial_latent=kw.get("audio_latent"))
    return v, a


def _same_state(ours: LatentState, ref: object, *, atol: float = ENCODER_ATOL) -> None:
    torch.testing.assert_close(ours.latent, ref.latent, atol=atol, rtol=0)
    torch.testing.assert_close(ours.clean_latent, ref.clean_latent, atol=atol, rtol=0)
    torch.testing.assert_close(ours.denoise_mask, ref.denoise_mask.float(), atol=0, rtol=0)
    torch.testing.assert_close(ours.positions, ref.positions.to(ours.positions.dtype), atol=0, rtol=0)
    if ref.attention_mask is None:
        assert ours.attention_mask is None
    else:
        torch.testing.assert_close(ours.attention_mask, ref.attention_mask, atol=0, rtol=0)


def _image(tmp_path: Path, seed: int) -> tuple[np.ndarray, str]:
    yy, xx = np.mgrid[0:50, 0:70]
    image = np.stack([xx * 3 + seed, yy * 5, (xx + yy) * 2], -1).clip(0, 255).astype(np.uint8)
    path = tmp_path / f"img{seed}.png"
    Image.fromarray(image).save(path)
    return image, str(path)


def _clip_frames(count: int, height: int, width: int) -> torch.Tensor:
    yy, xx = np.mgrid[0:height, 0:width]
    return torch.from_numpy(np.stack([np.stack([xx * 3 + 9 * i, yy * 4, (xx + yy + i) * 2], -1) % 256
                                      for i in range(count)]).astype(np.uint8))


def _ref_pixels(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """``load_video_conditioning`` without the file: per-frame resize + crop, then ``normalize_latent``."""
    return torch.cat([normalize_latent(ref_resize(f.float(), height, width), CPU, F32) for f in frames], dim=2)


def test_modes_keyframes_state_matches_ltx_pipelines(demo: tuple, tmp_path: Path) -> None:
    models, ledger = demo
    (a, pa), (b, pb) = _image(tmp_path, 0), _image(tmp_path, 1)
    images = (ImageCondition(a, 0, 1.0), ImageCondition(b, 16, 0.6))
    items = keyframe_conditionings(images, models.video_vae, height=HEIGHT, width=WIDTH)
    video, audio = _ours(models, StreamSpec(tuple(items)), StreamSpec())
    with torch.no_grad():
        ref_items = image_conditionings_by_adding_guiding_latent(
            [ImageConditioningInput(pa, 0, 1.0, 33), ImageConditioningInput(pb, 16, 0.6, 33)], HEIGHT, WIDTH,
            ledger.video_encoder(), F32, CPU,
        )
    ref_video, ref_audio = _reference(ref_items, [])
    _same_state(video, ref_video)
    _same_state(audio, ref_audio, atol=0)
    assert video.num_tokens == 3 * 6 + 2 * 6


def test_modes_a2v_frozen_audio_state_matches_ltx_pipelines(demo: tuple, tmp_path: Path) -> None:
    models, ledger = demo
    image, path = _image(tmp_path, 2)
    rate = 44100
    waveform = torch.sin(torch.arange(rate) / rate * 2 * torch.pi * 440.0)[None].repeat(2, 1) * 0.5
    clip = encode_clip_audio(models.audio_vae, waveform, rate, num_frames=FRAMES, fps=FPS)
    items = image_conditionings((ImageCondition(image, 0, 0.9),), models.video_vae, height=HEIGHT, width=WIDTH)
    video, audio = _ours(models, StreamSpec(tuple(items)), StreamSpec((FrozenAudio(clip.latent),), frozen=True))
    with torch.no_grad():
        trimmed = Audio(waveform=waveform[None, :, : clip.waveform.shape[1]], sampling_rate=rate)
        ref_latent = ref_encode_audio(trimmed, ledger.audio_encoder())[:, :, : clip.latent.shape[2]]
        ref_items = combined_image_conditionings([ImageConditioningInput(path, 0, 0.9, 33)], HEIGHT, WIDTH,
                                                 ledger.video_encoder(), F32, CPU)
    torch.testing.assert_close(clip.latent, ref_latent, atol=ENCODER_ATOL, rtol=0)
    ref_video, ref_audio = _reference(ref_items, [], audio_latent=ref_latent, audio_scale=0.0)
    ref_audio = ref_audio.__class__(**{**ref_audio.__dict__, "denoise_mask": torch.zeros_like(ref_audio.denoise_mask)})
    _same_state(video, ref_video)
    _same_state(audio, ref_audio)
    assert audio.frozen and torch.equal(clip.waveform, waveform[:, : round(FRAMES / FPS * rate)])


def test_modes_retake_state_matches_ltx_pipelines(demo: tuple) -> None:
    models, ledger = demo
    frames = _clip_frames(FRAMES, HEIGHT, WIDTH)
    waveform, rate = torch.rand(2, 40000, generator=torch.Generator().manual_seed(1)) * 1.6 - 0.8, 48000
    video_latent = encode_frames(models.video_vae, frames, height=HEIGHT, width=WIDTH)
    clip = encode_clip_audio(
        models.audio_vae, waveform, rate, num_frames=FRAMES, fps=FPS, fit=AudioFit.ENCODE_THEN_CROP
    )
    region = (TemporalRegionMask(0.25, 0.5),)
    video, audio = _ours(models, StreamSpec(region, video_latent), StreamSpec(region, clip.latent))
    with torch.no_grad():
        ref_video_latent = ledger.video_encoder()(_ref_pixels(frames, HEIGHT, WIDTH))
        ref_audio_latent = _encode_audio_for_retake(ledger.audio_encoder(), waveform, rate, SHAPE, F32)
    torch.testing.assert_close(video_latent, ref_video_latent, atol=ENCODER_ATOL, rtol=0)
    torch.testing.assert_close(clip.latent, ref_audio_latent, atol=ENCODER_ATOL, rtol=0)
    ref_region = [RefRegion(0.25, 0.5, FPS)]
    ref_video, ref_audio = _reference(ref_region, ref_region, video_latent=ref_video_latent,
                                      audio_latent=ref_audio_latent)
    _same_state(video, ref_video)
    _same_state(audio, ref_audio)
    assert 0 < video.denoise_mask.sum() < video.num_tokens and 0 < audio.denoise_mask.sum() < audio.num_tokens


def test_modes_ic_lora_reference_state_matches_ltx_pipelines(demo: tuple) -> None:
    models, ledger = demo
    frames = _clip_frames(FRAMES, 40, 60)  # another size: resized (cover + crop) to the half-size grid
    request = GenerationRequest(height=HEIGHT, width=128, num_frames=FRAMES, fps=FPS, seed=SEED)
    mask = torch.rand(1, 1, FRAMES, HEIGHT // 2, 64, generator=torch.Generator().manual_seed(3))
    reference = ICReference(frames, strength=0.8, attention_strength=0.6, attention_mask=mask)
    items, notes = reference_conditionings(models.video_vae, reference, height=HEIGHT, width=128, num_frames=FRAMES,
                                           downscale_factor=2)
    assert notes == ("reference video 40x60 resized to 32x64",)
    video, _ = _ours(models, StreamSpec(tuple(items)), StreamSpec(), request)
    with torch.no_grad():
        latent = ledger.video_encoder()(_ref_pixels(frames, HEIGHT // 2, 64))
    weights = ICLoraPipeline._downsample_mask_to_latent(mask, _latent_shape(latent)) * 0.6
    ref_item = ConditioningItemAttentionStrengthWrapper(
        VideoConditionByReferenceLatent(latent=latent, downscale_factor=2, strength=0.8), attention_mask=weights
    )
    shape = VideoPixelShape(batch=1, frames=FRAMES, width=128, height=HEIGHT, fps=FPS)
    ref_video, _ = _reference([ref_item], [], shape)
    _same_state(video, ref_video)
    assert video.attention_mask is not None and video.num_tokens == 3 * 8 + 3 * 1 * 2


def _latent_shape(latent: torch.Tensor) -> object:
    from ltx_core.types import VideoLatentShape

    return VideoLatentShape.from_torch_shape(latent.shape)
