"""The workflow kit: the vocabulary of the compact workflow descriptions and their UI-format serialisation.

The descriptions (``scripts/workflow_specs*.py``) are lists of :class:`Node`; each node names its inputs by schema
name: literal values become ``widgets_values`` (positional, in the schema's order, with the frontend's
``control_after_generate`` companion after seed widgets), :class:`Ref` values become links. :func:`build` turns a
:class:`Workflow` into the UI-format dict against live node schemas (``/object_info``), so a renamed input or a wrong
combo value fails the build instead of shipping a broken file; every workflow gets a Note node listing the files it
needs and where (``workflow_models``). :func:`render` is the text written to disk.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from scripts.workflow_downloads import download_for, model_entry
from scripts.workflow_layout import NOTE_SIZE, layout, node_size
from scripts.workflow_models import FOLDER_HELP, MODEL_INPUTS, ModelKind, ModelRef, input_spec, model_refs

WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})
DYNAMIC_COMBO = "COMFY_DYNAMICCOMBO_V3"


def open_offset(note_pos: list[int]) -> list[int]:
    """The view a workflow opens with (graph units at zoom 0.6): the Note's title clear of the frontend's top bar
    and the groups' left edge clear of its side bar."""
    return [120, -note_pos[1] + 140]


@dataclass(frozen=True)
class Ref:
    """A link from output ``output`` (index or name) of node ``node`` (its description key)."""

    node: str
    output: int | str = 0


@dataclass
class Node:
    """One node of a compact description: key (unique within the workflow), node id, inputs by name."""

    key: str
    type: str
    inputs: dict[str, Any] = field(default_factory=dict)
    title: str | None = None
    column: int = 0  # unused: the layout follows the links (scripts/workflow_layout.py); kept for old descriptions


@dataclass
class Workflow:
    """A workflow description: file stem, one-paragraph summary for the Note, nodes, extra Note lines."""

    stem: str
    summary: str
    nodes: list[Node]
    tips: list[str] = field(default_factory=list)


def node(key: str, node_type: str, *, title: str | None = None, column: int = 0, **inputs: Any) -> Node:
    """Shorthand for :class:`Node`."""
    return Node(key, node_type, dict(inputs), title, column)


# ------------------------------------------------------------------------------------------------ schema access
def ordered_inputs(schema: dict, values: dict[str, Any] | None = None) -> list[tuple[str, Any, bool]]:
    """``(name, spec, optional)`` in the frontend's order: required then optional, each by ``input_order``; hidden
    inputs left out. A dynamic combo (``COMFY_DYNAMICCOMBO_V3``, ComfyUI >= 0.33 e.g. SaveVideo ``format``) is a
    combo of its option keys followed by the required inputs of the option ``values`` selects (its default
    otherwise), recursively: the same widgets a host with plain combos has."""
    order = schema.get("input_order") or {}
    out: list[tuple[str, Any, bool]] = []
    for section in ("required", "optional"):
        specs = schema.get("input", {}).get(section) or {}
        names = [n for n in order.get(section, []) if n in specs]
        names += [n for n in specs if n not in names]
        for name in names:
            if not _options(specs[name]).get("hidden"):
                out += _flattened(name, specs[name], section == "optional", values or {})
    return out


def _options(spec: Any) -> dict:
    return spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}


def _flattened(name: str, spec: Any, optional: bool, values: dict[str, Any]) -> list[tuple[str, Any, bool]]:
    if spec[0] != DYNAMIC_COMBO:
        return [(name, spec, optional)]
    choices = _options(spec)["options"]
    keys = [choice["key"] for choice in choices]
    selected = values.get(name, _options(spec).get("default", keys[0]))
    combo = ("COMBO", {**{k: v for k, v in _options(spec).items() if k != "options"}, "options": keys})
    inner = next((c["inputs"] for c in choices if c["key"] == selected), {})
    return [(name, combo, optional), *ordered_inputs({"input": {"required": inner.get("required") or {}}}, values)]


def is_widget(spec: Any) -> bool:
    """True when the frontend renders a widget (a ``widgets_values`` slot) for this input spec."""
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if options.get("forceInput") or options.get("defaultInput"):
        return False
    return isinstance(spec[0], list) or spec[0] in WIDGET_TYPES


def has_control_widget(name: str, spec: Any) -> bool:
    """True when the frontend adds a ``control_after_generate`` value after this widget (seed-like INTs)."""
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if options.get("control_after_generate") is not None:
        return bool(options["control_after_generate"])
    return spec[0] == "INT" and name in ("seed", "noise_seed")


