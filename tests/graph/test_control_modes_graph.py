"""What the control workflows promise, checked on a run of the shipped file through the real host.

Each workflow (converted against the live schemas, tiny demo files, 64x64, 9 frames at 24 fps) is run with the
outputs of its key nodes kept; the generic checks (success, one h264 + aac mp4 with the expected frames, size,
fps and duration) are in test_workflows.py. Here:

* ``iclora-union-*`` / ``iclora-detailer-*``: the reference factor comes from the LoRA file's metadata (ref0.5
  union: 2, detailer: 1); the reference tokens sit in the prompts at the latent grid / factor (the 64x64 demo
  control video resized to 32x32, trimmed to the clip's 9 frames); the sampled latent has exactly the empty latent's
  shape (no guide frames to crop) and differs from the same graph without the guide.
* ``iclora-motion-*``: the control video is the drawn tracks (clip size, 9 frames, coloured discs on black) and it
  is what the guide encoded.
* ``camera-lora-*``: the camera LoRA (and the stacked distilled LoRA) patch the model; the same graph on an LTX-2.3
  checkpoint stops with the clear 19B-only error before sampling.
* ``upscale-temporal-*``: x1.5 then temporal x2: 2N - 1 frames at 2 x fps, and the audio latent leaving the
  temporal upscaler is bit-identical to the one entering it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from graph_support import check_mp4, shrink

from scripts.workflow_api import load_workflow, nodes_of_type, saved_files

pytestmark = pytest.mark.graph

WORKFLOWS_DIR = Path(__file__).resolve().parents[2] / "workflows"
REFERENCES_KEY = "ltx2n_video_references"


def _prompt(host, stem: str) -> dict:
    (path,) = sorted(WORKFLOWS_DIR.glob(f"{stem}-*.json"))
    return host.ui_to_api(load_workflow(path))


def _run(host, store, prompt: dict, keep_types: tuple[str, ...], *, extra: tuple[str, ...] = ()):
    """Shrink, write the demo files, run keeping the first node of each type (and node ids ``extra``), check the
    mp4; returns ``{type or id: outputs}``."""
    expected = shrink(prompt)
    store.ensure(prompt)
    ids = {t: nodes_of_type(prompt, t)[0] for t in keep_types} | {nid: nid for nid in extra}
    result = host.run(prompt, keep=tuple(ids.values()))
    assert result.success, result.error()
    (video,) = saved_files(result.ui_outputs, host.output_dir)
    check_mp4(video, expected)
    return {t: result.node_outputs[nid] for t, nid in ids.items()}


def _reference_item(positive):
    (item,) = positive[0][1][REFERENCES_KEY].items
    return getattr(item, "item", item)  # unwrap an attention-strength wrapper


@pytest.mark.parametrize(("stem", "factor"), [("iclora-union", 2), ("iclora-detailer", 1)])
def test_iclora_graph_reference_grid_and_no_guide_frames(graph_host, model_store, stem, factor):
    keep = ("LTX2NICLoraLoader", "LTX2NICLoraGuide", "LTX2NEmptyAVLatent", "LTX2NSampler")
    kept = _run(graph_host, model_store, _prompt(graph_host, stem), keep)
    assert kept["LTX2NICLoraLoader"][1] == factor
    positive, negative = kept["LTX2NICLoraGuide"]
    reference = _reference_item(positive)
    assert positive[0][1][REFERENCES_KEY] is negative[0][1][REFERENCES_KEY]
    assert reference.downscale_factor == factor
    assert tuple(reference.latent.shape) == (1, 128, 2, 2 // factor, 2 // factor)  # 9 frames, (64 / factor) px
    empty, sampled = (kept[t][0]["samples"].unbind()[0] for t in ("LTX2NEmptyAVLatent", "LTX2NSampler"))
    assert sampled.shape == empty.shape == (1, 128, 2, 2, 2)


def test_iclora_graph_guide_changes_the_result(graph_host, model_store):
    prompt = _prompt(graph_host, "iclora-union")
    (guide,) = nodes_of_type(prompt, "LTX2NICLoraGuide")
    (sampler,) = nodes_of_type(prompt, "LTX2NSampler")
    with_guide = _run(graph_host, model_store, prompt, ("LTX2NSampler",))["LTX2NSampler"][0]
    prompt[sampler]["inputs"].update(positive=prompt[guide]["inputs"]["positive"],
                                     negative=prompt[guide]["inputs"]["negative"])
    without = _run(graph_host, model_store, prompt, ("LTX2NSampler",))["LTX2NSampler"][0]
    assert not torch.equal(with_guide["samples"].unbind()[0], without["samples"].unbind()[0])


def test_iclora_motion_graph_tracks_video_is_the_reference(graph_host, model_store):
    keep = ("LTX2NMotionTracks", "LTX2NICLoraGuide", "LTX2NICLoraLoader")
    kept = _run(graph_host, model_store, _prompt(graph_host, "iclora-motion"), keep)
    (tracks,) = kept["LTX2NMotionTracks"]
    assert tuple(tracks.shape) == (9, 64, 64, 3)
    assert tracks.amax() == 1.0 and (tracks[0].amax(dim=-1) == 0).float().mean() > 0.5  # discs on black
    assert kept["LTX2NICLoraLoader"][1] == 2
    reference = _reference_item(kept["LTX2NICLoraGuide"][0])
    assert tuple(reference.latent.shape) == (1, 128, 2, 1, 1)


def test_camera_lora_graph_patches_and_rejects_22b(graph_host, model_store):
    keep = ("LTX2NCameraLoraLoader", "LTX2NLoraStack")
    prompt = _prompt(graph_host, "camera-lora")
    kept = _run(graph_host, model_store, prompt, keep)
    camera, stacked = kept["LTX2NCameraLoraLoader"][0], kept["LTX2NLoraStack"][0]
    assert camera.patches and all(len(stacked.patches[k]) == 2 for k in camera.patches)  # camera + distilled LoRA
    (loader,) = nodes_of_type(prompt, "LTX2NCheckpointLoader")
    prompt[loader]["inputs"]["ckpt_name"] = "ltx-2.3-22b-distilled.safetensors"
    model_store.ensure(prompt)
    result = graph_host.run(prompt)
    assert not result.success
    assert "camera-control LoRA for LTX-2 (19B)" in result.error() and "LTX-2.3 (22B)" in result.error()


def test_upscale_temporal_graph_frames_fps_and_untouched_audio(graph_host, model_store):
    prompt = _prompt(graph_host, "upscale-temporal")
    (temporal,) = nodes_of_type(prompt, "LTX2NUpscaleLatentTemporal")
    stage2 = prompt[temporal]["inputs"]["samples"][0]
    kept = _run(graph_host, model_store, prompt, ("LTX2NUpscaleLatentTemporal",), extra=(stage2,))
    latent, fps, frames = kept["LTX2NUpscaleLatentTemporal"]
    assert (fps, frames) == (48.0, 17)
    video, audio = latent["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 3, 3, 3)  # 64x64 -> x1.5 -> 96x96; 2 -> 3 latent frames
    assert torch.equal(audio, kept[stage2][0]["samples"].unbind()[1])
