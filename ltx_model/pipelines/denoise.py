"""Denoising: x0 predictions from the transformer (plain or multimodal-guided) and the Euler loop.

The transformer predicts velocities; ``x0 = x - timesteps · v`` per token (ltx-core ``X0Model``). The guided
denoiser runs the reference's up-to-four passes per step (``multi_modal_guider_denoising_func``): cond, uncond
(negative contexts), perturbed (STG: self-attention of the listed blocks skipped) and modality-isolated (all
audio<->video cross-attention skipped), then combines them per stream with :func:`ltx_model.sampling.guide`.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from ..modes import state_keyframes_mask
from ..sampling import (
    ISOLATE_MODALITIES,
    GuiderParams,
    LatentState,
    denoise_to_next,
    guide,
    modality_sigma,
    stg_perturbations,
    timesteps_from_mask,
    to_denoised,
)
from ..transformer import LTXTransformer, Modality, Perturbations
from .request import Callbacks, Guidance, TextContexts

# (video_state | None, audio_state | None, sigmas, step_index) -> (video x0 | None, audio x0 | None), each (1, T, D);
# a stream that is None (text-to-audio has no video) stays None and is never computed.
DenoiseFn = Callable[
    [LatentState | None, LatentState | None, torch.Tensor, int], tuple[torch.Tensor | None, torch.Tensor | None]
]

NEUTRAL = GuiderParams()

# One step's guidance passes by name ("cond", "uncond", "perturbed", "isolated"): (video, audio, perturbations).
PassPlan = dict[str, tuple[Modality | None, Modality | None, Perturbations | None]]
# Runs a plan: (transformer, plan) -> {name: (video x0 | None, audio x0 | None)}. The default runs the passes one
# after the other; ltx_model.distributed.GuidanceParallel runs them on different ranks.
PassRunner = Callable[[LTXTransformer, PassPlan], dict[str, tuple[torch.Tensor | None, torch.Tensor | None]]]


def modality(
    state: LatentState | None, context: torch.Tensor | None, sigma: torch.Tensor, *, enabled: bool = True
) -> Modality | None:
    """Transformer input of one stream at ``sigma`` (timesteps = denoise_mask · sigma per token); None → None.
    A video stream carries its keyframes mask (:func:`ltx_model.modes.state_keyframes_mask`; used by LTX-2.5)."""
    if state is None:
        return None
    return Modality(
        latent=state.latent,
        sigma=modality_sigma(state, sigma),
        timesteps=timesteps_from_mask(state.denoise_mask, sigma),
        timestep_levels=timesteps_from_mask(mask_levels(state.denoise_mask), sigma),
        positions=state.positions,
        context=context,
        enabled=enabled,
        attention_mask=state.attention_mask,
        keyframes_mask=state_keyframes_mask(state),
    )


_MASK_LEVELS: dict[int, tuple[weakref.ref, int, torch.Tensor]] = {}


def mask_levels(denoise_mask: torch.Tensor) -> torch.Tensor:
    """``(B, U, 1)`` ascending distinct values of each sample's ``(B, T, 1)`` denoise mask (a sample with fewer
    distinct values repeats its largest), for :attr:`Modality.timestep_levels`.

    Found once per mask tensor (one host sync per stream and generation: the loop keeps the same mask object from
    step to step) and remembered while that tensor lives and is not written in place (its version counter; an
    inference-mode tensor has none, and the pipelines never write a mask in place), so the per-step path never
    reads the device.
    """
    version = -1 if denoise_mask.is_inference() else denoise_mask._version  # inference tensors have no counter
    hit = _MASK_LEVELS.get(id(denoise_mask))
    if hit is not None and hit[0]() is denoise_mask and hit[1] == version:
        return hit[2]
    for key in [key for key, (ref, _, _) in _MASK_LEVELS.items() if ref() is None]:
        del _MASK_LEVELS[key]
    distinct = [torch.unique(sample.reshape(-1)) for sample in denoise_mask]  # (U_b,) each, ascending
    width = max(d.shape[0] for d in distinct)
    levels = torch.stack([torch.cat([d, d[-1:].expand(width - d.shape[0])]) for d in distinct]).unsqueeze(-1)
    _MASK_LEVELS[id(denoise_mask)] = (weakref.ref(denoise_mask), version, levels)
    return levels


def predict_x0(
    transformer: LTXTransformer,
    video: Modality | None,
    audio: Modality | None,
    perturbations: Perturbations | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """One transformer pass → per-stream x0 predictions ``(1, T, D)`` (float32 math, latent dtype).

    A stream given as None is left out of the pass (no tokens computed) and returns None.
    """
    with torch.no_grad():
        v_velocity, a_velocity = transformer(video, audio, perturbations)
    return _x0(video, v_velocity), _x0(audio, a_velocity)


def _x0(stream: Modality | None, velocity: torch.Tensor | None) -> torch.Tensor | None:
    return None if stream is None else to_denoised(stream.latent, velocity, stream.timesteps)


def run_passes(transformer: LTXTransformer, plan: PassPlan) -> dict:
    """The default :data:`PassRunner`: every pass of ``plan`` in order, in this process."""
    return {name: predict_x0(transformer, *inputs) for name, inputs in plan.items()}


def simple_denoiser(transformer: LTXTransformer, contexts: TextContexts) -> DenoiseFn:
    """Distilled-model denoiser: one positive-prompt pass per step, no guidance."""

    def denoise(video: LatentState | None, audio: LatentState | None, sigmas: torch.Tensor, step: int) -> tuple:
        sigma = sigmas[step]
        return predict_x0(transformer, modality(video, contexts.video, sigma), modality(audio, contexts.audio, sigma))

    return denoise


def _params_at(guidance: Guidance | None, sigma: torch.Tensor) -> GuiderParams:
    if guidance is None:
        return NEUTRAL
    return guidance if isinstance(guidance, GuiderParams) else guidance.at(sigma)


@dataclass
class GuidedDenoiser:
    """Multimodal guidance (CFG / STG / modality / rescale) for the dev model; see the module docstring.

    ``skip_step`` reuses the previous step's prediction of a stream (both skipped: no pass at all). ``runner``
    executes each step's :data:`PassPlan` (default: :func:`run_passes`).
    """

    transformer: LTXTransformer
    contexts: TextContexts
    video_guidance: Guidance | None
    audio_guidance: Guidance | None
    runner: PassRunner = run_passes
    _last: tuple[torch.Tensor, torch.Tensor] | None = None

    def _negative(self, video: GuiderParams, audio: GuiderParams) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        ctx = self.contexts
        for name, params, negative in (("video", video, ctx.negative_video), ("audio", audio, ctx.negative_audio)):
            if params.needs_uncond() and negative is None:
                raise ValueError(f"{name} CFG scale {params.cfg_scale} needs a negative {name} context")
        return (
            ctx.negative_video if ctx.negative_video is not None else ctx.video,
            ctx.negative_audio if ctx.negative_audio is not None else ctx.audio,
        )

    def _passes(
        self, v: Modality | None, a: Modality | None, vp: GuiderParams, ap: GuiderParams, sigma: torch.Tensor
    ) -> dict:
        """Run the needed passes; ``{"cond"|"uncond"|"perturbed"|"isolated": (video x0, audio x0)}``."""
        plan: PassPlan = {"cond": (v, a, None)}
        if vp.needs_uncond() or ap.needs_uncond():
            neg_v, neg_a = self._negative(vp, ap)
            plan["uncond"] = (_with_context(v, neg_v, sigma), _with_context(a, neg_a, sigma), None)
        if vp.needs_perturbed() or ap.needs_perturbed():
            plan["perturbed"] = (v, a, stg_perturbations(vp, ap))
        if (vp.needs_isolated() or ap.needs_isolated()) and v is not None and a is not None:
            plan["isolated"] = (v, a, ISOLATE_MODALITIES)
        return self.runner(self.transformer, plan)

    def __call__(self, video: LatentState | None, audio: LatentState | None, sigmas: torch.Tensor, step: int) -> tuple:
        sigma = sigmas[step]
        vp, ap = _params_at(self.video_guidance, sigma), _params_at(self.audio_guidance, sigma)
        skip_v, skip_a = vp.skips_step(step), ap.skips_step(step)
        if skip_v and skip_a and self._last is not None:
            return self._last
        v = modality(video, self.contexts.video, sigma, enabled=not skip_v)
        a = modality(audio, self.contexts.audio, sigma, enabled=not skip_a)
        passes = self._passes(v, a, vp, ap, sigma)
        results = []
        for index, (params, skip) in enumerate(((vp, skip_v), (ap, skip_a))):
            if passes["cond"][index] is None:  # stream left out (text-to-audio: no video)
                results.append(None)
                continue
            if skip and self._last is not None:
                results.append(self._last[index])
                continue
            terms = {name: pair[index] for name, pair in passes.items()}
            results.append(guide(params, terms.pop("cond"), **terms))
        self._last = (results[0], results[1])
        return self._last


def _with_context(m: Modality | None, context: torch.Tensor | None, sigma: torch.Tensor) -> Modality | None:
    """The same stream input with another text context (the uncond pass is always enabled, as the reference)."""
    if m is None:
        return None
    return replace(m, context=context, enabled=True)


def euler_loop(
    sigmas: torch.Tensor,
    video: LatentState | None,
    audio: LatentState | None,
    denoise: DenoiseFn,
    *,
    callbacks: Callbacks | None = None,
) -> tuple[LatentState | None, LatentState | None]:
    """ltx-pipelines ``euler_denoising_loop``: for every sigma but the last, x0 → blend with the clean latent by
    the denoise mask → Euler step. Checks the interrupt before and reports progress after each step.
    A stream given as None (text-to-audio: no video) stays None."""
    callbacks = callbacks or Callbacks()
    total = len(sigmas) - 1
    for step in range(total):
        callbacks.check()
        video_x0, audio_x0 = denoise(video, audio, sigmas, step)
        video = _step(video, video_x0, sigmas, step)
        audio = _step(audio, audio_x0, sigmas, step)
        callbacks.progress(step + 1, total)
    return video, audio


def _step(state: LatentState | None, x0: torch.Tensor | None, sigmas: torch.Tensor, step: int) -> LatentState | None:
    return None if state is None else denoise_to_next(state, x0, sigmas[step], sigmas[step + 1])
