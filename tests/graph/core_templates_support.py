"""Helpers of ``test_core_templates.py``: ComfyUI's own LTX-2 workflow templates, rewired onto this pack's loaders.

The templates come from the host's template packages (:data:`TEMPLATE_PACKAGES`; read in place, never copied), are
converted to API prompts with the harness's converter and then changed only as follows:

* **Legacy promoted widgets** — a subgraph instance saved with ``properties.proxyWidgets`` stores its host values in
  ``proxyWidgets`` order; the frontend migrates that on load, comfy-cli's ``convert_ui_to_api`` does not (it would
  put ``video_ltx2_i2v_lora``'s prompt text into a width). :func:`template_workflow` runs comfy-cli's own port of
  that migration first, so the prompt holds what the UI would run.
* **Model loaders** (:data:`MODEL_LOADERS`) — a core ``CheckpointLoaderSimple`` / ``UNETLoader`` / ``VAELoader`` of an
  LTX-2 19B / LTX-2.3 22B file or of an LTX-2.5 transformer / video VAE split file becomes ``LTX2NCheckpointLoader``
  (MODEL) and ``LTX2NVideoVAELoader`` (VAE) on the same file; a use of another output (the checkpoint's CLIP) fails
  the rewrite. Loaders of other models (the 2.5 audio VAE, the Lotus depth estimator and its SD VAE, MoGe) stay
  core and read stand-ins (``core_template_files``).
* **Text encoder** — core ``LTXAVTextEncoderLoader`` (2 / 2.3) and ``CLIPLoader`` type ``ltxv`` (2.5, Gemma 4) become
  ``LTX2NTextEncoderLoader`` and the template's CLIP links take its ``clip`` output (a core ``comfy.sd.CLIP``):
  core's loaders always build the full-size Gemma (fixed sizes in ``comfy/text_encoders``), which no tiny test file
  can stand in for. ``CLIPTextEncode``, the Gemma ``LoraLoader`` (a tiny Gemma LoRA is written under the template's
  name) and the prompt enhancer stay core's (:func:`swap_text_encoders`).
* **Sizes** (:func:`shrink_template`) — by structure, not titles: the size inputs of ``EmptyLTXVLatentVideo``,
  ``LTXVEmptyLatentAudio``, ``LTXVConditioning`` and ``CreateVideo`` (:data:`SIZE_SINKS`) are traced upstream
  (:data:`TRACE`, :data:`OUTPUT_QUANTITY`, :data:`MATH`) to the literals that decide them (primitives, resize
  targets, empty images, a video trim), which get :data:`TINY` values; ``ManualSigmas`` keep their first,
  last-nonzero and last value, ``LTXVScheduler`` gets 2 steps, a longer-edge resize the tiny longer edge, MoGe its
  coarsest level.

The tiny files carry the official (Lightricks) key layout under the templates' names; the 2.5 templates name
Comfy-Org's ``comfy-int8-convrot`` requantisations (ComfyUI's own quantised layout), which these tests do not
reproduce.

Which templates run is :data:`RUNNING`, per host version: every installed LTX-2 template.
"""

from __future__ import annotations

import copy
import importlib.resources
import json
import os
import re
from typing import Any

import pytest
from graph_support import ExpectedVideo

from scripts.comfy_headless import comfy_root
from scripts.workflow_api import is_link, nodes_of_type
from scripts.workflow_models import EXAMPLE_VIDEO_FPS
from scripts.workflow_models_ltx25 import ltx25_part

TEMPLATE_PACKAGES = ("comfyui_workflow_templates_json", "comfyui_workflow_templates_media_video",
                     "comfyui_workflow_templates_media_image", "comfyui_workflow_templates_media_other")
"""Where the host's templates live: templates 0.11 (ComfyUI v0.33.0) holds them all in the ``_json`` package;
templates 0.9 (v0.20.1) splits them over media bundles, the LTX-2 ones over ``_media_video`` (2.3, i2v LoRA),
``_media_image`` (19B t2v / i2v / distilled / canny / depth) and ``_media_other`` (style transition), as the
``comfyui_workflow_templates_core`` manifest lists them. Every package is searched; a stem in two is read from the
first (``_media_api`` holds only the cloud ``api_ltxv_*`` templates)."""
TEMPLATE_PREFIXES = ("video_ltx2", "template_ltx2")
"""LTX-2 family templates (``ltxv_*`` are the older LTX-Video model; ``api_*`` run on a cloud API)."""

