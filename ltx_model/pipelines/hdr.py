"""HDR IC-LoRA video-to-video (Lightricks' ``HDRICLoraPipeline``): an SDR (or EXR) clip -> scene-linear HDR frames.

Order of operations, as the reference (the colour and geometry rules are :mod:`ltx_model.modes.hdr`):

1. Reference signal: SDR Rec.709 frames are used as they are, clamped to [0, 1] (``compress_ldr``; the IC-LoRA was
   trained on SDR video); EXR frames are converted into the working space of the curve from their declared colour
   space (:func:`~ltx_model.modes.hdr.exr_to_working`). High quality: the first N frames, each twice (2N - 1).
2. Sizes: the output size rounded up to multiples of 64 (:func:`~ltx_model.modes.hdr.hdr_generation_size`); the
   reference is fitted to each stage's size / the LoRA's ``reference_downscale_factor`` by shrinking and reflection
   padding (:func:`~ltx_model.modes.hdr.reflect_pad_resize`), never cropped.
3. VIDEO ONLY (no audio stream, as the reference's ``SimpleDenoiser(video_context, None)``), two stages with the HDR
   IC-LoRA fused into ``models.transformer`` and the reference in BOTH: stage 1 at half size with the request's
   (distilled) sigmas, the x2 latent upsample, stage 2 at full size re-noised to 0.909375 with
   :data:`~ltx_model.modes.hdr.HDR_STAGE2_SIGMAS` (two steps), its noise from a generator seeded with the seed again
   (the reference seeds each stage-2 tile with ``seed + tile``; its first tile is ``seed``).
4. Decode of the final latent in float (no 8-bit rounding; load the video VAE in float32 to match the reference,
   which decodes with float32 weights), crop back to the requested size, the curve's decode to scene-linear light
   (LogC3 by default; the curve and the factor come from the LoRA's metadata, :func:`hdr_lora_settings`); high
   quality keeps every other frame.

Difference from the reference, on purpose: the reference runs stage 2 over a 2 x 2 x 2 grid of overlapping latent
tiles (frames, height, width) to bound GPU memory; here stage 2 runs on the whole latent (same schedule, same
reference, no tile seams; the noise of all but the first tile differs).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from ..conditioning import ConditioningItem
from ..lora import LoraWeights
from ..modes import GenerationError, as_frames
from ..modes.hdr import (
    HDR_STAGE2_SIGMAS,
    ColourSpace,
    HdrLoraConfig,
    HdrPlan,
    Transfer,
    crop_output,
    exr_to_working,
    find_transfer,
    plan_hdr,
    read_hdr_lora_config,
    sdr_to_working,
    stage_reference_frames,
    to_linear,
)
from ..sampling import unpatchify_state_latent
from ..video_vae import VideoVAE
from ..video_vae.ltx25 import LTX25VideoVAE
from .decode import decode_any_pixels
from .generate import Stage, run_stage
from .ic_lora import ICReference, reference_conditionings
from .models import PipelineModels
from .request import Callbacks, GenerationRequest, Sampler, TextContexts, TilingMode
from .two_stage import upsample_video_latent


@dataclass(frozen=True)
class HdrResult:
    """An HDR IC-LoRA run.

    Attributes:
        linear: ``float32 (F, H, W, 3)`` scene-linear light in ``primaries`` (not clipped above 1.0), the requested
            size and frame count.
        codes: the decoded working codes ``float32 (F, H, W, 3)`` in [0, 1] (same size and frames).
        video_latent: the final normalised latent ``(1, 128, F', gen_h / 32, gen_w / 32)`` (64-aligned size; high
            quality: 2N - 1 pixel frames).
        primaries: primaries of ``linear`` (``rec709`` / ``acescg``).
        notes: remarks (sizes aligned, reference resized / trimmed, the curve decoded).
    """

    linear: torch.Tensor
    codes: torch.Tensor
    video_latent: torch.Tensor
    primaries: str
    notes: tuple[str, ...] = ()


def hdr_lora_settings(loras: Sequence[LoraWeights]) -> HdrLoraConfig:
    """The HDR config of the first LoRA whose metadata has one; LogC3 / factor 1 when none has (the reference's
    default when the file carries no HDR metadata)."""
    for lora in loras:
        config = read_hdr_lora_config(lora.metadata)
        if config is not None:
            return config
    return HdrLoraConfig()


def reference_codes(frames: torch.Tensor, curve: Transfer, source: ColourSpace | None = None) -> torch.Tensor:
    """Step 1: input frames ``(F, H, W, 3)`` -> the reference signal in [0, 255] floats (:class:`ICReference`).

    ``source`` None: SDR pixels in [0, 255] (uint8 or float), used as they are; else EXR values in ``source``.
    """
    if source is None:
        return sdr_to_working(as_frames(frames) / 255.0) * 255.0
    if frames.dim() != 4 or frames.shape[-1] != 3:
        raise GenerationError(f"EXR frames must be (F, H, W, 3), got {tuple(frames.shape)}")
    return exr_to_working(frames, source, curve) * 255.0


def decode_codes(video_vae: VideoVAE | LTX25VideoVAE, latent: torch.Tensor, *, mode: TilingMode = TilingMode.AUTO,
                 callbacks: Callbacks | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Normalised latent ``(1, 128, F', h, w)`` -> working codes ``float32 (1 + 8(F'-1), 32h, 32w, 3)`` in [0, 1],
    without the 8-bit rounding of :func:`~ltx_model.pipelines.decode.decode_video` (tiled as it tiles). The LTX-2.5
    diffusion decoder (the reference's ``VideoDecoder`` decodes 2.5 checkpoints too) draws its noise from
    ``generator``."""
    if not isinstance(video_vae, VideoVAE | LTX25VideoVAE):
        raise GenerationError("the HDR IC-LoRA decode needs an LTX-2 / 2.3 / 2.5 video VAE")
    weight = next(video_vae.parameters())
    latent = latent.to(device=weight.device, dtype=weight.dtype)
    pixels = decode_any_pixels(video_vae, latent, mode=mode, callbacks=callbacks, generator=generator)
    return ((pixels.float() + 1.0) / 2.0).clamp(0.0, 1.0)[0].permute(1, 2, 3, 0).contiguous()


