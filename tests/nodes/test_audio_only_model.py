"""Load LTX-2 Model with ``streams = audio only (text-to-audio)``: the audio stream alone inside the real host.

The audio-only MODEL is compared with the audio+video MODEL of the same demo file on a 2-step guided text-to-audio
run (CFG + STG + modality passes, the pack's sampler): the audio latents must be bit-identical (same weights, and
the full model leaves the video stream and the audio<->video cross-attention out for an audio-only latent, so
both run the same operations; ``tests/unit/test_loading_audio_only.py`` checks one pass of the library exactly).
"""

from __future__ import annotations

import logging

import pytest
import torch
from node_support import prompt

pytestmark = pytest.mark.comfy


@pytest.fixture(scope="module")
def models(pack_nodes, demo_files, demo_models) -> dict:
    """``{"full": MODEL, "audio": MODEL}`` of the 2.3 dev demo file (audio+video / audio only)."""
    loaders = pack_nodes.loaders
    audio = loaders.LTX2NCheckpointLoader.execute(ckpt_name=demo_files.ltx23_dev, streams=loaders.AUDIO_ONLY)
    return {"full": demo_models["2.3-dev"], "audio": audio.result[0]}


def _is_video_or_cross(key: str) -> bool:
    """A transformer parameter outside the audio stream (connectors excluded)."""
    local = key.split(".", 2)[2] if key.startswith("transformer_blocks.") else key
    return not local.startswith(("audio_", "video_embeddings_connector.")) or local.startswith("audio_to_video")


def test_audio_only_model_holds_only_the_audio_stream(models):
    full, audio = models["full"], models["audio"]
    keys = list(audio.model.diffusion_model.state_dict())
    assert keys and not any(_is_video_or_cross(k) for k in keys)
    assert audio.model.diffusion_model.has_connectors  # text connectors loaded as for the full model
    assert 0 < audio.model_size() < 0.5 * full.model_size()
    full_sd = full.model.diffusion_model.state_dict()
    assert all(torch.equal(v, full_sd[k]) for k, v in audio.model.diffusion_model.state_dict().items())
    # activation estimate: the audio width, not the video width
    shape = [2, 1, 128 * 50]
    config = audio.model.diffusion_model.config
    ratio = config.audio_inner_dim / config.video_inner_dim
    assert audio.model.memory_required(shape) == pytest.approx(ratio * full.model.memory_required(shape))


def _t2a(nodes, model, latent) -> torch.Tensor:
    pos, neg = prompt(model, 3), prompt(model, 4)
    out = nodes.sampling.LTX2NSampler.execute(model, pos, neg, latent, 5, "LTX-2 schedule", 2, "auto").result[0]
    video, audio = out["samples"].unbind()
    assert video.numel() == 0
    return audio


def test_audio_only_model_t2a_equals_full_model(comfy_host, models):
    nodes = comfy_host.pack_nodes
    latent = nodes.audio_modes.LTX2NEmptyAudioLatent.execute(0.4, 2).result[0]
    expected = _t2a(nodes, models["full"], latent)
    got = _t2a(nodes, models["audio"], latent)
    assert expected.abs().mean() > 0.05
    assert torch.equal(got, expected)


def test_audio_only_model_refuses_video_latents(comfy_host, models):
    nodes, model = comfy_host.pack_nodes, models["audio"]
    av = nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 24.0, 1).result[0]
    with pytest.raises(ValueError, match="can only generate audio"):
        nodes.sampling.LTX2NSampler.execute(model, prompt(model, 1), prompt(model, 2), av, 5, "auto", 1, "auto")
    video_only = {"samples": torch.zeros(1, 128, 2, 2, 2)}
    ksampler = comfy_host.node_class("KSampler")()
    with pytest.raises(ValueError, match="can only generate audio"):
        ksampler.sample(model, 1, 1, 1.0, "euler", "simple", prompt(model, 1), prompt(model, 2), video_only)


def test_audio_only_model_core_lora_patches_audio_weights(comfy_host, models, caplog):
    """Core LoraLoaderModelOnly patches the audio weights; its video keys are not loaded (core logs one
    'lora key not loaded' warning per skipped LoRA tensor: that is ComfyUI's own reporting)."""
    from ltx_model.loading import write_safetensors

    model = models["audio"]
    state = model.model.diffusion_model.state_dict()
    lora = {}
    for target in ("transformer_blocks.0.audio_attn1.to_q", "transformer_blocks.0.attn1.to_q"):
        weight = state.get(target + ".weight", torch.zeros(4, 4))
        lora[f"diffusion_model.{target}.lora_A.weight"] = torch.full((1, weight.shape[1]), 0.1)
        lora[f"diffusion_model.{target}.lora_B.weight"] = torch.full((weight.shape[0], 1), 0.2)
    write_safetensors(comfy_host.model_dir("loras") / "ltx2n_audio_only_lora.safetensors", lora)
    with caplog.at_level(logging.WARNING):
        patched = comfy_host.node_class("LoraLoaderModelOnly")().load_lora_model_only(
            model, "ltx2n_audio_only_lora.safetensors", 1.0)[0]
    assert list(patched.patches) == ["diffusion_model.transformer_blocks.0.audio_attn1.to_q.weight"]
    skipped = [r.getMessage() for r in caplog.records if "lora key not loaded" in r.getMessage()]
    assert len(skipped) == 2 and all(".attn1.to_q.lora_" in m and "audio_" not in m for m in skipped)