LTX2_19B_TEMPLATES = ("video_ltx2_t2v", "video_ltx2_i2v", "video_ltx2_t2v_distilled", "video_ltx2_i2v_distilled",
                      "video_ltx2_i2v_lora", "video_ltx2_canny_to_video", "video_ltx2_depth_to_video")
LTX23_TEMPLATES = ("video_ltx2_3_t2v", "video_ltx2_3_i2v", "video_ltx2_3_ia2v", "video_ltx2_3_flf2v",
                   "video_ltx2_3_id_lora", "template_ltx2_3_style_transition")
RUNNING: dict[str, tuple[str, ...]] = {
    "0.20.1": (*LTX23_TEMPLATES, *LTX2_19B_TEMPLATES),
    "0.33.0": (*LTX23_TEMPLATES, "template_ltx2_3_ic_lora_ingredients", "video_ltx2_3_ic_lora", *LTX2_19B_TEMPLATES,
               "video_ltx2_5_t2v", "video_ltx2_5_i2v", "video_ltx2_5_flf2v"),
}
"""Per ComfyUI host version: its installed LTX-2 templates, every one of which runs on our model (v0.20.1: 13,
v0.33.0: 18)."""

TINY = {"width": 128, "height": 64, "duration": 1, "fps": 8, "frames": 9, "steps": 2, "tokens": 8, "detail": 0,
        "size": 128, "clip_s": 8.5 / EXAMPLE_VIDEO_FPS}
"""Output size (two-stage templates sample at half of it), 1 s at 8 fps = 9 frames, 2 steps per stage, 8 tokens
from the prompt enhancer, MoGe's coarsest resolution level (1200 tokens), the longer edge of a longer-edge resize,
and the seconds of the input video (the example clip, :data:`EXAMPLE_VIDEO_FPS`) that hold 9 frames (frames whose
timestamp is below the trim end are kept: 8.5 frame periods keep frames 0..8, clear of rounding)."""
SIZE_SINKS = {("EmptyLTXVLatentVideo", "width"): "width", ("EmptyLTXVLatentVideo", "height"): "height",
              ("EmptyLTXVLatentVideo", "length"): "frames", ("LTXVEmptyLatentAudio", "frames_number"): "frames",
              ("LTXVEmptyLatentAudio", "frame_rate"): "fps", ("LTXVConditioning", "frame_rate"): "fps",
              ("CreateVideo", "fps"): "fps"}
"""(node, input) -> the quantity it takes; traced upstream to the literals that decide it."""
ANY = "*"
TRACE = {("PrimitiveInt", ANY): "value", ("PrimitiveFloat", ANY): "value", ("GetImageSize", ANY): "image",
         ("ImageScaleBy", ANY): "image", ("Canny", ANY): "image", ("ImageInvert", ANY): "image",
         ("VAEDecode", ANY): "samples", ("VAEEncode", ANY): "pixels", ("SamplerCustomAdvanced", ANY): "latent_image",
         ("ResizeImageMaskNode", "width"): "resize_type.width", ("ResizeImageMaskNode", "height"): "resize_type.height",
         ("ResizeImageMaskNode", "frames"): "input", ("EmptyImage", "width"): "width",
         ("EmptyImage", "height"): "height", ("ImageFromBatch", "frames"): "length",
         ("ResizeAndPadImage", "width"): "target_width", ("ResizeAndPadImage", "height"): "target_height",
         ("ResizeAndPadImage", "frames"): "image", ("RepeatImageBatch", "frames"): "amount",
         ("RepeatImageBatch", ANY): "image", ("MoGeRender", ANY): "moge_geometry", ("MoGeInference", ANY): "image",
         ("GetVideoComponents", ANY): "video", ("ResizeImagesByLongerEdge", "frames"): "images",
         ("Video Slice", "frames"): ("duration", "clip_s")}
