"""What is this file? Family, variant, storage dtype, components, upsampler kind, LoRA kind and target.

Detection is data: each family is a :class:`FamilySignature` (metadata version prefix, config flags, module names and
module shapes only that family has), checked in a fixed order of evidence strength:
``model_version`` metadata > ``config.transformer`` flags > module names / shapes. Everything is read from the header
alone (no tensor data), so it works on a 46 GB file instantly.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from .keymaps import (
    DIFFUSION_PREFIX,
    DURATION_HEAD_PREFIX,
    Component,
    is_bare_video_vae,
    is_lora_file,
    present_components,
    split_lora_key,
)
from .safetensors_io import SafetensorsHeader


class Family(str, Enum):
    """Model family."""

    LTX2_19B = "LTX-2 (19B)"
    LTX23_22B = "LTX-2.3 (22B)"
    LTX25 = "LTX-2.5"
    UNKNOWN = "unknown"


class FileKind(str, Enum):
    """What kind of file this is."""

    MODEL = "model checkpoint"
    UPSAMPLER = "latent upsampler"
    LORA = "LoRA"
    UNKNOWN = "unknown"


class FilePart(str, Enum):
    """Which part of a model one file holds: a single file holds every component; LTX-2.5 ships split files
    (``diffusion_models/``, ``text_encoders/``, ``vae/``, upscalers, LoRAs)."""

    SINGLE_FILE = "single file (transformer, text connectors and projection, VAEs, vocoder)"
    TRANSFORMER = "transformer"
    TEXT_ENCODER = "text encoder"
    VIDEO_VAE = "video VAE"
    AUDIO_VAE = "audio VAE + vocoder"
    UPSAMPLER = "latent upsampler"
    LORA = "LoRA"
    DURATION_HEAD = "duration head"
    OTHER = "other"


# The components each split file holds (any non-empty subset counts); a file with components of more than one
# part is a single file.
SPLIT_PART_COMPONENTS: dict[FilePart, tuple[Component, ...]] = {
    FilePart.TRANSFORMER: (Component.TRANSFORMER, Component.CONNECTORS),
    FilePart.TEXT_ENCODER: (Component.TEXT_PROJECTION,),
    FilePart.VIDEO_VAE: (Component.VIDEO_VAE,),
    FilePart.AUDIO_VAE: (Component.AUDIO_VAE, Component.VOCODER),
}


class Variant(str, Enum):
    """Training variant."""

    DEV = "dev"
    DISTILLED = "distilled"
    UNKNOWN = "unknown"


class LoraKind(str, Enum):
    """LoRA flavour: plain, IC-LoRA (needs reference video tokens) or camera control (plain, camera motion)."""

    PLAIN = "plain"
    IC_LORA = "IC-LoRA"
    CAMERA = "camera-control"


@dataclass(frozen=True)
class FamilySignature:
    """Evidence that identifies one family. Module paths are transformer-relative (no file prefix).

    Attributes:
        version_prefixes: ``__metadata__["model_version"]`` prefixes.
        config_flags: ``config.transformer`` keys whose value true means this family.
        module_markers: substrings of module paths only this family has.
        shape_markers: ``(module path, out features)`` of Linear layers that differ between families.
        includes: older families whose evidence this family's files carry too (an LTX-2.5 file has every
            LTX-2.3 marker): their votes are not conflicts when this family wins.
        gemma_types: ``model_type`` prefixes of the Gemma config a text-encoder file stores in its
            ``gemma_config`` metadata (the LTX-2.5 file bundles Gemma 4 with the projection, whose keys alone
            look like LTX-2.3's).
    """

    family: Family
    version_prefixes: tuple[str, ...]
    config_flags: tuple[str, ...]
    module_markers: tuple[str, ...]
    shape_markers: tuple[tuple[str, int], ...]
    includes: tuple[Family, ...] = ()
    gemma_types: tuple[str, ...] = ()


FAMILY_SIGNATURES: tuple[FamilySignature, ...] = (
    FamilySignature(
        Family.LTX25,
        version_prefixes=("2.5",),
        config_flags=("use_keyframes_abs_pos_embedding",),
        module_markers=("keyframes_abs_pos_embedding",),
        shape_markers=(),
        includes=(Family.LTX23_22B,),
        gemma_types=("gemma4",),
    ),
    FamilySignature(
        Family.LTX23_22B,
        version_prefixes=("2.3",),
        config_flags=("cross_attention_adaln", "apply_gated_attention", "caption_proj_before_connector"),
        module_markers=(
            "prompt_adaln_single",
            "to_gate_logits",
            "prompt_scale_shift_table",
            "video_aggregate_embed",
            "bwe_generator",
        ),
        shape_markers=(("adaln_single.linear", 9 * 4096), ("audio_adaln_single.linear", 9 * 2048)),
    ),
    FamilySignature(
        Family.LTX2_19B,
        version_prefixes=("2.0", "2.1", "2.2"),
        config_flags=(),
        module_markers=("caption_projection.", "text_embedding_projection.aggregate_embed"),
        shape_markers=(("adaln_single.linear", 6 * 4096), ("audio_adaln_single.linear", 6 * 2048)),
    ),
)

# Block-level Linear shapes (out, in) shared by 19B and 22B: a LoRA touching these with other widths targets a
# different model (e.g. LTX-Video 0.9).
LTX2_BLOCK_SHAPES: dict[str, tuple[int, int]] = {
    "attn1.to_q": (4096, 4096),
    "attn1.to_out.0": (4096, 4096),
    "attn2.to_q": (4096, 4096),
    "audio_attn1.to_q": (2048, 2048),
    "audio_attn1.to_out.0": (2048, 2048),
    "audio_attn2.to_q": (2048, 2048),
    "ff.net.0.proj": (16384, 4096),
    "ff.net.2": (4096, 16384),
    "audio_ff.net.0.proj": (8192, 2048),
    "audio_ff.net.2": (2048, 8192),
    "audio_to_video_attn.to_q": (2048, 4096),
    "video_to_audio_attn.to_q": (2048, 2048),
}
_BLOCK_RE = re.compile(r"^transformer_blocks\.\d+\.")

VARIANT_METADATA_KEYS = ("variant", "model_variant", "model_type", "model_name", "name", "title")
VARIANT_HINTS: tuple[tuple[re.Pattern[str], Variant], ...] = (
    (re.compile(r"distill", re.I), Variant.DISTILLED),
    (re.compile(r"(^|[-_. ])dev([-_. ]|$)", re.I), Variant.DEV),
)
IC_LORA_HINT = re.compile(r"ic[-_]?lora|union[-_]control|[-_]ref\d", re.I)
CAMERA_LORA_HINT = re.compile(r"camera|dolly|jib|static[-_]?cam", re.I)
REFERENCE_DOWNSCALE_KEY = "reference_downscale_factor"


@dataclass(frozen=True)
class LoraInfo:
    """LoRA summary: kind, target family (None = fits 19B and 22B alike), rank(s), layer count."""

    kind: LoraKind
    target: Family | None
    target_note: str
    ranks: tuple[int, ...]
    layers: int
    reference_downscale_factor: int


@dataclass(frozen=True)
class CheckpointInfo:
    """Everything the header tells about a file. ``evidence`` says why the family was chosen."""

    path: str
    kind: FileKind
    family: Family
    evidence: str
    variant: Variant
    storage: str
    dtype_bytes: Mapping[str, int]
    components: tuple[Component, ...]
    model_version: str | None = None
    upsampler_kind: str | None = None
    lora: LoraInfo | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    part: FilePart = FilePart.OTHER


def file_part(kind: FileKind, components: tuple[Component, ...]) -> FilePart:
    """Which part of a model a file holds, from its kind and components (see :data:`SPLIT_PART_COMPONENTS`)."""
    if kind is FileKind.LORA:
        return FilePart.LORA
    if kind is FileKind.UPSAMPLER:
        return FilePart.UPSAMPLER
    present = set(components)
    parts = [p for p, held in SPLIT_PART_COMPONENTS.items() if present & set(held)]
    if len(parts) > 1:
        return FilePart.SINGLE_FILE
    return parts[0] if parts else FilePart.OTHER


def linear_shapes(header: SafetensorsHeader) -> dict[str, tuple[int, int]]:
    """``{module path: (out, in)}`` of 2-D ``.weight`` tensors (model files) or LoRA pairs (B rows, A columns)."""
    shapes: dict[str, tuple[int, int]] = {}
    lora_parts: dict[str, dict[str, tuple[int, ...]]] = {}
    for key, info in header.tensors.items():
        split = split_lora_key(key)
        if split is not None:
            lora_parts.setdefault(split[0], {})[split[1]] = info.shape
        elif key.endswith(".weight") and len(info.shape) == 2:
            shapes[key.removeprefix(DIFFUSION_PREFIX)[: -len(".weight")]] = (info.shape[0], info.shape[1])
    for module, parts in lora_parts.items():
        if "A" in parts and "B" in parts and len(parts["A"]) == 2 and len(parts["B"]) == 2:
            shapes[module] = (parts["B"][0], parts["A"][1])
    return shapes


def _gemma_model_type(header: SafetensorsHeader) -> str | None:
    """``model_type`` of the ``gemma_config`` metadata JSON (a split text-encoder file), None when absent or
    unreadable."""
    raw = header.metadata.get("gemma_config")
    if not raw:
        return None
    try:
        config = json.loads(raw)
    except json.JSONDecodeError:
        return None
    model_type = config.get("model_type") if isinstance(config, dict) else None
    return model_type if isinstance(model_type, str) else None


def _family_votes(header: SafetensorsHeader, shapes: Mapping[str, tuple[int, int]]) -> list[tuple[Family, str]]:
    """All evidence, strongest first, as ``(family, reason)``."""
    votes: list[tuple[Family, str]] = []
    version = header.metadata.get("model_version", "")
    transformer_cfg = header.config().get("transformer", {}) if "config" in header.metadata else {}
    for sig in FAMILY_SIGNATURES:
        if version and version.startswith(sig.version_prefixes):
            votes.append((sig.family, f"metadata model_version {version}"))
    gemma_type = _gemma_model_type(header)
    for sig in FAMILY_SIGNATURES:
        if gemma_type and gemma_type.startswith(sig.gemma_types):
            votes.append((sig.family, f"metadata gemma_config model_type {gemma_type}"))
    for sig in FAMILY_SIGNATURES:
        flags = [k for k in sig.config_flags if isinstance(transformer_cfg, dict) and transformer_cfg.get(k) is True]
        if flags:
            votes.append((sig.family, f"config.transformer.{flags[0]}"))
    names = [k.removeprefix(DIFFUSION_PREFIX) for k in header.tensors]
    for sig in FAMILY_SIGNATURES:
        hit = next((m for m in sig.module_markers for n in names if m in n), None)
        if hit:
            votes.append((sig.family, f"module {hit}"))
        for module, out in sig.shape_markers:
            if module in shapes and shapes[module][0] == out:
                votes.append((sig.family, f"{module} has {out} outputs"))
    return votes


def detect_family(header: SafetensorsHeader) -> tuple[Family, str, tuple[str, ...]]:
    """(family, evidence, warnings): the strongest evidence wins; disagreeing evidence becomes a warning."""
    votes = _family_votes(header, linear_shapes(header))
    if not votes:
        return Family.UNKNOWN, "no family signature matched", ()
    family, reason = votes[0]
    included = next((sig.includes for sig in FAMILY_SIGNATURES if sig.family is family), ())
    conflicts = tuple(f"{r} suggests {f.value}" for f, r in votes if f is not family and f not in included)
    return family, reason, tuple(f"conflicting evidence: {c} (using {reason})" for c in conflicts[:3])


def detect_variant(header: SafetensorsHeader) -> Variant:
    """dev / distilled from metadata fields, then from the file name."""
    sources = [header.metadata.get(k, "") for k in VARIANT_METADATA_KEYS] + [Path(header.path).name]
    for text in sources:
        for pattern, variant in VARIANT_HINTS:
            if text and pattern.search(text):
                return variant
    return Variant.UNKNOWN


def storage_summary(header: SafetensorsHeader) -> tuple[str, dict[str, int]]:
    """("bf16 (+ f32: 577 tensors)", bytes per dtype). fp8 wins when any weight is stored as float8."""
    nbytes: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    for info in header.tensors.values():
        nbytes[info.dtype] += info.nbytes
        counts[info.dtype] += 1
    if not nbytes:
        return "empty", {}
    fp8 = [d for d in nbytes if d.startswith("F8")]
    main = fp8[0] if fp8 else nbytes.most_common(1)[0][0]
    others = ", ".join(f"{d.lower()}: {counts[d]} tensors" for d in sorted(counts) if d != main)
    label = {"F8_E4M3": "fp8 (e4m3fn)", "F8_E5M2": "fp8 (e5m2)"}.get(main, main.lower())
    return (f"{label} (+ {others})" if others else label), dict(nbytes)


def upsampler_kind(header: SafetensorsHeader) -> str:
    """ "spatial x2", "spatial x1.5", "temporal x2" from the flat config (key shapes as fallback)."""
    cfg = header.config()
    if cfg.get("temporal_upsample"):
        return "temporal x2"
    if cfg.get("spatial_upsample"):
        return f"spatial x{float(cfg.get('spatial_scale', 2.0)):g}"
    if "upsampler.blur_down.kernel" in header.tensors:
        return "spatial x1.5 (from keys)"
    return "unknown (no config)"


def _lora_target(shapes: Mapping[str, tuple[int, int]], family: Family) -> tuple[Family | None, str]:
    """Target family of a LoRA from its layer shapes; (None, note) when it fits both families."""
    for module, shape in shapes.items():
        block_module = _BLOCK_RE.sub("", module)
        if _BLOCK_RE.match(module) and block_module in LTX2_BLOCK_SHAPES and shape != LTX2_BLOCK_SHAPES[block_module]:
            return Family.UNKNOWN, f"{module} is {shape[0]}x{shape[1]}, not an LTX-2/2.3 layer shape"
    if family is not Family.UNKNOWN:
        return family, f"for {family.value}"
    return None, "fits LTX-2 (19B) and LTX-2.3 (22B) alike (only layers both share)"


def lora_info(header: SafetensorsHeader, family: Family) -> LoraInfo:
    """Kind (IC-LoRA by metadata or name, camera by name), target family, ranks, layer count."""
    shapes = linear_shapes(header)
    down_keys = [k for k in header.tensors if k.endswith((".lora_A.weight", ".lora_down.weight"))]
    ranks = sorted({header.tensors[k].shape[0] for k in down_keys})
    factor_raw = header.metadata.get(REFERENCE_DOWNSCALE_KEY)
    name = Path(header.path).name
    if factor_raw is not None or IC_LORA_HINT.search(name):
        kind = LoraKind.IC_LORA
    elif CAMERA_LORA_HINT.search(name):
        kind = LoraKind.CAMERA
    else:
        kind = LoraKind.PLAIN
    try:
        factor = int(factor_raw) if factor_raw is not None else 1
    except ValueError:
        factor = 1
    target, note = _lora_target(shapes, family)
    return LoraInfo(kind, target, note, tuple(ranks), len(down_keys), factor)


def detect(header: SafetensorsHeader) -> CheckpointInfo:
    """Describe a file from its header alone."""
    keys = header.keys()
    family, evidence, warnings = detect_family(header)
    storage, dtype_bytes = storage_summary(header)
    common = dict(
        path=header.path,
        evidence=evidence,
        variant=detect_variant(header),
        storage=storage,
        dtype_bytes=dtype_bytes,
        model_version=header.metadata.get("model_version"),
        warnings=warnings,
    )
    if is_lora_file(keys):
        lora = lora_info(header, family)
        return CheckpointInfo(kind=FileKind.LORA, family=family, components=(), lora=lora, part=FilePart.LORA,
                              **common)
    components = tuple(present_components(keys))
    if components == (Component.UPSAMPLER,):
        return CheckpointInfo(
            kind=FileKind.UPSAMPLER,
            family=family,
            components=components,
            upsampler_kind=upsampler_kind(header),
            part=FilePart.UPSAMPLER,
            **common,
        )
    if not components and is_bare_video_vae(keys):  # a split video VAE without the ``vae.`` prefix
        components = (Component.VIDEO_VAE,)
    kind = FileKind.MODEL if components else FileKind.UNKNOWN
    part = file_part(kind, components)
    if part is FilePart.OTHER and any(k.startswith(DURATION_HEAD_PREFIX) for k in keys):
        part = FilePart.DURATION_HEAD
    return CheckpointInfo(kind=kind, family=family, components=components, part=part, **common)
