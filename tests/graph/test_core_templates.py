"""ComfyUI's own LTX-2 / LTX-2.3 workflow templates run on this pack's model (the drop-in claim of issue 3).

Each template of the installed ``comfyui-workflow-templates-media-video`` package is converted to an API prompt
(the harness's converter, after the frontend's load-time migration of legacy promoted widgets), rewired, shrunk
and executed in the real host; the saved mp4 must hold one H.264 and one AAC stream with the expected size,
frames, fps and duration. Tiny random-weight files are written under exactly the names the template references
(checkpoints of the family the name says, the distilled / ID / squish LoRAs for that tiny model, the latent
upscaler, the pictures and sounds in the input folder).

Swaps (and only these):

* core ``CheckpointLoaderSimple`` -> ``LTX2NCheckpointLoader`` (its MODEL) + ``LTX2NVideoVAELoader`` (its VAE) on
  the same checkpoint: the model under test is ours.
* core ``LTXAVTextEncoderLoader`` + every ``CLIPTextEncode`` -> ``LTX2NTextEncoderLoader`` + ``LTX2NTextEncode``
  with the same prompt text. Forced by the CPU test machine: core's loader always builds a full Gemma-3-12B
  (``comfy/text_encoders/lt.py`` and ``llama.py`` hard-code the 12B sizes and the 3840 x 49 projection, and pad to
  1024 tokens), which neither fits a tiny random-weight file nor runs on two CPU cores. Our encoder loads a tiny
  Gemma folder plus the checkpoint's own text projection and connectors, and yields the same kind of
  CONDITIONING (context + frame rate).

Every other node is the template's own core node (samplers, guiders, sigmas, LTXV latent / guide / upsampler /
audio VAE nodes, ``LTXVAudioVAELoader`` and ``LatentUpscaleModelLoader`` reading our tiny official-format files,
``VAEDecodeTiled``, ``CreateVideo``, ``SaveVideo``). ComfyUI itself is never patched.
"""

from __future__ import annotations

import logging

import pytest
from core_templates_support import (
    INPUT_AUDIO_TOLERANCE_S,
    TEMPLATES,
    core_loader_refs,
    expected_audio_s,
    installed_ltx2_templates,
    shrink_template,
    swap_checkpoint_loaders,
    swap_text_encoders,
    template_workflow,
)
from graph_support import check_mp4

from scripts.workflow_api import nodes_of_type, saved_files
from scripts.workflow_models import write_demo_file

pytestmark = pytest.mark.graph

SWAPPED_IN = {"LTX2NCheckpointLoader", "LTX2NVideoVAELoader", "LTX2NTextEncoderLoader", "LTX2NTextEncode"}
"""The pack nodes a rewired template contains; every other node is core's."""
LORA_MISSES = ("lora key not loaded", "NOT LOADED")
"""Starts of core's warnings for LoRA / patch keys that matched no weight of the model."""


def test_core_templates_all_ltx2_templates_covered(comfy_host):
    assert installed_ltx2_templates() == sorted(TEMPLATES), "a new LTX-2 template: add it to TEMPLATES"


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
    prompt = host.ui_to_api(template_workflow(stem, host.object_info()))
    assert swap_checkpoint_loaders(prompt), f"{stem} has no CheckpointLoaderSimple"
    assert swap_text_encoders(prompt) >= 2, f"{stem}: expected a positive and a negative CLIPTextEncode"
    used = {n["class_type"] for n in prompt.values()}
    assert used - host.core_node_ids == SWAPPED_IN, f"{stem}: only the swapped-in nodes may be the pack's"
    expected = shrink_template(prompt)
    family_files = store.ensure(prompt)
    for ref in core_loader_refs(prompt):
        write_demo_file(ref, store.folder(ref.folder))
    assert family_files, f"{stem} references no model files"
    return prompt, expected


@pytest.mark.parametrize("stem", TEMPLATES)
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
