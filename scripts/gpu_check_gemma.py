"""Gemma-3-12B through ComfyUI core's LTX-2 text-encoder path and ours, one prompt (``gemma3_12b_encode_s``).

Both run the same random weights (made once on the run's device, shared by assignment) on the same token ids:

* comfy_core: ``comfy.text_encoders.lt.Gemma3_12BModel``, the Gemma that core's ``LTXAVTEModel`` (what
  ``LTXAVTextEncoderLoader`` builds) holds, with ``layer="all"``: ``encode_token_weights`` -> every hidden state
  ``(B, L + 1, T, D)``, as core's LTX-2 conditioning reads it (core computes it in float32 from the stored weights:
  its ``SDClipModel`` passes ``dtype=float32``).
* ours: ``transformers`` ``Gemma3TextModel`` built as ``ltx_model.text.gemma`` builds it, hidden states from
  ``gemma_hidden_states`` (the library's encoder path).

The feature extractor and connectors after the Gemma (a few matrices, tested on the CPU elsewhere) are not
timed. No tokenizer is needed: the prompt is fixed ids (BOS + a seeded draw). Real size on a GPU (bf16 weights);
on a dry run a tiny Gemma 3 (2 layers, 256 wide, the 12B's head size) in float32 on the CPU, set through core's
own ``model_options["<name>_model_config"]`` override.
"""

from __future__ import annotations

from typing import Any

import bench_measure as bm
import torch
from bench_common import Metric
from gpu_check_stream import timed_step

from ltx_model.text.gemma import GEMMA3_12B_TEXT_CONFIG, gemma_hidden_states, gemma_text_config, materialise_buffers

TINY_GEMMA = {"vocab_size": 512, "hidden_size": 256, "intermediate_size": 512, "num_hidden_layers": 2,
              "num_attention_heads": 2, "num_key_value_heads": 1}
PROMPT_TOKENS = {True: 24, False: 256}  # quick (dry run) / real
BOS = 2


def gemma_dims(quick: bool) -> dict[str, int]:
    """The Gemma sizes of this run (core's ``Gemma3_12B_Config`` field names, equal to transformers' here)."""
    keys = tuple(TINY_GEMMA)
    return dict(TINY_GEMMA) if quick else {k: GEMMA3_12B_TEXT_CONFIG[k] for k in keys}


def ours_gemma(dims: dict[str, int], device: str, dtype: torch.dtype) -> torch.nn.Module:
    """Our Gemma 3 text model with seeded random weights on ``device`` (norm weights near 0: Gemma scales by 1 + w)."""
    from transformers import Gemma3TextModel

    hf_config = gemma_text_config({**GEMMA3_12B_TEXT_CONFIG, **dims})
    hf_config._attn_implementation = "sdpa"
    with torch.device("meta"):
        model = Gemma3TextModel(hf_config)
    gen = torch.Generator(device=device).manual_seed(12)
    state = {}
    for name, param in model.named_parameters():
        std = 0.1 if "norm" in name else 0.02
        state[name] = (torch.randn(param.shape, generator=gen, device=device) * std).to(dtype)
    model.load_state_dict(state, strict=True, assign=True)
    materialise_buffers(model, hf_config, device=torch.device(device))
    return model.eval()


def core_gemma(ours: torch.nn.Module, dims: dict[str, int], device: str, dtype: torch.dtype) -> Any:
    """Core's ``Gemma3_12BModel`` over ``ours``' tensors (language model only; its vision tower stays on meta)."""
    import comfy.sd  # noqa: F401  (imports the text encoders lt.py refers to, as ComfyUI does)
    import comfy.text_encoders.llama  # noqa: F401
    import comfy.text_encoders.lt as lt

    options = {"model_name": "gemma3_12b", "gemma3_12b_model_config": dict(dims)}
    with torch.device("meta"):
        te = lt.Gemma3_12BModel(device="meta", dtype=dtype, model_options=options)
    state = {f"model.{k}": v for k, v in ours.state_dict().items()}
    missing, unexpected = te.transformer.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in missing if k.startswith("model.")]
    if missing or unexpected:
        raise RuntimeError(f"core Gemma keys: missing {missing[:5]}, unexpected {unexpected[:5]}")
    te.logit_scale = torch.nn.Parameter(torch.empty((), device=device), requires_grad=False)
    te.set_clip_options({"execution_device": torch.device(device)})
    return te


