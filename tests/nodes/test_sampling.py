"""Scheduler, multimodal guider and one-node sampler inside the real host, with core sampling nodes."""

from __future__ import annotations

import pytest
import torch
from node_support import RandomPromptNode, pack_module, prompt, registered_test_node

from ltx_model.sampling import DISTILLED_SIGMAS, STAGE2_DISTILLED_SIGMAS, GuiderParams, guide, ltx2_sigmas

pytestmark = pytest.mark.comfy


def _latent(pack_nodes, frames=9, size=64):
    return pack_nodes.latents.LTX2NEmptyAVLatent.execute(size, size, frames, 24.0, 1).result[0]


def test_schedule_defaults_follow_model_version(pack_nodes, demo_models):
    node = pack_nodes.sampling.LTX2NScheduler
    dev = node.execute("auto", 0, 2.05, 0.95, True, 0.1, model=demo_models["2.3-dev"]).result[0]
    torch.testing.assert_close(dev, ltx2_sigmas(30), atol=0, rtol=0)  # LTX-2.3: 30 steps
    distilled = node.execute("auto", 0, 2.05, 0.95, True, 0.1, model=demo_models["19b-distilled"]).result[0]
    assert distilled.tolist() == pytest.approx(DISTILLED_SIGMAS)
    stage2 = node.execute("distilled stage 2", 0, 2.05, 0.95, True, 0.1).result[0]
    assert stage2.tolist() == pytest.approx(STAGE2_DISTILLED_SIGMAS)
    no_model = node.execute("LTX-2 schedule", 12, 2.05, 0.95, False, 0.1).result[0]
    torch.testing.assert_close(no_model, ltx2_sigmas(12, stretch=False), atol=0, rtol=0)


def test_schedule_token_shift_equals_core_ltxv_scheduler(comfy_host, pack_nodes):
    latent = _latent(pack_nodes, frames=17, size=96)  # video 3 x 3 x 3 = 27 tokens
    ours = pack_nodes.sampling.LTX2NScheduler.execute("LTX-2 schedule", 15, 2.05, 0.95, True, 0.1,
                                                      latent=latent).result[0]
    torch.testing.assert_close(ours, ltx2_sigmas(15, tokens=27), atol=0, rtol=0)
    video_latent = comfy_host.node_class("LTXVSeparateAVLatent").execute(latent).result[0]
    core = comfy_host.node_class("LTXVScheduler").execute(15, 2.05, 0.95, True, 0.1, video_latent).result[0]
    torch.testing.assert_close(ours, core.float(), atol=1e-6, rtol=0)


def _guided_one_step(comfy_host, guider, latent, sigma, seed):
    """Run SamplerCustomAdvanced for one Euler step from ``sigma`` to 0: the output is the guided x0."""
    node = comfy_host.node_class
    noise = node("RandomNoise").execute(seed).result[0]
    sampler = node("KSamplerSelect").execute("euler").result[0]
    out = node("SamplerCustomAdvanced").execute(noise, guider, sampler, torch.tensor([sigma, 0.0]), latent).result
    return out[0]["samples"], noise.generate_noise(latent)


