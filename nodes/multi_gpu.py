"""Multi-GPU node: the MODEL's transformer passes run on persistent worker processes, one per device.

The node returns a clone of the MODEL whose ``transformer_options`` carry a
:class:`~ltx_model.distributed.PoolPass` under ``diffusion.PASS_RUNNER_KEY``; core ``KSampler`` /
``SamplerCustomAdvanced`` and the pack's sampler call the model unchanged, and each call (a batch such as core CFG's
``[cond, uncond]``, with the pack guider's per-sample STG / modality perturbations) runs on the workers:
``sequence`` splits the video tokens over the devices, ``guidance`` puts whole samples (passes) on separate
devices, ``auto`` does guidance first, then sequence parallel within each group. ComfyUI's process stays the
driver (progress bars and the Cancel button act there; Cancel stops every worker within one step).

The workers read the transformer from ``ckpt_name`` (models/checkpoints or models/diffusion_models; its header must
describe the MODEL's family, variant, version and layer count) by byte range on their device and keep it between
prompts; a different checkpoint, device list or dtype restarts them. Only one pool lives at a time: a pass of any
multi-GPU MODEL first makes its own pool the live one (closing the other), so two Multi-GPU nodes never leave two
pools on the same GPUs. A worker that fails ends the prompt with an error naming the rank and the cause, and the
next prompt starts fresh workers. LoRAs loaded from models/loras (Load LoRA (LTX-2) or core's LoraLoader, before
or after this node) are read back as files + strengths and applied by each worker to its own weights
(:mod:`.multi_gpu_lora`); changing only the LoRAs restores the tensors they changed, without reloading the
checkpoint; a weight patch that is no LoRA file is refused.

ComfyUI keeps its own copy of the MODEL (in RAM), and core sampling would load it on ComfyUI's GPU although the
passes run on the workers: the returned MODEL therefore has the CPU as its load device (:func:`keep_off_the_gpu`),
so ``load_models_gpu`` moves none of its weights to a GPU (the sampler's own arithmetic on the latents runs on the
CPU, where the passes' inputs and outputs go anyway) and ``auto`` can give every GPU to the workers. A MODEL
under ComfyUI's dynamic VRAM loading keeps its GPU load device: that loader moves a layer's weights only when the
layer runs, and the host's transformer layers never run (only small non-layer tensors are loaded). On a plain MODEL,
ComfyUI still applies LoRAs to its own copy, on the CPU (RAM and CPU time, no GPU memory). Limits: one machine (Linux).

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
from .model_folders import find_model_path, model_path_in
from .model_loader import MODEL_FOLDERS, ModelFacts, checkpoint_problem, file_facts, model_choices, model_facts
from .multi_gpu_lora import lora_set
from .schema import make_schema, not_listed

NODE = "Multi-GPU (LTX-2)"
AUTO = "auto"
PoolKey = tuple[str, tuple[str, ...], torch.dtype | None]  # (checkpoint or "" for decode-only, devices, dtype)
_POOLS: dict[PoolKey, WorkerPool] = {}  # the one live pool


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


def pool_key(spec: PoolSpec) -> PoolKey:
    """The registry key of a pool: its checkpoint ("" for a decode-only pool), devices and weight dtype."""
    setup = spec.setup
    if isinstance(setup, TransformerSetup):
        return setup.path, spec.devices, setup.dtype
    return "", spec.devices, None


def make_live(pool: WorkerPool) -> WorkerPool:
    """Make ``pool`` the one live pool: every other pool is closed first (its workers end, their weights are
    freed). Called before each run, so a MODEL whose pool was replaced by another Multi-GPU node's never leaves
    two pools on the same GPUs."""
    for key in [k for k, other in _POOLS.items() if other is not pool]:
        _POOLS.pop(key).close()
    _POOLS.setdefault(pool_key(pool.spec), pool)
    return pool


def worker_pool(path: str, devices: tuple[str, ...], dtype: torch.dtype) -> WorkerPool:
    """The live pool for ``(path, devices, dtype)``; another pool is closed first (its weights are freed)."""
    key = (path, devices, dtype)
    return make_live(_POOLS.get(key) or WorkerPool(PoolSpec(devices, TransformerSetup(path, dtype))))


def decode_pool(devices: tuple[str, ...]) -> WorkerPool:
    """The live pool on ``devices`` (a sampling pool's workers load the VAE beside the transformer), else a new
    decode-only pool (another pool is closed first)."""
    live = next((pool for (_, on, _), pool in _POOLS.items() if on == devices), None)
    return make_live(live or WorkerPool(PoolSpec(devices, DecoderSetup())))


def _cancelled(pool: WorkerPool, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)`` with ``pool`` made the live pool first, and a Cancel-stopped job turned into
    ComfyUI's own interrupt exception."""
    make_live(pool)
    try:
        return call(*args, **kwargs)
    except WorkerInterrupted:
        comfy.model_management.throw_exception_if_processing_interrupted()
        raise


class HostPoolPass(PoolPass):
    """:class:`PoolPass` whose Cancel-stopped jobs raise ComfyUI's own interrupt exception."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _cancelled(self.pool, super().__call__, *args, **kwargs)

    def set_loras(self, loras: LoraSet) -> list[str]:
        return _cancelled(self.pool, super().set_loras, loras)

    def load_vae(self, *args: Any, **kwargs: Any) -> bool:
        return _cancelled(self.pool, super().load_vae, *args, **kwargs)

    def decode(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return _cancelled(self.pool, super().decode, *args, **kwargs)


def keep_off_the_gpu(patcher: Any) -> Any:
    """``patcher`` (a clone) with the CPU as its load device, so core sampling's ``load_models_gpu`` puts none of
    the host's transformer weights on a GPU (the workers run the passes); a dynamic-VRAM patcher is left as it is
    (it moves a weight to the GPU only when a layer runs, and the host's layers never do). Returns ``patcher``."""
    if not getattr(patcher, "is_dynamic", lambda: False)():
        patcher.load_device = torch.device("cpu")
    return patcher


def _described(facts: ModelFacts) -> str:
    return (f"{facts.family.value} {facts.variant.value} (version {facts.version() or 'unknown'}, "
            f"{facts.num_layers} layers)")


def checked_checkpoint(model: Any, ckpt_name: str) -> str:
    """The path of ``ckpt_name`` (models/checkpoints or models/diffusion_models), refused with a clear error unless
    its header describes the MODEL the workers stand in for (family, variant, version, layer count)."""
    path = model_path_in(MODEL_FOLDERS, ckpt_name)
    fix = "pick the file the model was loaded from (Load LTX-2 Model's ckpt_name): the workers run its transformer"
    problem = checkpoint_problem(path)
    if problem is not None:
        raise ValueError(f"{NODE}: ckpt_name {problem}; {fix}")
    mine, wanted = file_facts(path), model_facts(model)
    if mine != wanted:
        raise ValueError(f"{NODE}: ckpt_name {ckpt_name} holds {_described(mine)}, but the model input is "
                         f"{_described(wanted)}; {fix}")
    return path


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
                    io.Combo.Input("ckpt_name", options=model_choices(),
                                   tooltip="The file the model was loaded from (models/checkpoints, or an LTX-2.5 "
                                           "transformer file in models/diffusion_models); each worker reads its "
                                           "transformer weights from it. A file of another model is refused."),
                    io.String.Input("devices", default=AUTO,
                                    tooltip="'auto' (every GPU) or a list such as cuda:0,cuda:1,cuda:2. ComfyUI "
                                            "keeps its copy of the model off the GPUs."),
                    io.Combo.Input("strategy", options=list(STRATEGIES), default="auto",
                                   tooltip="sequence / guidance / auto (guidance across passes first).")],
            outputs=[io.Model.Output(display_name="model", tooltip="The model, run on the workers.")],
        )

    @classmethod
    def validate_inputs(cls, ckpt_name: str | None = None) -> bool | str:
        if ckpt_name is None or (isinstance(ckpt_name, str) and find_model_path(MODEL_FOLDERS, ckpt_name)):
            return True
        return not_listed("ckpt_name", ckpt_name, (), "models/checkpoints or models/diffusion_models")

    @classmethod
    def execute(cls, model: Any, ckpt_name: str, devices: str = AUTO, strategy: str = "auto") -> io.NodeOutput:
        if model_facts(model) is None:
            raise ValueError(f"{NODE} needs a model from Load LTX-2 Model")
        lora_set(model)  # a patch the workers cannot read back as a LoRA file is refused here already
        chosen = parse_devices(devices)
        if chosen is None:
            logging.warning(f"{NODE}: fewer than 2 GPUs visible, so the model runs on one device as usual")
            return io.NodeOutput(model)
        dtype = model.model.get_dtype()
        if dtype in FP8_DTYPES:
            logging.warning(f"{NODE}: the workers hold the transformer in bf16 (this MODEL's fp8 weights are read from "
                            f"{ckpt_name} and kept in bf16), so results follow the bf16 model, not the fp8 one")
        pool = worker_pool(checked_checkpoint(model, ckpt_name), chosen,
                           torch.bfloat16 if dtype in FP8_DTYPES else dtype)
        clone = keep_off_the_gpu(model.clone())
        clone.add_wrapper_with_key(comfy.patcher_extension.WrappersMP.OUTER_SAMPLE, WRAPPER_KEY, sync_loras)
        options = clone.model_options.setdefault("transformer_options", {})
        options[PASS_RUNNER_KEY] = HostPoolPass(pool, strategy,
                                                interrupted=comfy.model_management.processing_interrupted)
        return io.NodeOutput(clone)
