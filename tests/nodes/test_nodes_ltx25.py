"""The LTX-2.5 nodes in the real host: LTX-2 Predict Duration, Euler Ancestral Sampler (LTX-2), generated keyframe
slots in Keyframes (LTX-2), per-version defaults (sampler, sigmas, image CRF), and core nodes on a 2.5 MODEL with
the Euler-ancestral SAMPLER. Every file is a tiny official-format demo file (``ltx_model.demo.ltx25*``) loaded
through the real loaders; the oracles are the library's own functions (duration head, ancestral loop, keyframes
mask), run on the same weights and the same start noise, in fp32.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from node_support import StandInVAE, pack_module, prompt

pytestmark = pytest.mark.comfy

TRANSFORMER = "ltx-2.5-22b-distilled-transformer-ltx2n-h3.safetensors"
DEV_TRANSFORMER = "ltx-2.5-22b-dev-transformer-ltx2n-h3.safetensors"
LORA = "ltx-2.5-22b-distilled-lora-ltx2n-h3.safetensors"
HEAD = "ltx-2.5-duration-head-ltx2n-h3.safetensors"
NARROW_HEAD = "ltx-2.5-duration-head-narrow-ltx2n-h3.safetensors"
SIGMAS = (1.0, 0.8, 0.45, 0.2, 0.0)
PARITY_RTOL = 1e-5  # relative L2, fp32: the same transformer through the host's and the library's call paths


@pytest.fixture(scope="module")
def ltx25(comfy_host, pack_nodes):
    """The 2.5 distilled + dev transformers, the distilled LoRA and two duration heads (one at the demo
    connectors' widths, one narrower) in the host's folders; returns the loaded distilled MODEL."""
    from ltx_model.demo.ltx25 import write_demo_ltx25_lora, write_demo_ltx25_transformer
    from ltx_model.demo.ltx25_set import demo_duration_config
    from ltx_model.demo.ltx25_text import write_duration_head

    diffusion = comfy_host.model_dir("diffusion_models")
    write_demo_ltx25_transformer(diffusion / TRANSFORMER, dtype=torch.float32)
    write_demo_ltx25_transformer(diffusion / DEV_TRANSFORMER, seed=2, dtype=torch.float32)
    write_demo_ltx25_lora(comfy_host.model_dir("loras") / LORA, dtype=torch.float32)
    import folder_paths

    heads = comfy_host.model_dir("duration_head")  # not one of the harness's isolated folders: registered here
    heads.mkdir(parents=True, exist_ok=True)
    folder_paths.add_model_folder_path("duration_head", str(heads), is_default=True)
    write_duration_head(heads / HEAD, demo_duration_config(), seed=3)  # predicts about 1 s
    write_duration_head(heads / NARROW_HEAD, seed=4)  # DurationHeadConfig.tiny(): other widths
    (heads / "not-a-head.safetensors").write_bytes((diffusion / TRANSFORMER).read_bytes())
    return pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=TRANSFORMER).result[0]


def _latent(pack_nodes, frames=9, width=96):
    return pack_nodes.latents.LTX2NEmptyAVLatent.execute(width, 64, frames, 24.0, 1).result[0]


def test_ltx25_nodes_registered_with_tooltips(comfy_host):
    mappings = comfy_host.pack.NODE_CLASS_MAPPINGS
    names = comfy_host.pack.NODE_DISPLAY_NAME_MAPPINGS
    for node_id, display in (("LTX2NPredictDuration", "LTX-2 Predict Duration"),
                             ("LTX2NSamplerEulerAncestral", "Euler Ancestral Sampler (LTX-2)")):
        assert names[node_id] == display
        schema = mappings[node_id].GET_SCHEMA()
        assert schema.category.startswith("LTX-2 Native/")
        assert all(getattr(i, "tooltip", None) for i in schema.inputs), node_id
    keyframes = {i.id: i for i in mappings["LTX2NKeyframes"].GET_SCHEMA().inputs}
    assert keyframes["generated_frames"].optional and keyframes["model"].optional
    assert keyframes["image_compression"].default == -1 and "LTX-2.5: 18" in keyframes["image_compression"].tooltip


# ---------------------------------------------------------------------------------------------- duration
def test_predict_duration_equals_library_head(comfy_host, pack_nodes, ltx25):
    from ltx_model.duration import load_duration_head, predict_frame_count

    node = pack_nodes.duration.LTX2NPredictDuration
    options = node.GET_SCHEMA().inputs[2].options
    assert HEAD in options and NARROW_HEAD in options and "not-a-head.safetensors" not in options
    assert node.validate_inputs(HEAD, 1.0, 20.0) is True
    assert "max_seconds" in node.validate_inputs(HEAD, 5.0, 2.0)
    head = load_duration_head(comfy_host.model_dir("duration_head") / HEAD)
    width = ltx25.model.diffusion_model.context_widths()[0]
    for seed, fps, bounds in ((1, 24.0, (0.05, 600.0)), (2, 120.0, (0.05, 600.0)), (3, 24.0, (1.0, 20.0))):
        pos = prompt(ltx25, seed, tokens=7)
        frames, seconds = node.execute(ltx25, pos, HEAD, fps, *bounds).result
        context = pos[0][0]
        want = predict_frame_count(head, context[..., :width], context[..., width:], fps=fps,
                                   min_seconds=bounds[0], max_seconds=bounds[1])
        assert (frames, seconds) == want and 0.1 < seconds < 10
        assert frames % 8 == 1 and isinstance(frames, int) and isinstance(seconds, float)
        latent = _latent(pack_nodes, frames=frames)  # the frames output fits the latent node as it is
        assert latent["samples"].unbind()[0].shape[2] == 1 + (frames - 1) // 8
    first = node.execute(ltx25, prompt(ltx25, 1, tokens=7), HEAD, 24.0, 0.05, 600.0).result
    second = node.execute(ltx25, prompt(ltx25, 2, tokens=7), HEAD, 24.0, 0.05, 600.0).result
    assert first[1] != second[1]  # the prompt matters


def test_core_duration_predictor_on_our_model(comfy_host, pack_nodes, ltx25):
    """Core's ``LTXVDurationPredictor`` (v0.33) with our MODEL and core's own ``DurationHead`` holding the demo
    head's weights (core's ModelPatchLoader always builds the real 4096 / 2048 widths, so the head is built at the
    demo's widths here and wrapped as core's loader wraps it) predicts what LTX-2 Predict Duration predicts."""
    from test_core_ltx_nodes import _node_or_older_host

    core_node = _node_or_older_host(comfy_host, "LTXVDurationPredictor")
    if core_node is None:
        return
    import comfy.ldm.lightricks.duration_head as core_head
    import comfy.model_management
    import comfy.model_patcher
    import comfy.utils

    from ltx_model.demo.ltx25_set import demo_duration_config

    config = demo_duration_config()
    state = core_head.normalize_state_dict(comfy.utils.load_torch_file(
        str(comfy_host.model_dir("duration_head") / HEAD)))
    head = core_head.DurationHead(video_cross_attention_dim=config.video_dim,
                                  audio_cross_attention_dim=config.audio_dim, pooler_hidden_dim=config.pooler_dim,
                                  num_queries=config.num_queries, num_pooler_heads=config.num_heads,
                                  mlp_hidden=config.mlp_hidden)
    head.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    patch = comfy.model_patcher.ModelPatcher(head, load_device=comfy.model_management.get_torch_device(),
                                             offload_device=comfy.model_management.unet_offload_device())
    ours = pack_nodes.duration.LTX2NPredictDuration
    for seed in (1, 2):
        pos = prompt(ltx25, seed, tokens=7)
        want = ours.execute(ltx25, pos, HEAD, 24.0, 0.05, 600.0).result
        got = core_node.execute(ltx25, pos, patch, 24.0, 0.05, 600.0).result
        assert got[0] == want[0] and abs(got[1] - want[1]) <= 1e-5 * max(1.0, abs(want[1]))


def test_predict_duration_refuses_other_models_and_encoders(pack_nodes, ltx25, demo_models):
    node = pack_nodes.duration.LTX2NPredictDuration
    model23 = demo_models["2.3-dev"]
    with pytest.raises(ValueError, match=r"LTX-2 Predict Duration: the duration head is an LTX-2.5 feature, but "
                                         r"the model is LTX-2.3"):
        node.execute(model23, prompt(model23, 1), HEAD, 24.0, 1.0, 20.0)
    wide = [[torch.zeros(1, 4, sum(ltx25.model.diffusion_model.context_widths()) + 8), {"frame_rate": 24.0}]]
    with pytest.raises(ValueError, match="encode the prompt with the text encoder of this model"):
        node.execute(ltx25, wide, HEAD, 24.0, 1.0, 20.0)
    with pytest.raises(ValueError, match=f"{NARROW_HEAD} reads text contexts of widths video 24"):
        node.execute(ltx25, prompt(ltx25, 1), NARROW_HEAD, 24.0, 1.0, 20.0)
    assert "not a file in models/duration_head" in node.validate_inputs("gone.safetensors", 1.0, 20.0)


# ---------------------------------------------------------------------------------------------- Euler-ancestral
def _custom(comfy_host, model, sampler, latent, seed, sigmas=SIGMAS, cfg=1.0):
    node = comfy_host.node_class
    pos = prompt(model, 1)
    guider = node("CFGGuider").execute(model, pos, pos, cfg).result[0]
    noise = node("RandomNoise").execute(seed).result[0]
    return node("SamplerCustomAdvanced").execute(noise, guider, sampler, torch.tensor(sigmas), latent).result[0]


def _library_ancestral(comfy_host, model, latent, seed):
    """The library's ancestral loop (``ltx_model.pipelines.ancestral_loop``, generator ``seed + 10000``) on the
    library transformer of the same file, from ComfyUI's start noise for ``seed``."""
    import comfy.sample

    from ltx_model.loading import Component, load_component

    sampling, pipelines = pack_module(comfy_host, "ltx_model.sampling"), pack_module(comfy_host, "ltx_model.pipelines")
    transformer = load_component(comfy_host.model_dir("diffusion_models") / TRANSFORMER, Component.TRANSFORMER,
                                 dtype=torch.float32)
    video_noise, audio_noise = comfy.sample.prepare_noise(latent["samples"], seed).unbind()
    _, _, f, h, w = video_noise.shape
    cpu = torch.device("cpu")
    video = sampling.initial_state(sampling.VideoGrid(frames=f, height=h, width=w, fps=24.0), dtype=torch.float32,
                                   device=cpu)
    audio = sampling.initial_state(sampling.AudioGrid(frames=audio_noise.shape[2]), dtype=torch.float32, device=cpu)
    video = dataclasses.replace(video, latent=sampling.patchify_video(video_noise))
    audio = dataclasses.replace(audio, latent=sampling.patchify_audio(audio_noise))
    context = prompt(model, 1)[0][0]
    width = model.model.diffusion_model.context_widths()[0]
    denoise = pipelines.simple_denoiser(transformer, pipelines.TextContexts(context[..., :width], context[..., width:]))
    offset = pipelines.samplers.ANCESTRAL_NOISE_SEED_OFFSET
    loop = pipelines.ancestral_loop(torch.Generator().manual_seed(seed + offset))
    with torch.no_grad():
        v, a = loop(torch.tensor(SIGMAS), video, audio, denoise)
    return (sampling.unpatchify_video(v.latent, frames=f, height=h, width=w),
            sampling.unpatchify_audio(a.latent, channels=audio_noise.shape[1], mel_bins=audio_noise.shape[3]))


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm())


