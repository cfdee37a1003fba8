"""Audio-driven and audio-only modes: audio-to-video, text-to-audio and video-to-audio (Foley).

Each node only prepares an audio+video LATENT (and the media that goes to ``CreateVideo``); any sampler then runs
it (the pack's sampler, core ``SamplerCustomAdvanced`` / ``KSampler``), because the MODEL reads everything it needs
from the latent:

* **audio-to-video**: the input sound is encoded into the audio part with noise mask 0, so the audio stream is
  frozen (per-token timestep 0 and, as HEAD ltx-pipelines does, sigma 0 for the whole stream: ``LTX2Model
  .process_timestep``). The node also returns the input waveform itself, fitted to the clip (trimmed, or padded
  with silence and a note), for ``CreateVideo``: the saved audio is the input, not a VAE round trip.
* **text-to-audio**: an audio-only latent is an audio+video latent whose video part has 0 frames; the model
  wrapper then leaves the video stream out (the transformer gets ``video=None``, no video token is computed).
* **video-to-audio**: the input frames (cover-resized and centre-cropped to the latent size, as ltx-pipelines
  prepares video conditioning) are encoded into the video part with noise mask 0 (frozen); the audio part is
  generated. The node returns the input frames unchanged for ``CreateVideo``.

Node ids (inputs -> outputs):

* ``LTX2NAudioToVideo`` (audio_vae, audio, av_latent, fps) -> av_latent, audio (an audio VAE of another LTX
  generation than the latent's version tag, e.g. set by Image to Video with its model connected, is refused first)
* ``LTX2NEmptyAudioLatent`` (seconds, batch_size) -> audio_latent
* ``LTX2NVideoToAudio`` (vae, width, height, frames, fps, video?, images?) -> av_latent, images
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import comfy.model_management
import torch
from comfy_api.latest import io

from ..ltx_model.audio import AudioVAEConfig, audio_latent_frames_for_duration, to_stereo
from ..ltx_model.modes import ClipGeometry, fit_waveform, floor_frame_count, pixel_frames, resize_and_center_crop
from .audio import LTX2AudioVAE, require_audio_vae
from .conditioning import AVParts, check_vae_family
from .latent_formats import nested_tensor_class
from .progress import HostProgress
from .schema import make_schema, number_problem

FPS_TOLERANCE = 1e-3  # frames per second: a video's own rate and the node's fps must agree this closely
SIZE_RANGE, FRAMES_RANGE, FPS_RANGE = (32, 8192), (0, 8193), (1.0, 240.0)  # Video to Audio widget bounds


# ---------------------------------------------------------------------------------------------- audio-to-video
def clip_frames(parts: AVParts) -> int:
    """Pixel frames of the latent's video part: ``1 + 8 (F - 1)``."""
    return pixel_frames(parts.video.shape[2])


def fit_audio(audio: dict, duration_s: float) -> tuple[torch.Tensor, int, tuple[str, ...]]:
    """An AUDIO (``waveform`` (B, C, S), any rate, mono or stereo) fitted to ``duration_s`` seconds.

    Returns ``(waveform (B, C, round(duration_s * rate)), rate, notes)``: each item is trimmed, or padded with
    silence (with a note); the kept samples are the input samples, bit for bit. Empty or malformed audio raises
    a ``ValueError`` that says what is wrong.
    """
    waveform, rate = audio.get("waveform"), int(audio.get("sample_rate") or 0)
    if not isinstance(waveform, torch.Tensor) or waveform.ndim != 3 or waveform.shape[0] == 0:
        got = tuple(waveform.shape) if isinstance(waveform, torch.Tensor) else type(waveform).__name__
        raise ValueError(f"the audio input must be ComfyUI AUDIO with a (batch, channels, samples) waveform; got {got}")
    fitted = [fit_waveform(item, rate, duration_s) for item in waveform]  # GenerationError is a ValueError
    notes = tuple(dict.fromkeys(note for _, item_notes in fitted for note in item_notes))
    return torch.stack([w for w, _ in fitted]), rate, notes


