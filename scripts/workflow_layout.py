"""Layout of the shipped workflows: titled, coloured groups per stage, left to right in data-flow order, nodes
sized from what ComfyUI's frontend really gives them.

Stages (:class:`Stage`): Models | Prompt | Inputs | Sample | Decode & Save, each a group (``groups`` of the UI
format) placed left to right. Inside a group, nodes go in sub-columns by their depth along the links between
nodes of the same group (a LoRA loader right of the checkpoint loader, the second sampler right of the upscaler),
stacked in description order. The Note sits above the groups.

Node sizes come from ``scripts/node_sizes.json``, measured once in the real frontend by
``tests/browser/measure_node_sizes.py``: each node type's ``computeSize()`` (the pack's size-helper rows,
timeline strip and motion-track editor included) and the character widths of the frontend's widget and title
fonts. A node is made wide enough that its title, every widget's label and value, fit untruncated (the frontend's
rule for number / combo widgets: label + gap + value within width - :data:`ARROW_WIDGET_CHROME`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any

NODE_SIZES = Path(__file__).resolve().parent / "node_sizes.json"

BASE_WIDTH = 340  # the narrowest node we ship (the frontend's own default is narrower)
MULTILINE_WIDTH, MULTILINE_EXTRA_HEIGHT = 440, 100  # prompt boxes: room to read and type
SLACK_HEIGHT = 24  # a size-helper warning line or two more than the defaults show
NODE_GAP = 40  # between a node's bottom and the next node's title bar, and between sub-columns
GROUP_PAD, GROUP_TITLE, GROUP_GAP = 20, 50, 60  # group inner padding, title band, space between groups
ARROW_WIDGET_CHROME = 4 * 15 + 5 + 20 + 5 + 4  # 4 margins, left/right paddings, label-value gap, rounding room
TITLE_CHROME = 60  # the title's left circle and right padding
NOTE_SIZE = (800, 420)


class Stage(str, Enum):
    """A group of the layout, in left-to-right order (the value is the group's title)."""

    MODELS = "Models"
    PROMPT = "Prompt"
    INPUTS = "Inputs"
    SAMPLE = "Sample"
    OUTPUT = "Decode & Save"


STAGE_COLORS = {Stage.MODELS: "#3f789e", Stage.PROMPT: "#8A8", Stage.INPUTS: "#b58b2a", Stage.SAMPLE: "#a1309b",
                Stage.OUTPUT: "#b06634"}
"""LiteGraph's own group colours (pale blue, green, yellow, purple, brown)."""

_STAGE_TYPES = {
    Stage.MODELS: ("LTX2NCheckpointLoader", "LTX2NTextEncoderLoader", "LTX2NVideoVAELoader", "LTX2NAudioVAELoader",
                   "LTX2NUpscalerLoader", "LTX2NLoraLoader", "LTX2NICLoraLoader", "LTX2NCameraLoraLoader",
                   "LTX2NLoraStack", "LTX2NMultiGPU", "LTX2NGGUFLoader", "LoraLoaderModelOnly"),
    Stage.PROMPT: ("LTX2NTextEncode", "LTX2NEnhancePrompt", "LTX2NSaveTextEncoding", "LTX2NLoadTextEncoding"),
    Stage.INPUTS: ("LTX2NEmptyAVLatent", "LTX2NEmptyAudioLatent", "LoadImage", "LoadAudio", "LoadVideo",
                   "GetVideoComponents", "Canny", "LTX2NMotionTracks"),
    Stage.OUTPUT: ("LTX2NDecodeVideo", "LTX2NDecodeAudio", "CreateVideo", "SaveVideo", "SaveAudio",
                   "LTX2NHDRDecode", "LTX2NSaveEXRSequence"),
}
STAGE_OF_TYPE: dict[str, Stage] = {t: stage for stage, types in _STAGE_TYPES.items() for t in types}
"""Node type -> stage; any other type (conditioning, modes, samplers, guiders, upscalers) is in :attr:`Stage.SAMPLE`."""


def stage_of(node_type: str) -> Stage:
    return STAGE_OF_TYPE.get(node_type, Stage.SAMPLE)


@cache
def measured() -> dict[str, Any]:
    """The table of ``scripts/node_sizes.json``."""
    return json.loads(NODE_SIZES.read_text(encoding="utf-8"))


def text_width(text: str, role: str = "widget") -> float:
    """Width in px of ``text`` in the frontend's widget (12 px) or title (14 px) font; unknown characters count
    as "M"."""
    widths = measured()["char_widths"][role]
    return sum(widths.get(c, widths["M"]) for c in text)


def node_size(ui_node: dict[str, Any], widget_texts: list[tuple[str, str]]) -> list[int]:
    """``[width, height]`` for a UI node: the measured size of its type, widened so the title and each
    ``(label, value)`` widget text fit; multiline prompt nodes get extra room."""
    width, height = measured()["nodes"].get(ui_node["type"], [BASE_WIDTH, 120])
    multiline = any(isinstance(v, str) and ("\n" in v or len(v) > 60) for v in ui_node["widgets_values"])
    needed = [BASE_WIDTH, width, text_width(ui_node.get("title", ""), "title") + TITLE_CHROME]  # default titles:
    # the measured width has room for them
    needed += [text_width(label) + text_width(value) + ARROW_WIDGET_CHROME for label, value in widget_texts]
    if multiline:
        needed.append(MULTILINE_WIDTH)
        height += MULTILINE_EXTRA_HEIGHT
    return [int(-(-max(needed) // 10) * 10), int(height + SLACK_HEIGHT)]


@dataclass
class _Placed:
    key: str
    stage: Stage
    depth: int
    size: list[int]


def _depths(keys: list[str], stages: dict[str, Stage], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Longest chain of same-stage links ending at each node (0 for a node fed by no node of its stage)."""
    depth = dict.fromkeys(keys, 0)
    for _ in keys:  # relax; the graph is acyclic, so len(keys) rounds suffice
        for source, target in edges:
            if stages[source] is stages[target]:
                depth[target] = max(depth[target], depth[source] + 1)
    return depth


def layout(keys: list[str], types: dict[str, str], sizes: dict[str, list[int]],
           edges: list[tuple[str, str]]) -> tuple[dict[str, list[int]], list[dict[str, Any]], list[int]]:
    """Positions ``{key: [x, y]}`` of the nodes (description order ``keys``, node ``types``, ``sizes``, links
    ``(source key, target key)``), the UI-format groups, and the Note's position."""
    title_h = measured()["title_height"]
    stages = {k: stage_of(types[k]) for k in keys}
    depth = _depths(keys, stages, edges)
    placed = [_Placed(k, stages[k], depth[k], sizes[k]) for k in keys]
    positions: dict[str, list[int]] = {}
    groups: list[dict[str, Any]] = []
    x = 0
    for stage in Stage:
        members = [p for p in placed if p.stage is stage]
        if not members:
            continue
        column_x, bottom = x + GROUP_PAD, 0
        for d in sorted({p.depth for p in members}):
            column = [p for p in members if p.depth == d]
            y = GROUP_TITLE + title_h
            for p in column:
                positions[p.key] = [column_x, y]
                y += p.size[1] + title_h + NODE_GAP
            bottom = max(bottom, y - title_h - NODE_GAP)
            column_x += max(p.size[0] for p in column) + NODE_GAP
        width = column_x - NODE_GAP + GROUP_PAD - x
        groups.append({"id": len(groups) + 1, "title": stage.value, "bounding": [x, 0, width, bottom + GROUP_PAD],
                       "color": STAGE_COLORS[stage], "font_size": 24, "flags": {}})
        x += width + GROUP_GAP
    return positions, groups, [0, -(NOTE_SIZE[1] + title_h + GROUP_GAP)]
