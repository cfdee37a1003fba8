"""The HQ two-stage workflow (``t2v-two-stage-hq``) through the real host on tiny weights.

The res_2s sampler function is spied: it must run twice (stage 1 then stage 2) with the HQ sigmas (stage 1: the
default 15-step LTX-2 schedule shifted by the stage-1 latent's token count; stage 2: the distilled stage-2 sigmas),
at the stage sizes (stage 2 = x2 of stage 1), Lightricks' eta and fixed SDE seed; the guider carries the library's
HQ preset and the distilled LoRA strengths are the library's; the saved mp4 has the expected streams.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import torch
from graph_support import check_mp4, shrink

from ltx_model.pipelines.samplers import RES2S_NOISE_SEED
from ltx_model.pipelines.two_stage_hq import HQ_STAGE1_LORA_STRENGTH, HQ_STAGE2_LORA_STRENGTH, HQ_STAGE2_SIGMAS
from ltx_model.sampling import LTX_2_3_HQ_PARAMS, RES2S_ETA, ltx2_sigmas
from scripts.workflow_api import load_workflow, nodes_of_type, saved_files

pytestmark = pytest.mark.graph

WORKFLOW = Path(__file__).resolve().parents[2] / "workflows" / "t2v-two-stage-hq.json"


def _guider_matches_hq_preset(prompt: dict) -> None:
    (guider,) = nodes_of_type(prompt, "LTX2NMultimodalGuider")
    inputs, hq = prompt[guider]["inputs"], LTX_2_3_HQ_PARAMS
    for stream, params in (("video", hq.video), ("audio", hq.audio)):
        assert inputs[f"{stream}_cfg"] == params.cfg_scale and inputs[f"{stream}_stg"] == params.stg_scale
        assert inputs[f"{stream}_rescale"] == params.rescale_scale
        assert inputs[f"{stream}_modality"] == params.modality_scale
    strengths = sorted(prompt[n]["inputs"]["strength"] for n in nodes_of_type(prompt, "LTX2NLoraLoader"))
    assert strengths == [HQ_STAGE1_LORA_STRENGTH, HQ_STAGE2_LORA_STRENGTH]


def test_hq_graph_runs_res2s_with_hq_sigmas_in_both_stages(graph_host, model_store, monkeypatch):
    res2s = importlib.import_module(f"{graph_host.pack.__name__}.nodes.res2s")
    ancestral = importlib.import_module(f"{graph_host.pack.__name__}.nodes.ancestral")
    calls: list[dict] = []
    step = res2s.sample_res2s

    def spy(model, x, sigmas, *args, **kwargs):
        video_shape = tuple(ancestral.packed_shapes(model, x)[0])
        calls.append({"sigmas": [float(s) for s in sigmas], "video": video_shape,
                      "options": {k: kwargs.get(k) for k in ("eta", "bongmath", "sde_seed")}})
        return step(model, x, sigmas, *args, **kwargs)

    monkeypatch.setattr(res2s, "sample_res2s", spy)
    prompt = graph_host.ui_to_api(load_workflow(WORKFLOW))
    _guider_matches_hq_preset(prompt)
    expected = shrink(prompt, {"steps": 0})  # tiny sizes; steps 0 = the HQ default (15)
    model_store.ensure(prompt)
    result = graph_host.run(prompt)
    assert result.success, result.error()
    assert len(calls) == 2, "res_2s must sample both stages"
    stage1, stage2 = calls
    _, _, frames, height, width = stage1["video"]
    want1 = ltx2_sigmas(LTX_2_3_HQ_PARAMS.num_inference_steps, tokens=frames * height * width)
    assert len(stage1["sigmas"]) == 16
    torch.testing.assert_close(torch.tensor(stage1["sigmas"]), want1, atol=0, rtol=0)
    assert stage1["sigmas"] != [float(s) for s in ltx2_sigmas(15)]  # the latent shift is applied
    assert stage2["sigmas"] == pytest.approx(list(HQ_STAGE2_SIGMAS), abs=1e-7)
    assert stage2["video"][2:] == (frames, 2 * height, 2 * width)
    assert all(c["options"] == {"eta": RES2S_ETA, "bongmath": True, "sde_seed": RES2S_NOISE_SEED} for c in calls)
    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    assert video.name.startswith("t2v-two-stage-hq")
    check_mp4(video, expected)
    assert (expected.width, expected.height) == (32 * 2 * width, 32 * 2 * height)  # stage-2 latent, 32 px a cell
