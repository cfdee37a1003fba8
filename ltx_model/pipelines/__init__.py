"""Standalone (plain-script) LTX-2 / LTX-2.3 / LTX-2.5 generation: checkpoint → frames + waveform.

Typical use::

    models = load_pipeline_models("ltx-2.3-22b-distilled.safetensors", device="cuda")
    contexts = encode_text(models, "/models/gemma-3-12b-it", "a dog runs on the beach")
    result = generate(models, GenerationRequest(height=512, width=768, num_frames=121, fps=24), contexts)
    write_mp4("out.mp4", result.frames, fps=result.fps, waveform=result.waveform, sample_rate=result.sample_rate)

Modes (each a plain function taking models, tensors/paths and text contexts): :func:`generate_keyframes`,
:func:`generate_audio_to_video`, :func:`generate_audio` (text-to-audio), :func:`generate_audio_for_video`
(Foley), :func:`extend_clip`, :func:`retake`, :func:`generate_ic_lora`, :func:`upscale_clip` (temporal x2 /
spatial x1.5), :func:`generate_long_video`, :func:`inpaint` / :func:`outpaint` / :func:`video_to_video` (IC-LoRA edits),
:func:`generate_two_stage_hq` (the HQ res_2s recipe, :func:`hq_request`), :func:`generate_ingredients`,
:func:`generate_pixel_upscale`, :func:`dub_it` (Dub-It / LipDub), :func:`generate_hdr_ic_lora` (HDR IC-LoRA, linear
float frames), :func:`generate_dfr` (LTX-2.5 detail-fidelity rendering), :func:`enhance_prompt` and
:func:`save_text_contexts` / :func:`load_text_contexts`.

LTX-2.5 ships split files: ``load_pipeline_models(folder)`` (or :func:`model_files` with explicit paths) loads the
transformer, the Gemma 4 text encoder's projection, the video VAE (diffusion decoder), the audio VAE + vocoder and
the optional duration head / upscaler, after checking that the text encoder is the Gemma the transformer needs;
``encode_text(models, None, prompt)`` then uses the split text-encoder file. Per-version defaults:
:func:`with_version_crf` (image CRF), :func:`default_sampler` (ancestral Euler for distilled 2.5 runs),
:func:`auto_frame_count` (the duration head's frame count).

Distilled checkpoints use the default 8-sigma table without guidance; dev checkpoints pass ``ltx2_sigmas(steps)``
and :class:`~ltx_model.sampling.GuiderParams` per stream (see :func:`dev_request`).
"""

from ..modes import GenerationError, resize_and_center_crop
from .audio_modes import AudioResult, generate_audio, generate_audio_for_video, generate_audio_to_video
from .decode import decode_audio, decode_video, to_uint8_frames
from .denoise import GuidedDenoiser, euler_loop, modality, predict_x0, simple_denoiser
from .dfr import generate_dfr
from .dubit import DubAudio, dub_it
from .editing import Direction, RetakeTarget, Sampling, SourceClip, check_window, extend_clip, retake
from .enhance import (
    EnhanceKind,
    PromptEnhancer,
    enhance_prompt,
    load_prompt_enhancer,
    load_text_contexts,
    save_text_contexts,
    system_prompt,
)
from .generate import Frozen, Stage, decode_outputs, denoise_latents, generate, make_denoiser, run_stage
from .hdr import HdrResult, generate_hdr_ic_lora
from .ic_lora import ICReference, generate_ic_lora, lora_reference_downscale_factor, reference_conditionings
from .images import image_conditionings, image_pixels
from .ingredients import generate_ingredients
from .inpaint import MaskSettings, inpaint, outpaint, video_to_video
from .keyframes import generate_keyframes, keyframe_conditionings
from .latents import LatentSetup, audio_grid, noised_states, video_grid
from .long_video import LongVideoRequest, LongVideoResult, generate_long_video
from .models import ModelFiles, PipelineModels, load_pipeline_models, load_video_vae, model_files
from .pixel_upscale import generate_pixel_upscale
from .presets import auto_frame_count, dev_request
from .request import (
    Callbacks,
    GenerationInterrupted,
    GenerationRequest,
    GenerationResult,
    ImageCondition,
    Sampler,
    TextContexts,
    TilingMode,
    validate_request,
    with_version_crf,
)
from .samplers import ancestral_loop, default_sampler, res2s_pipeline_loop, sampler_loop
from .sources import AudioFit, ClipAudio, encode_clip_audio, encode_frames
from .streams import StreamSpec, denoise_streams, freeze
from .text import encode_text
from .two_stage import denoise_two_stage, generate_two_stage, upsample_video_latent
from .two_stage_hq import generate_two_stage_hq, hq_request, hq_sigmas
from .upscale import upscale_clip, upscale_video_latent

__all__ = [
    "DubAudio",
    "HdrResult",
    "dub_it",
    "generate_dfr",
    "generate_hdr_ic_lora",
    "generate_ingredients",
    "generate_pixel_upscale",
    "generate_two_stage_hq",
    "hq_request",
    "hq_sigmas",
    "res2s_pipeline_loop",
    "ModelFiles",
    "Sampler",
    "ancestral_loop",
    "auto_frame_count",
    "default_sampler",
    "load_video_vae",
    "model_files",
    "sampler_loop",
    "with_version_crf",
    "AudioResult",
    "generate_audio",
    "generate_audio_for_video",
    "generate_audio_to_video",
    "Direction",
    "RetakeTarget",
    "Sampling",
    "SourceClip",
    "check_window",
    "extend_clip",
    "retake",
    "EnhanceKind",
    "PromptEnhancer",
    "enhance_prompt",
    "load_prompt_enhancer",
    "load_text_contexts",
    "save_text_contexts",
    "system_prompt",
    "Frozen",
    "ICReference",
    "generate_ic_lora",
    "MaskSettings",
    "inpaint",
    "outpaint",
    "video_to_video",
    "lora_reference_downscale_factor",
    "reference_conditionings",
    "generate_keyframes",
    "keyframe_conditionings",
    "LongVideoRequest",
    "LongVideoResult",
    "generate_long_video",
    "AudioFit",
    "ClipAudio",
    "encode_clip_audio",
    "encode_frames",
    "StreamSpec",
    "denoise_streams",
    "freeze",
    "denoise_two_stage",
    "upscale_clip",
    "upscale_video_latent",
    "upsample_video_latent",
    "generate_two_stage",
    "LatentSetup",
    "run_stage",
    "decode_outputs",
    "Stage",
    "Callbacks",
    "GenerationError",
    "GenerationInterrupted",
    "GenerationRequest",
    "GenerationResult",
    "GuidedDenoiser",
    "ImageCondition",
    "PipelineModels",
    "TextContexts",
    "TilingMode",
    "audio_grid",
    "decode_audio",
    "decode_video",
    "denoise_latents",
    "dev_request",
    "encode_text",
    "euler_loop",
    "generate",
    "image_conditionings",
    "image_pixels",
    "load_pipeline_models",
    "make_denoiser",
    "modality",
    "noised_states",
    "predict_x0",
    "resize_and_center_crop",
    "simple_denoiser",
    "to_uint8_frames",
    "validate_request",
    "video_grid",
]
