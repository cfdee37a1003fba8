"""Helpers of ``test_core_templates.py``: ComfyUI's own LTX-2 workflow templates, rewired onto this pack's loaders.

The templates come from the installed ``comfyui-workflow-templates-media-video`` package (a ComfyUI requirement;
read in place, never copied). Each one is converted to an API prompt with the harness's converter, then:

* **Legacy promoted widgets** — a subgraph instance saved with ``properties.proxyWidgets`` stores its host values in
  ``proxyWidgets`` order; the frontend migrates that on load (``flushProxyWidgetMigration``), comfy-cli's
  ``convert_ui_to_api`` does not (it reads the values positionally over the subgraph's inputs, which scrambles
  ``video_ltx2_i2v_lora``: prompt text into a width, 281 frames into a height). :func:`template_workflow` runs
  comfy-cli's own port of that migration first, so the prompt holds what the UI would run.
* **Model loader** — core ``CheckpointLoaderSimple`` becomes ``LTX2NCheckpointLoader`` (MODEL, slot 0) plus
  ``LTX2NVideoVAELoader`` on the same file (VAE, slot 2). CLIP (slot 1) is unused by the templates (their text
  encoder is ``LTXAVTextEncoderLoader``); a use of it fails the rewrite.
* **Text encoder** — core ``LTXAVTextEncoderLoader`` + ``CLIPTextEncode`` become ``LTX2NTextEncoderLoader`` +
  ``LTX2NTextEncode`` with the same prompt text: core's loader always builds a full Gemma-3-12B (fixed sizes in
  ``comfy/text_encoders``), which no tiny test file can stand in for.
* **Sizes** — the primitives titled Width / Height / Duration / Frame Rate / Length, the longer-edge resize and the
  sizing ``EmptyImage`` are set to :data:`TINY`; every ``ManualSigmas`` keeps its first, last-nonzero and last
  value (2 steps); ``LTXVScheduler`` gets 2 steps.

Everything else stays the template's own core node.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import os
from typing import Any

import pytest
from graph_support import ExpectedVideo

from scripts.workflow_api import is_link, nodes_of_type
from scripts.workflow_models import ModelKind, ModelRef

TEMPLATE_PACKAGE = "comfyui_workflow_templates_media_video"
TEMPLATES = ("video_ltx2_3_t2v", "video_ltx2_3_i2v", "video_ltx2_3_flf2v", "video_ltx2_3_ia2v",
             "video_ltx2_3_id_lora", "video_ltx2_i2v_lora")
"""Every LTX-2 / LTX-2.3 template of the package (``ltxv_*`` are the older LTX-Video model)."""
TEMPLATE_PREFIX = "video_ltx2"

TINY = {"width": 128, "height": 64, "duration": 1, "fps": 8, "steps": 2}
"""Output size (two-stage templates sample at half of it), 1 s at 8 fps = 9 frames, 2 steps per stage."""
TITLED_SIZES = {"width": "width", "height": "height", "duration": "duration", "frame rate": "fps"}
"""Primitive title (lower case, prefix) -> :data:`TINY` key."""
GEMMA = "gemma-3-12b-it/"
"""The Gemma folder our text encoder loader reads (a tiny demo Gemma is written there)."""
CORE_LOADER_INPUTS = {
    ("LTXVAudioVAELoader", "ckpt_name"): ModelRef("checkpoints", "", ModelKind.CHECKPOINT),
    ("LatentUpscaleModelLoader", "model_name"): ModelRef("latent_upscale_models", "", ModelKind.UPSAMPLER),
}
"""Core loaders of the templates that the harness's model table does not list: (node, input) -> folder and kind."""


# ------------------------------------------------------------------------------------------------ templates
def template_workflow(stem: str, object_info: dict[str, dict]) -> dict[str, Any]:
    """The installed template ``stem`` (UI format) with legacy promoted-widget values migrated as the frontend
    does on load. Without the package: skip, or fail with ``CI=true``."""
    try:
        folder = importlib.resources.files(TEMPLATE_PACKAGE) / "templates"
    except ModuleNotFoundError:
        message = f"{TEMPLATE_PACKAGE} is not installed (it comes with ComfyUI's requirements)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    workflow = json.loads((folder / f"{stem}.json").read_text(encoding="utf-8"))
    return migrate_legacy_promotions(workflow, object_info)


