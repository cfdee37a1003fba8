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
rank and the cause, and the next prompt starts fresh workers. LoRAs loaded from models/loras (Load LoRA (LTX-2)
or core's LoraLoader, before or after this node) are read back as files + strengths and applied by each worker to
its own weights (:mod:`.multi_gpu_lora`); changing only the LoRAs restores the tensors they changed, without
reloading the checkpoint; a weight patch that is no LoRA file is refused. Limits: one machine (Linux); ComfyUI still
keeps its own copy of the MODEL, so give the workers devices other than ComfyUI's, or start ComfyUI with
``--novram``, for large models.

Node id ``LTX2NMultiGPU`` (model, ckpt_name, devices, strategy) -> model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import comfy.model_management
import comfy.patcher_extension
import torch
from comfy_api.latest import io

from ..ltx_model.distributed import (
    STRATEGIES,
    DecoderSetup,
    LoraSet,
    PoolPass,
    PoolSpec,
    TransformerSetup,
    WorkerInterrupted,
    WorkerPool,
)
from ..ltx_model.precision import FP8_DTYPES
from .diffusion import PASS_RUNNER_KEY
from .model_folders import model_files, model_path
from .model_loader import model_facts
from .multi_gpu_lora import lora_set
from .schema import make_schema, not_listed

AUTO = "auto"
_POOLS: dict[tuple[str, tuple[str, ...]], WorkerPool] = {}  # one live pool: (checkpoint or "", devices) -> workers


def check_device(device: str, node: str = "Multi-GPU (LTX-2)") -> torch.device:
    """``device`` parsed (``cpu``, ``cuda:1``, ...); a clear error naming ``node`` for a malformed name or a GPU that
    is not there."""
    try:
        parsed = torch.device(device.strip())
    except RuntimeError:
        raise ValueError(f"{node}: {device!r} is not a device name; use cpu, cuda:0, cuda:1, ...") from None
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if parsed.type == "cuda" and (parsed.index is None or parsed.index >= count):
        raise ValueError(f"{node}: device {device.strip()!r} does not exist here ({count} CUDA GPU(s) visible); "
                         "name them cuda:0, cuda:1, ...")
    return parsed


def parse_devices(text: str, node: str = "Multi-GPU (LTX-2)") -> tuple[str, ...] | None:
    """``"auto"`` -> every visible CUDA GPU (None when fewer than 2); else the comma-separated list, checked."""
    text = (text or AUTO).strip()
    if text == AUTO:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return tuple(f"cuda:{index}" for index in range(count)) if count >= 2 else None
    devices = tuple(part.strip() for part in text.split(",") if part.strip())
    for device in devices:
        check_device(device, node)
    if len(devices) < 2:
        raise ValueError(f"{node} needs at least 2 devices, got {list(devices)}; with one device, leave out the "
                         "device list (or the Multi-GPU node): the work runs on that device as usual")
    return devices


WRAPPER_KEY = "ltx2n_multi_gpu"


def sync_loras(executor: Any, *args: Any, **kwargs: Any) -> Any:
    """Outer-sample wrapper of a multi-GPU MODEL: before the first step, the workers' transformers are made to carry
    the LoRAs the sampled MODEL carries (loaded before or after the Multi-GPU node), read back as files + strengths
    (:func:`~.multi_gpu_lora.lora_set`; a patch that is no LoRA file stops the run with a clear error). The workers
    only act when the set changed: the previous LoRAs' tensors are restored, the base weights are not reloaded."""
    patcher = executor.class_obj.model_patcher
    runner = patcher.model_options["transformer_options"][PASS_RUNNER_KEY]
    runner.set_loras(lora_set(patcher))
    return executor(*args, **kwargs)


def worker_pool(path: str, devices: tuple[str, ...], dtype: torch.dtype) -> WorkerPool:
    """The live pool for ``(path, devices)``; another pool is closed first (its weights are freed)."""
    key = (path, devices)
    for other in [k for k in _POOLS if k != key]:
        _POOLS.pop(other).close()
    if key not in _POOLS:
        _POOLS[key] = WorkerPool(PoolSpec(devices, TransformerSetup(path, dtype)))
    return _POOLS[key]


def decode_pool(devices: tuple[str, ...]) -> WorkerPool:
    """The live pool on ``devices`` (a sampling pool's workers load the VAE beside the transformer), else a new
    decode-only pool (another pool is closed first)."""
    live = next((pool for (_, on), pool in _POOLS.items() if on == devices), None)
    if live is not None:
        return live
    for other in list(_POOLS):
        _POOLS.pop(other).close()
    _POOLS["", devices] = WorkerPool(PoolSpec(devices, DecoderSetup()))
    return _POOLS["", devices]


def _cancelled(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``, with a Cancel-stopped job turned into ComfyUI's own interrupt exception."""
    try:
        return call(*args, **kwargs)
    except WorkerInterrupted:
        comfy.model_management.throw_exception_if_processing_interrupted()
        raise


class HostPoolPass(PoolPass):
    """:class:`PoolPass` whose Cancel-stopped jobs raise ComfyUI's own interrupt exception."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _cancelled(super().__call__, *args, **kwargs)

    def set_loras(self, loras: LoraSet) -> list[str]:
        return _cancelled(super().set_loras, loras)

    def load_vae(self, *args: Any, **kwargs: Any) -> bool:
        return _cancelled(super().load_vae, *args, **kwargs)

    def decode(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return _cancelled(super().decode, *args, **kwargs)


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
            inputs=[io.Model.Input("model", tooltip="Model from Load LTX-2 Model (LoRAs from models/loras may be "
                                                             "loaded before or after this node)."),
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
        lora_set(model)  # a patch the workers cannot read back as a LoRA file is refused here already
        chosen = parse_devices(devices)
        if chosen is None:
            logging.warning("Multi-GPU (LTX-2): fewer than 2 GPUs visible, so the model runs on one device as usual")
            return io.NodeOutput(model)
        dtype = model.model.get_dtype()
        pool = worker_pool(model_path("checkpoints", ckpt_name), chosen,
                           torch.bfloat16 if dtype in FP8_DTYPES else dtype)
        clone = model.clone()
        clone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, WRAPPER_KEY, sync_loras)
        options = clone.model_options.setdefault("transformer_options", {})
        options[PASS_RUNNER_KEY] = HostPoolPass(pool, strategy,
                                                interrupted=comfy.model_management.processing_interrupted)
        return io.NodeOutput(clone)
