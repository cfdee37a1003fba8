"""Denoising loops by :class:`~ltx_model.pipelines.request.Sampler`: the Euler loop, Lightricks' ancestral one, or
the second-order res_2s loop of the HQ pipeline (:func:`res2s_pipeline_loop`, ltx-pipelines HEAD
``res2s_audio_video_denoising_loop`` with :func:`ltx_model.sampling.res2s_step`).

The ancestral loop (ltx-pipelines HEAD ``euler_ancestral_denoising_loop``, used by the distilled pipeline's stage 1
from LTX-2.5 on) steps with :func:`ltx_model.sampling.ancestral_to_next` (eta 1, s_noise 1): per step, the video
noise is drawn before the audio noise from ONE generator seeded with ``seed + ANCESTRAL_NOISE_SEED_OFFSET`` (so the
loop's first draw differs from the initial latent noise), and nothing is drawn on the last step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..sampling import RES2S_ETA, LatentState, Res2sNoise, ancestral_to_next, res2s_finish, res2s_schedule, res2s_step
from ..sampling.guidance import version_numbers
from .denoise import DenoiseFn, euler_loop
from .request import Callbacks, Sampler

ANCESTRAL_SINCE_VERSION = (2, 5)
"""Models from this ``model_version`` on sample (distilled, stage 1) with the ancestral step (ltx-pipelines HEAD
``ANCESTRAL_SAMPLER_SINCE_VERSION``)."""
ANCESTRAL_ETA = 1.0
ANCESTRAL_S_NOISE = 1.0
ANCESTRAL_NOISE_SEED_OFFSET = 10000
RES2S_NOISE_SEED = -1
"""ltx-pipelines HEAD's stages call ``res2s_audio_video_denoising_loop`` with its default ``noise_seed=-1`` (substep
seed 9999): the res_2s SDE noise does not follow the generation seed (the initial noise does)."""

# (sigmas, video_state | None, audio_state | None, denoise, callbacks=) -> final (video_state, audio_state)
LoopFn = Callable[..., tuple[LatentState | None, LatentState | None]]


def default_sampler(model_version: str | None, *, guided: bool) -> Sampler:
    """The reference's sampler for a model: ancestral for distilled (unguided) runs of LTX-2.5 and later."""
    if not guided and version_numbers(model_version) >= ANCESTRAL_SINCE_VERSION:
        return Sampler.EULER_ANCESTRAL
    return Sampler.EULER


def ancestral_loop(generator: torch.Generator, *, eta: float = ANCESTRAL_ETA,
                   s_noise: float = ANCESTRAL_S_NOISE) -> LoopFn:
    """An :func:`~ltx_model.pipelines.euler_loop`-compatible loop with the ancestral step, noise from ``generator``."""

    def loop(
        sigmas: torch.Tensor,
        video: LatentState | None,
        audio: LatentState | None,
        denoise: DenoiseFn,
        *,
        callbacks: Callbacks | None = None,
    ) -> tuple[LatentState | None, LatentState | None]:
        callbacks = callbacks or Callbacks()
        total = len(sigmas) - 1
        for step in range(total):
            callbacks.check()
            video_x0, audio_x0 = denoise(video, audio, sigmas, step)
            sigma, sigma_next = sigmas[step], sigmas[step + 1]
            if video is not None:
                video = ancestral_to_next(video, video_x0, sigma, sigma_next, generator, eta=eta, s_noise=s_noise)
            if audio is not None:
                audio = ancestral_to_next(audio, audio_x0, sigma, sigma_next, generator, eta=eta, s_noise=s_noise)
            callbacks.progress(step + 1, total)
        return video, audio

    return loop


def res2s_pipeline_loop(noise: Res2sNoise, *, eta: float = RES2S_ETA) -> LoopFn:
    """An :func:`~ltx_model.pipelines.euler_loop`-compatible loop with the res_2s step (two denoiser calls per step,
    one more at the end when the schedule ends in 0), SDE noise from ``noise``."""

    def loop(
        sigmas: torch.Tensor,
        video: LatentState | None,
        audio: LatentState | None,
        denoise: DenoiseFn,
        *,
        callbacks: Callbacks | None = None,
    ) -> tuple[LatentState | None, LatentState | None]:
        callbacks = callbacks or Callbacks()
        present = [s for s in (video, audio) if s is not None]
        dtype = present[0].latent.dtype

        def denoise_states(states: list[LatentState], sig: torch.Tensor, step: int) -> list[torch.Tensor]:
            pair = _as_pair(states, video is not None)
            return [x0 for x0 in denoise(*pair, sig, step) if x0 is not None]

        total, full = len(sigmas) - 1, res2s_schedule(sigmas)
        for step in range(total):
            callbacks.check()
            present = res2s_step(present, denoise_states, full, step, noise=noise, model_dtype=dtype, eta=eta)
            if step == total - 1 and full[-1] == 0:
                present = res2s_finish(present, denoise_states, full, model_dtype=dtype)
            callbacks.progress(step + 1, total)
        return _as_pair(present, video is not None)

    return loop


def _as_pair(states: list, has_video: bool) -> tuple:
    """``[video?, audio?]`` (the present streams, video first) -> ``(video | None, audio | None)``."""
    if has_video:
        return states[0], (states[1] if len(states) > 1 else None)
    return None, (states[0] if states else None)


def sampler_loop(sampler: Sampler, seed: int, device: torch.device) -> LoopFn:
    """The loop for ``sampler``; the ancestral one gets its own generator (``seed + ANCESTRAL_NOISE_SEED_OFFSET``),
    res_2s its two generators from :data:`RES2S_NOISE_SEED` (not the generation seed, as the reference)."""
    if sampler is Sampler.EULER:
        return euler_loop
    if sampler is Sampler.RES_2S:
        return res2s_pipeline_loop(Res2sNoise.from_seed(RES2S_NOISE_SEED, device=str(device)))
    generator = torch.Generator(device=device).manual_seed(seed + ANCESTRAL_NOISE_SEED_OFFSET)
    return ancestral_loop(generator)