def test_euler_ancestral_sampler_equals_library_loop(comfy_host, pack_nodes, ltx25):
    latent = _latent(pack_nodes)
    sampler = pack_nodes.ancestral.LTX2NSamplerEulerAncestral.execute(1.0, 1.0).result[0]
    ours = _custom(comfy_host, ltx25, sampler, latent, seed=11)["samples"].unbind()
    ref_video, ref_audio = _library_ancestral(comfy_host, ltx25, latent, 11)
    assert _rel(ours[0], ref_video) <= PARITY_RTOL and _rel(ours[1], ref_audio) <= PARITY_RTOL
    euler = comfy_host.node_class("KSamplerSelect").execute("euler").result[0]
    plain = _custom(comfy_host, ltx25, euler, latent, seed=11)["samples"].unbind()
    assert _rel(plain[0], ref_video) > 1e-2  # the ancestral noise matters
    eta0 = pack_nodes.ancestral.LTX2NSamplerEulerAncestral.execute(0.0, 1.0).result[0]
    no_noise = _custom(comfy_host, ltx25, eta0, latent, seed=11)["samples"].unbind()
    for got, want in zip(no_noise, plain, strict=True):  # eta 0 = plain Euler
        torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


def test_sampler_node_defaults_to_version_sampler(comfy_host, pack_nodes, ltx25, demo_models):
    node = pack_nodes.sampling.LTX2NSampler
    latent = _latent(pack_nodes)
    pos = prompt(ltx25, 1)
    default = node.execute(ltx25, pos, pos, latent, 5, "distilled stage 1", 0, "none").result[0]["samples"].unbind()
    ancestral = pack_nodes.ancestral.LTX2NSamplerEulerAncestral.execute(1.0, 1.0).result[0]
    custom = _custom(comfy_host, ltx25, ancestral, latent, 5, sigmas=tuple(pack_module(
        comfy_host, "ltx_model.sampling").DISTILLED_SIGMAS))["samples"].unbind()
    assert all(torch.equal(a, b) for a, b in zip(default, custom, strict=True))  # 2.5 distilled: Euler-ancestral
    euler = comfy_host.node_class("KSamplerSelect").execute("euler").result[0]
    chosen = node.execute(ltx25, pos, pos, latent, 5, "distilled stage 1", 0, "none", sampler=euler).result[0]
    assert not torch.equal(chosen["samples"].unbind()[0], default[0])  # an explicit sampler wins
    refine = node.execute(ltx25, pos, pos, latent, 5, "distilled stage 2", 0, "none").result[0]
    refine_euler = node.execute(ltx25, pos, pos, latent, 5, "distilled stage 2", 0, "none", sampler=euler).result[0]
    assert torch.equal(refine["samples"].unbind()[0], refine_euler["samples"].unbind()[0])  # stage 2: Euler
    model23 = demo_models["2.3-dev"]
    p23 = prompt(model23, 1)
    lat23 = _latent(pack_nodes)
    auto23 = node.execute(model23, p23, p23, lat23, 5, "distilled stage 2", 0, "none").result[0]
    euler23 = node.execute(model23, p23, p23, lat23, 5, "distilled stage 2", 0, "none", sampler=euler).result[0]
    assert torch.equal(auto23["samples"].unbind()[0], euler23["samples"].unbind()[0])  # 2.3: Euler
    make = pack_nodes.sampling.default_sampler_object
    step = pack_nodes.ancestral.sample_euler_ancestral
    assert make(ltx25, guided=False).sampler_function is step
    assert step not in (make(ltx25, guided=True).sampler_function, make(model23, guided=False).sampler_function,
                        make(ltx25, guided=False, schedule="distilled stage 2").sampler_function)


