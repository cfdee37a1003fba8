"""Faults, in-process (patches live inside each test only): an out-of-memory error during the pack's video decode
is retried with smaller tiles before the node fails; failed nodes leave no model half-patched (LoRA loader errors
keep the input MODEL's patches, an interrupted sampling of a LoRA'd clone does not leak into the original)."""

from __future__ import annotations

import copy
import logging

import pytest
import torch

pytestmark = pytest.mark.reliability

CKPT = "rel-faults-2.3.safetensors"


@pytest.fixture(scope="module")
def fault_files(comfy_host, tmp_path_factory):
    """A tiny 2.3 checkpoint, a LoRA for it and a misfit LoRA, in extra folders of the in-process host."""
    from rel_inprocess import extra_model_folder

    from ltx_model.demo import DemoFamily, write_demo_checkpoint
    from ltx_model.loading import write_safetensors
    from scripts.workflow_models import write_demo_lora

    root = tmp_path_factory.mktemp("rel_faults")
    with extra_model_folder("checkpoints", root / "ckpt") as ckpt, extra_model_folder("loras", root / "lora") as lora:
        write_demo_checkpoint(ckpt / CKPT, DemoFamily.LTX23, dtype=torch.float32)
        write_demo_lora(lora / "rel-ok.safetensors", DemoFamily.LTX23)
        write_demo_lora(lora / "rel-19b.safetensors", DemoFamily.LTX2, rank=2)
        write_safetensors(lora / "rel-misfit.safetensors", {
            "diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(4, 64),
            "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(64, 4)})
        yield


# ---------------------------------------------------------------------------------------------- OOM during decode
@pytest.fixture
def oom_decoder(comfy_host, fault_files, monkeypatch):
    """``(vae, calls)``: the pack's video VAE whose decoder raises torch.OutOfMemoryError for latent tiles of more
    than ``calls["limit"]`` cells (h x w); ``calls["sizes"]`` records every attempted tile, ``"ooms"`` the failures."""
    vae = comfy_host.pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name=CKPT).result[0]
    decoder_cls = type(vae.model.decoder)
    original, calls = decoder_cls.forward, {"limit": 0, "sizes": [], "ooms": 0}

    def forward(self, x, *args, **kwargs):
        cells = x.shape[-1] * x.shape[-2]
        calls["sizes"].append(cells)
        if cells > calls["limit"]:
            calls["ooms"] += 1
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (simulated)")
        return original(self, x, *args, **kwargs)

    monkeypatch.setattr(decoder_cls, "forward", forward)
    return vae, calls


def _latent(width: int = 128, height: int = 128, frames: int = 9) -> dict:
    g = torch.Generator().manual_seed(0)
    return {"samples": torch.randn(1, 128, 1 + (frames - 1) // 8, height // 32, width // 32, generator=g)}


def test_reliability_oom_during_decode_retries_smaller_tiles(comfy_host, oom_decoder, caplog):
    vae, calls = oom_decoder
    calls["limit"] = 4  # 2 x 2 latent cells per tile fit, anything larger "runs out of memory"
    decode = comfy_host.pack_nodes.vae.LTX2NDecodeVideo.execute
    with caplog.at_level(logging.WARNING):
        images = decode(samples=_latent(), vae=vae).result[0]
    assert calls["ooms"] >= 1 and calls["sizes"][0] == 16, calls  # the whole 4 x 4 latent was tried first
    assert max(s for s in calls["sizes"][calls["ooms"]:]) <= 4, "the successful plan used small tiles"
    assert tuple(images.shape) == (9, 128, 128, 3) and torch.isfinite(images).all()
    assert "retrying with smaller tiles" in caplog.text


def test_reliability_oom_on_every_plan_fails_clearly_then_recovers(comfy_host, pack_nodes, oom_decoder,
                                                                   monkeypatch):
    vae, calls = oom_decoder
    calls["limit"] = 0  # nothing fits
    node = comfy_host.pack_nodes.vae
    big = _latent(512, 512, 81)
    plans = comfy_host.pack_nodes.vae_host.decode_plans(vae.model.config, big["samples"].shape,
                                                        vae.decode_bytes_per_pixel)
    with pytest.raises(torch.OutOfMemoryError, match="out of memory"):
        node.LTX2NDecodeVideo.execute(samples=big, vae=vae)
    assert calls["ooms"] == len(plans) > 4, "each plan (largest tiles first) is tried once before failing"
    monkeypatch.undo()
    assert tuple(node.LTX2NDecodeVideo.execute(samples=_latent(), vae=vae).result[0].shape) == (9, 128, 128, 3)


# ---------------------------------------------------------------------------------------------- no half-patching
def _snapshot(model) -> dict:
    """What a later prompt would see of a MODEL: its patches, options and weights."""
    return {"patches": {k: len(v) for k, v in model.patches.items()}, "uuid": model.patches_uuid,
            "options": repr(model.model_options),
            "weights": {k: v.detach().clone() for k, v in model.model.diffusion_model.state_dict().items()}}


def _same(a: dict, b: dict) -> bool:
    return a["patches"] == b["patches"] and a["uuid"] == b["uuid"] and a["options"] == b["options"] and all(
        torch.equal(a["weights"][k], b["weights"][k]) for k in a["weights"])


@pytest.fixture
def model(comfy_host, fault_files):
    return comfy_host.pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=CKPT).result[0]


@pytest.mark.parametrize("lora", ["rel-misfit.safetensors", "rel-19b.safetensors"])
def test_reliability_failed_lora_loader_leaves_model_unpatched(comfy_host, model, lora):
    before = _snapshot(model)
    with pytest.raises(ValueError, match=lora):
        comfy_host.pack_nodes.lora.LTX2NLoraLoader.execute(model=model, lora_name=lora, strength=1.0)
    assert _same(before, _snapshot(model)), "the failed LoRA load changed the input MODEL"


def _sample(comfy_host, model, seed: int = 3) -> torch.Tensor:
    widths = model.model.diffusion_model.context_widths()
    cond = [[torch.randn(1, 5, sum(widths), generator=torch.Generator().manual_seed(1)), {"frame_rate": 25.0}]]
    latent = comfy_host.pack_nodes.latents.LTX2NEmptyAVLatent.execute(width=64, height=64, frames=9, fps=25.0,
                                                                      batch_size=1).result[0]
    out = comfy_host.pack_nodes.sampling.LTX2NSampler.execute(model=model, positive=cond, negative=cond,
                                                              latent=latent, seed=seed, schedule="LTX-2 schedule",
                                                              steps=3, guidance="none").result[0]
    return out["samples"].unbind()[0].clone()


def test_reliability_interrupted_lora_sampling_leaves_original_model_intact(comfy_host, model, monkeypatch):
    import comfy.model_management as mm
    import comfy.utils

    reference, before = _sample(comfy_host, model), _snapshot(model)
    lora = comfy_host.pack_nodes.lora.LTX2NLoraLoader.execute(model=model, lora_name="rel-ok.safetensors",
                                                              strength=1.0).result[0]
    assert _same(before, _snapshot(model)), "the LoRA loader patched the input MODEL instead of a clone"
    with_lora = _sample(comfy_host, lora)
    assert not torch.equal(with_lora, reference), "the LoRA changed nothing (test would prove nothing)"

    update = comfy.utils.ProgressBar.update_absolute

    def interrupt_after_first_step(self, *args, **kwargs):
        update(self, *args, **kwargs)
        mm.interrupt_current_processing(True)

    monkeypatch.setattr(comfy.utils.ProgressBar, "update_absolute", interrupt_after_first_step)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            _sample(comfy_host, lora)  # fails mid-way with the LoRA patched into the shared weights
    finally:
        mm.interrupt_current_processing(False)
        monkeypatch.undo()
    assert torch.equal(_sample(comfy_host, model), reference), "the original MODEL still carries the LoRA"
    assert _sample(comfy_host, lora).equal(with_lora)
    assert copy.deepcopy(before["patches"]) == _snapshot(model)["patches"]
