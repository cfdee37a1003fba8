"""Dub-It / LipDub node: new speech on a source clip, lips re-synced, the rest of the picture kept.

The rules are ``ltx_model.modes.dubbing`` (ltx-pipelines ``DubItPipeline``): the source frames are the IC-LoRA
reference (Load IC-LoRA with the LipDub IC-LoRA + IC-LoRA Reference Guide), the source's whole sound track is the
speaker's voice (core's ``ref_audio`` reference audio tokens on both prompts: the official pack's
``LTXVSetAudioRefTokens``), and the new speech (``dub_audio``) is the audio stream, encoded and frozen (noise mask
0), so the clip's sound is that waveform bit for bit. Without ``dub_audio`` the speech is generated from the prompt
in the source speaker's voice (the reference pipeline's own mode: rephrasing).

* ``LTX2NDubItPrepare`` (positive, negative, audio_vae, video, width, height, frames[, dub_audio]) -> positive,
  negative, latent, reference, audio
"""

from __future__ import annotations

import logging
from typing import Any

import comfy.model_management
import comfy.utils
import torch
from comfy_api.latest import io

from ..ltx_model.modes import ClipGeometry, frames_problem, size_problem
from ..ltx_model.modes.dubbing import DUB_INPUT, dub_duration_problem, dub_frames, source_audio_problem
from .audio import require_audio_vae
from .audio_modes import encode_clip_audio, fit_audio
from .latent_formats import empty_av_latent
from .schema import make_schema, not_a_number, number_problem
from .source_clips import Clip, clip_from_video, conform_clip, frozen_audio_canvas, with_reference_audio


def _inputs() -> list[io.Input]:
    return [io.Conditioning.Input("positive", tooltip="Positive prompt: the scene, and the new words when no "
                                                      "dub_audio is connected."),
            io.Conditioning.Input("negative", tooltip="Negative prompt."),
            io.Vae.Input("audio_vae", tooltip="The LTX-2 audio VAE (Load Audio VAE (LTX-2)): encodes the source's "
                                              "voice and the new speech."),
            io.Video.Input("video", tooltip="The source clip with its original speech (e.g. Load Video): its sound "
                                            "gives the voice; a silent clip needs dub_audio."),
            io.Int.Input("width", default=0, min=0, max=8192, step=32,
                         tooltip="Output width (multiple of 32); 0 = the source's (must then be one)."),
            io.Int.Input("height", default=0, min=0, max=8192, step=32,
                         tooltip="Output height (multiple of 32); 0 = the source's (must then be one)."),
            io.Int.Input("frames", default=0, min=0, max=100000, step=1,
                         tooltip="Use the first N frames of the source (1 + 8k); 0 = all of it, snapped down to "
                                 "1 + 8k as the reference pipeline does."),
            io.Audio.Input(DUB_INPUT, optional=True,
                           tooltip="The new speech (e.g. Load Audio), not longer than the clip (shorter is padded "
                                   "with silence); it becomes the clip's sound unchanged. Leave empty to generate "
                                   "the speech from the prompt in the source speaker's voice.")]


def _outputs() -> list[io.Output]:
    return [io.Conditioning.Output(display_name="positive", tooltip="Positive prompt with the source's voice as "
                                                                    "reference audio."),
            io.Conditioning.Output(display_name="negative", tooltip="Negative prompt with the source's voice as "
                                                                    "reference audio."),
            io.Latent.Output(display_name="latent", tooltip="The clip to sample: video generated, the new speech "
                                                            "frozen (or generated without dub_audio)."),
            io.Image.Output(display_name="reference", tooltip="The resized source frames: the IC-LoRA reference."),
            io.Audio.Output(display_name="audio", tooltip="The new speech fitted to the clip, bit-identical (connect "
                                                          "it to Create Video); empty without dub_audio (use "
                                                          "Decode Audio then).")]


