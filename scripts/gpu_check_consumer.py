"""Consumer cards emulated on the big one (step 5 of ``scripts/gpu_check.py``): one distilled step of the 22B at
each real pass size under a 24 GB and a 32 GB budget, fits or not, peak VRAM, seconds.

Budget on a GPU: ``torch.cuda.set_per_process_memory_fraction(card / total)`` (a hard cap of the caching
allocator) and, for ComfyUI's memory manager, ``comfy.model_management.EXTRA_RESERVED_VRAM`` (what
``--reserve-vram`` sets) raised so that the free memory it sees is the card's: ``mem_get_info`` reports the whole
device, which the fraction does not change.

* ``consumer_card_step_s``: ours = fp8 block matrices streamed from pinned host memory one block at a time
  (``gpu_check_stream``); comfy_core = ComfyUI core's LTX-2 (``LTXAVModel``, bf16 weights on the host) in a plain
  ``comfy.model_patcher.ModelPatcher`` loaded by ``comfy.model_management.load_models_gpu``, i.e. lowvram weight
  streaming through ``ModelPatcher.partially_load`` (modules past the budget stay on the host and are cast onto
  the GPU per call, ``comfy_cast_weights``). ``memory_required`` is core's own estimate
  (``BaseModel.memory_required``: latent area x dtype size x 0.01 x ``memory_usage_factor`` 0.077 MiB).
* ``consumer_card_gguf_q4_k_m_step_s``: ours = the transformer block matrices quantised in memory to Q4_K
  (``ltx_model.quant.quantize_q4_k``; Q4_K_M's bulk type, its Q6_K share of some matrices not emulated; widths
  that are not a multiple of 256, only in the dry run's tiny model, fall back to Q4_0 like llama.cpp) and
  de-quantised per layer at compute time (``ltx_model.quant.GGMLBlockLinear``, the same math as the host's GGUF
  layer); the whole model resident under the budget. comfy_core: null, ComfyUI core has no GGUF loader.

Dry run (CPU): no budget can be emulated; the same code runs with core's partial load forced to half the model's
bytes (``LoadedModel.model_load`` = what ``load_models_gpu`` calls), so the lowvram casting path is exercised, and
``fits`` / peak are left null (``config`` says why).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import bench_measure as bm
import torch
from bench_common import DIFFUSION_PREFIX, Metric, PassShape
from bench_impls import ADAPTERS, assign_checked, comfy_root, make_pass_inputs, strip
from gpu_check_stream import streamed_model, timed_step

from ltx_model.quant import GGMLType, q4_k_or, quantize_linears_ggml

CONSUMER_CARDS_GB = (24, 32)
REAL_PASSES = (PassShape(768, 512, 121), PassShape(1216, 704, 121))
DRY_RUN_CORE_BUDGET = 0.5  # dry run: fraction of core's model bytes its partial load may place
LTXAV_MEMORY_USAGE_FACTOR = 0.077  # comfy.supported_models.LTXAV.memory_usage_factor (v0.20.1 .. v0.33.0)


def _shapes(ctx: Any) -> tuple[PassShape, ...]:
    return ctx.cfg.passes[:1] if ctx.cfg.quick else REAL_PASSES


def _cards(ctx: Any) -> tuple[int | None, ...]:
    return (None,) if not ctx.cuda else CONSUMER_CARDS_GB


def _label(shape: PassShape, card: int | None) -> str:
    return f"{shape.label()}@{card}GB" if card else f"{shape.label()}@dry-run"


class CardBudget:
    """Context manager: the process sees a ``card_gb`` card (CUDA; ``None`` = no limit, the dry run)."""

    def __init__(self, card_gb: int | None) -> None:
        self.card_bytes = None if card_gb is None else card_gb * 2**30
        self.saved_reserve: int | None = None

    def __enter__(self) -> CardBudget:
        if self.card_bytes is None:
            return self
        import comfy.model_management as mm

        torch.cuda.empty_cache()
        free, total = torch.cuda.mem_get_info()
        self.saved_reserve = mm.EXTRA_RESERVED_VRAM
        mm.EXTRA_RESERVED_VRAM = self.saved_reserve + max(0, free - self.card_bytes)
        torch.cuda.set_per_process_memory_fraction(min(1.0, self.card_bytes / total))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.card_bytes is None:
            return
        import comfy.model_management as mm

        torch.cuda.set_per_process_memory_fraction(1.0)
        mm.EXTRA_RESERVED_VRAM = self.saved_reserve
        torch.cuda.empty_cache()


def _measure(metric: Metric, impl: str, ctx: Any, card: int | None, step: Callable[[], Callable[[], Any]]) -> None:
    """Run ``step()`` (returns the pass function) and time one pass under the card's budget; record seconds,
    fits and peak in ``metric`` (an out-of-memory error is a result: fits False)."""
    with CardBudget(card), bm.guarded(metric, impl):
        seconds, peak = timed_step(step(), ctx.cfg.device)
        metric.set(impl, round(seconds, 4))
        metric.config.update({f"{impl}_fits": True if card else None, f"{impl}_peak_bytes": peak})
    if getattr(metric, impl) is None and card:
        metric.config[f"{impl}_fits"] = "OutOfMemory" not in metric.config.get(f"{impl}_null_reason", "")
    ctx.release()


# ----------------------------------------------------------------------------------------------- core lowvram
def core_patcher(ctx: Any, host_state: dict[str, torch.Tensor]) -> Any:
    """Core's ``LTXAVModel`` over the host (CPU) copy of the weights in a plain ``ModelPatcher`` (load device: the
    run's device, offload device: the CPU)."""
    import comfy.model_patcher
    import comfy.ops
    from comfy.ldm.lightricks.av_model import LTXAVModel

    with torch.device("meta"):
        model = LTXAVModel(**ctx.cfg.section["transformer"], operations=comfy.ops.disable_weight_init)
    assign_checked(model, strip(host_state, DIFFUSION_PREFIX), what="comfy_core lowvram")
    return comfy.model_patcher.ModelPatcher(model, load_device=torch.device(ctx.cfg.device),
                                            offload_device=torch.device("cpu"))


