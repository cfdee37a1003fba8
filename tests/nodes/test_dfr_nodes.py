"""The DFR nodes (``nodes/dfr.py``) in the real host on a tiny LTX-2.5 transformer: DFR Canvas pads a 41-frame
latent to the 49-frame canvas with slots at 24 and 48; DFR Detail Stage upsamples video and slots x2, re-seeds the
slots with the upsampled keyframes and adds the half-size video as the IC-LoRA reference (factor 2; none for 0);
DFR Temporal Rounds with 0 rounds trims back to 41 frames and cuts the audio, with 1 / 2 rounds runs 2 / 2 + 4
tiles x 4 steps on one progress bar (seeds ``seed + 1000 round + tile``, RoPE fps capped at 60) and returns 81
frames at 48 fps / 161 at 96; bad input (a 2.3 model, rounds
without a temporal upscaler, DFR Detail Stage given a temporal upscaler, a latent that did not come through DFR Canvas,
rounds 3) is one clear error naming the node and the input; an interrupt stops the rounds."""

from __future__ import annotations

import math

import pytest
import torch
from node_support import StandInVAE, prompt

DFR_TRANSFORMER = "ltx2n-dfr-ltx-2.5-22b-distilled-demo.safetensors"
TEMPORAL = "ltx2n-dfr-ltx-2.5-latent-temporal-upscaler-x2-demo.safetensors"


@pytest.fixture(scope="module")
def model(comfy_host, pack_nodes):
    from ltx_model.demo.ltx25 import write_demo_ltx25_transformer

    write_demo_ltx25_transformer(comfy_host.model_dir("diffusion_models") / DFR_TRANSFORMER, dtype=torch.float32)
    return pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=DFR_TRANSFORMER).result[0]


@pytest.fixture(scope="module")
def temporal(comfy_host, pack_nodes):
    from ltx_model.demo.ltx25 import write_demo_ltx25_upscaler

    write_demo_ltx25_upscaler(comfy_host.model_dir("latent_upscale_models") / TEMPORAL, temporal=True,
                              dtype=torch.float32)
    return pack_nodes.upscale.LTX2NUpscalerLoader.execute(upscaler_name=TEMPORAL).result[0]


def canvas(pack_nodes, model, frames: int = 41) -> tuple:
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, frames, 24.0, 1).result[0]
    return pack_nodes.dfr.LTX2NDFRCanvas.execute(model, prompt(model, 1), prompt(model, 2), latent).result


def test_dfr_nodes_registered_with_tooltips(comfy_host):
    names = comfy_host.pack.NODE_DISPLAY_NAME_MAPPINGS
    for node_id, display in (("LTX2NDFRCanvas", "DFR Canvas (LTX-2.5)"),
                             ("LTX2NDFRDetailStage", "DFR Detail Stage (LTX-2.5)"),
                             ("LTX2NDFRTemporalRounds", "DFR Temporal Rounds (LTX-2.5)")):
        assert names[node_id] == display
        schema = comfy_host.pack.NODE_CLASS_MAPPINGS[node_id].GET_SCHEMA()
        assert all(i.tooltip for i in schema.inputs) and all(o.tooltip for o in schema.outputs)


def test_dfr_canvas_pads_to_the_grid_and_appends_slots(pack_nodes, model):
    positive, negative, latent = canvas(pack_nodes, model)
    video, audio = latent["samples"].unbind()
    assert video.shape == (1, 128, 7 + 2, 2, 2)  # 49 canvas frames + 2 slots
    assert audio.shape[2] == round(49 / 24 * 25)
    for cond in (positive, negative):
        idxs, entries = cond[0][1]["keyframe_idxs"], cond[0][1]["guide_attention_entries"]
        assert idxs[0, 0, ::4].tolist() == [[24.0, 25.0], [48.0, 49.0]]  # one pixel frame each
        assert [e["ltx2n_generated_slot"] for e in entries] == [True, True]
    record = latent["ltx2n_dfr"]
    assert (record.requested, record.positions, record.fps) == (41, (24, 48), 24.0)


def test_dfr_rounds_0_trims_and_cuts_the_audio(pack_nodes, model):
    positive, negative, latent = canvas(pack_nodes, model)
    out, fps, frames = pack_nodes.dfr.LTX2NDFRTemporalRounds.execute(model, positive, negative, latent,
                                                                     StandInVAE(), 0, 5).result
    video, audio = out["samples"].unbind()
    assert (fps, frames, video.shape[2]) == (24.0, 41, 6)
    assert audio.shape[2] == math.ceil(41 / 24 * 25) < latent["samples"].unbind()[1].shape[2]
    assert "ltx2n_dfr" not in out