def combo_options(spec: Any) -> list[Any] | None:
    """The option list of a combo input spec (None for other types)."""
    if isinstance(spec[0], list):
        return spec[0]
    if spec[0] == "COMBO" and len(spec) > 1 and isinstance(spec[1], dict):
        return spec[1].get("options")
    return None


def default_value(spec: Any) -> Any:
    """The schema default of a widget input (first option of a combo)."""
    options = spec[1] if len(spec) > 1 and isinstance(spec[1], dict) else {}
    if "default" in options:
        return options["default"]
    listed = combo_options(spec)
    if listed:
        return listed[0]
    raise ValueError(f"no default for {spec!r}")


# ------------------------------------------------------------------------------------------------ building
class _Builder:
    """Turns one :class:`Workflow` into the UI-format dict."""

    def __init__(self, workflow: Workflow, object_info: dict[str, dict]):
        self.workflow = workflow
        self.info = object_info
        self.ids = {n.key: index + 2 for index, n in enumerate(workflow.nodes)}  # id 1 is the Note
        self.ui_nodes: dict[str, dict] = {}
        self.links: list[list[Any]] = []
        self.texts: dict[str, list[tuple[str, str]]] = {}  # key -> (label, value) of the one-line widgets

    def build(self) -> dict[str, Any]:
        for spec_node in self.workflow.nodes:
            self.ui_nodes[spec_node.key] = self._ui_node(spec_node)
        for spec_node in self.workflow.nodes:
            self._link_inputs(spec_node)
        groups, note_pos = self._layout()
        nodes = [self._note(note_pos), *self.ui_nodes.values()]
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"ltx2n/workflows/{self.workflow.stem}")), "revision": 0,
            "last_node_id": max(n["id"] for n in nodes), "last_link_id": len(self.links),
            "nodes": nodes, "links": self.links, "groups": groups, "config": {},
            "extra": {"ds": {"scale": 0.6, "offset": open_offset(note_pos)}}, "version": 0.4,
        }

    def _schema(self, spec_node: Node) -> dict:
        if spec_node.type not in self.info:
            raise KeyError(f"{self.workflow.stem}: unknown node {spec_node.type}")
        return self.info[spec_node.type]

    def _ui_node(self, spec_node: Node) -> dict[str, Any]:
        schema = self._schema(spec_node)
        flat = ordered_inputs(schema, spec_node.inputs)
        unknown = sorted(set(spec_node.inputs) - {name for name, _, _ in flat})
        if unknown:
            raise KeyError(f"{self.workflow.stem}: {spec_node.type} has no inputs {unknown}")
        inputs, widgets, texts = [], [], []
        for name, spec, optional in flat:
            if not is_widget(spec) or isinstance(spec_node.inputs.get(name), Ref):
                slot = {"name": name, "type": _socket_type(spec), "link": None}
                inputs.append({**slot, "shape": 7} if optional else slot)
                continue
            value = spec_node.inputs[name] if name in spec_node.inputs else default_value(spec)
            self._check_widget(spec_node, name, spec, value)
            inputs.append({"name": name, "type": _socket_type(spec), "widget": {"name": name}, "link": None})
            widgets.append(value)
            if not isinstance(value, bool) and len(str(value)) <= 80 and "\n" not in str(value):
                texts.append((name, f"{value:.3f}" if isinstance(value, float) else str(value)))
            if has_control_widget(name, spec):
                widgets.append("fixed")
                texts.append(("control after generate", "randomize"))
            if len(spec) > 1 and isinstance(spec[1], dict) and spec[1].get("image_upload"):
                widgets.append("image")  # the frontend's upload button widget
        outputs = [{"name": out_name, "type": out_type, "links": [], "slot_index": i}
                   for i, (out_type, out_name) in enumerate(zip(schema["output"], schema["output_name"], strict=True))]
        ui = {"id": self.ids[spec_node.key], "type": spec_node.type, "pos": [0, 0], "size": [0, 0],
              "flags": {}, "order": 0, "mode": 0, "inputs": inputs, "outputs": outputs,
              "properties": {"Node name for S&R": spec_node.type, **_models_property(spec_node)},
              "widgets_values": widgets}
        if spec_node.title:
            ui["title"] = spec_node.title
        self.texts[spec_node.key] = texts
        return ui

    def _check_widget(self, spec_node: Node, name: str, spec: Any, value: Any) -> None:
        options = combo_options(spec)
        if options is None or (spec_node.type, name) in MODEL_INPUTS or value in options:
            return
        raise ValueError(f"{self.workflow.stem}: {spec_node.type}.{name}={value!r} not in {options}")

    def _link_inputs(self, spec_node: Node) -> None:
        target = self.ui_nodes[spec_node.key]
        for name, value in spec_node.inputs.items():
            if not isinstance(value, Ref):
                continue
            source = self.ui_nodes[value.node]
            out_index = _output_index(source, value.output)
            slot_index = next(i for i, s in enumerate(target["inputs"]) if s["name"] == name)
            link_id = len(self.links) + 1
            link_type = source["outputs"][out_index]["type"]
            self.links.append([link_id, source["id"], out_index, target["id"], slot_index, link_type])
            source["outputs"][out_index]["links"].append(link_id)
            target["inputs"][slot_index]["link"] = link_id
        missing = [s["name"] for s in target["inputs"] if "widget" not in s and s["link"] is None and "shape" not in s]
        if missing:
            raise ValueError(f"{self.workflow.stem}: {spec_node.type} required inputs {missing} are not linked")

    def _layout(self) -> tuple[list[dict[str, Any]], list[int]]:
        """Sizes and positions of the nodes, the stage groups and the Note's position (``workflow_layout``)."""
        keys = [n.key for n in self.workflow.nodes]
        sizes = {k: node_size(self.ui_nodes[k], self.texts[k]) for k in keys}
        edges = [(v.node, n.key) for n in self.workflow.nodes for v in n.inputs.values() if isinstance(v, Ref)]
        positions, groups, note_pos = layout(keys, {n.key: n.type for n in self.workflow.nodes}, sizes, edges)
        for order, key in enumerate(keys):
            self.ui_nodes[key].update(pos=positions[key], size=sizes[key], order=order)
        return groups, note_pos

    def _note(self, pos: list[int]) -> dict[str, Any]:
        text = note_text(self.workflow, self._refs())
        return {"id": 1, "type": "Note", "title": "Read me: files and settings", "pos": pos,
                "size": list(NOTE_SIZE), "flags": {}, "order": len(self.ui_nodes), "mode": 0, "inputs": [],
                "outputs": [], "properties": {}, "widgets_values": [text], "color": "#432", "bgcolor": "#653"}

    def _refs(self) -> list[ModelRef]:
        prompt = {str(i): {"class_type": n.type, "inputs": n.inputs} for i, n in enumerate(self.workflow.nodes)}
        return model_refs(prompt)


