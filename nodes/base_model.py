"""The pack's ``BaseModel`` wrapper and model config for ComfyUI's diffusion-model machinery.

:class:`LTX2Model` wraps ``ltx_model``'s transformer (:class:`~.diffusion.HostTransformer`, with the text connectors
when the checkpoint has them): sampler kwargs -> conditions, per-token timesteps from the video / audio denoise masks,
and the activation-memory estimate (``memory_required``). :class:`LTX2ModelConfig` is its
``supported_models_base.BASE`` config.
"""

from __future__ import annotations

import math
from typing import Any

import comfy.conds
import comfy.model_base
import comfy.model_management
import comfy.supported_models_base
import comfy.utils
import torch

from ..ltx_model.loading.keymaps import VIDEO_VAE_PREFIX
from ..ltx_model.pipelines.denoise import mask_levels
from ..ltx_model.sampling import patchify_audio, patchify_video, timesteps_from_mask
from .diffusion import AUDIO_LEVELS_KEY, REFERENCES_KEY, VIDEO_LEVELS_KEY, HostTransformer
from .latent_formats import LTX2VideoLatentFormat

# Peak activation memory per token and hidden channel, in units of the compute dtype's size: residual stream, norms,
# q/k/v/out, the 4x feed-forward (in and out) and cross-modal attention, with SDPA's memory-efficient kernels.
ACTIVATION_UNITS_PER_TOKEN_CHANNEL = 24
FEATURES_PER_TOKEN = 128  # video: 128 channels per latent cell; audio: 8 channels x 16 mel bins


class LTX2Model(comfy.model_base.BaseModel):
    """``BaseModel`` around :class:`HostTransformer` (flow matching, ``ModelType.FLUX`` like core LTXV/LTXAV).

    Audio+video latents travel packed; ``latent_shapes`` (from the sampler) unpacks ``x`` and the denoise mask
    into the video and audio parts, exactly as core's LTXAV contract.
    """

    def __init__(self, model_config: Any, model_type: Any = comfy.model_base.ModelType.FLUX, device: Any = None):
        super().__init__(model_config, model_type, device=device, unet_model=HostTransformer)

    def extra_conds(self, **kwargs: Any) -> dict[str, Any]:
        if kwargs.get("unprocessed_ltxav_embeds") and kwargs.get("cross_attn") is not None:
            # core LTXAVTextEncoderLoader + CLIPTextEncode: projected Gemma features; run our connectors once per
            # sampling run (as core's LTXAV does); the result has no padding, so any text mask is dropped
            features = kwargs["cross_attn"].to(device=kwargs["device"], dtype=self.get_dtype_inference())
            kwargs = {**kwargs, "cross_attn": self.diffusion_model.process_text_embeds(features),
                      "attention_mask": None}
        out = super().extra_conds(**kwargs)
        self.latent_format.latent_shapes = kwargs.get("latent_shapes")  # how previews unpack the packed x0
        conds = {"attention_mask": comfy.conds.CONDRegular, "cross_attn": comfy.conds.CONDRegular,
                 "keyframe_idxs": comfy.conds.CONDRegular, "latent_shapes": comfy.conds.CONDConstant,
                 "guide_attention_entries": comfy.conds.CONDConstant,
                 REFERENCES_KEY: comfy.conds.CONDConstant,  # IC-LoRA references (diffusion.VideoReferences)
                 "ref_audio": comfy.conds.CONDConstant}  # core LTXVReferenceAudio's {"tokens": (B, T_ref, C*M)}
        for key, cond in conds.items():
            if kwargs.get(key) is not None:
                out["c_crossattn" if key == "cross_attn" else key] = cond(kwargs[key])
        out["frame_rate"] = comfy.conds.CONDConstant(kwargs.get("frame_rate", 25))
        video_mask, audio_mask = _split_mask(kwargs.get("concat_mask", kwargs.get("denoise_mask")),
                                             kwargs.get("latent_shapes"))
        if video_mask is not None:
            out["denoise_mask"] = comfy.conds.CONDRegular(video_mask)
            out[VIDEO_LEVELS_KEY] = comfy.conds.CONDRegular(self._levels(_video_token_mask(video_mask)))
        if audio_mask is not None:
            out["audio_denoise_mask"] = comfy.conds.CONDRegular(audio_mask)
            out[AUDIO_LEVELS_KEY] = comfy.conds.CONDRegular(self._levels(_audio_token_mask(audio_mask)))
        return out

    def _levels(self, token_mask: torch.Tensor) -> torch.Tensor:
        """``(B, U, 1)`` distinct values of a ``(B, T, 1)`` token mask, found once per sampling run (here, in
        ``extra_conds``: one host sync per stream and prompt, before the first step) in the dtype ``_apply_model``
        casts the mask to every step, so the levels hold exactly the per-token values ``process_timestep`` sees."""
        return mask_levels(token_mask.to(self.get_dtype_inference()))

    def process_timestep(self, timestep: torch.Tensor, x: Any = None, denoise_mask: torch.Tensor | None = None,
                         audio_denoise_mask: torch.Tensor | None = None, **kwargs: Any) -> tuple:
        """``(video_t, audio_t, video_sigma, audio_sigma, video_levels, audio_levels)``: per-token
        ``mask * sigma`` ``(B, T)`` where a mask exists (else the ``(B,)`` sigma). A stream whose mask is all zero
        is frozen and gets sigma 0 (HEAD ltx-core ``modality_from_latent_state``; 1.0.0 passed the global sigma).
        ``*_levels``: the mask's distinct values (``extra_conds``) x sigma ``(B, U, 1)``, the
        :attr:`Modality.timestep_levels` that spare the AdaLN its per-pass ``torch.unique``; None without them."""
        sigma = timestep.reshape(-1)
        v_t = a_t = sigma
        v_sigma = a_sigma = sigma
        if denoise_mask is not None:
            v_t = _mask_timesteps(_video_token_mask(denoise_mask), sigma)
            v_sigma = _frozen_to_zero(v_t, sigma)
        if audio_denoise_mask is not None:
            a_t = _mask_timesteps(_audio_token_mask(audio_denoise_mask), sigma)
            a_sigma = _frozen_to_zero(a_t, sigma)
        v_levels = _level_timesteps(kwargs.get(VIDEO_LEVELS_KEY) if denoise_mask is not None else None, sigma)
        a_levels = _level_timesteps(kwargs.get(AUDIO_LEVELS_KEY) if audio_denoise_mask is not None else None, sigma)
        return v_t, a_t, v_sigma, a_sigma, v_levels, a_levels

    def scale_latent_inpaint(self, sigma: Any, noise: Any, latent_image: Any, **kwargs: Any) -> Any:
        # Conditioning frames are kept clean (their per-token timestep is 0), never re-noised.
        return latent_image

    def memory_required(self, input_shape: Any, cond_shapes: Any = None) -> float:
        """Bytes of activations for one forward: tokens x hidden width x dtype size x a fixed factor.

        ``input_shape`` is the (possibly packed ``(B, 1, N)``) noise shape with the CFG batch already multiplied in.
        """
        tokens = _token_count(tuple(input_shape))
        config = self.diffusion_model.config
        width = config.video_inner_dim if config.kind.has_video else config.audio_inner_dim  # audio-only MODEL
        dtype_size = comfy.model_management.dtype_size(self.get_dtype_inference())
        return tokens * width * dtype_size * ACTIVATION_UNITS_PER_TOKEN_CHANNEL


