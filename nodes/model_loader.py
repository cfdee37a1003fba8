"""The checkpoint loader: LTX-2 transformer checkpoints -> ComfyUI MODEL patchers.

:func:`load_transformer` builds the MODEL (transformer + text connectors when the file has them) from a checkpoint's
metadata and streams its weights; :class:`ModelFacts` / :func:`model_facts` tell the sampling nodes the family and
variant for their defaults; :func:`checkpoint_problem` validates a file from its header alone. The MODEL is built
here (and by the GGUF loader) only; other node modules use ComfyUI's sampling / patcher APIs on it (VAE modules build
their own ``comfy.sd.VAE`` objects).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from typing import Any

import comfy.model_management
import comfy.model_patcher
import torch

from ..ltx_model.loading import Component, Family, FileKind, FilePart, Variant, detect, read_header
from ..ltx_model.loading.build import ComponentSource, check_keys, component_source
from ..ltx_model.loading.registry import make_config
from ..ltx_model.modes import default_image_crf
from ..ltx_model.sampling import SamplingDefaults, defaults_for_version
from .base_model import LTX2ModelConfig
from .model_folders import listed_files
from .progress import HostProgress
from .weights import apply_precision_table, plan_weights, stream_weights


def attention_function() -> Any:
    """ComfyUI's attention dispatcher (honours ``--use-sage-attention`` and attention overrides), or None."""
    try:
        return importlib.import_module("comfy.ldm.modules.attention").optimized_attention
    except (ImportError, AttributeError):
        return None


_STORAGE_DTYPES = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32,
                   "F8_E4M3": torch.float8_e4m3fn, "F8_E5M2": torch.float8_e5m2}


_FAMILY_VERSIONS = {Family.LTX23_22B: "2.3", Family.LTX25: "2.5"}
"""The generation of a family whose file carries no ``model_version`` (for its defaults)."""


def family_version(family: Family | None) -> str | None:
    """The generation ``model_version`` of ``family`` (for a file that carries none), or None when unknown."""
    return _FAMILY_VERSIONS.get(family)


@dataclass(frozen=True)
class ModelFacts:
    """What the checkpoint header says about a loaded model: family, variant (dev / distilled), version."""

    family: Family
    variant: Variant
    model_version: str | None
    num_layers: int

    def version(self) -> str | None:
        """The ``model_version`` the per-version rules read (the family's generation when the file has none)."""
        return self.model_version or _FAMILY_VERSIONS.get(self.family)

    def defaults(self) -> SamplingDefaults:
        """ltx-pipelines' defaults for this version (steps, per-modality guidance, STG blocks)."""
        return defaults_for_version(self.version())

    def image_crf(self) -> int:
        """The image-conditioning CRF of this version (``ltx_model.modes.default_image_crf``: 18 from 2.4, else 33)."""
        return default_image_crf(self.version())

    @property
    def distilled(self) -> bool:
        """Whether this is a distilled model (no guidance, fixed 8-step sigmas)."""
        return self.variant is Variant.DISTILLED


def model_facts(model: Any) -> ModelFacts | None:
    """The :class:`ModelFacts` of a MODEL (patcher) loaded by this pack; None for any other model."""
    base = getattr(model, "model", None)
    config = getattr(getattr(base, "model_config", None), "unet_config", None)
    return config.get("ltx2_facts") if isinstance(config, dict) else None


MODEL_FOLDERS = ("checkpoints", "diffusion_models")
"""Where Load LTX-2 Model looks: single-file checkpoints (19B, 2.3) and split transformer files (LTX-2.5 ships
``diffusion_models/ltx-2.5-22b-*-transformer-*.safetensors``); a name in both is taken from ``checkpoints``."""
LOADABLE_FAMILIES = (Family.LTX2_19B, Family.LTX23_22B, Family.LTX25)
_PART_LOADERS = {FilePart.TEXT_ENCODER: "Gemma Text Encoder Loader (LTX-2)",
                 FilePart.VIDEO_VAE: "Load Video VAE (LTX-2)", FilePart.AUDIO_VAE: "Load Audio VAE (LTX-2)",
                 FilePart.UPSAMPLER: "Load Latent Upscaler (LTX-2)", FilePart.LORA: "Load LoRA (LTX-2)"}
"""The node that loads each split part (named when such a file is picked as the model)."""


def checkpoint_problem(path: str) -> str | None:
    """Why ``path`` cannot be loaded as an LTX-2 model, from its header alone (cheap; for validation), or None."""
    try:
        info = detect(read_header(path))
    except ValueError as exc:
        return f"{os.path.basename(path)} is not a loadable LTX-2 checkpoint: {exc}"
    name = os.path.basename(path)
    if info.part in _PART_LOADERS and info.family is not Family.UNKNOWN:
        return (f"{name} is the {info.part.value} file of {info.family.value}, not a transformer: load it with "
                f"{_PART_LOADERS[info.part]}, and pick the transformer file here")
    if info.kind is not FileKind.MODEL or Component.TRANSFORMER not in info.components:
        return f"{name} is not an LTX-2 model checkpoint (it looks like: {info.kind.value})"
    if info.family not in LOADABLE_FAMILIES:
        return f"{name} is not an LTX-2 / LTX-2.3 / LTX-2.5 checkpoint (family: {info.family.value}; {info.evidence})"
    return None


def _listable(path: str) -> bool:
    """Whether a file belongs in Load LTX-2 Model's dropdown: an LTX-2 transformer, or a file whose header cannot be
    read (validation then explains it)."""
    try:
        info = detect(read_header(path))
    except (ValueError, OSError):
        return True
    return info.kind is FileKind.MODEL and Component.TRANSFORMER in info.components and info.family in LOADABLE_FAMILIES