def test_version_defaults_sigmas_stg_and_crf(comfy_host, pack_nodes, ltx25, demo_models):
    sampling = pack_module(comfy_host, "ltx_model.sampling")
    dev25 = pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=DEV_TRANSFORMER).result[0]
    schedule = pack_nodes.sampling.schedule_sigmas
    assert torch.equal(schedule("auto", 0, model=ltx25), sampling.distilled_sigmas())
    assert len(schedule("auto", 0, model=dev25)) == 31  # 2.5 dev: 30 steps, like 2.3
    assert len(schedule("auto", 0, model=demo_models["2.3-dev"])) == 31
    assert len(schedule("LTX-2 schedule", 0, model=demo_models["19b-distilled"])) == 41
    assert pack_nodes.model_loader.model_facts(dev25).defaults().video.stg_blocks == (28,)
    crf = pack_nodes.conditioning.image_crf
    assert crf(-1, ltx25) == 18 and crf(-1, dev25) == 18 and crf(-1, demo_models["2.3-dev"]) == 33
    assert crf(-1) == 33 and crf(25, ltx25) == 25 and crf(0, ltx25) == 0

    class VersionedVAE(StandInVAE):
        ltx2n_model_version = "2.5.0"

    assert crf(-1, None, VersionedVAE()) == 18