def core_memory_required(shape: PassShape, dtype: torch.dtype) -> float:
    """Core's ``BaseModel.memory_required`` for this latent (SDPA branch) in bytes."""
    area = math.prod(shape.latent)
    return area * torch.empty((), dtype=dtype).element_size() * 0.01 * LTXAV_MEMORY_USAGE_FACTOR * 2**20


def core_load(ctx: Any, patcher: Any, shape: PassShape) -> dict[str, Any]:
    """Load through core's memory manager (GPU: ``load_models_gpu``; dry run: the same ``LoadedModel.model_load`` ->
    ``ModelPatcher.partially_load`` with half the model's bytes). Returns what was placed."""
    import comfy.model_management as mm

    if ctx.cuda:
        mm.load_models_gpu([patcher], memory_required=core_memory_required(shape, ctx.cfg.dtype))
    else:
        mm.LoadedModel(patcher).model_load(int(patcher.model_size() * DRY_RUN_CORE_BUDGET))
    return {"core_loaded_bytes": int(patcher.loaded_size()), "core_model_bytes": int(patcher.model_size()),
            "core_cast_per_call_modules": sum(bool(getattr(m, "comfy_cast_weights", False))
                                              for m in patcher.model.modules()),
            "core_partial": bool(patcher.model.model_lowvram)}


def core_unload(patcher: Any, metric: Metric) -> None:
    """Give everything back (the next card starts from nothing loaded); a failure is noted in ``metric``."""
    try:
        import comfy.model_management as mm

        mm.unload_all_models()
        patcher.detach()
    except Exception as exc:  # noqa: BLE001 - the measurement stands; the next one starts from what is left
        metric.config["comfy_core_unload_error"] = f"{type(exc).__name__}: {exc}"[:300]


# ----------------------------------------------------------------------------------------------- GGUF
def _q4_0(weight: torch.Tensor) -> tuple[torch.Tensor, GGMLType]:
    """Q4_0 with the ``gguf`` package's quantiser (host round trip; only the dry run's narrow matrices)."""
    from ltx_model.loading.gguf import quantize_tensor

    return quantize_tensor(weight.cpu(), GGMLType.Q4_0).to(weight.device), GGMLType.Q4_0


def ours_gguf(ctx: Any, host_state: dict[str, torch.Tensor]) -> tuple[torch.nn.Module, dict[str, int]]:
    """Ours over the host weights with every block matrix quantised on the run's device (one at a time, so only
    the Q4_K bytes stay there), then the rest moved; returns (model, ``{GGML type name: matrices}``)."""
    device = torch.device(ctx.cfg.device)
    choose = q4_k_or(_q4_0)
    model = ADAPTERS["ours"].transformer(ctx.cfg.section, host_state)
    types = quantize_linears_ggml(model, lambda weight: choose(weight.to(device)))
    counts: dict[str, int] = {}
    for qtype in types.values():
        counts[qtype.name] = counts.get(qtype.name, 0) + 1
    return model.to(device), counts


def core_gguf_reason() -> str:
    """Why core has no GGUF column (checked on the tree used: no ``gguf`` in ``comfy/*.py``)."""
    hits = [p.name for p in (comfy_root() / "comfy").rglob("*.py") if "gguf" in p.read_text(errors="ignore").lower()]
    if hits:
        return f"ComfyUI core mentions GGUF in {hits[:3]} but has no GGUF diffusion-model loader wired here"
    return "ComfyUI core has no GGUF loader (no 'gguf' in comfy/*.py; GGUF needs the ComfyUI-GGUF custom node)"