def encode_clip_audio(vae: LTX2AudioVAE, waveform: torch.Tensor, rate: int, latent_frames: int) -> torch.Tensor:
    """Fitted ``(B, C, S)`` waveform -> normalised latent ``(B, 8, latent_frames, 16)`` (stereo, any rate)."""
    latent = vae.encode_audio(to_stereo(waveform.float()), rate)
    if latent.shape[2] < latent_frames:  # cannot happen for a fitted waveform; guards odd configurations
        raise ValueError(f"the encoded audio has {latent.shape[2]} latent frames, the clip needs {latent_frames}")
    return latent[:, :, :latent_frames]


def freeze_audio(parts: AVParts, latent: torch.Tensor) -> AVParts:
    """The audio part := ``latent`` with noise mask 0 (frozen); the video mask made explicit so it is kept."""
    if latent.shape[0] not in (1, parts.audio.shape[0]):
        raise ValueError(f"{latent.shape[0]} audio clips for a latent batch of {parts.audio.shape[0]}")
    audio = latent.to(parts.audio).expand(parts.audio.shape[0], -1, -1, -1).clone()
    return replace(parts, audio=audio, audio_mask=torch.zeros_like(audio), video_mask=parts.video_mask_or_ones())


def _check_audio_length(vae: LTX2AudioVAE, parts: AVParts, fps: float) -> int:
    """The clip's audio latent frames; an error when the latent was made for another frame rate."""
    frames = clip_frames(parts)
    wanted = vae.first_stage_model.num_of_latents_from_frames(frames, fps)
    if parts.audio.shape[2] != wanted:
        raise ValueError(f"the latent's audio part has {parts.audio.shape[2]} latent frames, but {frames} frames at "
                         f"{fps:g} fps need {wanted}: use the same fps here as in Empty Audio+Video Latent")
    return wanted


def _audio_parts(latent: dict) -> AVParts:
    parts = AVParts.of(latent)
    if parts.audio is None:
        raise ValueError("Audio to Video needs an audio+video latent (from Empty Audio+Video Latent), not a video "
                         "latent")
    return parts


def _with_notes(notes: tuple[str, ...]) -> dict | None:
    """UI text for the node (the notes also go to the log)."""
    for note in notes:
        logging.warning("LTX-2 Native: %s", note)
    return {"text": list(notes)} if notes else None


class LTX2NAudioToVideo(io.ComfyNode):
    """Put an input sound track into an audio+video latent, frozen, so the video is generated to it."""

    DISPLAY_NAME = "Audio to Video (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Audio-to-video: encodes the audio (any sample rate, mono or stereo) into the audio part of "
                        "the latent and freezes it, so only the video is generated. Longer audio is trimmed to the "
                        "clip, shorter audio padded with silence (with a note). Connect the 'audio' output to Create "
                        "Video: it is the input waveform itself. Add a first image with Image to Video (LTX-2).",
            inputs=[io.Vae.Input("audio_vae", tooltip="The audio VAE from Load Audio VAE (LTX-2)."),
                    io.Audio.Input("audio", tooltip="The sound track (e.g. from Load Audio)."),
                    io.Latent.Input("av_latent", tooltip="Audio+video latent from Empty Audio+Video Latent (sets "
                                                         "the size and length), optionally after Image to Video."),
                    io.Float.Input("fps", default=25.0, min=1.0, max=240.0, step=1.0,
                                   tooltip="Frame rate of the clip: the same as in Empty Audio+Video Latent, Text "
                                           "Encode and Create Video (the clip lasts frames / fps seconds).")],
            outputs=[io.Latent.Output(display_name="av_latent", tooltip="Latent with the frozen input audio."),
                     io.Audio.Output(display_name="audio", tooltip="The input audio fitted to the clip (same "
                                                                   "samples and sample rate), for Create Video.")],
        )

    @classmethod
    def execute(cls, audio_vae: Any, audio: dict, av_latent: dict, fps: float) -> io.NodeOutput:
        vae, parts = require_audio_vae(audio_vae), _audio_parts(av_latent)
        check_vae_family(cls.DISPLAY_NAME, vae, latent=av_latent, kind="audio")  # a tagged latent (Image to Video)
        latent_frames = _check_audio_length(vae, parts, fps)
        waveform, rate, notes = fit_audio(audio, clip_frames(parts) / fps)
        HostProgress().check_interrupt()
        encoded = encode_clip_audio(vae, waveform, rate, latent_frames)
        out = freeze_audio(parts, encoded).to_latent(av_latent)
        return io.NodeOutput(out, {"waveform": waveform, "sample_rate": rate}, ui=_with_notes(notes))