def installed_ltx2_templates() -> list[str]:
    """Stems of the package's LTX-2 templates."""
    folder = importlib.resources.files(TEMPLATE_PACKAGE) / "templates"
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir()
                  if p.name.startswith(TEMPLATE_PREFIX) and p.name.endswith(".json"))


def migrate_legacy_promotions(workflow: dict[str, Any], object_info: dict[str, dict]) -> dict[str, Any]:
    """A copy of ``workflow`` where every subgraph instance with legacy ``proxyWidgets`` and host values went
    through comfy-cli's port of the frontend's forward migration (host values taken in ``proxyWidgets`` order).
    Instances without host values keep their interior values (the migration would serialize them as holes)."""
    from comfy_cli.cql import promoted
    from comfy_cli.cql.engine import Graph

    workflow = copy.deepcopy(workflow)
    graph = Graph.from_object_info(object_info)
    for node in workflow.get("nodes", []):
        if (node.get("properties") or {}).get("proxyWidgets") and node.get("widgets_values"):
            promoted.flush_proxy_migration(workflow, node, graph)
    return workflow


# ------------------------------------------------------------------------------------------------ swaps
def replace_links(prompt: dict[str, Any], old: list, new: list) -> int:
    """Point every input linked to ``old`` (``[node id, slot]``) at ``new``; returns how many changed."""
    count = 0
    for node in prompt.values():
        for name, value in node["inputs"].items():
            if is_link(value) and value == old:
                node["inputs"][name] = list(new)
                count += 1
    return count


def _uses(prompt: dict[str, Any], source: list) -> int:
    return sum(value == source for node in prompt.values() for value in node["inputs"].values() if is_link(value))


def _node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def swap_checkpoint_loaders(prompt: dict[str, Any]) -> list[str]:
    """``CheckpointLoaderSimple`` -> ``LTX2NCheckpointLoader`` (MODEL) + ``LTX2NVideoVAELoader`` (VAE) on the same
    file, in place; returns the checkpoint names."""
    names = []
    for node_id in nodes_of_type(prompt, "CheckpointLoaderSimple"):
        name = prompt[node_id]["inputs"]["ckpt_name"]
        assert _uses(prompt, [node_id, 1]) == 0, f"{node_id}: the template uses the checkpoint's CLIP output"
        vae_id = f"{node_id}_vae"
        prompt[node_id] = _node("LTX2NCheckpointLoader", "Load LTX-2 Model", ckpt_name=name)
        prompt[vae_id] = _node("LTX2NVideoVAELoader", "Load Video VAE (LTX-2)", vae_name=name)
        replace_links(prompt, [node_id, 2], [vae_id, 0])
        names.append(name)
    return names


def swap_text_encoders(prompt: dict[str, Any]) -> int:
    """``LTXAVTextEncoderLoader`` -> ``LTX2NTextEncoderLoader`` (Gemma folder :data:`GEMMA`, the template's
    checkpoint) and each ``CLIPTextEncode`` -> ``LTX2NTextEncode`` with the same text and the frame rate the
    template gives ``LTXVConditioning``; in place. Returns the number of text encode nodes swapped."""
    (conditioning,) = nodes_of_type(prompt, "LTXVConditioning")
    frame_rate = prompt[conditioning]["inputs"]["frame_rate"]  # a link or a literal
    for loader in nodes_of_type(prompt, "LTXAVTextEncoderLoader"):
        checkpoint = prompt[loader]["inputs"]["ckpt_name"]
        prompt[loader] = _node("LTX2NTextEncoderLoader", "Gemma Text Encoder Loader (LTX-2)", gemma=GEMMA,
                               ckpt_name=checkpoint)
    encoders = nodes_of_type(prompt, "CLIPTextEncode")
    for node_id in encoders:
        clip, text = prompt[node_id]["inputs"]["clip"], prompt[node_id]["inputs"]["text"]
        assert prompt[clip[0]]["class_type"] == "LTX2NTextEncoderLoader", f"{node_id}: CLIP from {clip[0]}"
        prompt[node_id] = _node("LTX2NTextEncode", "Text Encode (LTX-2)", text_encoder=clip, text=text,
                                frame_rate=frame_rate)
    return len(encoders)