def _token_count(shape: tuple[int, ...]) -> int:
    """Transformer tokens of a noise shape: packed ``(B, 1, N)`` -> ``B * N / 128``; grid ``(B, C, ...)`` -> cells."""
    if len(shape) == 3 and shape[1] == 1:
        return shape[0] * math.ceil(shape[2] / FEATURES_PER_TOKEN)
    return shape[0] * math.prod(shape[2:])


def _split_mask(mask: Any, latent_shapes: Any) -> tuple[Any, Any]:
    """The packed denoise mask -> (video mask, audio mask); without ``latent_shapes`` it is the video mask."""
    if mask is None or latent_shapes is None:
        return mask, None
    parts = comfy.utils.unpack_latents(mask, latent_shapes)
    return parts[0], (parts[1] if len(parts) > 1 else None)


def _video_token_mask(mask: torch.Tensor) -> torch.Tensor:
    """Video noise mask ``(B, C, F, H, W)`` -> ``(B, T, 1)`` token mask (its first channel)."""
    return patchify_video(mask[:, :1])


def _audio_token_mask(mask: torch.Tensor) -> torch.Tensor:
    """Audio noise mask ``(B, C, T, M)`` -> ``(B, T, 1)`` token mask (first channel, first mel bin)."""
    return patchify_audio(mask[:, :1, :, :1])


def _mask_timesteps(token_mask: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """``(B, T, 1)`` token mask and ``(B,)`` sigma -> ``(B, T)`` timesteps."""
    return timesteps_from_mask(token_mask, sigma.view(-1, 1, 1)).squeeze(-1)


def _level_timesteps(levels: torch.Tensor | None, sigma: torch.Tensor) -> torch.Tensor | None:
    """``(B, U, 1)`` mask levels x ``(B,)`` sigma, the same multiplication as :func:`_mask_timesteps` (so every
    per-token timestep is exactly one of them); None when the levels do not fit the batch."""
    if levels is None or levels.shape[0] != sigma.shape[0]:
        return None
    return timesteps_from_mask(levels, sigma.view(-1, 1, 1))


def _frozen_to_zero(token_t: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Per-sample sigma, 0 where every token of the stream is clean (frozen stream)."""
    return torch.where(token_t.amax(dim=1) > 0, sigma, torch.zeros_like(sigma))


class LTX2ModelConfig(comfy.supported_models_base.BASE):
    """Model config (``supported_models_base.BASE``) for a pack-built LTX-2 / LTX-2.3 transformer."""

    unet_config = {"image_model": "ltx2_native"}
    unet_extra_config = {}
    sampling_settings = {"shift": 2.37}
    latent_format = LTX2VideoLatentFormat
    memory_usage_factor = 1.0
    supported_inference_dtypes = [torch.bfloat16, torch.float32]
    vae_key_prefix = [VIDEO_VAE_PREFIX]

    def get_model(self, state_dict: Any = None, prefix: str = "", device: Any = None) -> LTX2Model:
        return LTX2Model(self, device=device)