def test_image_nodes_use_the_model_version_crf(comfy_host, pack_nodes, ltx25, demo_models, monkeypatch):
    seen = []
    cond = pack_nodes.conditioning
    monkeypatch.setattr(cond, "crf_round_trip", lambda pixels, crf: (seen.append(crf), pixels)[1])
    image = torch.rand(1, 64, 96, 3)
    latent = _latent(pack_nodes)
    pos = prompt(ltx25, 1)
    cond.LTX2NImageToVideo.execute(StandInVAE(), image, latent, 1.0, -1, model=ltx25)
    cond.LTX2NImageToVideo.execute(StandInVAE(), image, latent, 1.0, -1, model=demo_models["2.3-dev"])
    cond.LTX2NImageToVideo.execute(StandInVAE(), image, latent, 1.0, 30, model=ltx25)
    cond.LTX2NFirstLastFrame.execute(pos, pos, StandInVAE(), latent, image, image, 1.0, 1.0, -1, model=ltx25)
    pack_nodes.temporal_modes.LTX2NKeyframes.execute(pos, pos, StandInVAE(), latent, -1, model=ltx25,
                                                     image_1=image, frame_idx_1=0, strength_1=1.0)
    assert seen == [18, 33, 30, 18, 18, 18]


# ---------------------------------------------------------------------------------------------- keyframe slots
def _spy_mask(model, positive, latent):
    """The keyframes mask the node model hands the transformer for ``latent`` with ``positive``'s guides."""
    seen = []

    def runner(video, audio, perturbations):
        seen.append(video.keyframes_mask)
        return torch.zeros(video.latent.shape[:2] + (128,)), torch.zeros(audio.latent.shape[:2] + (128,))

    meta = positive[0][1]
    video, audio = latent["samples"].unbind()
    model.model.diffusion_model([video, audio], torch.tensor([0.5]), positive[0][0], frame_rate=24.0,
                                transformer_options={"ltx2n_pass_runner": runner},
                                keyframe_idxs=meta.get("keyframe_idxs"),
                                guide_attention_entries=meta.get("guide_attention_entries"))
    return seen[0]


