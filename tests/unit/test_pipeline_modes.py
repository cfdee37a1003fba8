"""pipelines modes on tiny demo weights (LTX-2.3 single file and the LTX-2.5 split set, fp32, CPU): each mode's
promise.

Keyframes (appended tokens, index check), A2V (waveform bit-identical, frozen audio at sigma 0), T2A (no video
tokens), V2A (frozen video), extend / retake (kept latents bit-identical, window errors), IC-LoRA (reference grid,
cropping, notes), upscalers (frame/fps bookkeeping, audio untouched), long video (seams), context save/load.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from pipeline_models import FAMILIES, load_demo_models, random_contexts

from ltx_model.lora import lora_from_state_dict
from ltx_model.modes import blend_overlap
from ltx_model.pipelines import (
    AudioFit,
    Direction,
    GenerationError,
    GenerationRequest,
    ICReference,
    ImageCondition,
    LongVideoRequest,
    PipelineModels,
    RetakeTarget,
    Sampling,
    SourceClip,
    Stage,
    TextContexts,
    TilingMode,
    decode_video,
    encode_clip_audio,
    encode_frames,
    extend_clip,
    generate,
    generate_audio,
    generate_audio_for_video,
    generate_audio_to_video,
    generate_ic_lora,
    generate_keyframes,
    generate_long_video,
    keyframe_conditionings,
    load_text_contexts,
    lora_reference_downscale_factor,
    reference_conditionings,
    retake,
    run_stage,
    save_text_contexts,
    upscale_clip,
)
from ltx_model.upsampler import LatentUpsampler, UpsamplerConfig
from ltx_model.video_vae import VideoVAE

REQ = GenerationRequest(height=64, width=64, num_frames=17, fps=24.0, seed=3, sigmas=(1.0, 0.6, 0.0))
TOKENS_PER_FRAME = 2 * 2  # 64x64 px -> 2x2 latent


@pytest.fixture(scope="module", params=FAMILIES)
def models(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PipelineModels:
    """The LTX-2.3 single-file demo checkpoint, or the complete LTX-2.5 demo set of split files."""
    return load_demo_models(tmp_path_factory.mktemp(f"modes_{request.param}"), request.param)


@pytest.fixture(scope="module")
def contexts(models: PipelineModels) -> TextContexts:
    return random_contexts(models)


def _frames(count: int, height: int = 64, width: int = 64, seed: int = 1) -> torch.Tensor:
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 3, yy * 3, (xx + yy) * 2], -1)
    shift = np.random.RandomState(seed).randint(0, 40, size=count)
    return torch.from_numpy(np.stack([(base + s) % 256 for s in shift]).astype(np.uint8))


class Calls:
    """Transformer forward pre-hook recording (video input, audio input) of every pass."""

    def __init__(self, models: PipelineModels) -> None:
        self.seen: list[tuple] = []
        self._handle = models.transformer.register_forward_pre_hook(lambda mod, args: self.seen.append(args[:2]))

    def __enter__(self) -> Calls:
        return self

    def __exit__(self, *exc: object) -> None:
        self._handle.remove()


# --- keyframes -------------------------------------------------------------------------------------------------


def test_pipeline_keyframes_append_tokens_at_their_frames(models: PipelineModels, contexts: TextContexts) -> None:
    image = _frames(1, 40, 50)[0].numpy()
    images = (ImageCondition(image, 0), ImageCondition(image, 16, strength=0.7))
    items = keyframe_conditionings(images, models.video_vae, height=64, width=64)
    stage = Stage(REQ, video_items=tuple(items))
    video, _ = run_stage(models, stage, contexts, torch.Generator().manual_seed(0))
    target = 3 * TOKENS_PER_FRAME
    assert video.num_tokens == target + 2 * TOKENS_PER_FRAME  # every image appended (frame 0 included)
    starts = video.positions[0, 0, target:, 0]
    torch.testing.assert_close(starts, torch.tensor([0.0] * 4 + [16 / 24] * 4))  # own time position, seconds
    assert torch.allclose(video.denoise_mask[0, target + 4 :], torch.tensor(0.3))
    result = generate_keyframes(models, dataclasses.replace(REQ, images=images), contexts)
    assert result.frames.shape == (17, 64, 64, 3) and result.video_latent.shape == (1, 128, 3, 2, 2)
    with pytest.raises(GenerationError, match="beyond the clip"):
        generate_keyframes(models, dataclasses.replace(REQ, images=(ImageCondition(image, 17),)), contexts)


# --- audio-to-video / text-to-audio / video-to-audio --------------------------------------------------------


def test_pipeline_a2v_returns_input_waveform_and_freezes_audio(models: PipelineModels, contexts: TextContexts) -> None:
    rate = 44100
    long_wave = torch.rand(1, rate) * 2 - 1  # 1 s mono > 17/24 s
    with Calls(models) as calls:
        result = generate_audio_to_video(models, REQ, contexts, long_wave, rate)
    wanted = round(17 / 24 * rate)
    assert result.sample_rate == rate and torch.equal(result.waveform, long_wave[:, :wanted])  # bit-identical
    assert "trimmed" in result.notes[0]
    encoded = encode_clip_audio(models.audio_vae, long_wave, rate, num_frames=17, fps=24.0)
    assert torch.equal(result.audio_latent, encoded.latent)  # the audio stream never moved
    assert all(audio.sigma.item() == 0.0 and (audio.timesteps == 0).all() for _, audio in calls.seen)  # HEAD rule
    assert all(video.sigma.item() > 0 for video, _ in calls.seen)
    short = torch.rand(2, rate // 4) * 2 - 1  # stereo, 0.25 s
    padded = generate_audio_to_video(models, REQ, contexts, short.numpy(), rate)
    assert torch.equal(padded.waveform[:, : rate // 4], short) and (padded.waveform[:, rate // 4 :] == 0).all()
    assert "padded with silence" in padded.notes[0]
    with pytest.raises(GenerationError, match="empty"):
        generate_audio_to_video(models, REQ, contexts, torch.zeros(2, 0), rate)


def test_pipeline_t2a_computes_no_video_tokens(models: PipelineModels, contexts: TextContexts) -> None:
    with Calls(models) as calls:
        result = generate_audio(models, REQ, contexts)
    assert len(calls.seen) == len(REQ.sigmas) - 1
    assert all(video is None and audio.latent.shape[1] == 18 for video, audio in calls.seen)  # round(17/24*25)
    assert result.video_tokens == 0 and result.audio_latent.shape == (1, 8, 18, 16)
    assert result.waveform.shape == (2, (4 * 18 - 3) * result.sample_rate // 100) and result.waveform.abs().max() > 0


def test_pipeline_v2a_keeps_the_input_video(models: PipelineModels, contexts: TextContexts) -> None:
    frames = _frames(20, 48, 80)
    with Calls(models) as calls:
        result = generate_audio_for_video(models, REQ, contexts, frames)
    assert torch.equal(result.frames, frames[:17])
    assert torch.equal(result.video_latent, encode_frames(models.video_vae, frames[:17], height=64, width=64))
    assert all(video.sigma.item() == 0.0 and audio.sigma.item() > 0 for video, audio in calls.seen)
    with pytest.raises(GenerationError, match="frames"):
        generate_audio_for_video(models, REQ, contexts, frames[:9])


# --- retake / extend ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip() -> SourceClip:
    return SourceClip(_frames(17), 24.0, torch.rand(2, 36000) * 2 - 1, 48000)


SAMPLING = Sampling(seed=1, sigmas=(1.0, 0.5, 0.0))


def test_pipeline_retake_outside_window_bit_identical(
    models: PipelineModels, contexts: TextContexts, clip: SourceClip
) -> None:
    result = retake(models, contexts, clip, start_s=0.3, end_s=0.5, sampling=SAMPLING)
    video = encode_frames(models.video_vae, clip.frames, height=64, width=64)
    audio = encode_clip_audio(models.audio_vae, clip.waveform, 48000, num_frames=17, fps=24.0,
                              fit=AudioFit.ENCODE_THEN_CROP).latent
    # latent frame 0 covers [0, 1/24) s, frames 1-2 cover [1/24, 9/24) and [9/24, 17/24): both meet [0.3, 0.5)
    assert torch.equal(result.video_latent[:, :, :1], video[:, :, :1])
    assert not torch.equal(result.video_latent[:, :, 1:], video[:, :, 1:])
    inside = slice(8, 14)  # audio latent i spans [0.04 i - 0.03, 0.04 i + 0.01) s (causal): 8..13 meet the window
    assert torch.equal(result.audio_latent[:, :, :8], audio[:, :, :8])
    assert torch.equal(result.audio_latent[:, :, 14:], audio[:, :, 14:])
    assert not torch.equal(result.audio_latent[:, :, inside], audio[:, :, inside])
    video_only = retake(models, contexts, clip, start_s=0.3, end_s=0.5, target=RetakeTarget.VIDEO, sampling=SAMPLING)
    assert torch.equal(video_only.audio_latent, audio)  # audio frozen whole


@pytest.mark.parametrize(("start", "end"), [(0.5, 0.9), (-0.1, 0.2), (0.4, 0.4), (0.8, 1.0)])
def test_pipeline_retake_window_outside_clip_errors(
    models: PipelineModels, contexts: TextContexts, clip: SourceClip, start: float, end: float
) -> None:
    with pytest.raises(GenerationError, match="window"):
        retake(models, contexts, clip, start_s=start, end_s=end, sampling=SAMPLING)


EXTEND_PIXEL_ATOL = 1  # uint8 levels: kept frames vs the VAE round trip of the source alone (causal decoder)


@pytest.fixture(scope="module")
def causal_models(models: PipelineModels) -> PipelineModels:
    """The demo models with a causal video decoder: decoded frames then depend on earlier latents only, so the kept
    part of a forward extension can be compared with the source's own round trip. (The real LTX-2 decoder is
    non-causal: there the frames within its temporal receptive field of the seam also see the new latents.) The
    LTX-2.5 diffusion decoder has no causal form: its models stay as they are and the extend test checks latents."""
    if not isinstance(models.video_vae, VideoVAE):
        return models
    config = dataclasses.replace(models.video_vae.config, causal_decoder=True)
    vae = VideoVAE(config, dtype=torch.float32)
    vae.load_state_dict(models.video_vae.state_dict())
    return dataclasses.replace(models, video_vae=vae.eval())


@pytest.mark.parametrize("direction", list(Direction))
def test_pipeline_extend_keeps_source_after_vae_round_trip(
    causal_models: PipelineModels, contexts: TextContexts, clip: SourceClip, direction: Direction
) -> None:
    models = causal_models
    result = extend_clip(models, contexts, clip, new_frames=8, direction=direction, sampling=SAMPLING)
    assert result.frames.shape == (25, 64, 64, 3) and result.audio_latent.shape == (1, 8, 26, 16)
    frames = torch.as_tensor(clip.frames)
    edge = frames[-1:] if direction is Direction.FORWARD else frames[:1]
    padded = torch.cat(
        [frames, edge.expand(8, -1, -1, -1)] if direction is Direction.FORWARD else [edge.expand(8, -1, -1, -1), frames]
    )
    encoded = encode_frames(models.video_vae, padded, height=64, width=64)
    audio = encode_clip_audio(models.audio_vae, _padded_wave(clip, direction), 48000, num_frames=25, fps=24.0).latent
    if direction is Direction.FORWARD:  # source = latent frames 0-2 (pixels 0-16), audio latents 0-16 ([0, 0.67) s)
        assert torch.equal(result.video_latent[:, :, :3], encoded[:, :, :3])
        assert torch.equal(result.audio_latent[:, :, :17], audio[:, :, :17])
        if isinstance(models.video_vae, VideoVAE):  # a causal conv decoder: kept pixels = the source's round trip
            source_trip = decode_video(models.video_vae, encode_frames(models.video_vae, frames, height=64, width=64),
                                       mode=TilingMode.NEVER)
            diff = (result.frames[:17].int() - source_trip.int()).abs()
            assert diff.max() <= EXTEND_PIXEL_ATOL
        assert not torch.equal(result.video_latent[:, :, 3:], encoded[:, :, 3:])
    else:  # source frame 0 shares latent frame 1 with new frames: latents 2-3 (source frames 1-16) are kept
        assert torch.equal(result.video_latent[:, :, 2:], encoded[:, :, 2:])
        assert torch.equal(result.audio_latent[:, :, 10:], audio[:, :, 10:])  # latents starting after 8/24 s
        assert not torch.equal(result.video_latent[:, :, :2], encoded[:, :, :2])
    with pytest.raises(GenerationError, match="multiple of 8"):
        extend_clip(models, contexts, clip, new_frames=5, sampling=SAMPLING)


def _padded_wave(clip: SourceClip, direction: Direction) -> torch.Tensor:
    source, silence = clip.waveform[:, : round(17 / 24 * 48000)], torch.zeros(2, round(8 / 24 * 48000))
    return torch.cat([source, silence] if direction is Direction.FORWARD else [silence, source], dim=1)


# --- IC-LoRA -----------------------------------------------------------------------------------------------------


def test_pipeline_ic_lora_reference_grid_and_cropping(models: PipelineModels, contexts: TextContexts) -> None:
    reference = ICReference(_frames(20, 50, 40), attention_strength=0.5)
    items, notes = reference_conditionings(models.video_vae, reference, height=64, width=64, num_frames=17,
                                           downscale_factor=2)
    assert notes == ("reference video 50x40 resized to 32x32", "reference video trimmed from 20 to 17 frames")
    video, _ = run_stage(models, Stage(REQ, video_items=tuple(items)), contexts, torch.Generator().manual_seed(0))
    target = 3 * TOKENS_PER_FRAME
    assert video.num_tokens == target + 3  # 17 frames at 32x32 -> 3 latent frames of 1 token
    torch.testing.assert_close(video.positions[0, 1:, target:, 1], torch.full((2, 3), 64.0))  # x2 coordinates
    assert video.attention_mask is not None and video.attention_mask[0, 0, target] == 0.5
    result = generate_ic_lora(models, REQ, contexts, reference, downscale_factor=2)
    assert result.video_latent.shape == (1, 128, 3, 2, 2) and result.notes == notes  # reference tokens dropped


def test_pipeline_ic_lora_metadata_factor_and_family() -> None:
    state = {"diffusion_model.x.lora_A.weight": torch.zeros(1, 2), "diffusion_model.x.lora_B.weight": torch.zeros(2, 1)}
    ref2 = lora_from_state_dict(state, metadata={"reference_downscale_factor": "2", "model_version": "2.3.0"})
    plain = lora_from_state_dict(state)
    assert lora_reference_downscale_factor([plain, ref2], model_version="2.3.1") == 2
    assert lora_reference_downscale_factor([plain]) == 1
    with pytest.raises(GenerationError, match="checkpoint is 2.0"):
        lora_reference_downscale_factor([ref2], model_version="2.0")


# --- upscalers / long video / contexts --------------------------------------------------------------------------


def test_pipeline_upscale_temporal_and_spatial_bookkeeping(models: PipelineModels, contexts: TextContexts) -> None:
    torch.manual_seed(0)
    temporal = LatentUpsampler(UpsamplerConfig(mid_channels=32, num_blocks_per_stage=1, spatial_upsample=False,
                                               temporal_upsample=True))
    spatial = LatentUpsampler(UpsamplerConfig(mid_channels=32, num_blocks_per_stage=1, spatial_scale=1.5,
                                              rational_resampler=True))
    base = generate(models, REQ, contexts)
    doubled = upscale_clip(models, base, temporal)
    assert doubled.frames.shape == (33, 64, 64, 3) and doubled.fps == 48.0  # 2N - 1 frames at 2 fps
    assert doubled.waveform is base.waveform and doubled.audio_latent is base.audio_latent  # audio untouched
    wider = upscale_clip(models, base, spatial)
    assert wider.frames.shape == (17, 96, 96, 3) and wider.fps == 24.0


def test_pipeline_long_video_seams_and_carried_audio(models: PipelineModels, contexts: TextContexts) -> None:
    window = dataclasses.replace(REQ, num_frames=25)
    other = TextContexts(contexts.video.flip(1), contexts.audio.flip(1))
    exact = generate_long_video(models, LongVideoRequest(window, windows=3, overlap_latent_frames=1), [contexts])
    assert exact.frames.shape == (73, 64, 64, 3) and exact.audio_latent.shape == (1, 8, 76, 16)
    assert exact.video_seams == (0.0, 0.0) and exact.audio_seams == (0.0, 0.0)  # windows agree on the overlap
    per_window = generate_long_video(models, LongVideoRequest(window, windows=3, overlap_latent_frames=1),
                                     [contexts, other, contexts])
    assert torch.equal(per_window.video_latent[:, :, :4], exact.video_latent[:, :, :4])  # window 0 same prompt
    assert not torch.equal(per_window.video_latent[:, :, 4:7], exact.video_latent[:, :, 4:7])
    loose = generate_long_video(models, LongVideoRequest(window, windows=2, overlap_latent_frames=2,
                                                         overlap_strength=0.5), [contexts])
    assert loose.video_seams[0] > 0 and loose.frames.shape == (41, 64, 64, 3)
    with pytest.raises(GenerationError, match="contexts"):
        generate_long_video(models, LongVideoRequest(window, windows=3), [contexts, other])


def test_pipeline_long_video_blend_is_convex() -> None:
    previous, new = torch.zeros(1, 2, 5, 1), torch.ones(1, 2, 4, 1)
    stitched, seam = blend_overlap(previous, new, 3, dim=2)
    assert stitched.shape == (1, 2, 6, 1) and seam == 1.0
    torch.testing.assert_close(stitched[0, 0, :, 0], torch.tensor([0.0, 0.0, 0.0, 0.5, 1.0, 1.0]))


def test_pipeline_text_contexts_save_load_round_trip(tmp_path: Path, contexts: TextContexts) -> None:
    full = TextContexts(contexts.video, contexts.audio, contexts.video * 2, contexts.audio * 2)
    path = save_text_contexts(tmp_path / "enc.safetensors", full, prompt="a dog", negative_prompt="blurry")
    back = load_text_contexts(path)
    for name in ("video", "audio", "negative_video", "negative_audio"):
        assert torch.equal(getattr(back, name), getattr(full, name))
    half = load_text_contexts(save_text_contexts(tmp_path / "p.safetensors", contexts), dtype=torch.bfloat16)
    assert half.negative_video is None and half.video.dtype == torch.bfloat16
    from safetensors.torch import save_file

    save_file({"video": torch.zeros(1)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(GenerationError, match="not a saved text encoding"):
        load_text_contexts(tmp_path / "other.safetensors")
