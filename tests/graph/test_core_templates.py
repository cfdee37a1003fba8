"""ComfyUI's own LTX-2 / LTX-2.3 workflow templates run on this pack's model (the drop-in claim of issue 3).

Each LTX-2 family template of the host's template package (v0.20.1: ``comfyui-workflow-templates-media-video``,
v0.33.0: ``comfyui-workflow-templates-json``) is converted to an API prompt (the harness's converter, after the
frontend's load-time migration of legacy promoted widgets), rewired, shrunk and executed in the real host; the saved
mp4 must hold one H.264 and one AAC stream with the expected size, frames, fps and duration. Tiny random-weight
files are written under exactly the names the template references (checkpoints of the family the name says, the
distilled / ID / IC / squish LoRAs for that tiny model, the latent upscaler, the Lotus depth UNet and SD VAE, the
pictures, sounds and videos in the input folder).

Swaps (and only these):

* a core ``CheckpointLoaderSimple`` (or ``UNETLoader`` / ``VAELoader``) of an LTX-2 19B / 2.3 22B file ->
  ``LTX2NCheckpointLoader`` (its MODEL) + ``LTX2NVideoVAELoader`` (its VAE) on the same file: the model under test
  is ours.
* core ``LTXAVTextEncoderLoader`` -> ``LTX2NTextEncoderLoader``, whose ``clip`` output (a core ``comfy.sd.CLIP``)
  feeds the template's own ``CLIPTextEncode`` / ``LoraLoader`` / ``TextGenerateLTX2Prompt`` nodes. Forced by the CPU
  test machine: core's loader always builds a full Gemma-3-12B (``comfy/text_encoders/lt.py`` and ``llama.py``
  hard-code the 12B sizes and the 3840 x 49 projection, and pad to 1024 tokens), which neither fits a tiny
  random-weight file nor runs on two CPU cores. Our encoder loads a tiny Gemma folder plus the checkpoint's own text
  projection and connectors; the prompt enhancer's Gemma LoRA is a tiny random LoRA for that Gemma.

Every other node is the template's own core node (samplers, guiders, sigmas, LTXV latent / guide / upsampler /
audio VAE nodes, ``LTXVAudioVAELoader`` and ``LatentUpscaleModelLoader`` reading our tiny official-format files,
Canny and the Lotus depth pass, ``VAEDecodeTiled``, ``CreateVideo``, ``SaveVideo``). ComfyUI itself is never patched.

Which templates run: ``RUNNING`` in ``core_templates_support`` (v0.20.1: all six; v0.33.0: the 19B t2v / i2v /
distilled / LoRA / canny / depth templates and the 2.3 flf2v / ID-LoRA / style-transition ones). The others are
``NOT_YET`` (LTX-2.5; the 2.3 templates whose prompt enhancer puts a core LoraLoader on the text encoder's CLIP):
:func:`test_core_template_not_yet` checks that each still fails where and why the table says, so the entry must move
to ``RUNNING`` once the support lands.
"""

from __future__ import annotations

import logging
import re

import pytest
from core_templates_support import (
    INPUT_AUDIO_TOLERANCE_S,
    NOT_YET,
    RUNNING,
    collected_templates,
    expected_audio_s,
    fill_shared_subgraph_inputs,
    installed_ltx2_templates,
    not_yet_gap,
    shrink_template,
    swap_model_loaders,
    swap_text_encoders,
    template_package,
    template_workflow,
    write_core_loader_files,
)
from graph_support import check_mp4
from harness import PromptRejected

from scripts.workflow_api import nodes_of_type, saved_files

pytestmark = pytest.mark.graph

SWAPPED_IN = {"LTX2NCheckpointLoader", "LTX2NVideoVAELoader", "LTX2NTextEncoderLoader"}
"""The pack nodes a rewired template contains; every other node is core's."""
LORA_MISSES = ("lora key not loaded", "NOT LOADED")
"""Starts of core's warnings for LoRA / patch keys that matched no weight of the model."""


def test_core_templates_all_ltx2_templates_covered(comfy_host):
    installed = installed_ltx2_templates()
    package = template_package()
    running, not_yet = RUNNING[package], NOT_YET[package]
    assert not set(running) & set(not_yet), "a template is both RUNNING and NOT_YET"
    assert installed == sorted([*running, *not_yet]), f"{package}: list each LTX-2 template in RUNNING or NOT_YET"