def test_generated_keyframe_slots_give_the_library_mask(comfy_host, pack_nodes, ltx25):
    modes = pack_module(comfy_host, "ltx_model.modes")
    sampling = pack_module(comfy_host, "ltx_model.sampling")
    keyframes = pack_nodes.temporal_modes.LTX2NKeyframes
    latent = _latent(pack_nodes, frames=17)
    pos = prompt(ltx25, 1)
    image = torch.rand(1, 64, 96, 3)
    p2, n2, out = keyframes.execute(pos, pos, StandInVAE(), latent, 0, generated_frames="12, 4", model=ltx25,
                                    image_1=image, frame_idx_1=-1, strength_1=1.0).result
    video = out["samples"].unbind()[0]
    assert video.shape[2] == 3 + 3  # 3 latent frames + the keyframe guide + two slots
    assert torch.equal(video[:, :, 4:], torch.zeros_like(video[:, :, 4:]))
    assert out["noise_mask"].unbind()[0][0, 0, 3:, 0, 0].tolist() == [0.0, 1.0, 1.0]
    idxs = p2[0][1]["keyframe_idxs"]
    assert idxs[0, 0, 6:12].tolist() == [[4.0, 5.0]] * 6 and idxs[0, 0, 12:].tolist() == [[12.0, 13.0]] * 6
    slot_bounds = pack_module(comfy_host, "ltx_model.modes.keyframes_mask").slot_pixel_bounds
    torch.testing.assert_close(idxs[..., 6:12, :], slot_bounds(2, 3, 4))
    grid = sampling.VideoGrid(frames=3, height=2, width=3, fps=24.0)
    want = modes.keyframes_mask(grid, 36, slots=((24, 6), (30, 6)))
    assert torch.equal(_spy_mask(ltx25, p2, out), want)
    assert want[0, :, 0].tolist() == [1.0] * 6 + [0.0] * 18 + [1.0] * 12  # not the given keyframe's tokens
    sampled = pack_nodes.sampling.LTX2NSampler.execute(ltx25, p2, n2, out, 3, "distilled stage 2", 0,
                                                       "none").result[0]
    cropped = pack_nodes.conditioning.LTX2NCropGuides.execute(p2, n2, sampled).result[2]
    assert cropped["samples"].unbind()[0].shape[2] == 3 and torch.isfinite(cropped["samples"].unbind()[0]).all()


