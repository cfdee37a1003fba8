"""Standalone (plain-script) LTX-2 / LTX-2.3 generation: checkpoint → frames + waveform.

Typical use::

    models = load_pipeline_models("ltx-2.3-22b-distilled.safetensors", device="cuda")
    contexts = encode_text(models, "/models/gemma-3-12b-it", "a dog runs on the beach")
    result = generate(models, GenerationRequest(height=512, width=768, num_frames=121, fps=24), contexts)
    write_mp4("out.mp4", result.frames, fps=result.fps, waveform=result.waveform, sample_rate=result.sample_rate)

Distilled checkpoints use the default 8-sigma table without guidance; dev checkpoints pass ``ltx2_sigmas(steps)``
and :class:`~ltx_model.sampling.GuiderParams` per stream (see :func:`dev_request`).
"""

from ltx_model.pipelines.decode import decode_audio, decode_video, to_uint8_frames
from ltx_model.pipelines.denoise import GuidedDenoiser, euler_loop, modality, predict_x0, simple_denoiser
from ltx_model.pipelines.generate import Stage, decode_outputs, denoise_latents, generate, make_denoiser, run_stage
from ltx_model.pipelines.images import image_conditionings, image_pixels, resize_and_center_crop
from ltx_model.pipelines.latents import LatentSetup, audio_grid, noised_states, video_grid
from ltx_model.pipelines.models import PipelineModels, load_pipeline_models
from ltx_model.pipelines.presets import dev_request
from ltx_model.pipelines.request import (
    Callbacks,
    GenerationError,
    GenerationInterrupted,
    GenerationRequest,
    GenerationResult,
    ImageCondition,
    TextContexts,
    TilingMode,
    validate_request,
)
from ltx_model.pipelines.text import encode_text
from ltx_model.pipelines.two_stage import generate_two_stage, upsample_video_latent

__all__ = [
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
