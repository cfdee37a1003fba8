"""Lightricks' res_2s second-order sampler (the HQ two-stage recipe) as a core ``SAMPLER``.

The step is the library's (:func:`ltx_model.sampling.res2s_step`, ltx-pipelines HEAD
``res2s_audio_video_denoising_loop``: two model evaluations per step, the second at the noisy midpoint
``sqrt(sigma * sigma_next)``, bong iteration, SDE noise injection; a final plain denoise at sigma 0.0011 when the
sigmas end in 0). This module only runs it in ComfyUI's sampler contract (``comfy.samplers.KSAMPLER``), so it works
with core ``SamplerCustomAdvanced`` and any guider, and with Sample Audio+Video (LTX-2).

The sampler's ``x`` (a packed audio+video latent ``(B, 1, N)`` or one latent) is split into its parts and each part
is turned into the transformer's token layout (video ``(B, F·H·W, C)``, audio ``(B, T, C·M)``), so the SDE noise
(two generators, seeded like the reference: ``sde_seed`` and ``sde_seed + 10000``; -1 = the reference's fixed seed)
is drawn and normalised per part, video before audio, exactly as the library loop. The noise mask and the clean
latent (``KSamplerX0Inpaint.latent_image``) take the same route, so conditioned cells are blended back after every
noise injection as in the reference.

Node id ``LTX2NSamplerRes2s`` (eta, bongmath, sde_seed) -> sampler.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import comfy.model_management
import comfy.samplers
import comfy.utils
import torch
from comfy_api.latest import io

from ..ltx_model.pipelines.samplers import RES2S_NOISE_SEED
from ..ltx_model.sampling import (
    RES2S_ETA,
    LatentState,
    Res2sNoise,
    patchify_audio,
    patchify_video,
    res2s_finish,
    res2s_schedule,
    res2s_step,
    unpatchify_audio,
    unpatchify_video,
)
from .ancestral import packed_shapes
from .schema import make_schema


def to_tokens(part: torch.Tensor) -> torch.Tensor:
    """ComfyUI layout -> tokens: video ``(B, C, F, H, W)`` -> ``(B, F·H·W, C)``, audio ``(B, C, T, M)`` ->
    ``(B, T, C·M)``, anything else -> ``(B, N, 1)``."""
    if part.ndim == 5:
        return patchify_video(part)
    if part.ndim == 4:
        return patchify_audio(part)
    return part.reshape(part.shape[0], -1, 1)


def from_tokens(tokens: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """Inverse of :func:`to_tokens` for a part of ComfyUI ``shape``."""
    if len(shape) == 5:
        return unpatchify_video(tokens, frames=shape[2], height=shape[3], width=shape[4])
    if len(shape) == 4:
        return unpatchify_audio(tokens, channels=shape[1], mel_bins=shape[3])
    return tokens.reshape(tuple(shape))


@dataclass(frozen=True)
class Parts:
    """How the sampler's ``x`` splits into parts (``shapes``: ComfyUI shapes, video first; None = one latent)."""

    shapes: list | None
    like: tuple[int, ...]

    def split(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x`` (shaped like the sampler's ``x``) -> token tensors, one per part."""
        if self.shapes is None:
            return [to_tokens(x)]
        return [to_tokens(p) for p in comfy.utils.unpack_latents(x, self.shapes)]

    def join(self, tokens: Sequence[torch.Tensor]) -> torch.Tensor:
        if self.shapes is None:
            return from_tokens(tokens[0], self.like)
        packed, _ = comfy.utils.pack_latents([from_tokens(t, s) for t, s in zip(tokens, self.shapes, strict=True)])
        return packed


def _states(parts: Parts, x: torch.Tensor, mask: torch.Tensor | None, clean: torch.Tensor | None) -> list:
    """Token-layout :class:`LatentState` per part (positions / grid are unused by the res_2s step)."""
    mask = torch.ones_like(x) if mask is None else torch.broadcast_to(mask.to(x), x.shape)
    clean = torch.zeros_like(x) if clean is None else clean.to(x)
    return [LatentState(latent=lat, denoise_mask=m.float(), positions=lat.new_zeros(0), clean_latent=c, grid=None)
            for lat, m, c in zip(parts.split(x), parts.split(mask), parts.split(clean), strict=True)]


@torch.no_grad()
def sample_res2s(model: Any, x: torch.Tensor, sigmas: torch.Tensor, extra_args: dict | None = None,
                 callback: Any = None, disable: bool | None = None, eta: float = RES2S_ETA, bongmath: bool = True,
                 sde_seed: int = RES2S_NOISE_SEED) -> torch.Tensor:
    """ComfyUI sampler function (``KSAMPLER``): the library's res_2s steps over ``sigmas`` (see the module
    docstring). ``x``: the noised start latent; returns the final latent in ``x``'s layout and dtype."""
    extra_args = extra_args or {}
    shapes = packed_shapes(model, x)
    parts = Parts(shapes if shapes is not None and len(shapes) > 1 else None, tuple(x.shape))
    states = _states(parts, x, extra_args.get("denoise_mask"), getattr(model, "latent_image", None))
    ones = x.new_ones([x.shape[0]])

    def denoise(current: Sequence[LatentState], sig: torch.Tensor, i: int) -> list[torch.Tensor]:
        comfy.model_management.throw_exception_if_processing_interrupted()
        latent = parts.join([s.latent.to(x.dtype) for s in current])
        return parts.split(model(latent, sig[i].to(x) * ones, **extra_args))

    noise = Res2sNoise.from_seed(sde_seed, device=str(x.device))
    full, total = res2s_schedule(sigmas), len(sigmas) - 1
    for i in range(total):
        states = res2s_step(states, denoise, full, i, noise=noise, bongmath=bongmath, model_dtype=x.dtype, eta=eta)
        if callback is not None:  # the host's callback: previews + progress bar
            current = parts.join([s.latent for s in states])
            callback({"x": current, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": current})
    if total > 0 and full[-1] == 0:
        states = res2s_finish(states, denoise, full, model_dtype=x.dtype)
    return parts.join([s.latent for s in states])


def res2s_sampler(eta: float = RES2S_ETA, bongmath: bool = True, sde_seed: int = RES2S_NOISE_SEED) -> Any:
    """A core ``SAMPLER`` running :func:`sample_res2s`."""
    if not math.isfinite(eta) or not 0.0 <= eta <= 1.0:
        raise ValueError(f"Res2s Sampler (LTX-2): eta must be between 0 and 1 (got {eta})")
    return comfy.samplers.KSAMPLER(sample_res2s, extra_options={"eta": eta, "bongmath": bongmath,
                                                                "sde_seed": sde_seed})


class LTX2NSamplerRes2s(io.ComfyNode):
    """Core SAMPLER with Lightricks' second-order res_2s step (HQ recipe)."""

    DISPLAY_NAME = "Res2s Sampler (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="sampling",
            description="Lightricks' res_2s sampler (the HQ two-stage recipe): a second-order exponential "
                        "Runge-Kutta step with SDE noise, two model passes per step, so about half the steps of "
                        "Euler for the same quality (HQ: 15 stage-1 steps). Use with Sampler Custom Advanced or "
                        "Sample Audio+Video (LTX-2), on both stages.",
            inputs=[
                io.Float.Input("eta", default=RES2S_ETA, min=0.0, max=1.0, step=0.01,
                               tooltip="Step noise strength: 0 = deterministic, 1 = maximum (Lightricks: 0.5)."),
                io.Boolean.Input("bongmath", default=True,
                                 tooltip="Refine the step's anchor point on small steps (Lightricks: on)."),
                io.Int.Input("sde_seed", default=RES2S_NOISE_SEED, min=-1, max=0x7FFFFFFFFFFFFFFF,
                             tooltip="Seed of the step noise; -1 = Lightricks' fixed seed (the start noise "
                                     "still comes from the noise seed)."),
            ],
            outputs=[io.Sampler.Output(display_name="sampler", tooltip="For Sampler Custom Advanced.")],
        )

    @classmethod
    def execute(cls, eta: float, bongmath: bool, sde_seed: int) -> io.NodeOutput:
        return io.NodeOutput(res2s_sampler(eta, bongmath, sde_seed))