# ----------------------------------------------------------------------------------------------- steps
def host_copy(ctx: Any) -> dict[str, torch.Tensor]:
    """The weights on the host (a copy on a GPU run; the same tensors on the CPU)."""
    return {k: v.to("cpu") for k, v in ctx.state().items()}


def build_each(builders: dict[str, Callable[[], Any]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Each implementation's model built in its own guard (one failing never loses the other's lines): (models,
    failure reason by implementation)."""
    models, failures = {}, {}
    for impl, build in builders.items():
        probe = Metric("build")
        with bm.guarded(probe, impl):
            models[impl] = build()
        if impl not in models:
            failures[impl] = "building the model failed: " + probe.config[f"{impl}_null_reason"]
    return models, failures


def out_of_time(ctx: Any, metric: str, label: str) -> bool:
    """True (and a ``skipped_budget`` line) once the budget is spent: the remaining cards/sizes are not started."""
    if ctx.left_s() > 0:
        return False
    ctx.recorder.add(metric, shape=label, dtype=ctx.cfg.dtype_name, status="skipped_budget",
                     error="the time budget is spent")
    return True


def consumer_cards(ctx: Any) -> None:
    """``consumer_card_step_s`` (ours fp8 streamed vs core lowvram) then the GGUF Q4_K_M line, per card and size.
    The shared device weights are emptied here (the next step makes them again)."""
    host = host_copy(ctx)
    models, failures = build_each({"ours": lambda: streamed_model(ctx.cfg, ctx.state()),  # empties the weights
                                   "comfy_core": lambda: core_patcher(ctx, host)})
    ctx.release()
    for card in _cards(ctx):
        for shape in _shapes(ctx):
            if out_of_time(ctx, "consumer_card_step_s", _label(shape, card)):
                continue
            inputs = make_pass_inputs(ctx.cfg.section, shape, dtype=ctx.cfg.dtype, device=ctx.cfg.device)
            metric = Metric("consumer_card_step_s", config={
                "card_gb": card, "ours_weights": "fp8 e4m3 blocks streamed from (pinned) host memory",
                "core_weights": f"{ctx.cfg.dtype_name} on the host, ComfyUI ModelPatcher lowvram (load_models_gpu)"})
            steps = {"ours": partial(ADAPTERS["ours"].pass_fn, models.get("ours"), inputs),
                     "comfy_core": partial(_core_step, ctx, models.get("comfy_core"), shape, inputs, metric)}
            for impl, step in steps.items():
                if impl in failures:
                    metric.set(impl, None, reason=failures[impl])
                    continue
                try:
                    _measure(metric, impl, ctx, card, step)
                finally:
                    if impl == "comfy_core":
                        core_unload(models[impl], metric)
            metric.set("ltx_core", None, reason="not compared here")
            ctx.line(metric, shape=_label(shape, card))
    models.clear()
    ctx.release()
    gguf_cards(ctx, host)


def _core_step(ctx: Any, patcher: Any, shape: PassShape, inputs: Any, metric: Metric) -> Callable[[], Any]:
    metric.config.update(core_load(ctx, patcher, shape))
    return ADAPTERS["comfy_core"].pass_fn(patcher.model, inputs)


def gguf_cards(ctx: Any, host: dict[str, torch.Tensor]) -> None:
    """``consumer_card_gguf_q4_k_m_step_s``: ours with Q4_K block matrices, resident, per card and size."""
    models, failures = build_each({"ours": lambda: ours_gguf(ctx, host)})
    host.clear()
    model, counts = models.get("ours", (None, {}))
    reason = core_gguf_reason()
    for card in _cards(ctx):
        for shape in _shapes(ctx):
            if out_of_time(ctx, "consumer_card_gguf_q4_k_m_step_s", _label(shape, card)):
                continue
            inputs = make_pass_inputs(ctx.cfg.section, shape, dtype=ctx.cfg.dtype, device=ctx.cfg.device)
            metric = Metric("consumer_card_gguf_q4_k_m_step_s", config={
                "card_gb": card, "ours_matrices": counts, "ours_layer": "ltx_model.quant.GGMLBlockLinear",
                "note": "Q4_K for every block matrix (Q4_K_M's bulk type; its Q6_K share not emulated)"})
            if "ours" in failures:
                metric.set("ours", None, reason=failures["ours"])
            else:
                _measure(metric, "ours", ctx, card, partial(ADAPTERS["ours"].pass_fn, model, inputs))
            metric.set("comfy_core", None, reason=reason)
            metric.set("ltx_core", None, reason="not compared here")
            ctx.line(metric, shape=_label(shape, card))


__all__ = ["CardBudget", "build_each", "consumer_cards", "core_gguf_reason", "core_load", "core_memory_required",
           "core_patcher", "gguf_cards", "out_of_time", "ours_gguf"]
