"""Conditioning into the model inside the real host: core's unprocessed text embeds through our connectors, core
LTXV guide / in-place image nodes, and the pack's image-to-video, first-last frame and crop nodes."""

from __future__ import annotations

import pytest
import torch
from node_support import StandInVAE, pack_module, prompt

pytestmark = pytest.mark.comfy


def _av(pack_nodes, width=64, height=64, frames=17):
    return pack_nodes.latents.LTX2NEmptyAVLatent.execute(width, height, frames, 24.0, 1).result[0]


def _image(height=64, width=64, frames=1, seed=0):
    return torch.rand(frames, height, width, 3, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("family", ["2.3-dev", "19b-distilled"])
def test_text_core_unprocessed_embeds_run_checkpoint_connectors(comfy_host, demo_models, demo_files, family):
    """core LTXAVTextEncoderLoader + CLIPTextEncode output ({"unprocessed_ltxav_embeds": True}, projected Gemma
    features of the valid tokens) == our connectors on the tokens padded to 1024 (registers), per ltx-core."""
    from ltx_model.loading import Component, load_component

    model = demo_models[family]
    name = demo_files.ltx23_dev if family == "2.3-dev" else demo_files.ltx2_distilled
    connectors = load_component(comfy_host.model_dir("checkpoints") / name, Component.CONNECTORS,
                                dtype=torch.float32)
    vw, aw = connectors.config.video.width, connectors.config.audio.width
    width = vw + aw if family == "2.3-dev" else vw  # 2.3: video|audio features; 19B: one shared caption tensor
    features = torch.randn(1, 7, width, generator=torch.Generator().manual_seed(1))
    conds = model.model.extra_conds(cross_attn=features, unprocessed_ltxav_embeds=True, device=torch.device("cpu"))
    context = conds["c_crossattn"].cond
    padded = torch.nn.functional.pad(features, (0, 0, 0, 1024 - 7))
    mask = (torch.arange(1024) < 7).long()[None]
    video, audio = (padded[..., :vw], padded[..., vw:]) if family == "2.3-dev" else (padded, padded)
    with torch.no_grad():
        expected = connectors(video, audio, mask)
    assert tuple(context.shape) == (1, 1024, sum(model.model.diffusion_model.context_widths()))
    torch.testing.assert_close(context, torch.cat([expected.video, expected.audio], -1), atol=1e-5, rtol=1e-5)
    # and the whole sampler path takes that conditioning (KSampler, core's calling convention)
    core_cond = [[features, {"unprocessed_ltxav_embeds": True, "frame_rate": 24.0}]]
    latent = comfy_host.node_class("LTXVConcatAVLatent").execute(
        {"samples": torch.zeros(1, 128, 2, 2, 2)}, {"samples": torch.zeros(1, 8, 9, 16)}).result[0]
    out = comfy_host.node_class("KSampler")().sample(model, 1, 2, 2.0, "euler", "simple", core_cond, core_cond,
                                                     latent)[0]
    assert torch.isfinite(out["samples"].unbind()[0]).all()


def test_text_transformer_only_model_refuses_core_embeds_clearly(comfy_host, pack_nodes, manifests_dir):
    import json

    from tiny_weights import write_tiny_checkpoint

    manifest = json.loads((manifests_dir / "ltx-2-19b.json").read_text())
    write_tiny_checkpoint(comfy_host.model_dir("checkpoints") / "ltx2n_nodes_transformer_only.safetensors", manifest)
    model = pack_nodes.loaders.LTX2NCheckpointLoader.execute("ltx2n_nodes_transformer_only.safetensors").result[0]
    with pytest.raises(ValueError, match="without its text connectors"):
        model.model.extra_conds(cross_attn=torch.zeros(1, 3, 12), unprocessed_ltxav_embeds=True,
                                device=torch.device("cpu"))


@pytest.mark.parametrize("strength", [1.0, 0.5])
def test_guides_equal_library_keyframe_conditioning(comfy_host, pack_nodes, demo_models, strength):
    """A guide appended the ComfyUI way (extra latent frame + keyframe_idxs + guide_attention_entries) gives the
    same transformer output as ltx_model's KeyframeAtFrame (wrapped in WithAttentionStrength) on patchified tokens."""
    lib = {n: pack_module(comfy_host, f"ltx_model.{n}") for n in ("sampling", "conditioning", "transformer")}
    dm = demo_models["2.3-dev"].model.diffusion_model
    g = torch.Generator().manual_seed(2)
    video, guide = torch.randn(1, 128, 3, 2, 2, generator=g), torch.randn(1, 128, 1, 2, 2, generator=g)
    audio, sigma = torch.randn(1, 8, 13, 16, generator=g), torch.tensor([0.7])
    context = prompt(demo_models["2.3-dev"], 3)[0][0]
    parts = pack_nodes.conditioning.AVParts(video, audio, None, None)
    pos = [[context, {}]]
    parts, pos, _ = pack_nodes.conditioning.append_guide(parts, pos, pos, guide, 16, 0.8)
    entries = [{**e, "strength": strength} for e in pos[0][1]["guide_attention_entries"]]
    v_t = lib["sampling"].patchify_video(parts.video_mask.expand(1, 1, 4, 2, 2)).squeeze(-1) * sigma
    ours = dm([parts.video, audio], (v_t, sigma, sigma, sigma), context=context, frame_rate=24.0,
              keyframe_idxs=pos[0][1]["keyframe_idxs"], guide_attention_entries=entries)[0]
    grid = lib["sampling"].VideoGrid(frames=3, height=2, width=2, fps=24.0)
    item = lib["conditioning"].KeyframeAtFrame(latent=guide, frame_index=16, strength=0.8)
    if strength < 1:
        item = lib["conditioning"].WithAttentionStrength(item, strength)
    state = item.apply_to(lib["sampling"].initial_state(grid, latent=video))
    modality = lib["transformer"].Modality
    vm = modality(latent=state.latent, sigma=sigma, timesteps=state.denoise_mask[..., 0] * sigma,
                  positions=state.positions, context=context[..., :dm.context_widths()[0]],
                  attention_mask=state.attention_mask)
    am = modality(latent=lib["sampling"].patchify_audio(audio), sigma=sigma, timesteps=sigma.view(1, 1),
                  positions=lib["sampling"].audio_positions(lib["sampling"].AudioGrid(frames=13)),
                  context=context[..., dm.context_widths()[0]:])
    expected, _ = lib["transformer"].LTXTransformer.forward(dm, vm, am, options=dm._options({}))
    torch.testing.assert_close(lib["sampling"].patchify_video(ours), expected, atol=1e-5, rtol=1e-5)


def test_guides_core_add_guide_sample_and_crop(comfy_host, pack_nodes, demo_models):
    """core LTXVAddGuide (strength < 1: guide attention mask) -> LTXVConcatAVLatent -> KSampler on our model ->
    LTXVSeparateAVLatent -> LTXVCropGuides gives the original video size back."""
    node = comfy_host.node_class
    model, vae = demo_models["2.3-dev"], StandInVAE()
    pos, neg = prompt(model, 1), prompt(model, 2)
    video_latent, audio_latent = node("LTXVSeparateAVLatent").execute(_av(pack_nodes)).result
    pos, neg, guided = node("LTXVAddGuide").execute(pos, neg, vae, video_latent, _image(), 8, 0.7).result
    assert tuple(guided["samples"].shape) == (1, 128, 4, 2, 2) and pos[0][1]["keyframe_idxs"].shape[2] == 4
    latent = node("LTXVConcatAVLatent").execute(guided, audio_latent).result[0]
    out = node("KSampler")().sample(model, 1, 2, 2.0, "euler", "simple", pos, neg, latent)[0]
    video_out, audio_out = node("LTXVSeparateAVLatent").execute(out).result
    _, _, cropped = node("LTXVCropGuides").execute(pos, neg, video_out).result
    assert tuple(cropped["samples"].shape) == (1, 128, 3, 2, 2) and torch.isfinite(cropped["samples"]).all()
    # the pack's crop node on the audio+video latent agrees
    _, _, ours = pack_nodes.conditioning.LTX2NCropGuides.execute(pos, neg, out).result
    torch.testing.assert_close(ours["samples"].unbind()[0], cropped["samples"], atol=0, rtol=0)


def test_image_to_video_equals_core_inplace_and_keeps_audio(comfy_host, pack_nodes):
    vae, image, latent = StandInVAE(), _image(seed=4), _av(pack_nodes)
    ours = pack_nodes.conditioning.LTX2NImageToVideo.execute(vae, image, latent, 0.9, 0).result[0]
    video_latent, audio_latent = comfy_host.node_class("LTXVSeparateAVLatent").execute(latent).result
    core = comfy_host.node_class("LTXVImgToVideoInplace").execute(vae, image, video_latent, 0.9).result[0]
    video, audio = ours["samples"].unbind()
    video_mask, audio_mask = ours["noise_mask"].unbind()
    torch.testing.assert_close(video, core["samples"], atol=1e-6, rtol=0)
    torch.testing.assert_close(video_mask, core["noise_mask"], atol=0, rtol=0)
    assert torch.equal(audio, audio_latent["samples"]) and torch.equal(audio_mask, torch.ones_like(audio))
    compressed = pack_nodes.conditioning.LTX2NImageToVideo.execute(vae, image, latent, 0.9, 33).result[0]
    assert not torch.equal(compressed["samples"].unbind()[0], video)  # the CRF-33 round trip changed the pixels


def test_core_img_to_video_inplace_first_frame_survives_sampling(comfy_host, pack_nodes, demo_models):
    node, model = comfy_host.node_class, demo_models["19b-distilled"]
    video_latent, audio_latent = node("LTXVSeparateAVLatent").execute(_av(pack_nodes)).result
    conditioned = node("LTXVImgToVideoInplace").execute(StandInVAE(), _image(seed=5), video_latent, 1.0).result[0]
    latent = node("LTXVConcatAVLatent").execute(conditioned, audio_latent).result[0]
    out = pack_nodes.sampling.LTX2NSampler.execute(model, prompt(model, 1), prompt(model, 2), latent, 1, "auto", 0,
                                                   "auto").result[0]
    video = out["samples"].unbind()[0]
    torch.testing.assert_close(video[:, :, :1], conditioned["samples"][:, :, :1], atol=1e-6, rtol=0)
    assert not torch.allclose(video[:, :, 1:], conditioned["samples"][:, :, 1:])


def test_first_last_frame_appends_guide_and_crop_restores(comfy_host, pack_nodes, demo_models):
    model, vae = demo_models["2.3-dev"], StandInVAE()
    pos, neg, latent = prompt(model, 1), prompt(model, 2), _av(pack_nodes, frames=17)
    node = pack_nodes.conditioning.LTX2NFirstLastFrame
    pos, neg, out = node.execute(pos, neg, vae, latent, _image(seed=1), _image(seed=2), 1.0, 0.6, 0).result
    video, audio = out["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 4, 2, 2) and tuple(audio.shape) == tuple(latent["samples"].unbind()[1].shape)
    idxs = pos[0][1]["keyframe_idxs"]
    assert tuple(idxs.shape) == (1, 3, 4, 2) and idxs[0, 0, :, 0].eq(16).all() and idxs[0, 0, :, 1].eq(24).all()
    mask = out["noise_mask"].unbind()[0]
    assert mask[0, 0, :, 0, 0].tolist() == pytest.approx([0.0, 1.0, 1.0, 0.4])
    torch.testing.assert_close(video[:, :, 3:], vae.encode(_image(seed=2)), atol=1e-6, rtol=0)
    sampled = pack_nodes.sampling.LTX2NSampler.execute(model, pos, neg, out, 2, "LTX-2 schedule", 2, "none").result[0]
    pos2, _, cropped = pack_nodes.conditioning.LTX2NCropGuides.execute(pos, neg, sampled).result
    assert tuple(cropped["samples"].unbind()[0].shape) == (1, 128, 3, 2, 2) and "keyframe_idxs" not in [
        k for k, v in pos2[0][1].items() if v is not None]
    video_part = comfy_host.node_class("LTXVSeparateAVLatent").execute(sampled).result[0]
    core = comfy_host.node_class("LTXVCropGuides").execute(pos, neg, video_part).result[2]
    torch.testing.assert_close(core["samples"], cropped["samples"].unbind()[0], atol=0, rtol=0)


@pytest.mark.parametrize(("inputs", "message"), [
    ({"width": 96, "height": 64, "frames": 9, "fps": 24.0, "stages": "two stages (x2 upscale)"}, "multiples of 64"),
    ({"width": 64, "height": 64, "frames": 10, "fps": 24.0}, "1 + 8k"),
    ({"width": 70, "height": 64, "frames": 9, "fps": 24.0}, "multiples of 32"),
    ({"width": 64, "height": 64, "frames": 9, "fps": 0.0}, "fps must be > 0"),
])
def test_empty_latent_bad_sizes_rejected_at_validation(comfy_host, inputs, message):
    from harness import PromptRejected

    prompt_ = {"1": {"class_type": "LTX2NEmptyAVLatent", "inputs": {**inputs, "batch_size": 1}},
               "2": {"class_type": "SaveLatent", "inputs": {"samples": ["1", 0], "filename_prefix": "x"}}}
    with pytest.raises(PromptRejected) as info:
        comfy_host.validate(prompt_)
    assert message in str(info.value.node_errors)


def test_empty_latent_two_stage_is_half_size(pack_nodes):
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(128, 64, 9, 24.0, 1, "two stages (x2 upscale)").result[0]
    assert tuple(latent["samples"].unbind()[0].shape) == (1, 128, 2, 1, 2)


def test_text_connectors_loaded_under_official_names(comfy_host, demo_models, demo_files):
    from ltx_model.loading import read_header

    for name, model in ((demo_files.ltx23_dev, demo_models["2.3-dev"]),
                        (demo_files.ltx2_distilled, demo_models["19b-distilled"])):
        header = read_header(comfy_host.model_dir("checkpoints") / name)
        file_keys = {k for k in header.tensors if k.startswith("model.diffusion_model.")}
        model_keys = {"model." + k for k in model.model.state_dict() if k.startswith("diffusion_model.")}
        assert model_keys == file_keys and any("audio_embeddings_connector" in k for k in model_keys)


def test_core_img_to_video_and_model_sampling_ltxv_with_our_model(comfy_host, pack_nodes, demo_models):
    """core ``LTXVImgToVideo`` (a video-only latent with a per-frame noise mask) + core ``ModelSamplingLTXV`` (a
    token-dependent shift patched onto a clone) + core ``KSampler`` run on our MODEL: the conditioned first latent
    frame survives sampling, the rest is generated, the shift patch changes the result and leaves the input model
    untouched."""
    node, model = comfy_host.node_class, demo_models["19b-distilled"]
    positive, negative = prompt(model, 1), prompt(model, 2)
    _, _, latent = node("LTXVImgToVideo").execute(positive, negative, _image(seed=6), StandInVAE(), 64, 64, 17, 1,
                                                  1.0).result
    assert tuple(latent["samples"].shape) == (1, 128, 3, 2, 2) and latent["noise_mask"][0, 0, 0].item() == 0.0
    shifted = node("ModelSamplingLTXV").execute(model, 2.05, 0.95, latent).result[0]
    sampling = shifted.get_model_object("model_sampling")
    assert sampling is not model.get_model_object("model_sampling") and sampling.shift != 1.0

    def sample(m):
        return node("KSampler")().sample(m, 7, 2, 1.0, "euler", "simple", positive, negative, latent)[0]["samples"]

    out, plain = sample(shifted), sample(model)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out[:, :, :1], latent["samples"][:, :, :1], atol=1e-6, rtol=0)
    assert not torch.allclose(out[:, :, 1:], latent["samples"][:, :, 1:])
    assert not torch.allclose(out, plain), "ModelSamplingLTXV's shift had no effect"