def test_guidance_node_equals_library_guidance_on_same_predictions(comfy_host, pack_nodes, demo_models):
    """The guider inside SamplerCustomAdvanced == ltx_model.sampling.guide on the four passes (x0 predictions)."""
    import comfy.utils

    model = demo_models["2.3-dev"]
    pos, neg = prompt(model, 1), prompt(model, 2)
    guider = pack_nodes.sampling.LTX2NMultimodalGuider.execute(model, pos, neg, 3.0, 7.0, 1.0, 0.5, "1", 0.7, 0.3,
                                                               3.0, 2.0).result[0]
    latent, sigma = _latent(pack_nodes), 0.8
    out, noise = _guided_one_step(comfy_host, guider, latent, sigma, seed=4)
    parts, shapes = comfy.utils.pack_latents([n * sigma for n in noise.unbind()])  # zero latent + sigma * noise
    guidance = pack_module(comfy_host, "nodes.guidance")

    def run(cond, perturbations=None):
        options = {} if perturbations is None else {pack_nodes.diffusion.PERTURBATIONS_KEY: perturbations}
        x0 = model.model.apply_model(parts, torch.tensor([sigma]), c_crossattn=cond[0][0], frame_rate=24.0,
                                     latent_shapes=shapes, transformer_options=options)
        return comfy.utils.unpack_latents(x0, shapes)

    video = GuiderParams(cfg_scale=3.0, stg_scale=1.0, stg_blocks=(1,), rescale_scale=0.7, modality_scale=3.0)
    audio = GuiderParams(cfg_scale=7.0, stg_scale=0.5, stg_blocks=(1,), rescale_scale=0.3, modality_scale=2.0)
    c, u = run(pos), run(neg)
    p, m = run(pos, guidance.stg_perturbations(video, audio)), run(pos, guidance.ISOLATION)
    for i, params in enumerate((video, audio)):
        assert not torch.equal(p[i], c[i]) and not torch.equal(m[i], c[i])  # the passes really differ
        expected = guide(params, c[i], u[i], p[i], m[i])
        torch.testing.assert_close(out.unbind()[i], expected, atol=1e-5, rtol=1e-5)


def test_guidance_refuses_missing_blocks_and_foreign_models(pack_nodes, demo_models):
    node = pack_nodes.sampling.LTX2NMultimodalGuider
    model = demo_models["2.3-dev"]
    args = (prompt(model, 1), prompt(model, 2), 3.0, 7.0, 1.0, 1.0)
    with pytest.raises(ValueError, match=r"STG blocks \[28\] do not exist"):
        node.execute(model, *args, "28", 0.7, 0.7, 3.0, 3.0)
    assert "block numbers" in node.validate_inputs(stg_blocks="twenty")
    guider = node.execute(model, *args, "auto", 0.7, 0.7, 3.0, 3.0).result[0]  # default block 28 dropped
    assert guider.video.stg_blocks == () and guider.audio.cfg_scale == 7.0


@pytest.fixture(scope="module")
def random_prompt_node(comfy_host):
    with registered_test_node(comfy_host, RandomPromptNode) as node_id:
        yield node_id


def test_guidance_graph_with_core_sampler_custom_advanced(comfy_host, demo_files, random_prompt_node):
    """API prompt: our loader, latent, scheduler and guider + core RandomNoise / KSamplerSelect /
    SamplerCustomAdvanced / LTXVSeparateAVLatent."""
    p = {
        "1": {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": demo_files.ltx23_dev}},
        "2": {"class_type": "LTX2NEmptyAVLatent", "inputs": {"width": 64, "height": 64, "frames": 9, "fps": 24.0,
                                                             "batch_size": 1}},
        "3": {"class_type": "LTX2NScheduler", "inputs": {"schedule": "auto", "steps": 2, "max_shift": 2.05,
                                                         "base_shift": 0.95, "stretch": True, "terminal": 0.1,
                                                         "model": ["1", 0], "latent": ["2", 0]}},
        "4": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["9", 0]}},
        "5": {"class_type": "LTX2NMultimodalGuider", "inputs": {
            "model": ["1", 0], "positive": ["9", 0], "negative": ["4", 0], "video_cfg": 3.0, "audio_cfg": 7.0,
            "video_stg": 1.0, "audio_stg": 1.0, "stg_blocks": "0", "video_rescale": 0.7, "audio_rescale": 0.7,
            "video_modality": 3.0, "audio_modality": 3.0}},
        "6": {"class_type": "RandomNoise", "inputs": {"noise_seed": 3}},
        "7": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
        "8": {"class_type": "SamplerCustomAdvanced", "inputs": {"noise": ["6", 0], "guider": ["5", 0],
                                                                "sampler": ["7", 0], "sigmas": ["3", 0],
                                                                "latent_image": ["2", 0]}},
        "9": {"class_type": random_prompt_node, "inputs": {"model": ["1", 0], "seed": 1}},
        "10": {"class_type": "LTXVSeparateAVLatent", "inputs": {"av_latent": ["8", 0]}},
        "11": {"class_type": "SaveLatent", "inputs": {"samples": ["10", 0], "filename_prefix": "ltx2n_guided"}},
    }
    result = comfy_host.run(p, keep=("10",))
    assert result.success, result.error()
    video, audio = result.node_outputs["10"][:2]
    assert tuple(video["samples"].shape) == (1, 128, 2, 2, 2) and torch.isfinite(audio["samples"]).all()