def stage_reference(codes: torch.Tensor, plan: HdrPlan, stage: int, request: GenerationRequest, video_vae: VideoVAE,
                    factor: int) -> tuple[tuple[ConditioningItem, ...], tuple[str, ...]]:
    """The IC-LoRA reference items of ``stage`` (1 or 2; ``request`` its size): ``codes`` ``(F, H, W, 3)`` in
    [0, 255] fitted by :func:`~ltx_model.modes.hdr.stage_reference_frames`, encoded (at most the stage's frames,
    ``1 + 8k``)."""
    fitted = stage_reference_frames(codes, plan, factor, stage)
    items, notes = reference_conditionings(video_vae, ICReference(fitted), height=request.height, width=request.width,
                                           num_frames=request.num_frames, downscale_factor=factor)
    size = tuple(fitted.shape[1:3])
    resized = (f"reference {codes.shape[1]}x{codes.shape[2]} fitted (reflect-padded) to {size[0]}x{size[1]}",)
    return tuple(items), (resized if tuple(codes.shape[1:3]) != size else ()) + notes


def stage_callbacks(callbacks: Callbacks, offset: int, total: int) -> Callbacks:
    """A stage's steps reported as part of the whole run (``offset + done`` of ``total``)."""
    return Callbacks(progress=lambda done, _: callbacks.progress(offset + done, total),
                     interrupted=callbacks.interrupted)