# ------------------------------------------------------------------------------------------------ sizes
def shorter_sigmas(sigmas: str) -> str:
    """First, last non-zero and last value of a ``ManualSigmas`` list (2 steps)."""
    values = [v.strip() for v in sigmas.split(",") if v.strip()]
    return ", ".join([values[0], values[-2], values[-1]]) if len(values) > 3 else sigmas


def _tiny_values(node: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Input name -> (quantity, tiny value) for one node of a template."""
    kind, title = node["class_type"], node.get("_meta", {}).get("title", "").lower()
    frames = TINY["duration"] * TINY["fps"] + 1
    if kind in ("PrimitiveInt", "PrimitiveFloat"):
        cast = float if kind == "PrimitiveFloat" else int
        if title == "length":
            return {"value": ("frames", cast(frames))}
        key = next((k for prefix, k in TITLED_SIZES.items() if title.startswith(prefix)), None)
        return {"value": ("frames" if key == "duration" else key, cast(TINY[key]))} if key else {}
    if kind == "EmptyImage":
        return {"width": ("width", TINY["width"]), "height": ("height", TINY["height"])}
    if kind == "ResizeImagesByLongerEdge":
        return {"longer_edge": ("size", max(TINY["width"], TINY["height"]))}
    if kind == "ManualSigmas":
        return {"sigmas": ("steps", shorter_sigmas(node["inputs"]["sigmas"]))}
    if kind == "LTXVScheduler":
        return {"steps": ("steps", TINY["steps"])}
    return {}


def shrink_template(prompt: dict[str, Any]) -> ExpectedVideo:
    """Set :data:`TINY` sizes, frames and steps in place; returns what the saved mp4 must be."""
    shrunk: set[str] = set()
    for node in prompt.values():
        for name, (quantity, value) in _tiny_values(node).items():
            if name in node["inputs"] and not is_link(node["inputs"][name]):
                node["inputs"][name] = value
                shrunk.add(quantity)
    missing = {"width", "height", "frames", "fps", "steps"} - shrunk
    assert not missing, f"no literal input for {sorted(missing)} (template layout changed?)"
    return ExpectedVideo(TINY["width"], TINY["height"], TINY["duration"] * TINY["fps"] + 1, float(TINY["fps"]))


INPUT_AUDIO_TOLERANCE_S = 0.08
"""|audio - Duration| bound when the saved audio is the template's input sound trimmed to Duration (image+audio to
video): core's audio VAE encodes 1 s into 24 latents (-0.04 s) and decodes 4T - 3 mel frames (-0.03 s); AAC rounds
up to whole 1024-sample frames. (The template makes Duration x fps + 1 video frames, one frame more than the sound.)"""


def expected_audio_s(prompt: dict[str, Any]) -> float | None:
    """The saved audio's length when it is an input sound (``LTXVAudioVAEEncode`` in the prompt), else None."""
    return float(TINY["duration"]) if nodes_of_type(prompt, "LTXVAudioVAEEncode") else None


# ------------------------------------------------------------------------------------------------ model files
def core_loader_refs(prompt: dict[str, Any]) -> list[ModelRef]:
    """Files the template's core loaders (:data:`CORE_LOADER_INPUTS`) name."""
    refs = []
    for node in prompt.values():
        for name, value in node["inputs"].items():
            spec = CORE_LOADER_INPUTS.get((node["class_type"], name))
            if spec is not None and isinstance(value, str):
                refs.append(ModelRef(spec.folder, value, spec.kind))
    return refs
