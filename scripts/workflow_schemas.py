"""The reference node schemas the shipped workflows are built against, so one set of files serves every host.

Core nodes change their schemas between ComfyUI versions (v0.33.0: ``SaveVideo`` gained an output and a nested
``format`` / ``codec`` dynamic combo, ``CreateVideo`` a ``bit_depth`` widget). The workflow files are built against
the schemas of one reference host (the oldest supported, whose files newer front-ends load and fill with their
own defaults), kept here as a pruned snapshot (``workflow_schemas.json``: only the schema fields the builder reads,
of the node types the workflows use; folder-listing combos emptied, as they depend on the machine). Every host
checks the files against the snapshot and the descriptions against its own live schemas.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scripts.workflow_models import MODEL_INPUTS

SNAPSHOT = Path(__file__).resolve().parent / "workflow_schemas.json"
KEPT_OPTIONS = ("default", "options", "forceInput", "defaultInput", "control_after_generate", "image_upload",
                "multiline", "hidden")
"""The option fields ``workflow_kit`` reads (tooltips and the rest are left out of the snapshot)."""
FOLDER_LISTS = {("LTX2NLoraStack", "lora_2"), ("LTX2NLoraStack", "lora_3")}
"""Combos listing a model folder after a fixed default ("None"), which our workflows keep: only the default stays."""


def _pruned_spec(node_type: str, name: str, spec: list) -> list:
    if isinstance(spec[0], list):  # legacy combo: the option list itself is the type
        return [[] if (node_type, name) in MODEL_INPUTS else spec[0], *spec[1:2]]
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else None
    if options is None:
        return [spec[0]]
    kept = {k: v for k, v in options.items() if k in KEPT_OPTIONS}
    if (node_type, name) in MODEL_INPUTS and "options" in kept:
        kept["options"] = []
    if (node_type, name) in FOLDER_LISTS and "options" in kept:
        kept["options"] = [o for o in kept["options"] if o == kept.get("default")]
    if isinstance(kept.get("options"), list) and kept["options"] and isinstance(kept["options"][0], dict):
        kept["options"] = [{"key": o["key"], "inputs": _pruned_inputs(node_type, o["inputs"])}
                           for o in kept["options"]]  # dynamic combo: its options carry inputs of their own
    return [spec[0], kept]


def _pruned_inputs(node_type: str, inputs: dict[str, dict]) -> dict[str, dict]:
    return {section: {name: _pruned_spec(node_type, name, spec) for name, spec in (specs or {}).items()}
            for section, specs in inputs.items() if section in ("required", "optional")}


def snapshot(object_info: dict[str, dict], node_types: set[str], version: str) -> dict[str, Any]:
    """The pruned schemas of ``node_types`` from a host's ``/object_info``, with the host's version."""
    nodes = {}
    for node_type in sorted(node_types):
        schema = object_info[node_type]
        nodes[node_type] = {"input": _pruned_inputs(node_type, schema.get("input", {})),
                            "input_order": {k: v for k, v in (schema.get("input_order") or {}).items()
                                            if k in ("required", "optional")}, "output": list(schema["output"]),
                            "output_name": list(schema["output_name"])}
    return {"comfyui_version": version, "nodes": nodes}


def load_snapshot() -> dict[str, Any]:
    """The committed reference snapshot."""
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def render_snapshot(data: dict[str, Any]) -> str:
    """The snapshot's text as written to disk."""
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
