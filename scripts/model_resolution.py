"""Which model files a headless run uses: the real ones in ComfyUI's folders, or generated demo weights.

Real weights: every file the workflow names is found in its ComfyUI folder (``folder_paths``, so
``extra_model_paths.yaml`` counts), or else a stand-in of the same kind is (any ``ltx-2*.safetensors`` checkpoint,
preferring the workflow's variant; any Gemma folder in ``text_encoders``; an x2 spatial upscaler; a distilled LoRA;
for an LTX-2.5 split file, any file of the same part, e.g. another ``ltx-2.5-*-video-vae*``, preferring the variant).
Otherwise every referenced file is replaced by a tiny demo file written once into a cache folder and registered with
ComfyUI; demo names carry the prefix :data:`DEMO_PREFIX` so they never shadow (or get shadowed by) real files.
Must run after the host has booted (it imports ``folder_paths``).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.workflow_models import ModelKind, ModelRef, demo_family, input_spec, model_refs, write_demo_file
from scripts.workflow_models_ltx25 import ltx25_part

DEMO_PREFIX = "ltx2n-demo-"
DEMO_CACHE = Path(os.environ.get("LTX2_DEMO_CACHE", Path.home() / ".cache" / "comfyui-ltx2" / "demo-models"))
"""Root of the demo-weight cache; files live in a subfolder named after the demo writer's source hash."""

_PATTERNS: dict[ModelKind, re.Pattern[str]] = {
    ModelKind.CHECKPOINT: re.compile(r"ltx-?2[^/\\]*\.safetensors$", re.IGNORECASE),
    ModelKind.UPSAMPLER: re.compile(r"spatial-upscaler-x2[^/\\]*\.safetensors$", re.IGNORECASE),
    ModelKind.LORA: re.compile(r"distilled-lora[^/\\]*\.safetensors$", re.IGNORECASE),
}
_VARIANT_WORDS = ("distilled", "dev")


@dataclass
class Resolution:
    """Outcome: ``demo`` when demo weights are used; ``report`` lines saying which file stands for which."""

    demo: bool
    report: list[str] = field(default_factory=list)


def demo_cache_dir(root: Path = DEMO_CACHE) -> Path:
    """``root/<hash>``: a new folder whenever ``ltx_model/demo/*.py``, the released configs they shrink
    (``ltx_model/loading/released.py``) or the writers that call them (``scripts/workflow_models*.py``) change, so
    stale demo files (another tiny config) are never reused."""
    library = Path(__file__).resolve().parents[1] / "ltx_model"
    sources = [*sorted((library / "demo").glob("*.py")), library / "loading" / "released.py",
               *sorted(Path(__file__).resolve().parent.glob("workflow_models*.py"))]
    return root / hashlib.sha256(b"".join(s.read_bytes() for s in sources)).hexdigest()[:12]


def resolve_models(prompt: dict[str, Any], *, force_demo: bool = False, cache: Path | None = None) -> Resolution:
    """Point the prompt's model inputs at real files when all are found, else at demo files (in place)."""
    cache = cache or demo_cache_dir()
    real = None if force_demo else resolve_real(prompt)
    if real is not None:
        return real
    refs = [r for r in model_refs(prompt) if r.kind is not ModelKind.IMAGE]
    return Resolution(True, [f"demo {ref.folder}/{use_demo(prompt, ref, cache)}" for ref in refs])


def resolve_real(prompt: dict[str, Any]) -> Resolution | None:
    """Point the prompt's model inputs at real files when all are found (in place); None (prompt unchanged) when
    any is missing."""
    refs = [r for r in model_refs(prompt) if r.kind is not ModelKind.IMAGE]
    found = {ref: find_real(ref) for ref in refs}
    if not all(found.values()):
        return None
    for ref, name in found.items():
        rename(prompt, ref, name)
    return Resolution(False, [f"using {ref.folder}/{name}" for ref, name in found.items()])


def find_real(ref: ModelRef) -> str | None:
    """The name (as the node lists it) of the real file for ``ref``, or None."""
    import folder_paths

    if ref.kind is ModelKind.GEMMA:
        return _find_gemma(ref.name)
    names = [n for n in folder_paths.get_filename_list(ref.folder) if not n.startswith(DEMO_PREFIX)]
    if ref.name in names:
        return ref.name
    candidates = sorted(n for n in names if _same_kind(ref, n))
    variant = next((w for w in _VARIANT_WORDS if w in ref.name.lower()), None)
    preferred = [n for n in candidates if variant and variant in n.lower()]
    return (preferred or candidates or [None])[0]


def _same_kind(ref: ModelRef, name: str) -> bool:
    """Whether the listed file ``name`` can stand in for ``ref``: the same 2.5 part, or the name pattern of its kind."""
    if ref.kind is ModelKind.LTX25:
        return ltx25_part(name) == ltx25_part(ref.name)
    pattern = _PATTERNS.get(ref.kind)
    return pattern is not None and pattern.search(name) is not None and ltx25_part(name) is None


def _find_gemma(name: str) -> str | None:
    """``name`` when that Gemma entry exists in ``text_encoders``, else the first other Gemma entry: a folder
    (listed as ``"folder/"``, as the text encoder loader lists it) holding a ``config.json``, or a single
    ``*gemma*.safetensors`` file."""
    import folder_paths

    roots = [Path(p) for p in folder_paths.get_folder_paths("text_encoders")]
    if any((root / name).exists() for root in roots):
        return name
    folders = sorted(f"{d.name}/" for root in roots if root.is_dir() for d in root.iterdir()
                     if d.is_dir() and "gemma" in d.name.lower() and (d / "config.json").is_file())
    files = sorted(n for n in folder_paths.get_filename_list("text_encoders")
                   if "/" not in n and "gemma" in n.lower() and n.endswith(".safetensors"))
    found = [n for n in folders + files if not n.startswith(DEMO_PREFIX)]
    return found[0] if found else None


def use_demo(prompt: dict[str, Any], ref: ModelRef, cache: Path) -> str:
    """Write (once) the demo stand-in of ``ref`` into ``cache/<folder>``, register the folder, rename in the prompt."""
    import folder_paths

    demo_name = DEMO_PREFIX + ref.name
    folder = cache / ref.folder
    checkpoints = [r for r in model_refs(prompt) if r.kind is ModelKind.CHECKPOINT]
    # A LoRA must fit the checkpoint it is applied to; everything else follows its own name.
    family_source = checkpoints[0] if ref.kind is ModelKind.LORA and checkpoints else ref
    write_demo_file(ModelRef(ref.folder, demo_name, ref.kind), folder, family=demo_family(family_source.name))
    if str(folder) not in folder_paths.get_folder_paths(ref.folder):
        folder_paths.add_model_folder_path(ref.folder, str(folder))
    rename(prompt, ref, demo_name)
    return demo_name


def rename(prompt: dict[str, Any], ref: ModelRef, new_name: str) -> None:
    """Replace the value ``ref.name`` of every model input of folder ``ref.folder`` with ``new_name``."""
    for node in prompt.values():
        for input_name, value in node.get("inputs", {}).items():
            spec = input_spec(node["class_type"], input_name, value)
            if spec is not None and spec.folder == ref.folder and value == ref.name:
                node["inputs"][input_name] = new_name