def _voice_prompts(positive: Any, negative: Any, vae: Any, clip: Clip) -> tuple[Any, Any]:
    """Both prompts with the source's whole sound track ``(C, S)`` as reference audio tokens ``(1, T_ref, 128)``."""
    voice = vae.encode_audio(clip.waveform[None].float(), clip.sample_rate).float().cpu()
    return with_reference_audio(positive, negative, voice)


def _speech_latent(vae: Any, dub: dict | None, geometry: ClipGeometry) -> tuple[dict, dict | None]:
    """``(latent, audio)``: the canvas with the dub encoded and frozen and the dub fitted to the clip, or an empty
    canvas (speech generated) and None."""
    if dub is None:
        return empty_av_latent(geometry, 1), None
    waveform, rate, notes = fit_audio(dub, geometry.frames / geometry.fps)
    for note in notes:
        logging.warning("LTX-2 Native: Dub-It: %s", note)
    frames = vae.first_stage_model.num_of_latents_from_frames(geometry.frames, geometry.fps)
    audio = encode_clip_audio(vae, waveform[:1], rate, frames).float().cpu()
    return frozen_audio_canvas(geometry, audio), {"waveform": waveform[:1], "sample_rate": rate}


class LTX2NDubItPrepare(io.ComfyNode):
    """Prepare a Dub-It (LipDub IC-LoRA) run: source as reference, source voice as reference audio, new speech."""

    DISPLAY_NAME = "Dub-It Prepare (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Dub-It / LipDub: re-dub a clip with new speech. The source (resized to width x height) is "
                        "the IC-LoRA reference, its sound track gives the speaker's voice (reference audio on both "
                        "prompts), and dub_audio is the new speech, kept unchanged while the lips are regenerated "
                        "to it. Connect 'reference' to IC-LoRA Reference Guide (with the LipDub IC-LoRA), 'latent' "
                        "to the guide and the sampler, and 'audio' to Create Video.",
            inputs=_inputs(), outputs=_outputs())

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None,
                        frames: int | None = None) -> bool | str:
        if bad := not_a_number(width=width, height=height, frames=frames):
            return bad
        problem = (size_problem(width or 0, height or 0, source_size=True) or (frames_problem(frames) if frames else
                   None) or number_problem(cls, width=width, height=height, frames=frames))
        return f"{cls.DISPLAY_NAME}: {problem}" if problem else True

    @classmethod
    def execute(cls, positive: Any, negative: Any, audio_vae: Any, video: Any, width: int, height: int,
                frames: int, dub_audio: dict | None = None) -> io.NodeOutput:
        vae, raw = require_audio_vae(audio_vae), clip_from_video(video)
        count = frames or dub_frames(raw.frames)
        problem = source_audio_problem(raw.waveform is not None, dub_audio is not None, "the video input")
        if dub_audio is not None and problem is None:
            samples = dub_audio["waveform"].shape[-1] if isinstance(dub_audio.get("waveform"), torch.Tensor) else 0
            problem = dub_duration_problem(samples, int(dub_audio.get("sample_rate") or 0), count, raw.fps)
        if problem:
            raise ValueError(f"{cls.DISPLAY_NAME}: {problem}")
        try:
            clip = conform_clip(raw, width=width, height=height, frames=count)
        except ValueError as exc:
            raise ValueError(f"{cls.DISPLAY_NAME}: {exc}") from exc
        bar = comfy.utils.ProgressBar(2)
        comfy.model_management.throw_exception_if_processing_interrupted()
        if clip.waveform is not None:  # a silent source with a dub: no voice reference
            positive, negative = _voice_prompts(positive, negative, vae, clip)
        bar.update(1)
        comfy.model_management.throw_exception_if_processing_interrupted()
        count, rows, cols = clip.images.shape[:3]
        latent, audio = _speech_latent(vae, dub_audio, ClipGeometry(int(cols), int(rows), int(count), clip.fps))
        bar.update(1)
        return io.NodeOutput(positive, negative, latent, clip.images, audio)