def model_choices() -> list[str]:
    """Load LTX-2 Model's dropdown: the files of :data:`MODEL_FOLDERS`, without those whose header shows they are
    another kind of file (a LoRA, a VAE or text-encoder part, an upscaler, another model's checkpoint)."""
    return listed_files(MODEL_FOLDERS, _listable)


def _model_source(path: str, kind: str | None = None) -> tuple[ComponentSource, Any, Any, ModelFacts]:
    """Transformer (+ text connectors when present) keys of a file, their configs and the file's facts.
    ``kind``: build the transformer as this ``ModelKind`` name (``"AUDIO_ONLY"``: video keys are not read)."""
    header = read_header(path)
    info = detect(header)
    source = component_source(header, Component.TRANSFORMER, kind=kind)
    keys, text = dict(source.keys), None
    try:
        config = make_config(Component.TRANSFORMER, header.config(), set(header.keys()), choices=source.choices())
        if Component.CONNECTORS in info.components:
            connectors = component_source(header, Component.CONNECTORS)
            text = make_config(Component.CONNECTORS, header.config(), set(header.keys()))
            keys.update(connectors.keys)
    except KeyError as exc:  # a missing metadata section
        raise ValueError(str(exc.args[0])) from None
    facts = ModelFacts(info.family, info.variant, info.model_version, config.num_layers)
    return ComponentSource(header, Component.TRANSFORMER, keys, source.kind), config, text, facts


def file_facts(path: str) -> ModelFacts:
    """The :class:`ModelFacts` of an LTX-2 transformer file, from its header alone (what a MODEL loaded from it
    reports through :func:`model_facts`); ValueError for a file that is not one."""
    return _model_source(path)[3]


def compile_blocks(patcher: Any, backend: str = "inductor") -> Any:
    """Per-block ``torch.compile`` of a MODEL loaded here, through ComfyUI's own wrapper
    (``comfy_api.torch_helpers.set_torch_compile_wrapper``, what core's ``TorchCompileModel`` node uses): every
    transformer block is compiled on its own and swapped in at sample time (weights, key names and patches are
    unchanged). The blocks share one graph (``ltx_model.compilation``); ``fullgraph`` stays off here because host
    layers (lowvram casts, weight patches) may add breaks of their own. Returns ``patcher``."""
    from comfy_api.torch_helpers import set_torch_compile_wrapper

    count = len(patcher.model.diffusion_model.transformer_blocks)
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, 2 * count + 8)
    set_torch_compile_wrapper(patcher, backend=backend,
                              keys=[f"diffusion_model.transformer_blocks.{i}" for i in range(count)])
    return patcher


def load_transformer(path: str, weight_dtype: str = "default", *, kind: str | None = None,
                     compile_backend: str | None = None) -> Any:
    """Load the transformer (and its text connectors, when the file has them) of an LTX-2 single-file or
    transformer-only checkpoint as a ComfyUI MODEL patcher.

    Strict: the file's keys and shapes must equal the model built from its metadata config (one clear error
    otherwise). Only these components' byte ranges are read, one tensor at a time (``weights.stream_weights``).
    ``weight_dtype``: storage option (``weights.WEIGHT_DTYPES``: default / fp8_e4m3fn / fp8_e4m3fn_fast / fp8_e5m2 /
    bf16); with fp8 storage the parameters of ``ltx_model.precision``'s table keep the compute dtype.
    ``kind``: ``"AUDIO_ONLY"`` loads only the audio stream of an audio+video file (text-to-audio; the video and
    cross-modal weights are never read); None = every stream in the file.
    ``compile_backend``: compile every transformer block with this ``torch.compile`` backend (``"inductor"``) at
    sample time (:func:`compile_blocks`); None = eager.
    """
    source, config, text, facts = _model_source(path, kind)
    infos = [source.header.tensors[k] for k in source.keys.values()]
    storage = max(_STORAGE_DTYPES, key=lambda d: sum(i.nbytes for i in infos if i.dtype == d))
    model_config = LTX2ModelConfig({"image_model": "ltx2_native", "transformer": config, "text": text,
                                    "attention_fn": attention_function(), "ltx2_facts": facts})
    mm = comfy.model_management
    params = sum(i.numel for i in infos)
    plan = plan_weights(weight_dtype, file_dtype=_STORAGE_DTYPES[storage], params=params,
                        supported=model_config.supported_inference_dtypes)
    model_config.set_inference_dtype(plan.weight_dtype, plan.manual_cast)
    model_config.optimizations["fp8"] = plan.fp8_matmul  # fp8 matmul only where pick_operations finds fp8 compute
    model = model_config.get_model(device=mm.unet_inital_load_device(params, plan.weight_dtype))
    apply_precision_table(model.diffusion_model, plan)
    check_keys(source, model.diffusion_model)
    # ComfyUI 0.12.0 (adaptive model loading) added CoreModelPatcher (main.py swaps it for ModelPatcherDynamic under
    # Dynamic VRAM); 0.8.0 to 0.11.x use ModelPatcher.
    patcher_cls = getattr(comfy.model_patcher, "CoreModelPatcher", comfy.model_patcher.ModelPatcher)
    patcher = patcher_cls(model, load_device=mm.get_torch_device(), offload_device=mm.unet_offload_device())
    stream_weights(model.diffusion_model, source, assign=bool(getattr(patcher, "is_dynamic", lambda: False)()),
                   should_abort=HostProgress().check_interrupt)  # Cancel stops the load between tensors
    return compile_blocks(patcher, compile_backend) if compile_backend else patcher
