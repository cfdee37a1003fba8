"""Audio path of LTX-2 / LTX-2.3: mel front-end, audio VAE (spectrogram ⇄ latent) and vocoders (mel → waveform).

Typical use::

    vae = AudioVAE(AudioVAEConfig.from_dict(config["audio_vae"]))     # keys: file keys minus "audio_vae."
    vocoder = Vocoder(VocoderConfig.from_dict(config["vocoder"]))     # keys: file keys minus one "vocoder."
    latent = vae.encode_waveform(waveform, sample_rate)               # (B, 8, T_lat, 16)
    waveform = vocoder(vae.decode(latent))                            # (B, 2, samples) at vocoder.sample_rate
"""

from .audio_vae import AudioDecoder, AudioEncoder, AudioVAE, AudioVAEParts, PerChannelStatistics
from .config import AudioVAEConfig, tiny_audio_vae_section
from .geometry import (
    audio_latent_frames_for_duration,
    audio_latent_frames_for_video,
    audio_latent_shape,
    latent_frame_duration_s,
    latent_frames_for_mel_frames,
    latent_frames_for_samples,
    mel_frames_for_latent_frames,
    mel_frames_for_samples,
)
from .mel import log_mel_spectrogram, mel_filterbank, resample, to_stereo, waveform_to_mel
from .vocoder import Vocoder
from .vocoder_config import (
    BandwidthExtensionConfig,
    FinalActivation,
    GeneratorConfig,
    GeneratorKind,
    VocoderConfig,
    tiny_vocoder_section,
)

__all__ = [
    "AudioDecoder",
    "AudioEncoder",
    "AudioVAE",
    "AudioVAEConfig",
    "AudioVAEParts",
    "BandwidthExtensionConfig",
    "FinalActivation",
    "GeneratorConfig",
    "GeneratorKind",
    "PerChannelStatistics",
    "Vocoder",
    "VocoderConfig",
    "audio_latent_frames_for_duration",
    "audio_latent_frames_for_video",
    "audio_latent_shape",
    "latent_frame_duration_s",
    "latent_frames_for_mel_frames",
    "latent_frames_for_samples",
    "log_mel_spectrogram",
    "mel_filterbank",
    "mel_frames_for_latent_frames",
    "mel_frames_for_samples",
    "resample",
    "tiny_audio_vae_section",
    "tiny_vocoder_section",
    "to_stereo",
    "waveform_to_mel",
]