def test_sampler_distilled_auto_equals_core_plain_sampling(comfy_host, pack_nodes, demo_models):
    """auto on a distilled model = 8 distilled sigmas, positive only, Euler: the same as core nodes by hand."""
    model = demo_models["19b-distilled"]
    pos, neg = prompt(model, 5), prompt(model, 6)
    latent = _latent(pack_nodes)
    ours = pack_nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, 11, "auto", 0, "auto").result[0]
    node = comfy_host.node_class
    guider = node("CFGGuider").execute(model, pos, neg, 1.0).result[0]
    noise, sampler = node("RandomNoise").execute(11).result[0], node("KSamplerSelect").execute("euler").result[0]
    sigmas = torch.tensor(DISTILLED_SIGMAS)
    core = node("SamplerCustomAdvanced").execute(noise, guider, sampler, sigmas, latent).result[0]
    for a, b in zip(ours["samples"].unbind(), core["samples"].unbind(), strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_sampler_dev_auto_uses_multimodal_guidance_and_interrupts(pack_nodes, demo_models):
    import comfy.model_management

    model = demo_models["2.3-dev"]
    pos, neg = prompt(model, 7), prompt(model, 8)
    latent = _latent(pack_nodes)
    auto = pack_nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, 3, "LTX-2 schedule", 2,
                                                    "auto").result[0]
    plain = pack_nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, 3, "LTX-2 schedule", 2,
                                                     "none").result[0]
    assert not torch.equal(auto["samples"].unbind()[0], plain["samples"].unbind()[0])
    comfy.model_management.interrupt_current_processing(True)
    try:
        with pytest.raises(comfy.model_management.InterruptProcessingException):
            pack_nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, 3, "LTX-2 schedule", 2, "none")
    finally:
        comfy.model_management.interrupt_current_processing(False)


def test_guidance_core_ltxav_switches_map_to_perturbations(comfy_host, pack_nodes, demo_models):
    """core's transformer_options switches (a2v/v2a_cross_attn, run_vx) work on our transformer too."""
    lib = pack_module(comfy_host, "ltx_model.transformer")
    dm = demo_models["2.3-dev"].model.diffusion_model
    g = torch.Generator().manual_seed(9)
    x = [torch.randn(1, 128, 2, 2, 2, generator=g), torch.randn(1, 8, 9, 16, generator=g)]
    ctx, sigma = prompt(demo_models["2.3-dev"], 1)[0][0], torch.tensor([0.6])

    def run(options):
        return dm(x, sigma, context=ctx, frame_rate=24.0, transformer_options=options)

    skip = lib.Perturbations((lib.Perturbation(lib.SkipAttention.AUDIO_TO_VIDEO),))
    core_style, plain = run({"a2v_cross_attn": False}), run({})
    ours = run({pack_nodes.diffusion.PERTURBATIONS_KEY: skip})
    assert torch.equal(core_style[0], ours[0]) and not torch.equal(ours[0], plain[0])
    frozen = run({"run_vx": False})
    assert not torch.equal(frozen[0], plain[0])
    stg = lib.Perturbations((lib.Perturbation(lib.SkipAttention.VIDEO_SELF, (1,)),
                             lib.Perturbation(lib.SkipAttention.AUDIO_SELF, (1,))))
    core_stg = run({"stg_self_attn_blocks": frozenset({1})})
    ours_stg = run({pack_nodes.diffusion.PERTURBATIONS_KEY: stg})
    assert all(torch.equal(c, o) for c, o in zip(core_stg, ours_stg, strict=True))  # core LTXVSpatioTemporalGuidance
    assert not torch.equal(core_stg[0], plain[0]) and not torch.equal(core_stg[1], plain[1])
