"""The multimodal guider: a ``comfy.samplers.CFGGuider`` that guides video and audio separately.

Per step it runs up to four passes through ComfyUI's own ``calc_cond_batch`` (so hooks, wrappers, area conds and
memory batching keep working) and combines their x0 predictions per modality with ``ltx_model.sampling.guide``:

* cond (positive) and uncond (negative), batched together, when either modality's ``cfg_scale != 1``;
* perturbed (STG): positive with the listed blocks' self-attention replaced by its value projection;
* isolated: positive with the audio<->video cross-attention skipped in every block.

The perturbations travel in a CLONED ``transformer_options`` (``diffusion.PERTURBATIONS_KEY``) that only this
pack's transformer reads: nothing global is patched.

On a multi-GPU MODEL (``transformer_options`` carry a pass runner, ``diffusion.PASS_RUNNER_KEY``, from Multi-GPU
(LTX-2)) every pass of a step goes into ONE ``calc_cond_batch`` call instead (``[cond, uncond, perturbed,
isolated]``, only those needed), so the workers' guidance parallel puts the passes on separate GPUs. An
``APPLY_MODEL`` wrapper on the cloned options labels each pass's samples with its perturbations
(``ltx_model.distributed.batch_perturbations``, from core's ``cond_or_uncond``); core may still split the batch when
its memory estimate for ComfyUI's own device says so (each call is labelled the same way). On one device the passes
run as before (cond + uncond batched, then STG, then isolation), so its results are unchanged.

Only ``predict_noise`` is overridden (its signature is the same on every supported host);
``sampler_post_cfg_function`` hooks still run on the guided result.
"""

from __future__ import annotations

import logging
from typing import Any

import comfy.model_patcher
import comfy.patcher_extension
import comfy.samplers
import comfy.utils
import torch

from ..ltx_model.distributed import batch_perturbations
from ..ltx_model.sampling import ISOLATE_MODALITIES, GuiderParams, guide, stg_perturbations
from ..ltx_model.transformer import Perturbations
from .diffusion import PASS_RUNNER_KEY, PERTURBATIONS_KEY

ISOLATION = ISOLATE_MODALITIES
"""Cross-modal isolation: audio->video and video->audio attention skipped in every block."""


def with_perturbations(model_options: dict, perturbations: Perturbations) -> dict:
    """A clone of ``model_options`` whose ``transformer_options`` carry ``perturbations`` (input untouched)."""
    options = comfy.model_patcher.create_model_options_clone(model_options)
    options["transformer_options"] = {**options.get("transformer_options", {}), PERTURBATIONS_KEY: perturbations}
    return options


PASSES_WRAPPER_KEY = "ltx2n_guidance_passes"
"""Key of the ``APPLY_MODEL`` wrapper that labels a batch of several guidance passes (multi-GPU MODELs only)."""


class PassPerturbations:
    """``APPLY_MODEL`` wrapper: the perturbations of each pass (``by_pass``: index in the ``calc_cond_batch`` conds
    list -> its perturbations) limited to that pass's samples of the batch ``x`` (core's ``cond_or_uncond`` says
    which chunk of the batch is which pass)."""

    def __init__(self, by_pass: dict[int, Perturbations]) -> None:
        self.by_pass = by_pass

    def __call__(self, executor: Any, x: torch.Tensor, t: Any, c_concat: Any = None, c_crossattn: Any = None,
                 control: Any = None, transformer_options: dict | None = None, **kwargs: Any) -> Any:
        options = dict(transformer_options or {})
        chunks = options.get("cond_or_uncond")
        if chunks is None:
            raise RuntimeError("Multimodal Guider (LTX-2): the host called the multi-GPU model without "
                               "'cond_or_uncond', so the guidance passes in the batch cannot be told apart; sample "
                               "with a core sampler node (SamplerCustomAdvanced) or the pack's sampler")
        given = options.get(PERTURBATIONS_KEY) or Perturbations()
        options[PERTURBATIONS_KEY] = batch_perturbations(given, self.by_pass, chunks, x.shape[0])
        return executor(x, t, c_concat, c_crossattn, control, options, **kwargs)


def with_pass_perturbations(model_options: dict, by_pass: dict[int, Perturbations]) -> dict:
    """A clone of ``model_options`` whose model calls label each pass's samples (:class:`PassPerturbations`)."""
    options = comfy.model_patcher.create_model_options_clone(model_options)
    comfy.patcher_extension.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.APPLY_MODEL, PASSES_WRAPPER_KEY,
                                                 PassPerturbations(by_pass), options, is_model_options=True)
    return options


def split_modalities(packed: torch.Tensor, latent_shapes: Any) -> list[torch.Tensor]:
    """A packed ``(B, 1, N)`` audio+video tensor -> ``[video, audio]`` grids; anything else -> ``[packed]``."""
    if latent_shapes is None or len(latent_shapes) < 2:
        return [packed]
    return comfy.utils.unpack_latents(packed, latent_shapes)


def join_modalities(parts: list[torch.Tensor]) -> torch.Tensor:
    """Inverse of :func:`split_modalities`."""
    return parts[0] if len(parts) == 1 else comfy.utils.pack_latents(parts)[0]