@pytest.mark.parametrize(("rounds", "seeds", "fps_seen", "frames", "latents"), [
    (1, [1005, 1006], [48.0] * 2, 81, 11),
    (2, [1005, 1006, 2005, 2006, 2007, 2008], [48.0] * 2 + [60.0] * 4, 161, 21),  # RoPE fps capped at 60
])
def test_dfr_rounds_tiles_one_progress_bar(pack_nodes, model, temporal, progress_calls, monkeypatch, rounds, seeds,
                                           fps_seen, frames, latents):
    module = pack_nodes.dfr_rounds
    seen, original = [], module.sample_tile

    def spy(model_, positive, *args, **kwargs):
        seen.append((kwargs["seed"], positive[0][1]["frame_rate"]))
        return original(model_, positive, *args, **kwargs)

    monkeypatch.setattr(module, "sample_tile", spy)
    positive, negative, latent = canvas(pack_nodes, model)
    out, fps, count = pack_nodes.dfr.LTX2NDFRTemporalRounds.execute(model, positive, negative, latent,
                                                                    StandInVAE(), rounds, 5, temporal).result
    assert (fps, count, out["samples"].unbind()[0].shape[2]) == (24.0 * 2 ** rounds, frames, latents)
    assert seen == list(zip(seeds, fps_seen, strict=True))
    steps = 4 * len(seeds)  # tiles x the 4 temporal sigmas steps
    assert progress_calls[-1] == (steps, steps) and len(progress_calls) >= steps


def test_dfr_bad_input_is_one_clear_error(pack_nodes, model, demo_models):
    node = pack_nodes.dfr.LTX2NDFRTemporalRounds
    with pytest.raises(ValueError, match=r"DFR Canvas \(LTX-2.5\): DFR needs LTX-2.5"):
        canvas(pack_nodes, demo_models["2.3-dev"])
    positive, negative, latent = canvas(pack_nodes, model)
    with pytest.raises(ValueError, match=r"DFR Temporal Rounds \(LTX-2.5\): rounds / upscale_model: .*temporal x2"):
        node.execute(model, positive, negative, latent, StandInVAE(), 1, 5)
    plain = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 41, 24.0, 1).result[0]
    with pytest.raises(ValueError, match=r"DFR Temporal Rounds \(LTX-2.5\): this latent did not come through DFR"):
        node.execute(model, positive, negative, plain, StandInVAE(), 0, 5)
    assert "0, 1 or 2" in node.validate_inputs(rounds=3)


@pytest.fixture(scope="module")
def spatial(comfy_host, pack_nodes):
    from ltx_model.demo.ltx25 import write_demo_ltx25_upscaler

    name = "ltx2n-dfr-ltx-2.5-latent-spatial-upscaler-x2-demo.safetensors"
    write_demo_ltx25_upscaler(comfy_host.model_dir("latent_upscale_models") / name, dtype=torch.float32)
    return pack_nodes.upscale.LTX2NUpscalerLoader.execute(upscaler_name=name).result[0]


@pytest.mark.parametrize("factor", [2, 0])
def test_dfr_detail_stage_upsamples_video_and_slots_and_adds_the_reference(pack_nodes, model, spatial, temporal,
                                                                          factor):
    positive, negative, latent = canvas(pack_nodes, model)
    vae = StandInVAE()
    video, audio = latent["samples"].unbind()
    out_pos, out_neg, out = pack_nodes.dfr.LTX2NDFRDetailStage.execute(positive, negative, latent, spatial, vae,
                                                                       factor).result
    up_video, up_audio = out["samples"].unbind()
    assert up_video.shape == (1, 128, 9, 4, 4) and torch.equal(up_audio, audio)
    slots = pack_nodes.upscale.upscale_video(video[:, :, 7:], spatial, vae)
    assert torch.equal(up_video[:, :, 7:], slots)  # the slots seeded with their upsampled keyframes
    assert torch.equal(up_video[:, :, :7], pack_nodes.upscale.upscale_video(video[:, :, :7], spatial, vae))
    assert out["ltx2n_dfr"].audio is audio
    for cond in (out_pos, out_neg):
        refs = cond[0][1].get("ltx2n_video_references")
        assert [e["ltx2n_generated_slot"] for e in cond[0][1]["guide_attention_entries"]] == [True, True]
        if factor:
            (item,) = refs.items
            assert item.downscale_factor == 2 and torch.equal(item.latent, video[:, :, :7])
        else:
            assert refs is None
    with pytest.raises(ValueError, match=r"DFR Detail Stage \(LTX-2.5\) needs a spatial x2 latent upscaler"):
        pack_nodes.dfr.LTX2NDFRDetailStage.execute(positive, negative, latent, temporal, vae, factor)


def test_dfr_temporal_rounds_honour_interrupt(pack_nodes, model, temporal):
    import comfy.model_management

    positive, negative, latent = canvas(pack_nodes, model)
    comfy.model_management.interrupt_current_processing(True)
    try:
        with pytest.raises(comfy.model_management.InterruptProcessingException):
            pack_nodes.dfr.LTX2NDFRTemporalRounds.execute(model, positive, negative, latent, StandInVAE(), 1, 5,
                                                          temporal)
    finally:
        comfy.model_management.interrupt_current_processing(False)