def test_generated_keyframe_slots_refusals(comfy_host, pack_nodes, ltx25, demo_models):
    keyframes = pack_nodes.temporal_modes.LTX2NKeyframes
    model23 = demo_models["2.3-dev"]
    pos = prompt(model23, 1)
    image = torch.rand(1, 64, 96, 3)
    args = {"image_1": image, "frame_idx_1": 0, "strength_1": 1.0}
    with pytest.raises(ValueError, match=r"Keyframes \(LTX-2\): generated keyframe slots need an LTX-2.5 model.*"
                                         r"the model is LTX-2.3"):
        keyframes.execute(pos, pos, StandInVAE(), _latent(pack_nodes, 17), 0, generated_frames="8", model=model23,
                          **args)
    p2, n2, out = keyframes.execute(pos, pos, StandInVAE(), _latent(pack_nodes, 17), 0, generated_frames="8", **args
                                    ).result  # no model connected: the model refuses them when sampling
    with pytest.raises(ValueError, match="generated keyframe slots need an LTX-2.5 model"):
        pack_nodes.sampling.LTX2NSampler.execute(model23, p2, n2, out, 3, "distilled stage 2", 0, "none")
    with pytest.raises(ValueError, match=r"generated keyframe frames must lie in \[0, 17\)"):
        keyframes.execute(pos, pos, StandInVAE(), _latent(pack_nodes, 17), 0, generated_frames="17", **args)
    assert "generated_frames must be frame numbers" in keyframes.validate_inputs("4, x")
    assert keyframes.validate_inputs("4 -1") is True and keyframes.validate_inputs("") is True


# ---------------------------------------------------------------------------------------------- core nodes
def test_core_nodes_on_ltx25_model_with_euler_ancestral(comfy_host, pack_nodes, ltx25):
    latent = _latent(pack_nodes)
    pos = prompt(ltx25, 1)
    out = comfy_host.node_class("KSampler")().sample(ltx25, 3, 2, 1.0, "euler", "simple", pos, pos, latent)[0]
    assert all(torch.isfinite(t).all() for t in out["samples"].unbind())
    lora = comfy_host.node_class("LoraLoaderModelOnly")().load_lora_model_only(ltx25, LORA, 1.0)[0]
    assert lora.patches and not ltx25.patches
    sampler = pack_nodes.ancestral.LTX2NSamplerEulerAncestral.execute(1.0, 1.0).result[0]
    with_lora = _custom(comfy_host, lora, sampler, latent, seed=4, cfg=2.0)["samples"].unbind()
    again = _custom(comfy_host, lora, sampler, latent, seed=4, cfg=2.0)["samples"].unbind()
    without = _custom(comfy_host, ltx25, sampler, latent, seed=4, cfg=2.0)["samples"].unbind()
    assert all(torch.isfinite(t).all() for t in with_lora)
    assert torch.equal(with_lora[0], again[0]) and not torch.equal(with_lora[0], without[0])