# ---------------------------------------------------------------------------------------------- text-to-audio
EMPTY_VIDEO_SHAPE = (128, 0, 1, 1)
"""Channels and (frames, height, width) of the empty video part of an audio-only latent."""


def empty_audio_latent(seconds: float, batch: int) -> dict:
    """An audio-only LATENT: ``NestedTensor((video (B, 128, 0, 1, 1), audio (B, 8, round(25 s), 16)))`` of zeros.

    The empty video part keeps the audio+video layout every sampler understands; the model skips the video stream.
    """
    config = AudioVAEConfig()  # the released audio VAE geometry (same for LTX-2 and LTX-2.3)
    frames = audio_latent_frames_for_duration(seconds, config)
    if frames < 1:
        raise ValueError(f"{seconds:g} s is too short: at least {1 / config.latents_per_second:g} s of audio")
    device = comfy.model_management.intermediate_device()
    video = torch.zeros((batch, *EMPTY_VIDEO_SHAPE), device=device)
    audio = torch.zeros((batch, config.latent_channels, frames, config.latent_mel_bins), device=device)
    return {"samples": nested_tensor_class()((video, audio))}


class LTX2NEmptyAudioLatent(io.ComfyNode):
    """Zeros for an audio-only generation (text-to-audio)."""

    DISPLAY_NAME = "Empty Audio Latent (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="latent",
            description="An empty audio-only latent for text-to-audio: sample it like an audio+video latent; the "
                        "model runs the audio stream only (no video is computed). Decode with Decode Audio (LTX-2).",
            inputs=[io.Float.Input("seconds", default=5.0, min=0.04, max=600.0, step=0.04,
                                   tooltip="Length of the sound in seconds (25 audio latents per second)."),
                    io.Int.Input("batch_size", default=1, min=1, max=64, tooltip="Sounds generated in parallel.")],
            outputs=[io.Latent.Output(display_name="audio_latent", tooltip="Audio-only latent (an audio+video latent "
                                                                           "whose video part is empty).")],
        )

    @classmethod
    def execute(cls, seconds: float, batch_size: int) -> io.NodeOutput:
        return io.NodeOutput(empty_audio_latent(seconds, batch_size))


# ---------------------------------------------------------------------------------------------- video-to-audio
def input_frames(video: Any, images: torch.Tensor | None, fps: float) -> torch.Tensor:
    """The input frames IMAGE ``(N, H, W, 3)`` in [0, 1] from a VIDEO (its frame rate must equal ``fps``) or an
    IMAGE batch (taken at ``fps``)."""
    if (video is None) == (images is None):
        raise ValueError("connect exactly one of 'video' (e.g. Load Video) or 'images' (a batch of frames)")
    if video is not None:
        components = video.get_components()
        rate = float(components.frame_rate)
        if abs(rate - fps) > FPS_TOLERANCE:
            raise ValueError(f"the video runs at {rate:g} fps but fps is {fps:g}: set fps here, in Text Encode and "
                             f"in Create Video to {rate:g}")
        images = components.images
    if images.ndim != 4 or images.shape[0] == 0 or images.shape[-1] < 3:
        raise ValueError(f"expected frames (N, H, W, 3) with N >= 1; got shape {tuple(images.shape)}")
    return images[..., :3]


def used_frames(images: torch.Tensor, frames: int) -> torch.Tensor:
    """The first ``frames`` frames (0 = as many as there are, down to 1 + 8k); an error when too few."""
    count = frames or floor_frame_count(images.shape[0])
    if images.shape[0] < count:
        raise ValueError(f"the video has {images.shape[0]} frames, the clip needs {count}: lower 'frames' (0 = all "
                         f"of them, down to 1 + 8k)")
    return images[:count]