def test_core_templates_legacy_promoted_values_migrated(comfy_host):
    """The 19B template stores its subgraph values in legacy proxyWidgets order; after the frontend's migration
    the prompt holds them where the UI shows them (not shifted by one input)."""
    prompt = comfy_host.ui_to_api(template_workflow("video_ltx2_i2v_lora", comfy_host.object_info()))
    by_title = {node["_meta"]["title"]: node["inputs"] for node in prompt.values()}
    assert by_title["Length"]["value"] == 281
    assert (by_title["Empty Image"]["width"], by_title["Empty Image"]["height"]) == (1280, 1280)
    texts = [node["inputs"]["text"] for node in prompt.values() if node["class_type"] == "CLIPTextEncode"]
    assert any(text.startswith("squish it") for text in texts)
    loras = sorted(node["inputs"]["lora_name"] for node in prompt.values()
                   if node["class_type"] == "LoraLoaderModelOnly")
    assert loras == ["ltx-2-19b-distilled-lora-384.safetensors"] * 2 + ["ltx2-squish.safetensors"] * 2


def _prepared_prompt(host, store, stem: str):
    """The template rewired onto our loaders and shrunk, with every file it names written; the expected video."""
    workflow = template_workflow(stem, host.object_info())
    prompt = host.ui_to_api(workflow)
    fill_shared_subgraph_inputs(workflow, prompt)
    assert swap_model_loaders(prompt), f"{stem} loads no LTX-2 / LTX-2.3 file"
    expected = shrink_template(prompt)
    assert swap_text_encoders(prompt) >= 1, f"{stem}: no CLIPTextEncode on the text encoder"
    used = {n["class_type"] for n in prompt.values()}
    assert used - host.core_node_ids == SWAPPED_IN, f"{stem}: only the swapped-in nodes may be the pack's"
    family_files = store.ensure(prompt)
    write_core_loader_files(prompt, store)
    assert family_files, f"{stem} references no model files"
    return prompt, expected


@pytest.mark.parametrize("stem", collected_templates(RUNNING))
def test_core_template_runs_on_our_model(graph_host, model_store, stem, caplog):
    prompt, expected = _prepared_prompt(graph_host, model_store, stem)
    loras = tuple(nodes_of_type(prompt, "LoraLoaderModelOnly"))
    with caplog.at_level(logging.WARNING):
        result = graph_host.run(prompt, keep=loras)
    assert result.success, result.error()
    unloaded = [r.getMessage() for r in caplog.records if r.getMessage().startswith(LORA_MISSES)]
    assert unloaded == [], "core LoraLoaderModelOnly found LoRA keys our MODEL lacks"
    for node_id in loras:  # each LoRA patched our model's weights (strength 0 would patch nothing)
        (model,) = result.node_outputs[node_id]
        assert len(model.patches) > 0 or prompt[node_id]["inputs"]["strength_model"] == 0, node_id
    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    audio_s = expected_audio_s(prompt)
    if audio_s is None:
        check_mp4(video, expected)
    else:  # the input sound, trimmed to the template's Duration
        check_mp4(video, expected, audio_s=audio_s, audio_tolerance_s=INPUT_AUDIO_TOLERANCE_S)


def _rejections(rejected: PromptRejected) -> list[str]:
    """Core's node errors as ``"<class_type>.<input>: <type>: <details>"`` lines."""
    return [f"{node['class_type']}.{error.get('extra_info', {}).get('input_name', '')}: {error['type']}: "
            f"{error.get('details', '')}" for node in rejected.node_errors.values() for error in node["errors"]]


def _first_failure(host, store, stem: str) -> tuple[str, list[str]]:
    """Where rewiring the template onto our model stops: ("prepare", [assertion]), ("validate", node errors) or
    ("none", []) when core accepts the rewired prompt."""
    try:
        prompt, _ = _prepared_prompt(host, store, stem)
    except AssertionError as error:
        return "prepare", [str(error)]
    try:
        host.validate(prompt)
    except PromptRejected as rejected:
        return "validate", _rejections(rejected)
    return "none", []


@pytest.mark.parametrize("stem", collected_templates(NOT_YET))
def test_core_template_not_yet(graph_host, model_store, stem):
    """A template listed as not running yet still fails where and why :data:`NOT_YET` says; when support lands
    this fails and the template moves to RUNNING."""
    gap = not_yet_gap(stem)
    stage, errors = _first_failure(graph_host, model_store, stem)
    assert stage == gap.stage, f"{stem} now stops at {stage!r}, not {gap.stage!r} ({gap.reason}): {errors}"
    unexplained = [error for error in errors if not any(re.search(p, error) for p in gap.errors)]
    unseen = [p for p in gap.errors if not any(re.search(p, error) for error in errors)]
    assert (unexplained, unseen) == ([], []), f"{stem}: failures other than documented ({gap.reason}): {errors}"