class LTX2MultimodalGuider(comfy.samplers.CFGGuider):
    """Per-modality CFG + STG + cross-modal isolation guidance + std rescale (ltx-pipelines'
    ``multi_modal_guider_denoising_func``) for core ``SamplerCustomAdvanced`` and the pack's sampler.

    Args:
        model_patcher: the MODEL (STG / isolation need this pack's transformer).
        video, audio: the guidance settings of each modality (``ltx_model.sampling.GuiderParams``). A video-only
            latent is guided with ``video`` alone.
    """

    def __init__(self, model_patcher: Any, video: GuiderParams, audio: GuiderParams) -> None:
        super().__init__(model_patcher)
        self.video, self.audio = video, audio
        self.cfg = video.cfg_scale  # read by some third-party hooks

    def set_conds(self, positive: Any, negative: Any) -> None:
        self.inner_set_conds({"positive": positive, "negative": negative})

    def predict_noise(self, x: torch.Tensor, timestep: torch.Tensor, model_options: dict | None = None,
                      seed: int | None = None) -> torch.Tensor:
        """Guided x0 prediction for the packed latent ``x`` at sigma ``timestep``."""
        model_options = model_options or {}
        positive, negative = self.conds.get("positive"), self.conds.get("negative")
        video, audio = self.video, self.audio
        plan = pass_plan(video, audio)
        if model_options.get("transformer_options", {}).get(PASS_RUNNER_KEY) is not None:
            outputs = self._one_batch(plan, x, timestep, model_options)
        else:
            outputs = self._pass_by_pass(plan, x, timestep, model_options)
        cond = outputs["cond"]
        shapes = _latent_shapes(positive)
        passes = [split_modalities(outputs[name], shapes) if name in outputs else None for name in PASS_NAMES]
        guided = [guide(params, *(p[i] if p is not None else 0.0 for p in passes))
                  for i, params in enumerate((video, audio)[: len(passes[0])])]
        result = join_modalities(guided)
        for fn in model_options.get("sampler_post_cfg_function", []):
            result = fn({"denoised": result, "cond": positive, "uncond": negative, "cond_scale": video.cfg_scale,
                         "model": self.inner_model, "uncond_denoised": outputs.get("uncond", cond),
                         "cond_denoised": cond, "sigma": timestep, "model_options": model_options, "input": x})
        return result

    def _conds(self, name: str) -> Any:
        """The conds of pass ``name``: the negative prompt for ``uncond``, else the positive."""
        return self.conds.get("negative" if name == "uncond" else "positive")

    def _pass_by_pass(self, plan: list[tuple[str, Perturbations | None]], x: torch.Tensor, timestep: torch.Tensor,
                      model_options: dict) -> dict[str, torch.Tensor]:
        """One device: cond (+ uncond) in one batch, then each perturbed pass on its own (x0 per pass name)."""
        plain = [name for name, perturbations in plan if perturbations is None]
        outputs = dict(zip(plain, comfy.samplers.calc_cond_batch(
            self.inner_model, [self._conds(name) for name in plain], x, timestep, model_options), strict=True))
        for name, perturbations in plan:
            if perturbations is not None:
                options = with_perturbations(model_options, perturbations)
                outputs[name] = comfy.samplers.calc_cond_batch(self.inner_model, [self._conds(name)], x, timestep,
                                                               options)[0]
        return outputs

    def _one_batch(self, plan: list[tuple[str, Perturbations | None]], x: torch.Tensor, timestep: torch.Tensor,
                   model_options: dict) -> dict[str, torch.Tensor]:
        """Multi-GPU MODEL: every pass of the step in one ``calc_cond_batch`` (guidance parallel on the workers)."""
        options = with_pass_perturbations(model_options, {index: perturbations for index, (_, perturbations)
                                                          in enumerate(plan) if perturbations is not None})
        outputs = comfy.samplers.calc_cond_batch(self.inner_model, [self._conds(name) for name, _ in plan], x,
                                                 timestep, options)
        return dict(zip((name for name, _ in plan), outputs, strict=True))


PASS_NAMES = ("cond", "uncond", "perturbed", "isolated")
"""The guidance passes in :func:`ltx_model.sampling.guide`'s argument order."""


def pass_plan(video: GuiderParams, audio: GuiderParams) -> list[tuple[str, Perturbations | None]]:
    """The passes one step needs, in :data:`PASS_NAMES` order, each with its perturbations (None: a plain pass)."""
    plan: list[tuple[str, Perturbations | None]] = [("cond", None)]
    if video.needs_uncond() or audio.needs_uncond():
        plan.append(("uncond", None))
    if video.needs_perturbed() or audio.needs_perturbed():
        plan.append(("perturbed", stg_perturbations(video, audio)))
    if video.needs_isolated() or audio.needs_isolated():
        plan.append(("isolated", ISOLATION))
    return plan


def _latent_shapes(conds: list[dict] | None) -> Any:
    """The ``latent_shapes`` the sampler threaded into the processed conds (None for a single latent)."""
    for cond in conds or []:
        shapes = cond.get("model_conds", {}).get("latent_shapes")
        if shapes is not None:
            return shapes.cond
    return None


def usable_blocks(blocks: tuple[int, ...], num_layers: int, *, explicit: bool) -> tuple[int, ...]:
    """STG blocks that exist in a model of ``num_layers`` blocks. Explicit blocks out of range are an error;
    the version defaults (blocks 28 / 29) are dropped with a warning on smaller (test / demo) models."""
    outside = [b for b in blocks if not 0 <= b < num_layers]
    if outside and explicit:
        raise ValueError(f"STG blocks {outside} do not exist: this model has blocks 0..{num_layers - 1}")
    if outside:
        logging.warning("LTX-2 Native: default STG blocks %s are outside this %d-block model; STG disabled",
                        outside, num_layers)
    return tuple(b for b in blocks if 0 <= b < num_layers)
