"""Lightricks' Euler-ancestral step (LTX-2.5 distilled default) as a core ``SAMPLER``.

The step itself is the library's (:func:`ltx_model.sampling.euler_ancestral_step`); this module only runs it in
ComfyUI's sampler contract (``comfy.samplers.KSAMPLER``), so it works with core ``SamplerCustomAdvanced`` and any
guider, and with Sample Audio+Video (LTX-2).

Noise follows ltx-pipelines HEAD's ``euler_ancestral_denoising_loop`` exactly as the library loop
(:func:`ltx_model.pipelines.ancestral_loop`): ONE generator seeded with ``seed + ANCESTRAL_NOISE_SEED_OFFSET`` (the
host's noise seed), per step the video noise is drawn before the audio noise, each in the transformer's token
layout (video ``(B, F·H·W, C)``, audio ``(B, T, C·M)``), and nothing is drawn on the last step. So a run equals the
library loop from the same start latent and seed.

Node id ``LTX2NSamplerEulerAncestral`` (eta, s_noise) -> sampler.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import comfy.model_management
import comfy.samplers
import comfy.utils
import torch
from comfy_api.latest import io

from ..ltx_model.pipelines.samplers import ANCESTRAL_ETA, ANCESTRAL_NOISE_SEED_OFFSET, ANCESTRAL_S_NOISE
from ..ltx_model.sampling import euler_ancestral_step, unpatchify_audio, unpatchify_video
from .schema import make_schema


def _part_noise(shape: Sequence[int], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """Standard noise for one latent part, drawn in the transformer's token layout and returned in ComfyUI's:
    video ``(B, C, F, H, W)`` from ``(B, F·H·W, C)`` tokens, audio ``(B, C, T, M)`` from ``(B, T, C·M)``; any other
    shape is drawn as it is."""
    kw = {"generator": generator, "dtype": like.dtype, "device": like.device}
    if len(shape) == 5:
        b, c, f, h, w = shape
        return unpatchify_video(torch.randn(b, f * h * w, c, **kw), frames=f, height=h, width=w)
    if len(shape) == 4:
        b, c, t, m = shape
        return unpatchify_audio(torch.randn(b, t, c * m, **kw), channels=c, mel_bins=m)
    return torch.randn(tuple(shape), **kw)


def step_noise(x: torch.Tensor, latent_shapes: Sequence[Sequence[int]] | None,
               generator: torch.Generator) -> torch.Tensor:
    """Noise shaped like the sampler's ``x``: a packed audio+video latent ``(B, 1, N)`` (``latent_shapes``: its
    parts, video first, drawn in that order) or a single latent."""
    if latent_shapes is None or len(latent_shapes) < 2:
        return _part_noise(tuple(x.shape), generator, x)
    parts = [_part_noise(tuple(shape), generator, x) for shape in latent_shapes]
    packed, _ = comfy.utils.pack_latents(parts)
    return packed


def packed_shapes(model: Any, x: torch.Tensor) -> list | None:
    """The ``latent_shapes`` of the running sampling run (threaded into the processed conds by the sampler), or
    None for a single latent. ``model`` is ComfyUI's ``KSamplerX0Inpaint`` around the guider."""
    conds = getattr(getattr(model, "inner_model", None), "conds", None) or {}
    for entries in conds.values():
        for cond in entries or ():
            shapes = cond.get("model_conds", {}).get("latent_shapes")
            if shapes is not None:
                return list(shapes.cond)
    if x.ndim == 3 and x.shape[1] == 1:
        raise ValueError("Euler Ancestral (LTX-2): a packed audio+video latent without 'latent_shapes' in the "
                         "conditioning; use a guider that processes its conds (CFGGuider, Multimodal Guider)")
    return None


@torch.no_grad()
def sample_euler_ancestral(model: Any, x: torch.Tensor, sigmas: torch.Tensor, extra_args: dict | None = None,
                           callback: Any = None, disable: bool | None = None, eta: float = ANCESTRAL_ETA,
                           s_noise: float = ANCESTRAL_S_NOISE) -> torch.Tensor:
    """ComfyUI sampler function (``KSAMPLER``): one library ancestral step per sigma pair (see the module
    docstring for the noise). ``x``: the noised start latent (packed ``(B, 1, N)`` or a single latent)."""
    extra_args = extra_args or {}
    generator = torch.Generator(device=x.device).manual_seed(int(extra_args.get("seed", 0))
                                                             + ANCESTRAL_NOISE_SEED_OFFSET)
    shapes = packed_shapes(model, x)
    mask, clean = extra_args.get("denoise_mask"), getattr(model, "latent_image", None)
    ones = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):  # progress: the host's callback (previews + progress bar)
        comfy.model_management.throw_exception_if_processing_interrupted()
        denoised = model(x, sigmas[i] * ones, **extra_args)  # KSamplerX0Inpaint keeps masked cells clean
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        noise = None
        if eta > 0 and float(sigmas[i + 1]) != 0:
            noise = step_noise(x, shapes, generator)
        x = euler_ancestral_step(x, denoised, sigmas[i], sigmas[i + 1], noise, eta=eta, s_noise=s_noise)
        if noise is not None and mask is not None and clean is not None:  # conditioned cells stay clean
            x = x * mask + clean * (1 - mask)
    return x


def euler_ancestral_sampler(eta: float = ANCESTRAL_ETA, s_noise: float = ANCESTRAL_S_NOISE) -> Any:
    """A core ``SAMPLER`` running :func:`sample_euler_ancestral`."""
    if not (math.isfinite(eta) and math.isfinite(s_noise)) or eta < 0 or s_noise < 0:
        raise ValueError(f"Euler Ancestral (LTX-2): eta and s_noise must be >= 0 (got {eta}, {s_noise})")
    return comfy.samplers.KSAMPLER(sample_euler_ancestral, extra_options={"eta": eta, "s_noise": s_noise})


class LTX2NSamplerEulerAncestral(io.ComfyNode):
    """Core SAMPLER with Lightricks' rectified-flow Euler-ancestral step."""

    DISPLAY_NAME = "Euler Ancestral Sampler (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="sampling",
            description="Lightricks' ancestral (SDE) Euler step for rectified flow, the sampler of distilled "
                        "LTX-2.5 runs. Use with Sampler Custom Advanced or Sample Audio+Video (LTX-2). The "
                        "step noise comes from the noise seed (+10000), video before audio, as the reference.",
            inputs=[
                io.Float.Input("eta", default=ANCESTRAL_ETA, min=0.0, max=1.0, step=0.01,
                               tooltip="0 = plain Euler (no noise), 1 = fully ancestral (Lightricks: 1)."),
                io.Float.Input("s_noise", default=ANCESTRAL_S_NOISE, min=0.0, max=10.0, step=0.01,
                               tooltip="Scale of the injected noise (Lightricks: 1)."),
            ],
            outputs=[io.Sampler.Output(display_name="sampler", tooltip="For Sampler Custom Advanced.")],
        )

    @classmethod
    def execute(cls, eta: float, s_noise: float) -> io.NodeOutput:
        return io.NodeOutput(euler_ancestral_sampler(eta, s_noise))