def encode_video(vae: Any, frames: torch.Tensor, *, width: int, height: int, progress: HostProgress) -> torch.Tensor:
    """Frames ``(F, H, W, 3)`` in [0, 1] -> latent ``(1, 128, 1 + (F-1)/8, height/32, width/32)``: each frame
    cover-resized (bilinear) and centre-cropped to ``width x height`` as ltx-pipelines' video conditioning."""
    resized = []
    for frame in frames.float():
        resized.append(resize_and_center_crop(frame, height, width)[0, :, 0].permute(1, 2, 0))  # (height, width, 3)
        progress.check_interrupt()
    return vae.encode(torch.stack(resized).clamp(0, 1))


def frozen_video_latent(encoded: torch.Tensor, geometry: ClipGeometry) -> dict:
    """Audio+video LATENT: the encoded video with noise mask 0 (frozen), an empty audio part to generate."""
    nested = nested_tensor_class()
    audio = torch.zeros(geometry.audio_shape(encoded.shape[0]), device=encoded.device)
    video_mask = torch.zeros(encoded.shape[0], 1, *encoded.shape[2:3], 1, 1, device=encoded.device)
    return {"samples": nested((encoded, audio)), "noise_mask": nested((video_mask, torch.ones_like(audio)))}


class LTX2NVideoToAudio(io.ComfyNode):
    """Encode an input video, frozen, so only its sound track is generated (Foley)."""

    DISPLAY_NAME = "Video to Audio (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Video-to-audio (Foley): encodes the input frames into the video part of an audio+video "
                        "latent and freezes them, so only the audio is generated. Connect the 'images' output to "
                        "Create Video: they are the input frames, unchanged.",
            inputs=[io.Vae.Input("vae", tooltip="The LTX-2 video VAE."),
                    io.Int.Input("width", default=768, min=SIZE_RANGE[0], max=SIZE_RANGE[1], step=32,
                                 tooltip="Width the frames are encoded at (multiple of 32); the frames are resized "
                                         "to cover it and centre-cropped. The output keeps the input size."),
                    io.Int.Input("height", default=512, min=SIZE_RANGE[0], max=SIZE_RANGE[1], step=32,
                                 tooltip="Height the frames are encoded at (multiple of 32)."),
                    io.Int.Input("frames", default=0, min=FRAMES_RANGE[0], max=FRAMES_RANGE[1],
                                 tooltip="Frames to use from the start of the video, 1 + 8k; 0 = all of them "
                                         "(down to 1 + 8k)."),
                    io.Float.Input("fps", default=25.0, min=FPS_RANGE[0], max=FPS_RANGE[1], step=1.0,
                                   tooltip="The video's frame rate (checked against a connected video); the same "
                                           "as in Text Encode and Create Video."),
                    io.Video.Input("video", optional=True, tooltip="The input video (e.g. from Load Video)."),
                    io.Image.Input("images", optional=True, tooltip="Or the frames as an image batch.")],
            outputs=[io.Latent.Output(display_name="av_latent", tooltip="Latent with the frozen video."),
                     io.Image.Output(display_name="images", tooltip="The frames used (input pixels, unchanged), "
                                                                    "for Create Video.")],
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None, frames: int | None = None,
                        fps: float | None = None) -> bool | str:
        # Declaring these inputs makes ComfyUI skip its own type and range checks for them (done here); linked
        # values (None) are checked in execute.
        bad = number_problem(cls, width=width, height=height, frames=frames, fps=fps)
        if bad or None in (width, height, frames, fps):
            return bad or True
        return _geometry(width, height, frames or 1, fps).problem() or True

    @classmethod
    def execute(cls, vae: Any, width: int, height: int, frames: int, fps: float, video: Any = None,
                images: torch.Tensor | None = None) -> io.NodeOutput:
        used = used_frames(input_frames(video, images, fps), frames)
        geometry = _geometry(width, height, used.shape[0], fps)
        if geometry.problem():
            raise ValueError(geometry.problem())
        progress = HostProgress()
        encoded = encode_video(vae, used, width=width, height=height, progress=progress)
        return io.NodeOutput(frozen_video_latent(encoded, geometry), used)


def _geometry(width: int, height: int, frames: int, fps: float) -> ClipGeometry:
    return ClipGeometry(int(width), int(height), int(frames), float(fps))
