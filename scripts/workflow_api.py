"""Small edits of API prompts (override widget values by input name) and reading what a run saved.

Used by the graph tests (shrinking sizes/steps) and the main job (prompt text, seed, size overrides).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VIDEO_ONLY_NODES = frozenset({"LTX2NHDRPrepare"})
"""Node types that make a video-only latent: a workflow holding one has no audio stream (HDR IC-LoRA, as
Lightricks' pipeline); every other workflow's video carries sound."""


def is_link(value: Any) -> bool:
    """True for an API-format link ``[node_id, output_index]``."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def load_workflow(path: str | Path) -> dict[str, Any]:
    """Read a workflow JSON file (UI or API format)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def override_inputs(prompt: dict[str, Any], values: dict[str, Any], *,
                    class_types: set[str] | None = None) -> list[tuple[str, str]]:
    """Set literal (non-link) inputs named in ``values`` on every node (or only nodes of ``class_types``).

    Returns the ``(node id, input name)`` pairs changed. Inputs a node does not have are never added.
    """
    changed: list[tuple[str, str]] = []
    for node_id, node in prompt.items():
        if class_types is not None and node["class_type"] not in class_types:
            continue
        inputs = node.get("inputs", {})
        for name, value in values.items():
            if name in inputs and not is_link(inputs[name]):
                inputs[name] = value
                changed.append((node_id, name))
    return changed


def nodes_titled(prompt: dict[str, Any], title: str) -> list[str]:
    """Ids of the nodes whose title (``_meta.title``) equals ``title``."""
    return [nid for nid, node in prompt.items() if node.get("_meta", {}).get("title") == title]


def nodes_of_type(prompt: dict[str, Any], class_type: str) -> list[str]:
    """Ids of the nodes of ``class_type``."""
    return [nid for nid, node in prompt.items() if node["class_type"] == class_type]


def literal_input(prompt: dict[str, Any], class_type: str, name: str) -> Any:
    """The literal value of input ``name`` on the one node of ``class_type`` (error if not exactly one)."""
    ids = nodes_of_type(prompt, class_type)
    if len(ids) != 1:
        raise ValueError(f"expected one {class_type} node, found {len(ids)}")
    value = prompt[ids[0]]["inputs"][name]
    if is_link(value):
        raise ValueError(f"{class_type}.{name} is linked, not a literal")
    return value


def saved_files(ui_outputs: dict[str, Any], output_dir: str | Path, *, suffix: str = ".mp4") -> list[Path]:
    """Paths of the files with ``suffix`` that output nodes reported (``{"images": [{filename, subfolder}]}``)."""
    found: list[Path] = []
    for node_output in ui_outputs.values():
        for key in ("images", "videos", "gifs"):
            for item in node_output.get(key, []) or []:
                if isinstance(item, dict) and str(item.get("filename", "")).endswith(suffix):
                    found.append(Path(output_dir) / item.get("subfolder", "") / item["filename"])
    return found