"""(node, quantity or :data:`ANY`) -> the input that decides that quantity of the node's output, or (input, the
quantity that input is) where it differs (a trim's seconds decide the frames). ``ComfySwitchNode`` follows its
branch (both while the switch is linked)."""
OUTPUT_QUANTITY = {("GetImageSize", 0): "width", ("GetImageSize", 1): "height", ("GetImageSize", 2): "frames"}
"""(node, output slot) -> the quantity that output is (of the node's traced input)."""
MATH = {"a": {"values.a": None}, "a/2": {"values.a": None}, "a*b+1": {"values.a": "duration", "values.b": "fps"}}
"""``ComfyMathExpression`` (spaces removed) -> operand -> its quantity (None: the one asked for; ``a/2`` is the
first-stage half of a two-stage size, whose primitive holds the output size)."""
CUT = {("RepeatImageBatch", "amount"), ("PrimitiveInt", "value")}
"""Linked inputs on a size path that become a literal of the traced quantity: the Ingredients template repeats its
reference sheet duration x fps times (``a * b``), which no integer tiny duration turns into 1 + 8k frames; the 2.5
templates' width / height primitives take a ``ResolutionSelector``'s (aspect ratio, megapixels) output."""
DIRECT = {"ResizeImagesByLongerEdge": ("longer_edge", "size"), "LTXVScheduler": ("steps", "steps"),
          "TextGenerateLTX2Prompt": ("max_length", "tokens"), "KSampler": ("steps", "steps"),
          "MoGeInference": ("resolution_level", "detail")}
"""Node -> (literal input, quantity) set wherever it occurs (``ManualSigmas`` is shortened instead)."""


MODEL_LOADERS = {"CheckpointLoaderSimple": ("ckpt_name", {"model": 0, "vae": 2}),
                 "UNETLoader": ("unet_name", {"model": 0}), "VAELoader": ("vae_name", {"vae": 0})}
"""Core loader -> (file input, {output kind: slot} we provide) when it loads one of :data:`OUR_FILES`."""
OUR_LOADERS = {"model": ("LTX2NCheckpointLoader", "ckpt_name", "Load LTX-2 Model"),
               "vae": ("LTX2NVideoVAELoader", "vae_name", "Load Video VAE (LTX-2)")}
"""Output kind -> (pack node, its file input, title)."""
OUR_FILES = re.compile(r"^ltx-2-19b|^ltx-2\.3-22b", re.IGNORECASE)
"""Single files of the families this pack loads (LTX-2 19B, LTX-2.3 22B), by the released names."""
OUR_LTX25_PARTS = ("transformer", "video_vae")
"""LTX-2.5 split parts (``workflow_models_ltx25.ltx25_part``) whose core loader becomes ours. The 2.5 audio VAE stays
on core's ``VAELoader`` (as the 2.3 audio VAE stays on ``LTXVAudioVAELoader``)."""
GEMMA = "gemma-3-12b-it/"
"""The Gemma folder our text encoder loader reads (a tiny demo Gemma is written there)."""
CLIP_SLOT = 1
"""``LTX2NTextEncoderLoader``'s core CLIP output."""


# ------------------------------------------------------------------------------------------------ templates
def _ltx2_templates() -> dict[str, Any]:
    """Stem -> the file of each LTX-2 family template in any of :data:`TEMPLATE_PACKAGES` (first package wins)."""
    found: dict[str, Any] = {}
    for package in TEMPLATE_PACKAGES:
        try:
            folder = importlib.resources.files(package) / "templates"
        except ModuleNotFoundError:
            continue
        for path in folder.iterdir() if folder.is_dir() else ():
            if path.name.startswith(TEMPLATE_PREFIXES) and path.name.endswith(".json"):
                found.setdefault(path.name.removesuffix(".json"), path)
    return dict(sorted(found.items()))


def host_version() -> str | None:
    """The version of the ComfyUI tree the tests run in (its ``comfyui_version.py``), None without one; read at
    collection time, before the host is imported."""
    root = comfy_root()
    version_file = root / "comfyui_version.py" if root else None
    text = version_file.read_text(encoding="utf-8") if version_file and version_file.is_file() else ""
    match = re.search(r"__version__\s*=\s*[\"']([^\"']+)", text)
    return match.group(1) if match else None


def installed_ltx2_templates() -> list[str]:
    """Stems of the host's LTX-2 family templates. Without any: skip, or fail with ``CI=true``."""
    stems = list(_ltx2_templates())
    if stems:
        return stems
    message = f"none of {', '.join(TEMPLATE_PACKAGES)} holds LTX-2 templates (they come with ComfyUI's requirements)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def collected_templates(table: dict[str, tuple[str, ...]]) -> list[str]:
    """The installed templates that ``table`` (:data:`RUNNING`) lists for this host's version, for test
    parametrisation (empty on an unlisted host or without templates: the coverage test then fails or skips)."""
    listed = table.get(host_version() or "", ())
    return [stem for stem in _ltx2_templates() if stem in listed]