def _models_property(spec_node: Node) -> dict[str, list[dict[str, str]]]:
    """``{"models": [...]}``: the node's referenced model files with their official URLs, the form ComfyUI's
    missing-models dialog reads (``workflow_downloads``); empty when the node names none."""
    entries = []
    for name, value in spec_node.inputs.items():
        spec = input_spec(spec_node.type, name, value)
        entry = model_entry(value, spec.folder) if spec and isinstance(value, str) else None
        if entry and entry not in entries:
            entries.append(entry)
    return {"models": entries} if entries else {}


def _socket_type(spec: Any) -> str:
    return "COMBO" if isinstance(spec[0], list) else spec[0]


def _output_index(ui_node: dict, output: int | str) -> int:
    if isinstance(output, int):
        return output
    return next(i for i, o in enumerate(ui_node["outputs"]) if o["name"] == output)


_KIND_NOTES = {
    ModelKind.GEMMA: " (the whole Hugging Face folder: config, tokenizer and weights)",
    ModelKind.IMAGE: " (any picture; pick your own in Load Image)",
}


def note_text(workflow: Workflow, refs: list[ModelRef]) -> str:
    """The Note: summary, a file -> folder table, then tips."""
    lines = [workflow.summary, "", "Files this workflow needs (file -> folder, size):"]
    for ref in refs:
        source = download_for(ref.name)
        size = f", {source.size}" if source and source.size else ", size: see its download page" if source else ""
        folder = FOLDER_HELP.get(ref.folder, ref.folder)
        lines.append(f"  {ref.name}{_KIND_NOTES.get(ref.kind, '')}  ->  {folder}/{size}")
    lines += ["", *workflow.tips] if workflow.tips else []
    return "\n".join(lines)


def build(workflow: Workflow, object_info: dict[str, dict]) -> dict[str, Any]:
    """The UI-format dict of ``workflow``."""
    return _Builder(workflow, object_info).build()


def render(data: dict[str, Any]) -> str:
    """The JSON text as written to disk (stable formatting)."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