def denoise_hdr(models: PipelineModels, request: GenerationRequest, contexts: TextContexts, codes: torch.Tensor,
                plan: HdrPlan, *, factor: int = 1, stage2_sigmas: tuple[float, ...] = HDR_STAGE2_SIGMAS,
                callbacks: Callbacks | None = None) -> tuple[torch.Tensor, tuple[str, ...]]:
    """Step 3: the two video-only stages with the reference in both (``request``: the plan's generation size and
    frames; ``codes``: the reference signal ``(F, H, W, 3)`` in [0, 255]).

    Returns the final normalised latent ``(1, 128, F', h, w)`` (reference tokens dropped) and the notes.
    """
    callbacks = callbacks or Callbacks()
    total = len(request.sigmas) + len(stage2_sigmas) - 2
    half = dataclasses.replace(request, height=request.height // 2, width=request.width // 2)
    items1, notes1 = stage_reference(codes, plan, 1, half, models.video_vae, factor)
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    video, _ = run_stage(models, Stage(half, video_items=items1, with_audio=False), contexts, generator,
                         callbacks=stage_callbacks(callbacks, 0, total))
    upsampled = upsample_video_latent(models, unpatchify_state_latent(video))
    refine = dataclasses.replace(request, sigmas=stage2_sigmas, video_guidance=None, audio_guidance=None,
                                 sampler=Sampler.EULER)
    items2, notes2 = stage_reference(codes, plan, 2, refine, models.video_vae, factor)
    stage2 = Stage(refine, video_latent=upsampled, video_items=items2, with_audio=False,
                   noise_scale=torch.tensor(stage2_sigmas[0], dtype=torch.float32))
    generator = torch.Generator(device=models.device).manual_seed(request.seed)
    video, _ = run_stage(models, stage2, contexts, generator,
                         callbacks=stage_callbacks(callbacks, len(request.sigmas) - 1, total))
    return unpatchify_state_latent(video), tuple(dict.fromkeys((*notes1, *notes2)))


def generate_hdr_ic_lora(
    models: PipelineModels,
    request: GenerationRequest,
    contexts: TextContexts,
    frames: torch.Tensor,
    *,
    config: HdrLoraConfig | None = None,
    source: ColourSpace | None = None,
    out_primaries: str = "rec709",
    high_quality: bool = False,
    stage2_sigmas: tuple[float, ...] = HDR_STAGE2_SIGMAS,
    callbacks: Callbacks | None = None,
) -> HdrResult:
    """HDR video-to-video, video only, two stages (fuse the HDR IC-LoRA into ``models.transformer`` beforehand;
    ``models.upsampler`` is the x2 spatial upsampler).

    Args:
        request: the OUTPUT size (any; generated at the 64-aligned size and cropped back), frames (``1 + 8k``),
            seed and stage-1 sigmas (distilled by default). Its audio settings are unused.
        frames: ``(F, H, W, 3)``: SDR pixels in [0, 255] (``source`` None) or EXR values in ``source``.
        config: the LoRA's :func:`hdr_lora_settings` (None: LogC3, factor 1).
        out_primaries: primaries of the linear output (``rec709`` / ``acescg``).
        high_quality: the reference's ``high_quality_hdr``: 2N - 1 frames generated from the first N input frames
            each repeated twice, every other decoded frame kept (about 2x the work).
    Returns:
        :class:`HdrResult` with the scene-linear frames of the request's size and frame count.
    """
    config = config or HdrLoraConfig()
    curve = find_transfer(config.transfer)
    plan = plan_hdr(request.width, request.height, request.num_frames, high_quality=high_quality)
    gen = dataclasses.replace(request, width=plan.gen_width, height=plan.gen_height, num_frames=plan.gen_frames)
    latent, notes = denoise_hdr(models, gen, contexts, reference_codes(frames[:plan.frames], curve, source), plan,
                                factor=config.reference_downscale_factor, stage2_sigmas=stage2_sigmas,
                                callbacks=callbacks)
    # The 2.5 decoder's noise: a generator seeded with the request's seed (the reference goes on with its stage-1
    # generator after that stage's draws: the same noise distribution, another draw; this one can be repeated).
    decoder_noise = torch.Generator(device=models.device).manual_seed(request.seed)
    decoded = crop_output(decode_codes(models.video_vae, latent, mode=request.tiling, callbacks=callbacks,
                                       generator=decoder_noise).cpu(), plan)
    aligned = (f"generated at {plan.gen_width}x{plan.gen_height}, cropped to {plan.width}x{plan.height}",)
    notes = (*(aligned if (plan.gen_width, plan.gen_height) != (plan.width, plan.height) else ()), *notes,
             f"HDR decode: {curve.tag}")
    return HdrResult(to_linear(decoded, curve, out_primaries), decoded, latent, out_primaries, notes)