def template_workflow(stem: str, object_info: dict[str, dict]) -> dict[str, Any]:
    """The installed template ``stem`` (UI format) with legacy promoted-widget values migrated as the frontend
    does on load."""
    workflow = json.loads(_ltx2_templates()[stem].read_text(encoding="utf-8"))
    return migrate_legacy_promotions(workflow, object_info)


def migrate_legacy_promotions(workflow: dict[str, Any], object_info: dict[str, dict]) -> dict[str, Any]:
    """A copy of ``workflow`` where every subgraph instance with legacy ``proxyWidgets`` and host values went
    through comfy-cli's port of the frontend's forward migration (host values taken in ``proxyWidgets`` order).
    Instances without host values keep their interior values (the migration would serialize them as holes; see
    :func:`fill_shared_subgraph_inputs`)."""
    from comfy_cli.cql import promoted
    from comfy_cli.cql.engine import Graph

    workflow = copy.deepcopy(workflow)
    graph = Graph.from_object_info(object_info)
    for node in workflow.get("nodes", []):
        if (node.get("properties") or {}).get("proxyWidgets") and node.get("widgets_values"):
            promoted.flush_proxy_migration(workflow, node, graph)
    return workflow


def _subgraph_input_targets(definition: dict[str, Any]) -> dict[int, list[tuple[str, str]]]:
    """Subgraph input slot -> the interior ``(node id, input name)`` pairs its links feed."""
    nodes = {str(node["id"]): node for node in definition.get("nodes", [])}
    targets: dict[int, list[tuple[str, str]]] = {}
    for link in definition.get("links", []):
        if isinstance(link, dict) and link.get("origin_id") == -10 and str(link["target_id"]) in nodes:
            target = nodes[str(link["target_id"])]
            name = target["inputs"][link["target_slot"]]["name"]
            targets.setdefault(link["origin_slot"], []).append((str(link["target_id"]), name))
    return targets


def fill_shared_subgraph_inputs(workflow: dict[str, Any], prompt: dict[str, Any]) -> int:
    """Give every interior input fed by the same subgraph input the value one of them got, in place; returns
    how many were filled.

    A subgraph input fed by a promoted widget without a host value (the 2.3 IC-LoRA templates' prompt, read by the
    enhancer and by the enhancer switch's ``on_false``) converts to the interior widget's value on the widget
    input only; the frontend runs that one value on every input the subgraph input feeds."""
    definitions = {sg["id"]: sg for sg in workflow.get("definitions", {}).get("subgraphs", [])}
    filled = 0
    for instance in workflow.get("nodes", []):
        definition = definitions.get(instance.get("type"))
        for targets in (_subgraph_input_targets(definition) if definition else {}).values():
            ids = [(f"{instance['id']}:{node_id}", name) for node_id, name in targets]
            known = [prompt[i]["inputs"][n] for i, n in ids if i in prompt and n in prompt[i]["inputs"]]
            for node_id, name in ids:
                if known and node_id in prompt and name not in prompt[node_id]["inputs"]:
                    prompt[node_id]["inputs"][name] = known[0]
                    filled += 1
    return filled


# ------------------------------------------------------------------------------------------------ swaps
def replace_links(prompt: dict[str, Any], old: list, new: list) -> None:
    """Point every input linked to ``old`` (``[node id, slot]``) at ``new``."""
    for node in prompt.values():
        for name, value in node["inputs"].items():
            if is_link(value) and value == old:
                node["inputs"][name] = list(new)


def _used_slots(prompt: dict[str, Any], node_id: str) -> set[int]:
    return {value[1] for node in prompt.values() for value in node["inputs"].values()
            if is_link(value) and value[0] == node_id}


def _node(class_type: str, title: str, **inputs: Any) -> dict[str, Any]:
    return {"class_type": class_type, "inputs": inputs, "_meta": {"title": title}}


def _our_file(name: str) -> bool:
    """True for a file our loaders take in place of core's: an LTX-2 / 2.3 single file or a 2.5 model part."""
    part = ltx25_part(name)
    return bool(OUR_FILES.search(name)) or (part is not None and part.part in OUR_LTX25_PARTS)


