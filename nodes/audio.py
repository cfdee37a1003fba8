"""Audio VAE + vocoder as a ``comfy.sd.VAE``, its loader, and the audio decode / encode nodes.

:class:`LTX2AudioVAE` carries the fields core gives its own LTX audio VAE (``latent_dim`` 2, stereo output,
``audio_sample_rate`` for inputs, ``first_stage_model.output_sample_rate`` / ``latent_frequency_bins`` /
``num_of_latents_from_frames``), so it is a ``VAE`` socket that core's ``LTXVEmptyLatentAudio``,
``LTXVAudioVAEDecode`` / ``LTXVAudioVAEEncode`` and ``VAEEncodeAudio`` also accept.
"""

from __future__ import annotations

from typing import Any

import comfy.model_management
import comfy.ops
import comfy.sd
import torch
from comfy_api.latest import io
from torch import nn

from ..ltx_model.audio import AudioVAE, Vocoder, audio_latent_frames_for_video
from ..ltx_model.loading import Component, FilePart, load_component
from .latent_formats import LATENT_VERSION_KEY
from .model_folders import listed_files
from .previews import waveform_ui
from .progress import HostProgress
from .schema import make_schema
from .vae import check_family
from .vae_host import (
    attach_host_module,
    init_host_vae,
    latent_part,
    load_model_file,
    output_dtype,
    vae_listable,
    vae_origin,
)

mm = comfy.model_management

# Rate the VAE's ``encode`` expects its waveform in: core's VAEEncodeAudio resamples to ``vae.audio_sample_rate``
# on new hosts and always to 44.1 kHz on old ones, so 44.1 kHz is right on both (our encode resamples to 16 kHz).
HOST_INPUT_SAMPLE_RATE = 44100
# Working-memory estimates (bytes): the vocoder's late, wide-rate stages dominate decoding (about 1k float32
# activations per output sample); encoding is the log-mel front-end plus the encoder at 100 mel frames/s.
DECODE_BYTES_PER_OUTPUT_SAMPLE = 4 * 1024
ENCODE_BYTES_PER_INPUT_SAMPLE = 2 * 1024