def prompt_ids(quick: bool, vocab: int, device: str) -> torch.Tensor:
    """``(1, T)`` BOS + seeded ids (no special tokens: 3 .. 99)."""
    gen = torch.Generator().manual_seed(5)
    ids = torch.randint(3, min(vocab, 100), (1, PROMPT_TOKENS[quick] - 1), generator=gen)
    return torch.cat([torch.full((1, 1), BOS), ids], dim=1).to(device)


def _peak(fn: Any, device: str) -> tuple[Any, int | None]:
    """(result, peak bytes above the start on CUDA, else None) of one call."""
    if not device.startswith("cuda"):
        return fn(), None
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    out = fn()
    torch.cuda.synchronize()
    return out, torch.cuda.max_memory_allocated() - base


def _compare(metric: Metric, outputs: dict[str, torch.Tensor], device: str) -> None:
    """Shapes and the largest difference of the two implementations' hidden states (when both ran)."""
    for impl, key in (("ours", "shape"), ("comfy_core", "core_shape")):
        if impl in outputs:
            metric.config[key] = list(outputs[impl].shape)
    if len(outputs) < 2:
        return
    diff = (outputs["ours"].to(device) - outputs["comfy_core"].to(device)).abs()
    scale = outputs["comfy_core"].abs().amax().clamp(min=1e-30)
    metric.config.update(max_abs_diff=float(diff.amax()), max_abs_diff_relative=float(diff.amax() / scale))


def gemma_encode(ctx: Any) -> None:
    """One prompt through core's and our Gemma 3 (real 12B on a GPU, tiny on a dry run): seconds, peak working
    memory (weights excluded), and the largest difference of the hidden states. Core's model is built over ours'
    tensors; building or running core in its own guard, so a core failure keeps ours' figures."""
    device, quick = ctx.cfg.device, ctx.cfg.quick
    dtype = ctx.cfg.dtype
    dims = gemma_dims(quick)
    ctx.weights.clear()  # the transformer weights go (the 12B needs the room); the next step makes them again
    ctx.release()
    ours = ours_gemma(dims, device, dtype)
    ids = prompt_ids(quick, dims["vocab_size"], device)
    mask = torch.ones_like(ids)
    pairs = [[(int(i), 1.0) for i in ids[0].tolist()]]
    metric = Metric("gemma3_12b_encode_s", config={"gemma": dims, "tokens": ids.shape[1],
                                                   "weights": f"random, {ctx.cfg.dtype_name}, shared",
                                                   "scope": "Gemma hidden states (all layers), no projection"})
    runs = {"ours": lambda: torch.stack(gemma_hidden_states(ours, ids, mask), dim=1).float()}
    with bm.guarded(metric, "comfy_core"):
        core = core_gemma(ours, dims, device, dtype)
        runs["comfy_core"] = lambda: core.encode_token_weights(pairs)[0].float()
    outputs = {}
    with torch.inference_mode():
        for impl, fn in runs.items():
            with bm.guarded(metric, impl):
                outputs[impl], metric.config[f"{impl}_peak_bytes"] = _peak(fn, device)
                metric.set(impl, round(timed_step(fn, device)[0], 4))
    _compare(metric, outputs, device)
    metric.set("ltx_core", None, reason="not compared here")
    ctx.line(metric, shape=f"{ids.shape[1]} tokens")


__all__ = ["core_gemma", "gemma_dims", "gemma_encode", "ours_gemma", "prompt_ids"]