def swap_model_loaders(prompt: dict[str, Any]) -> list[str]:
    """Each :data:`MODEL_LOADERS` node on an LTX-2 / 2.3 file -> our loader per output kind (same file), in place;
    returns the swapped file names."""
    names = []
    for node_id, node in list(prompt.items()):
        file_input, slots = MODEL_LOADERS.get(node["class_type"], (None, {}))
        if file_input is None or not _our_file(node["inputs"][file_input]):
            continue
        extra = _used_slots(prompt, node_id) - set(slots.values())
        assert not extra, f"{node_id}: the template uses {node['class_type']} output(s) {sorted(extra)}"
        del prompt[node_id]
        for kind, slot in slots.items():
            class_type, our_input, title = OUR_LOADERS[kind]
            prompt[f"{node_id}_{kind}"] = _node(class_type, title, **{our_input: node["inputs"][file_input]})
            replace_links(prompt, [node_id, slot], [f"{node_id}_{kind}", 0])
        names.append(node["inputs"][file_input])
    return names


def swap_text_encoders(prompt: dict[str, Any]) -> int:
    """Core's LTX text-encoder loaders -> ``LTX2NTextEncoderLoader``, their CLIP links moved to our loader's ``clip``
    output (a core ``comfy.sd.CLIP``); in place. The template's ``CLIPTextEncode``, ``LoraLoader`` (Gemma LoRA) and
    ``TextGenerateLTX2Prompt`` nodes stay core's. Returns the number of ``CLIPTextEncode`` nodes fed by our encoder.

    * ``LTXAVTextEncoderLoader`` (2 / 2.3): the Gemma 3 folder :data:`GEMMA` and the template's checkpoint.
    * ``CLIPLoader`` type ``ltxv`` on the 2.5 text encoder (``gemma4-…-ltx-2.5``, Gemma 4 12B + projection): that
      file and the template's 2.5 transformer (its connectors).
    * ``CLIPLoader`` type ``ltxv`` on another Gemma 4 (the 2.5 prompt enhancer's ``gemma4_e2b_it``; core builds the
      full-size E2B, and our loader reads the 12B text encoder only): its links take the 2.5 encoder's CLIP, so the
      enhancer, when switched on, writes with the tiny Gemma 4 (the shipped templates leave it off)."""
    loaders = nodes_of_type(prompt, "LTXAVTextEncoderLoader")
    for loader in loaders:
        _swap_text_encoder(prompt, loader, gemma=GEMMA, checkpoint=prompt[loader]["inputs"]["ckpt_name"])
    clip_loaders = [i for i in nodes_of_type(prompt, "CLIPLoader") if prompt[i]["inputs"].get("type") == "ltxv"]
    encoders = [i for i in clip_loaders if _ltx25_part(prompt[i]["inputs"]["clip_name"]) == "text_encoder"]
    transformers = [prompt[i]["inputs"]["ckpt_name"] for i in nodes_of_type(prompt, OUR_LOADERS["model"][0])]
    assert len(set(transformers)) == 1 or not encoders, f"2.5 text encoder with transformers {transformers}"
    for loader in encoders:
        _swap_text_encoder(prompt, loader, gemma=prompt[loader]["inputs"]["clip_name"], checkpoint=transformers[0])
    for loader in set(clip_loaders) - set(encoders):
        assert encoders, f"{loader}: an LTX CLIPLoader on {prompt[loader]['inputs']['clip_name']!r} without the 2.5 " \
                         "text encoder"
        del prompt[loader]
        replace_links(prompt, [loader, 0], [encoders[0], CLIP_SLOT])
    ours = [*loaders, *encoders]
    return sum(_clip_source(prompt, node_id) in ours for node_id in nodes_of_type(prompt, "CLIPTextEncode"))


def _swap_text_encoder(prompt: dict[str, Any], loader: str, *, gemma: str, checkpoint: str) -> None:
    prompt[loader] = _node("LTX2NTextEncoderLoader", "Gemma Text Encoder Loader (LTX-2)", gemma=gemma,
                           ckpt_name=checkpoint)
    replace_links(prompt, [loader, 0], [loader, CLIP_SLOT])


def _ltx25_part(name: str) -> str | None:
    part = ltx25_part(name)
    return None if part is None else part.part


def _clip_source(prompt: dict[str, Any], node_id: str) -> str:
    """The node whose CLIP reaches ``node_id`` (through ``LoraLoader`` clip passes)."""
    clip = prompt[node_id]["inputs"]["clip"]
    while prompt[clip[0]]["class_type"] == "LoraLoader":
        clip = prompt[clip[0]]["inputs"]["clip"]
    return clip[0]


# ------------------------------------------------------------------------------------------------ sizes
def shorter_sigmas(sigmas: str) -> str:
    """First, last non-zero and last value of a ``ManualSigmas`` list (2 steps)."""
    values = [v.strip() for v in sigmas.split(",") if v.strip()]
    return ", ".join([values[0], values[-2], values[-1]]) if len(values) > 3 else sigmas