class AudioVAEModule(nn.Module):
    """``first_stage_model``: :class:`AudioVAE` and :class:`Vocoder` as children ``audio_vae`` / ``vocoder`` (so the
    state-dict keys are the official file keys), with ComfyUI's audio VAE contract."""

    def __init__(self, audio_vae: AudioVAE, vocoder: Vocoder, *, input_sample_rate: int) -> None:
        super().__init__()
        self.audio_vae = audio_vae
        self.vocoder = vocoder
        self.input_sample_rate = input_sample_rate

    @property
    def latent_channels(self) -> int:
        """Latent channels (8)."""
        return self.audio_vae.config.latent_channels

    @property
    def latent_frequency_bins(self) -> int:
        """Latent mel bins (16)."""
        return self.audio_vae.config.latent_mel_bins

    @property
    def sample_rate(self) -> int:
        """Rate of the VAE's spectrogram front-end (16 kHz)."""
        return self.audio_vae.sample_rate

    @property
    def output_sample_rate(self) -> int:
        """Rate of decoded waveforms (the vocoder's: 24 kHz for LTX-2, 48 kHz for LTX-2.3)."""
        return int(self.vocoder.sample_rate)

    def num_of_latents_from_frames(self, frames_number: int, frame_rate: float) -> int:
        """Audio latent frames matching ``frames_number`` video frames at ``frame_rate`` fps."""
        return audio_latent_frames_for_video(frames_number, frame_rate, self.audio_vae.config)

    def encode(self, waveform: torch.Tensor) -> torch.Tensor:
        """Waveform (B, 1|2, samples) at ``input_sample_rate`` Hz -> normalised latent (B, 8, T, 16)."""
        return self.encode_waveform(waveform, self.input_sample_rate)

    def encode_waveform(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Waveform (B, 1|2, samples) at ``sample_rate`` Hz -> normalised latent (B, 8, T, 16)."""
        if waveform.shape[-1] == 0:
            raise ValueError("the audio to encode is empty (0 samples)")
        return self.audio_vae.encode_waveform(waveform.float(), int(sample_rate))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        """Normalised latent (B, 8, T, 16) -> waveform (B, 2, samples) in [-1, 1] at ``output_sample_rate``."""
        return self.vocoder(self.audio_vae.decode(latent))


class LTX2AudioVAE(comfy.sd.VAE):
    """The LTX-2 / LTX-2.3 / LTX-2.5 audio VAE and vocoder of one file (``audio_vae.*``, ``vocoder.*``: a single-file
    checkpoint or LTX-2.5's split ``vae/ltx-2.5-audio-vae-*``) as ComfyUI's ``VAE``."""

    def __init__(self, path: str) -> None:
        init_host_vae(self, [torch.float32])  # core computes its LTX audio VAE in float32 too
        kw = {"dtype": self.vae_dtype, "operations": comfy.ops.disable_weight_init,
              "should_abort": HostProgress().check_interrupt}  # Cancel stops the load between tensors
        module = AudioVAEModule(load_component(path, Component.AUDIO_VAE, **kw),
                                load_component(path, Component.VOCODER, **kw),
                                input_sample_rate=HOST_INPUT_SAMPLE_RATE)
        latents_per_second = module.audio_vae.config.latents_per_second
        self.latent_channels, self.latent_dim, self.output_channels = module.latent_channels, 2, 2
        self.extra_1d_channel = module.latent_frequency_bins
        self.audio_sample_rate = HOST_INPUT_SAMPLE_RATE
        self.audio_sample_rate_output = module.output_sample_rate
        self.upscale_ratio = round(module.output_sample_rate / latents_per_second)  # output samples per latent
        self.downscale_ratio = round(HOST_INPUT_SAMPLE_RATE / latents_per_second)  # input samples per latent
        self.pad_channel_value, self.crop_input = "replicate", False  # mono -> stereo; never crop audio
        self.process_input = self.process_output = _identity
        self.memory_used_decode = lambda shape, dtype: shape[2] * self.upscale_ratio * DECODE_BYTES_PER_OUTPUT_SAMPLE
        self.memory_used_encode = lambda shape, dtype: shape[-1] * ENCODE_BYTES_PER_INPUT_SAMPLE
        self.origin = vae_origin(path)
        attach_host_module(self, module, disable_offload=True)

    def encode_audio(self, waveform: torch.Tensor, sample_rate: int) -> torch.Tensor:
        """Waveform (B, 1|2, samples) at any ``sample_rate`` -> normalised latent (B, 8, T, 16) on the host's
        intermediate device (resampled once, straight to the VAE's 16 kHz)."""
        samples = waveform.shape[-1] * HOST_INPUT_SAMPLE_RATE / max(1, int(sample_rate))
        mm.load_models_gpu([self.patcher], memory_required=samples * ENCODE_BYTES_PER_INPUT_SAMPLE,
                           force_full_load=True)
        with torch.no_grad():
            latent = self.first_stage_model.encode_waveform(waveform.to(self.device), sample_rate)
        return latent.to(device=self.output_device, dtype=output_dtype(self))


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


def audio_latent(samples: dict, vae: LTX2AudioVAE) -> torch.Tensor:
    """The audio latent (B, C, T, F) of a LATENT: the tensor itself, or the audio part of an audio+video
    ``NestedTensor``; C (latent channels, 8) and F (latent mel bins, 16) must be those of ``vae``'s config."""
    module = vae.first_stage_model
    expected = f"(B, {module.latent_channels}, T, {module.latent_frequency_bins})"
    hint = "(a video or image latent? connect the audio or audio+video latent)"
    latent = latent_part(samples, part=-1, ndim=4,
                         error=f"Decode Audio needs an audio latent {expected}; got shape {{shape}} {hint}")
    if (latent.shape[1], latent.shape[3]) != (module.latent_channels, module.latent_frequency_bins):
        raise ValueError(f"Decode Audio needs an audio latent {expected} for this audio VAE; got shape "
                         f"{tuple(latent.shape)} {hint}")
    return latent


def require_audio_vae(vae: Any) -> LTX2AudioVAE:
    """The audio VAE, or a clear error for another VAE."""
    if not isinstance(vae, LTX2AudioVAE):
        raise ValueError("audio_vae needs the audio VAE from Load Audio VAE (LTX-2), not a video VAE")
    return vae


AUDIO_VAE_FOLDERS = ("checkpoints", "vae")
_NOT_AUDIO_VAE = (FilePart.VIDEO_VAE, FilePart.TRANSFORMER, FilePart.TEXT_ENCODER, FilePart.UPSAMPLER,
                  FilePart.LORA, FilePart.DURATION_HEAD)


def _listable(path: str) -> bool:
    return vae_listable(path, _NOT_AUDIO_VAE)


class LTX2NAudioVAELoader(io.ComfyNode):
    """The audio VAE + vocoder of an LTX-2 / LTX-2.3 file."""

    DISPLAY_NAME = "Load Audio VAE (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="loaders",
            description="Loads the audio VAE and vocoder from an LTX-2 / LTX-2.3 single-file checkpoint "
                        "(models/checkpoints) or a standalone audio VAE file holding both (models/vae), e.g. "
                        "LTX-2.5's ltx-2.5-audio-vae-*.",
            inputs=[io.Combo.Input("vae_name", options=listed_files(AUDIO_VAE_FOLDERS, _listable),
                                   tooltip="Single-file LTX-2 checkpoint (models/checkpoints) or standalone LTX-2 "
                                           "audio VAE with its vocoder (models/vae, e.g. "
                                           "ltx-2.5-audio-vae-bf16.safetensors). Files whose header shows another "
                                           "part (video VAE, transformer, LoRA, ...) are not listed.")],
            outputs=[io.Vae.Output(display_name="audio_vae", tooltip="Audio VAE + vocoder; also usable with core's "
                                                                     "LTXV audio nodes.")],
        )

    @classmethod
    def execute(cls, vae_name: str) -> io.NodeOutput:
        return io.NodeOutput(load_model_file(LTX2AudioVAE, vae_name, AUDIO_VAE_FOLDERS, "audio VAE + vocoder"))


class LTX2NDecodeAudio(io.ComfyNode):
    """Audio latent -> AUDIO waveform at the vocoder's rate."""

    DISPLAY_NAME = "Decode Audio (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="decode",
            description="Decodes an audio latent (or the audio part of an audio+video latent) to a stereo "
                        "waveform through the audio VAE and vocoder.",
            inputs=[
                io.Latent.Input("samples", tooltip="Audio latent, or audio+video latent (its audio part is decoded)."),
                io.Vae.Input("audio_vae", tooltip="The audio VAE from Load Audio VAE (LTX-2)."),
            ],
            outputs=[io.Audio.Output(display_name="audio", tooltip="Stereo waveform at the vocoder's sample rate "
                                                                   "(24 kHz LTX-2, 48 kHz LTX-2.3).")],
        )

    @classmethod
    def execute(cls, samples: dict, audio_vae: Any) -> io.NodeOutput:
        vae = require_audio_vae(audio_vae)
        latent = audio_latent(samples, vae)
        check_family(cls.DISPLAY_NAME, vae, samples.get(LATENT_VERSION_KEY), "the latent", "audio")
        waveform = vae.decode(latent).movedim(-1, 1)  # host VAE returns (B, samples, 2)
        audio = {"waveform": waveform.to(device="cpu", dtype=torch.float32),
                 "sample_rate": vae.first_stage_model.output_sample_rate}
        return io.NodeOutput(audio, ui=waveform_ui(audio))  # a waveform strip on the node (js/previews.js)


class LTX2NEncodeAudio(io.ComfyNode):
    """AUDIO (any rate, mono or stereo) -> audio latent, e.g. for audio-to-video."""

    DISPLAY_NAME = "Encode Audio (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="encode",
            description="Encodes audio (any sample rate, mono or stereo) to an LTX-2 audio latent; mono is "
                        "duplicated to stereo and the audio resampled to the VAE's 16 kHz.",
            inputs=[
                io.Audio.Input("audio", tooltip="Audio to encode (e.g. from Load Audio)."),
                io.Vae.Input("audio_vae", tooltip="The audio VAE from Load Audio VAE (LTX-2)."),
            ],
            outputs=[io.Latent.Output(display_name="audio_latent", tooltip="Audio latent (B, 8, frames, 16), "
                                                                           "25 latent frames per second.")],
        )

    @classmethod
    def execute(cls, audio: dict, audio_vae: Any) -> io.NodeOutput:
        vae = require_audio_vae(audio_vae)
        latent = vae.encode_audio(audio["waveform"], int(audio["sample_rate"]))
        return io.NodeOutput({"samples": latent, "type": "audio"})
