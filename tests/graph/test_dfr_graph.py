"""The ``dfr-distilled`` workflow (LTX-2.5 detail-fidelity rendering) through the real host, asserting what DFR
promises (tiny 2.5 demo files under Lightricks' release names, 64x64, 49 frames at 24 fps, one temporal round):

* DFR Canvas: 49 frames fit the 24-frame segment grid (no padding), one generated slot at frames 24 and 48 (two
  latent frames appended, two slot entries in the prompt);
* DFR Detail Stage: video and slots x2 upsampled, the half-size stage-1 video is the detailing reference (factor 2
  from the IC-LoRA's metadata); the stage-2 sampler (detail pass) changed that upscaled latent;
* DFR Temporal Rounds: one round at 48 fps in two tiles, each anchored on the carried stage-2 keyframes (tile 0 on
  seam 48, tile 1 on seams 48 and 96: the stage-2 slots of frames 24 and 48, bit for bit); the result has
  ``(49 - 1) * 2 + 1 = 97`` frames (13 latent frames), the stage-1 audio cut to the video's duration (its leading
  latent frames, bit for bit), and the saved mp4 has 97 frames at 48 fps with a sound track as long as the video.
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import pytest
import torch
from graph_support import ExpectedVideo, check_mp4, shrink

from ltx_model.modes import LATENTS_PER_SECOND
from scripts.workflow_api import load_workflow, nodes_of_type, saved_files

pytestmark = pytest.mark.graph

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
FRAMES, FPS = 49, 24.0
KEEP = ("LTX2NDFRCanvas", "LTX2NSampler", "LTX2NDFRDetailStage", "LTX2NDFRTemporalRounds")


def _sampler(prompt: dict, schedule: str) -> str:
    (nid,) = [n for n in nodes_of_type(prompt, "LTX2NSampler") if prompt[n]["inputs"]["schedule"] == schedule]
    return nid


def test_dfr_graph_one_round_keeps_the_promise(graph_host, model_store, monkeypatch):
    rounds = importlib.import_module(f"{graph_host.pack.__name__}.nodes.dfr_rounds")
    tiles: list[tuple] = []
    original = rounds.sample_tile

    def spy(model, positive, negative, video, tile, anchors, **kwargs):
        tiles.append((tile, anchors.clone(), kwargs["seed"]))
        return original(model, positive, negative, video, tile, anchors, **kwargs)

    monkeypatch.setattr(rounds, "sample_tile", spy)
    prompt = graph_host.ui_to_api(load_workflow(WORKFLOWS / "dfr-distilled.json"))
    shrink(prompt, {"frames": FRAMES})
    store_files = model_store.ensure(prompt)
    assert store_files
    ids = {t: nodes_of_type(prompt, t) for t in KEEP}
    result = graph_host.run(prompt, keep=tuple(n for group in ids.values() for n in group))
    assert result.success, result.error()
    out = result.node_outputs

    canvas_pos, _, canvas = out[ids["LTX2NDFRCanvas"][0]]
    assert canvas["samples"].unbind()[0].shape[2] == 7 + 2  # 49 frames = 7 latent frames, + 2 slots
    entries = [e for e in canvas_pos[0][1]["guide_attention_entries"]]
    assert len(entries) == 2 and all(e.get("ltx2n_generated_slot") for e in entries)

    stage1 = out[_sampler(prompt, "distilled stage 1")][0]["samples"].unbind()
    _, _, detail = out[ids["LTX2NDFRDetailStage"][0]]
    stage2 = out[_sampler(prompt, "distilled stage 2")][0]["samples"].unbind()
    upscaled = detail["samples"].unbind()[0]
    assert upscaled.shape[3:] == (2 * stage1[0].shape[3], 2 * stage1[0].shape[4])
    assert (stage2[0][:, :, :7] - upscaled[:, :, :7]).abs().max() > 0.05  # the detail pass changed the video

    final, fps, frames = out[ids["LTX2NDFRTemporalRounds"][0]]
    assert (fps, frames) == (48.0, 97)
    video, audio = final["samples"].unbind()
    assert video.shape[2] == 13
    kept = min(stage1[1].shape[2], math.ceil(97 / 48.0 * LATENTS_PER_SECOND))
    assert kept < stage1[1].shape[2] + 1 and torch.equal(audio, stage1[1][:, :, :kept])  # stage-1 audio, cut

    slots2 = stage2[0][:, :, 7:]  # the stage-2 keyframes at frames 24, 48 -> seams 48, 96 of round 1
    assert [(t.anchors, t.slots, s) for t, _, s in tiles] == [((48,), (24,), 1010), ((48, 96), (24, 72), 1011)]
    assert torch.equal(tiles[0][1], slots2[:, :, :1]) and torch.equal(tiles[1][1], slots2)

    (mp4,) = saved_files(result.ui_outputs, graph_host.output_dir)
    check_mp4(mp4, ExpectedVideo(64, 64, 97, 48.0))
