"""ComfyUI's own LTX-2 / LTX-2.3 / LTX-2.5 workflow templates run on this pack's model (the drop-in claim of
issue 3; core interop on v0.33.0, issue 13).

Each LTX-2 family template of the host's template packages (v0.20.1: ``comfyui-workflow-templates-media-video``,
``-media-image`` and ``-media-other``; v0.33.0: ``comfyui-workflow-templates-json``) is converted to an API prompt
(the harness's converter, after the frontend's load-time migration of legacy promoted widgets), rewired, shrunk and
executed in the real host; the saved mp4 must hold one H.264 and one AAC stream with the expected size, frames,
fps and duration. Tiny random-weight files are written under exactly the names the template references
(checkpoints / 2.5 split parts of the family the name says, the distilled / ID / IC / squish LoRAs for that tiny
model, the latent upscaler, the Lotus depth UNet and SD VAE, MoGe v2, the pictures, sounds and videos in the input
folder).

Swaps (and only these):

* a core ``CheckpointLoaderSimple`` (or ``UNETLoader`` / ``VAELoader``) of an LTX-2 19B / 2.3 22B file or of an
  LTX-2.5 transformer / video VAE split file -> ``LTX2NCheckpointLoader`` (its MODEL) + ``LTX2NVideoVAELoader`` (its
  VAE) on the same file: the model under test is ours.
* core ``LTXAVTextEncoderLoader`` (Gemma 3) and ``CLIPLoader`` type ``ltxv`` (2.5: Gemma 4) ->
  ``LTX2NTextEncoderLoader``, whose ``clip`` output (a core ``comfy.sd.CLIP``) feeds the template's own
  ``CLIPTextEncode`` / ``LoraLoader`` / ``TextGenerateLTX2Prompt`` nodes. Forced by the CPU test machine: core's
  loaders always build the full Gemma-3-12B / Gemma 4 (``comfy/text_encoders/lt.py``, ``llama.py``, ``gemma4.py``
  hard-code the sizes and the 3840 x 49 projection, and pad to 1024 tokens), which neither fits a tiny random-weight
  file nor runs on two CPU cores. Our encoder loads a tiny Gemma plus the model's own text projection and
  connectors; the prompt enhancer's Gemma LoRA is a tiny random LoRA for that Gemma; the 2.5 enhancer's separate
  Gemma 4 E2B takes the 2.5 encoder's CLIP (the shipped 2.5 templates leave the enhancer off).

Every other node is the template's own core node (samplers, ``LTXVDualCFGGuider`` and the other guiders, sigmas,
LTXV latent / guide / upsampler / audio VAE nodes, ``LTXVAudioVAELoader``, ``VAELoader`` (2.5 audio VAE) and
``LatentUpscaleModelLoader`` reading our tiny official-format files, Canny, the Lotus and MoGe depth passes,
``VAEDecodeTiled``, ``CreateVideo``, ``SaveVideo``). ComfyUI itself is never patched.

Which templates run: ``RUNNING`` in ``core_templates_support`` (v0.20.1: all 13; v0.33.0: all 18, the 2.5 t2v /
i2v / flf2v ones and the 2.3 IC-LoRA template included: its union-control LoRA asks core for a dilated small-grid
guide whose empty tokens our MODEL drops like core, ``nodes/dropped_tokens.py``). The coverage test fails when an
installed LTX-2 template (in any of the host's template packages) is not listed for the host's version. Where a
template puts core's ``LoraLoader`` on the text encoder (the 2.3 templates on v0.33.0, for the prompt enhancer) and
the enhancer runs, the loader's CLIP output must carry the Gemma LoRA's patches.
"""

from __future__ import annotations

import logging

import pytest
from core_template_files import write_core_loader_files
from core_templates_support import (
    INPUT_AUDIO_TOLERANCE_S,
    RUNNING,
    collected_templates,
    expected_audio_s,
    fill_shared_subgraph_inputs,
    host_version,
    installed_ltx2_templates,
    shrink_template,
    swap_model_loaders,
    swap_text_encoders,
    template_workflow,
)
from graph_support import check_mp4

from scripts.workflow_api import nodes_of_type, saved_files

pytestmark = pytest.mark.graph

SWAPPED_IN = {"LTX2NCheckpointLoader", "LTX2NVideoVAELoader", "LTX2NTextEncoderLoader"}
"""The pack nodes a rewired template contains; every other node is core's."""
LORA_MISSES = ("lora key not loaded", "NOT LOADED")
"""Starts of core's warnings for LoRA / patch keys that matched no weight of the model."""


def test_core_templates_all_ltx2_templates_covered(comfy_host):
    """Every LTX-2 template the host's template packages hold (all of them, not only the first package's) is listed
    in RUNNING for this host version, and nothing else is: each one then runs below."""
    installed = installed_ltx2_templates()
    version = host_version()
    assert version == comfy_host.version, f"collected for ComfyUI {version}, running {comfy_host.version}"
    assert installed == sorted(RUNNING.get(version, ())), f"ComfyUI {version}: list each LTX-2 template in RUNNING"


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
    clip_loras = tuple(nodes_of_type(prompt, "LoraLoader"))  # the 2.3 templates' Gemma LoRA (v0.33.0)
    enhancers = tuple(nodes_of_type(prompt, "TextGenerateLTX2Prompt"))
    with caplog.at_level(logging.WARNING):
        result = graph_host.run(prompt, keep=loras + clip_loras + enhancers)
    assert result.success, result.error()
    unloaded = [r.getMessage() for r in caplog.records if r.getMessage().startswith(LORA_MISSES)]
    assert unloaded == [], "core LoraLoaderModelOnly / LoraLoader found LoRA keys our MODEL / text encoder lacks"
    for node_id in loras:  # each LoRA patched our model's weights (strength 0 would patch nothing)
        (model,) = result.node_outputs[node_id]
        assert len(model.patches) > 0 or prompt[node_id]["inputs"]["strength_model"] == 0, node_id
    for node_id in clip_loras:  # core's LoraLoader patched our text encoder's Gemma (its CLIP output)
        if not result.node_outputs[node_id]:  # not run: it feeds only the prompt enhancer, switched off here
            assert not any(result.node_outputs[e] for e in enhancers), f"{node_id}: enhancer ran, its LoRA did not"
            continue
        _, clip = result.node_outputs[node_id]
        assert len(clip.patcher.patches) > 0 or prompt[node_id]["inputs"]["strength_clip"] == 0, node_id
    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    audio_s = expected_audio_s(prompt)
    if audio_s is None:
        check_mp4(video, expected)
    else:  # the input sound, trimmed to the template's Duration
        check_mp4(video, expected, audio_s=audio_s, audio_tolerance_s=INPUT_AUDIO_TOLERANCE_S)
