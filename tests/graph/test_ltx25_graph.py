"""The LTX-2.5 workflows (``workflows/ltx25-*.json``) through the real host, each asserting what its 2.3 twin's mode
promises, plus that the LTX-2.5 defaults were used (tiny 2.5 demo split files under the published names, 64x64,
9 frames at 24 fps, 2 steps; the generic run of every shipped file, one h264 + aac mp4 with the expected frames,
size, fps and duration, is test_workflows.py's):

* every workflow: all model files are LTX-2.5 split files in their own folders (transformer in
  ``diffusion_models``, text encoder, VAEs, upscaler, LoRAs) and the values it sets are the library's per-version
  defaults for the transformer file it loads (``model_version`` from its header): decode steps 0 (the VAE file's
  default) and STG blocks ``auto``, the image CRF left to the model
  (``image_compression`` -1 with the MODEL connected: ``ltx_model.modes.default_image_crf`` gives 18), the sampler
  of each stage (``ltx_model.pipelines.default_sampler``:
  Euler-ancestral for the unguided distilled first stage, Euler for refinement and guided stages, as Lightricks'
  ``DistilledPipeline``), the dev step count (30);
* ``ltx25-i2v-distilled`` with a 2.3 video VAE: refused at Image to Video before any encode or sampling step,
  naming node, file and fix; the host then runs the right graph;
* ``ltx25-i2v-distilled``: the picture is compressed at CRF 18, the distilled stage really steps with the
  Euler-ancestral sampler (eta 1, s_noise 1) over the 8 distilled sigmas, and the first latent frame is the encoded
  picture (frozen, atol 1e-5);
* ``ltx25-a2v-distilled``: the AUDIO that Create Video receives equals, bit for bit, the trimmed input waveform at its
  own rate; the audio latent stayed frozen through the ancestral sampler (atol 1e-5); the mp4's AAC correlates with
  the input (> 0.95);
* ``ltx25-t2a``: every transformer pass had no video (``video=None``), only the clip's audio tokens, on an
  audio-only transformer (no video weights loaded);
* ``ltx25-extend-distilled``: the source's latent frames are bit-identical to the encoded (padded) source, the new
  ones were sampled with the Euler-ancestral step (Extend Clip's 2.5 default), and the decode has source + new
  frames (the 2.5 diffusion decoder is not causal, so decoded kept frames are not compared);
* ``ltx25-iclora-distilled``: the reference factor comes from the 2.5 IC-LoRA's metadata (2); the reference tokens
  sit in the prompts at the latent grid / 2; the sampled latent has the empty latent's shape (nothing to crop) and
  differs from the same graph without the guide;
* ``ltx25-keyframes-distilled``: keyframe tokens are appended in both stages and cropped before decoding (the final
  latent has the upscaled latent's shape), every picture compressed at CRF 18, and the saved clip has the x2 size.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch
from graph_support import check_mp4, shrink
from modes_audio_support import A2V_KEPT, FROZEN_ATOL, check_a2v, check_t2a_passes
from modes_temporal_support import tiny_overrides

from ltx_model.loading import detect, read_header
from ltx_model.modes import default_image_crf
from ltx_model.pipelines.request import Sampler
from ltx_model.pipelines.samplers import default_sampler
from scripts.workflow_api import is_link, load_workflow, nodes_of_type, override_inputs, saved_files
from scripts.workflow_models import ModelKind, model_refs
from scripts.workflow_models_ltx25 import IC_LORA_DOWNSCALE, ltx25_part

pytestmark = pytest.mark.graph

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
LTX25_FILES = sorted(WORKFLOWS.glob("ltx25-*.json"))
STEMS = ("ltx25-t2v-distilled", "ltx25-t2v-two-stage", "ltx25-t2v-full", "ltx25-i2v-distilled",
         "ltx25-keyframes-distilled", "ltx25-a2v-distilled", "ltx25-t2a", "ltx25-extend-distilled",
         "ltx25-iclora-distilled")
SAMPLING_NODES = ("LTX2NSampler", "SamplerCustomAdvanced")


def _prompt(host, stem: str) -> dict:
    return host.ui_to_api(load_workflow(WORKFLOWS / f"{stem}.json"))


def _run(host, store, prompt: dict, keep_types: tuple[str, ...]) -> tuple[dict, object]:
    """Shrink, write the demo files, run; ``{type: [outputs of each node of that type]}`` and the result."""
    shrink(prompt, tiny_overrides(prompt))
    store.ensure(prompt)
    ids = {t: nodes_of_type(prompt, t) for t in keep_types}
    result = host.run(prompt, keep=tuple(nid for group in ids.values() for nid in group))
    assert result.success, result.error()
    return {t: [result.node_outputs[nid] for nid in group] for t, group in ids.items()}, result


def _transformer_version(host, store, prompt: dict) -> str:
    store.ensure(prompt)
    (loader,) = nodes_of_type(prompt, "LTX2NCheckpointLoader")
    name = prompt[loader]["inputs"]["ckpt_name"]
    info = detect(read_header(store.folder("diffusion_models") / name))
    assert info.family.value == "LTX-2.5" and info.model_version.startswith("2.5"), info
    return info.model_version


def test_ltx25_graph_every_workflow_is_shipped():
    assert sorted(p.stem for p in LTX25_FILES) == sorted(STEMS)


@pytest.mark.parametrize("stem", STEMS)
def test_ltx25_graph_files_and_defaults(graph_host, model_store, stem):
    prompt = _prompt(graph_host, stem)
    refs = [r for r in model_refs(prompt) if r.folder != "input"]
    assert refs and all(r.kind is ModelKind.LTX25 and ltx25_part(r.name).folder == r.folder for r in refs), refs
    assert {"diffusion_models", "text_encoders", "vae"} <= {r.folder for r in refs}
    version = _transformer_version(graph_host, model_store, prompt)
    for node in [n for n in prompt.values() if "image_compression" in n["inputs"]]:  # auto: the model's CRF
        assert node["inputs"]["image_compression"] == -1 and prompt[node["inputs"]["model"][0]]["class_type"] == \
            "LTX2NCheckpointLoader", node
    assert default_image_crf(version) == 18
    for nid in [n for t in SAMPLING_NODES for n in nodes_of_type(prompt, t)]:
        inputs = prompt[nid]["inputs"]
        step = prompt[inputs["sampler"][0]]
        guided = "guider" in inputs or inputs.get("guidance") not in ("none", None)
        first_distilled = inputs.get("schedule") == "distilled stage 1"
        want = default_sampler(version, guided=guided) if first_distilled else Sampler.EULER
        if want is Sampler.EULER_ANCESTRAL:
            assert step["class_type"] == "LTX2NSamplerEulerAncestral", step
            assert (step["inputs"]["eta"], step["inputs"]["s_noise"]) == (1.0, 1.0)
        else:
            assert step == {**step, "class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}}, step
    for nid in nodes_of_type(prompt, "LTX2NScheduler"):
        assert prompt[nid]["inputs"]["steps"] == 30  # LTX-2.3 / 2.5 dev default (ltx-pipelines LTX_2_3_PARAMS)
    for nid in nodes_of_type(prompt, "LTX2NSampler"):
        assert prompt[nid]["inputs"]["steps"] == 0  # 0 = the loaded model version's default
    for nid in nodes_of_type(prompt, "LTX2NDecodeVideo"):
        assert prompt[nid]["inputs"]["decode_steps"] == 0  # 0 = the VAE file's default (2 for LTX-2.5)
    for nid in nodes_of_type(prompt, "LTX2NMultimodalGuider"):
        assert prompt[nid]["inputs"]["stg_blocks"] == "auto"  # the model version's STG block (28 for 2.5)
    assert nodes_of_type(prompt, "LTX2NDecodeVideo") or stem == "ltx25-t2a", stem


def test_ltx25_graph_i2v_crf_18_steps_ancestral_and_keeps_the_picture(graph_host, model_store, monkeypatch):
    ancestral = importlib.import_module(f"{graph_host.pack.__name__}.nodes.ancestral")
    conditioning = importlib.import_module(f"{graph_host.pack.__name__}.nodes.conditioning")
    calls: list[tuple[int, dict]] = []
    crfs: list[int] = []
    step, round_trip = ancestral.sample_euler_ancestral, conditioning.crf_round_trip

    def step_spy(model, x, sigmas, *args, **kwargs):
        calls.append((len(sigmas) - 1, {k: kwargs.get(k) for k in ("eta", "s_noise")}))
        return step(model, x, sigmas, *args, **kwargs)

    def crf_spy(pixels, crf, *args, **kwargs):
        crfs.append(crf)
        return round_trip(pixels, crf, *args, **kwargs)

    monkeypatch.setattr(ancestral, "sample_euler_ancestral", step_spy)
    monkeypatch.setattr(conditioning, "crf_round_trip", crf_spy)
    prompt = _prompt(graph_host, "ltx25-i2v-distilled")
    kept, _ = _run(graph_host, model_store, prompt, ("LTX2NImageToVideo", "LTX2NSampler"))
    assert crfs == [18]  # image_compression auto on an LTX-2.5 model
    assert calls == [(8, {"eta": 1.0, "s_noise": 1.0})]  # the 8 distilled sigmas, Lightricks' eta / s_noise
    conditioned = kept["LTX2NImageToVideo"][0][0]["samples"].unbind()[0]
    sampled = kept["LTX2NSampler"][0][0]["samples"].unbind()[0]
    torch.testing.assert_close(sampled[:, :, :1], conditioned[:, :, :1], atol=FROZEN_ATOL, rtol=0)
    assert (sampled[:, :, 1:] - conditioned[:, :, 1:]).abs().max() > 0.1


def test_ltx25_graph_i2v_with_a_23_vae_refused_before_sampling(graph_host, model_store, monkeypatch):
    """A 2.3 video VAE in the 2.5 i2v graph stops at Image to Video (the first node that sees the MODEL and the VAE),
    before any encode or sampling step, with the node, the file and the fix; the host then runs the right graph."""
    ancestral = importlib.import_module(f"{graph_host.pack.__name__}.nodes.ancestral")
    conditioning = importlib.import_module(f"{graph_host.pack.__name__}.nodes.conditioning")
    calls: list[str] = []
    step, encode = ancestral.sample_euler_ancestral, conditioning.encode_frame
    monkeypatch.setattr(ancestral, "sample_euler_ancestral", lambda *a, **k: calls.append("step") or step(*a, **k))
    monkeypatch.setattr(conditioning, "encode_frame", lambda *a, **k: calls.append("encode") or encode(*a, **k))
    prompt = _prompt(graph_host, "ltx25-i2v-distilled")
    shrink(prompt, tiny_overrides(prompt))
    (loader,) = nodes_of_type(prompt, "LTX2NVideoVAELoader")
    prompt[loader]["inputs"]["vae_name"] = old = "ltx-2.3-22b-distilled.safetensors"
    model_store.ensure(prompt)
    result = graph_host.run(prompt)
    assert not result.success and calls == []
    assert result.error().startswith("LTX2NImageToVideo"), result.error()
    assert f"Image to Video (LTX-2): the video VAE {old} is an LTX-2 / LTX-2.3 VAE, but the model is LTX-2.5" in \
        result.error() and "ltx-2.5-video-vae-*" in result.error()
    kept, _ = _run(graph_host, model_store, _prompt(graph_host, "ltx25-i2v-distilled"), ("LTX2NSampler",))
    assert "step" in calls and kept["LTX2NSampler"][0][0]["ltx2_model_version"].startswith("2.5")


def test_ltx25_graph_iclora_guide_changes_the_result(graph_host, model_store):
    """The 2.5 twin of ``test_iclora_graph_guide_changes_the_result`` (test_control_modes_graph.py): the same graph
    with the sampler fed the prompts before the guide samples a different latent."""
    stem = "ltx25-iclora-distilled"
    with_guide, _ = _run(graph_host, model_store, _prompt(graph_host, stem), ("LTX2NSampler",))
    prompt = _prompt(graph_host, stem)
    (guide,) = nodes_of_type(prompt, "LTX2NICLoraGuide")
    (sampler,) = nodes_of_type(prompt, "LTX2NSampler")
    prompt[sampler]["inputs"].update(positive=prompt[guide]["inputs"]["positive"],
                                     negative=prompt[guide]["inputs"]["negative"])
    without, _ = _run(graph_host, model_store, prompt, ("LTX2NSampler",))
    sampled = [k["LTX2NSampler"][0][0]["samples"].unbind()[0] for k in (with_guide, without)]
    assert sampled[0].shape == sampled[1].shape and not torch.equal(*sampled)


def test_ltx25_graph_a2v_saves_the_input_waveform(graph_host, model_store):
    prompt = _prompt(graph_host, "ltx25-a2v-distilled")
    kept, result = _run(graph_host, model_store, prompt, A2V_KEPT)
    check_a2v(graph_host, prompt, kept, result, frames=9)


def test_ltx25_graph_t2a_computes_no_video_tokens(graph_host, model_store, monkeypatch):
    check_t2a_passes(graph_host, model_store, _prompt(graph_host, "ltx25-t2a"), "ltx25-t2a", monkeypatch)


def test_ltx25_graph_extend_keeps_the_source_latents(graph_host, model_store, pack_nodes, monkeypatch):
    from ltx_model.media import write_mp4

    ancestral = importlib.import_module(f"{graph_host.pack.__name__}.nodes.ancestral")
    steps: list[int] = []
    step = ancestral.sample_euler_ancestral
    monkeypatch.setattr(ancestral, "sample_euler_ancestral", lambda model, x, sigmas, *a, **k: steps.append(
        len(sigmas) - 1) or step(model, x, sigmas, *a, **k))

    frames, grow = 25, 16
    y, x = np.mgrid[0:64, 0:64]
    pictures = np.stack([np.stack([4 * x, 4 * y, np.full_like(x, 40 + 8 * i)], -1) for i in range(frames)])
    t = np.arange(round(frames / 24 * 48000)) / 48000
    wave = 0.3 * np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 495 * t)])
    name = "ltx25_extend_source.mp4"
    write_mp4(model_store.folder("input") / name, pictures.astype(np.uint8), fps=24, waveform=wave,
              sample_rate=48000)
    prompt = _prompt(graph_host, "ltx25-extend-distilled")
    override_inputs(prompt, {"file": name, "width": 0, "height": 0, "frames": frames + grow, "steps": 2})
    model_store.ensure(prompt)
    keep = {t: nodes_of_type(prompt, t)[0] for t in ("LoadVideo", "LTX2NExtend", "LTX2NDecodeVideo",
                                                     "LTX2NVideoVAELoader")}
    result = graph_host.run(prompt, keep=tuple(keep.values()))
    assert result.success, result.error()
    out = {t: result.node_outputs[nid] for t, nid in keep.items()}
    ops = pack_nodes.source_clips
    clip = ops.clip_from_video(out["LoadVideo"][0])
    with torch.inference_mode():
        source_latent = ops.encode_video(out["LTX2NVideoVAELoader"][0], ops.padded_clip(clip, grow, True).images)
    extended = out["LTX2NExtend"][0]["samples"].unbind()[0]
    kept = (frames - 1) // 8 + 1
    assert torch.equal(extended[:, :, :kept], source_latent[:, :, :kept])
    assert (extended[:, :, kept:] - source_latent[:, :, kept:]).abs().max() > 0.1
    assert out["LTX2NDecodeVideo"][0].shape[0] == frames + grow
    assert steps == [8]  # the distilled schedule, stepped Euler-ancestral (the 2.5 default inside Extend Clip)


def test_ltx25_graph_iclora_reference_from_lora_metadata(graph_host, model_store):
    keep = ("LTX2NICLoraLoader", "LTX2NICLoraGuide", "LTX2NEmptyAVLatent", "LTX2NSampler")
    kept, _ = _run(graph_host, model_store, _prompt(graph_host, "ltx25-iclora-distilled"), keep)
    assert kept["LTX2NICLoraLoader"][0][1] == IC_LORA_DOWNSCALE == 2
    positive, negative = kept["LTX2NICLoraGuide"][0]
    (item,) = positive[0][1]["ltx2n_video_references"].items
    reference = getattr(item, "item", item)
    assert positive[0][1]["ltx2n_video_references"] is negative[0][1]["ltx2n_video_references"]
    assert reference.downscale_factor == 2 and tuple(reference.latent.shape) == (1, 128, 2, 1, 1)
    empty = kept["LTX2NEmptyAVLatent"][0][0]["samples"].unbind()[0]
    sampled = kept["LTX2NSampler"][0][0]["samples"].unbind()[0]
    assert sampled.shape == empty.shape == (1, 128, 2, 2, 2)


def test_ltx25_graph_keyframes_appended_and_cropped(graph_host, model_store, monkeypatch):
    conditioning = importlib.import_module(f"{graph_host.pack.__name__}.nodes.conditioning")
    crfs: list[int] = []
    round_trip = conditioning.crf_round_trip
    monkeypatch.setattr(conditioning, "crf_round_trip", lambda pixels, crf, *a, **k: crfs.append(crf) or
                        round_trip(pixels, crf, *a, **k))
    keep = ("LTX2NKeyframes", "LTX2NUpscaleLatent", "LTX2NCropGuides")
    prompt = _prompt(graph_host, "ltx25-keyframes-distilled")
    assert all(not is_link(prompt[n]["inputs"]["frame_idx_1"]) for n in nodes_of_type(prompt, "LTX2NKeyframes"))
    expected = shrink(prompt, tiny_overrides(prompt))
    kept, result = _run(graph_host, model_store, prompt, keep)
    upscaled = kept["LTX2NUpscaleLatent"][0][0]["samples"].unbind()[0]
    guided = [k[2]["samples"].unbind()[0] for k in kept["LTX2NKeyframes"]]
    cropped = [k[2]["samples"].unbind()[0] for k in kept["LTX2NCropGuides"]]
    assert all(g.shape[2] > c.shape[2] for g, c in zip(guided, cropped, strict=True))  # tokens appended, removed
    assert cropped[1].shape == upscaled.shape and upscaled.shape[-1] == 2 * cropped[0].shape[-1]
    assert crfs == [18] * 6  # three pictures in each stage
    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    check_mp4(video, expected)
