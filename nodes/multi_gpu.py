"""Multi-GPU node: the MODEL's transformer passes run on persistent worker processes, one per device.

The node returns a clone of the MODEL whose ``transformer_options`` carry a
:class:`~ltx_model.distributed.PoolPass` under ``diffusion.PASS_RUNNER_KEY``; core ``KSampler`` /
``SamplerCustomAdvanced`` and the pack's sampler call the model unchanged, and each call (a batch such as core CFG's
``[cond, uncond]``, with the pack guider's per-sample STG / modality perturbations) runs on the workers:
``sequence`` splits the video tokens over the devices, ``guidance`` puts whole samples (passes) on separate
devices, ``auto`` does guidance first, then sequence parallel within each group. ComfyUI's process stays the
driver (progress bars and the Cancel button act there; Cancel stops every worker within one step).

The workers read the transformer from ``ckpt_name`` by byte range on their device and keep it between prompts; a
different checkpoint or device list restarts them. A worker that fails ends the prompt with an error naming the
rank and the cause, and the next prompt starts fresh workers. Limits: one machine (Linux); LoRA patches of the
MODEL are not applied by the workers (the node refuses a patched MODEL); ComfyUI still keeps its own copy of the
MODEL, so give the workers devices other than ComfyUI's, or start ComfyUI with ``--novram``, for large models.

Node id ``LTX2NMultiGPU`` (model, ckpt_name, devices, strategy) -> model.
"""

from __future__ import annotations

import logging
from typing import Any

import comfy.model_management
import comfy.patcher_extension
import torch
from comfy_api.latest import io

from ..ltx_model.distributed import STRATEGIES, PoolPass, PoolSpec, TransformerSetup, WorkerInterrupted, WorkerPool
from ..ltx_model.precision import FP8_DTYPES
from .diffusion import PASS_RUNNER_KEY
from .model_folders import model_files, model_path
from .model_loader import model_facts
from .schema import make_schema, not_listed

AUTO = "auto"
_POOLS: dict[tuple[str, tuple[str, ...]], WorkerPool] = {}  # one live pool: (checkpoint, devices) -> workers


def parse_devices(text: str) -> tuple[str, ...] | None:
    """``"auto"`` -> every visible CUDA GPU (None when fewer than 2); else the comma-separated list, checked."""
    text = (text or AUTO).strip()
    if text == AUTO:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return tuple(f"cuda:{index}" for index in range(count)) if count >= 2 else None
    devices = tuple(part.strip() for part in text.split(",") if part.strip())
    for device in devices:
        parsed = torch.device(device)  # raises RuntimeError naming a malformed device string
        if parsed.type == "cuda" and (parsed.index is None or parsed.index >= torch.cuda.device_count()):
            raise ValueError(f"Multi-GPU (LTX-2): device {device!r} does not exist here "
                             f"({torch.cuda.device_count()} CUDA GPU(s) visible); name them cuda:0, cuda:1, ...")
    if len(devices) < 2:
        raise ValueError(f"Multi-GPU (LTX-2) needs at least 2 devices, got {list(devices)}; with one GPU, leave this "
                         "node out (the model runs on that GPU as usual)")
    return devices


WRAPPER_KEY = "ltx2n_multi_gpu"
PATCHED_AFTER = ("Multi-GPU (LTX-2): LoRA / weight patches were added to the model after the Multi-GPU node; the "
                 "workers run the unpatched transformer, so the result would silently ignore them. LoRAs are not "
                 "supported with Multi-GPU yet: remove the LoRA loaders (or the Multi-GPU node)")


def refuse_patches(executor: Any, *args: Any, **kwargs: Any) -> Any:
    """Outer-sample wrapper of a multi-GPU MODEL: a sampling run whose model carries weight patches (a LoRA loader
    placed after the Multi-GPU node) stops before the first step instead of running the workers' unpatched
    weights."""
    if executor.class_obj.model_patcher.patches:
        raise ValueError(PATCHED_AFTER)
    return executor(*args, **kwargs)


def worker_pool(path: str, devices: tuple[str, ...], dtype: torch.dtype) -> WorkerPool:
    """The live pool for ``(path, devices)``; another pool is closed first (its weights are freed)."""
    key = (path, devices)
    for other in [k for k in _POOLS if k != key]:
        _POOLS.pop(other).close()
    if key not in _POOLS:
        _POOLS[key] = WorkerPool(PoolSpec(devices, TransformerSetup(path, dtype)))
    return _POOLS[key]


class HostPoolPass(PoolPass):
    """:class:`PoolPass` that turns a Cancel-stopped job into ComfyUI's own interrupt exception."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except WorkerInterrupted:
            comfy.model_management.throw_exception_if_processing_interrupted()
            raise


class LTX2NMultiGPU(io.ComfyNode):
    """Run the model's transformer on several GPUs (sequence and/or guidance parallel)."""

    DISPLAY_NAME = "Multi-GPU (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="loaders",
            description="Runs the model's transformer passes on several GPUs of this machine: 'sequence' splits the "
                        "video tokens (lower latency per step), 'guidance' runs the passes of a guided step (CFG, STG, "
                        "modality) on different GPUs, 'auto' combines both. With fewer than 2 GPUs and devices = "
                        "auto, the model passes through unchanged (a warning is logged).",
            inputs=[io.Model.Input("model", tooltip="Model from Load LTX-2 Model (without LoRAs)."),
                    io.Combo.Input("ckpt_name", options=model_files("checkpoints"),
                                   tooltip="The checkpoint the model was loaded from; each worker reads its "
                                           "transformer weights from it."),
                    io.String.Input("devices", default=AUTO,
                                    tooltip="'auto' (every GPU) or a list such as cuda:0,cuda:1,cuda:2."),
                    io.Combo.Input("strategy", options=list(STRATEGIES), default="auto",
                                   tooltip="sequence / guidance / auto (guidance across passes first).")],
            outputs=[io.Model.Output(display_name="model", tooltip="The model, run on the workers.")],
        )

    @classmethod
    def validate_inputs(cls, ckpt_name: str | None = None) -> bool | str:
        return not_listed("ckpt_name", ckpt_name, model_files("checkpoints"), "models/checkpoints") or True

    @classmethod
    def execute(cls, model: Any, ckpt_name: str, devices: str = AUTO, strategy: str = "auto") -> io.NodeOutput:
        if model_facts(model) is None:
            raise ValueError("Multi-GPU (LTX-2) needs a model from Load LTX-2 Model")
        if getattr(model, "patches", None):
            raise ValueError("Multi-GPU (LTX-2): the model has LoRA patches, which the workers would not apply; "
                             "use a model without LoRAs")
        chosen = parse_devices(devices)
        if chosen is None:
            logging.warning("Multi-GPU (LTX-2): fewer than 2 GPUs visible, so the model runs on one device as usual")
            return io.NodeOutput(model)
        dtype = model.model.get_dtype()
        pool = worker_pool(model_path("checkpoints", ckpt_name), chosen,
                           torch.bfloat16 if dtype in FP8_DTYPES else dtype)
        clone = model.clone()
        clone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, WRAPPER_KEY, refuse_patches)
        options = clone.model_options.setdefault("transformer_options", {})
        options[PASS_RUNNER_KEY] = HostPoolPass(pool, strategy,
                                                interrupted=comfy.model_management.processing_interrupted)
        return io.NodeOutput(clone)