def _operands(node: dict[str, Any], node_id: str, quantity: str) -> dict[str, str | None]:
    """Input -> quantity (None: ``quantity``) that decide ``quantity`` of ``node``'s output."""
    kind = node["class_type"]
    if kind == "ComfyMathExpression":
        expression = node["inputs"]["expression"].replace(" ", "")
        assert expression in MATH, f"{node_id}: unknown expression {expression!r} on the {quantity} path (add to MATH)"
        return MATH[expression]
    if kind == "ComfySwitchNode":
        switch = node["inputs"]["switch"]
        return dict.fromkeys(("on_false", "on_true") if is_link(switch) else ("on_true" if switch else "on_false",))
    name = TRACE.get((kind, quantity)) or TRACE.get((kind, ANY))
    assert name, f"{node_id}: cannot trace the {quantity} through {kind} (template layout changed? add to TRACE)"
    return {name[0]: name[1]} if isinstance(name, tuple) else {name: None}


def size_literals(prompt: dict[str, Any], node_id: str, name: str, quantity: str) -> list[tuple[str, str, str]]:
    """The literal inputs ``(node id, input, quantity)`` that decide input ``name`` of ``node_id``."""
    value = prompt[node_id]["inputs"][name]
    if is_link(value) and (prompt[node_id]["class_type"], name) in CUT:
        prompt[node_id]["inputs"][name] = value = 0  # set to the tiny quantity by the caller
    if not is_link(value):
        return [(node_id, name, quantity)]
    source = prompt[value[0]]
    quantity = OUTPUT_QUANTITY.get((source["class_type"], value[1]), quantity)
    return [literal for operand, operand_quantity in _operands(source, value[0], quantity).items()
            for literal in size_literals(prompt, value[0], operand, operand_quantity or quantity)]


def _tiny(quantity: str, old: Any) -> Any:
    value = TINY[quantity]
    assert isinstance(old, (int, float)) and not isinstance(old, bool), f"{quantity} literal {old!r}"
    return value if isinstance(value, float) else type(old)(value)  # a trim's seconds stay fractional


def shrink_template(prompt: dict[str, Any]) -> ExpectedVideo:
    """Set :data:`TINY` sizes, frames and steps in place; returns what the saved mp4 must be."""
    literals = [literal for (kind, name), quantity in SIZE_SINKS.items() for node_id in nodes_of_type(prompt, kind)
                for literal in size_literals(prompt, node_id, name, quantity)]
    literals += [(node_id, name, quantity) for kind, (name, quantity) in DIRECT.items()
                 for node_id in nodes_of_type(prompt, kind)]
    tiny: dict[tuple[str, str], Any] = {}
    for node_id, name, quantity in literals:
        value = _tiny(quantity, prompt[node_id]["inputs"][name])
        assert tiny.setdefault((node_id, name), value) == value, f"{node_id}.{name}: set to two sizes"
    for (node_id, name), value in tiny.items():
        prompt[node_id]["inputs"][name] = value
    sigmas = nodes_of_type(prompt, "ManualSigmas")
    for node_id in sigmas:
        prompt[node_id]["inputs"]["sigmas"] = shorter_sigmas(prompt[node_id]["inputs"]["sigmas"])
    shrunk = {quantity for *_, quantity in literals} | ({"steps"} if sigmas else set())
    missing = {"width", "height", "fps", "steps"} - shrunk
    assert not missing and shrunk & {"frames", "duration", "clip_s"}, f"nothing sets {sorted(missing) or 'frames'}"
    return ExpectedVideo(TINY["width"], TINY["height"], TINY["frames"], float(TINY["fps"]))


INPUT_AUDIO_TOLERANCE_S = 0.08
"""|audio - Duration| bound when the saved audio is the template's input sound trimmed to Duration (image+audio to
video): core's audio VAE encodes 1 s into 24 latents (-0.04 s) and decodes 4T - 3 mel frames (-0.03 s); AAC rounds
up to whole 1024-sample frames. (The template makes Duration x fps + 1 video frames, one frame more than the sound.)"""


def expected_audio_s(prompt: dict[str, Any]) -> float | None:
    """The saved audio's length when it is an input sound (``LTXVAudioVAEEncode`` in the prompt), else None."""
    return float(TINY["duration"]) if nodes_of_type(prompt, "LTXVAudioVAEEncode") else None
