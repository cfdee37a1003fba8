"""Every trainer's LoRA layout through the pack's Load LoRA (LTX-2) and through core ``LoraLoaderModelOnly`` on the
pack's MODEL (tiny LTX-2.3 demo model): the patches' weights in float64 (core's own ``calculate_weight``) and one
forward pass (weights from core's ``patch_weight_to_device``) against the adapter formulas in
tests/lora_format_files.py. What core does is asserted as it is (the README's compatibility table)."""

from __future__ import annotations

import copy
import logging

import pytest
import torch
from lora_format_files import Q, dora_reference, flat, plain_lora, trainer_files

from ltx_model.loading import write_safetensors
from ltx_model.transformer import LTXTransformer, Modality

pytestmark = pytest.mark.comfy
STRENGTH = 0.7
# what core LoraLoaderModelOnly does with each layout on the pack's MODEL
CORE = {
    "lightricks": "exact", "peft": "skipped", "kohya_musubi": "exact", "diffusers": "skipped",
    "comfy_trained": "exact", "comfy_extracted": "exact", "lycoris_lokr": "exact", "lycoris_lokr_full": "exact",
    "lycoris_loha": "exact", "dora_out_axis": "wrong", "dora_in_axis": "exact", "peft_dora": "skipped",
}


@pytest.fixture(scope="module")
def model(demo_models):
    return demo_models["2.3-dev"]


@pytest.fixture(scope="module")
def base(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().double().clone() for k, v in model.model.diffusion_model.state_dict().items()}


def _patched(patcher, key: str, base: dict) -> torch.Tensor:
    """``key`` (transformer-relative) after the patcher's patches, computed by core in float64."""
    import comfy.lora

    full = f"diffusion_model.{key}"
    return comfy.lora.calculate_weight(patcher.patches[full], base[key].clone(), full,
                                       intermediate_dtype=torch.float64)


def _forward(transformer: torch.nn.Module) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass of the library transformer on fixed inputs (video 6 tokens, audio 5)."""
    config, gen = transformer.config, torch.Generator().manual_seed(1)

    def one(tokens: int, channels: int, axes: int, context: int) -> Modality:
        start = torch.rand(1, axes, tokens, generator=gen).cumsum(2)
        return Modality(latent=torch.randn(1, tokens, channels, generator=gen), sigma=torch.full((1,), 0.5),
                        timesteps=torch.full((1, tokens, 1), 0.5), positions=torch.stack([start, start + 1], -1),
                        context=torch.randn(1, 4, context, generator=gen))

    with torch.no_grad():
        return LTXTransformer.forward(transformer, one(6, config.in_channels, 3, config.cross_attention_dim),
                                      one(5, config.audio_in_channels, 1, config.audio_cross_attention_dim))


def _forward_with(model, weights: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    copy_ = copy.deepcopy(model.model.diffusion_model)
    copy_.load_state_dict({k: v.float() for k, v in weights.items()}, strict=False)
    return _forward(copy_)


def _write(host, layout: str, tensors: dict) -> str:
    name = f"ltx2n_fmt_{layout}.safetensors"
    write_safetensors(host.model_dir("loras") / name, tensors)
    return name


@pytest.mark.parametrize("layout", sorted(CORE))
def test_lora_format_pack_loader_exact_and_core_as_documented(comfy_host, pack_nodes, model, base, layout, caplog):
    made = trainer_files(base)[layout]
    name = _write(comfy_host, layout, made.tensors)
    expected = made.expected(base, STRENGTH)
    with caplog.at_level(logging.WARNING):
        ours = pack_nodes.lora.LTX2NLoraLoader.execute(model, name, STRENGTH).result[0]
    assert not [r for r in caplog.records if name in r.getMessage()]  # every key used: no warning
    assert set(ours.patches) == {f"diffusion_model.{k}" for k in expected}
    for key, want in expected.items():
        torch.testing.assert_close(_patched(ours, key, base), want, atol=1e-10, rtol=1e-10)
    patched = {k: ours.patch_weight_to_device(f"diffusion_model.{k}", return_weight=True) for k in expected}
    for got, want in zip(_forward_with(model, patched), _forward_with(model, expected), strict=True):
        torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert not torch.equal(_forward_with(model, patched)[0], _forward_with(model, {})[0])

    core = comfy_host.node_class("LoraLoaderModelOnly")().load_lora_model_only(model, name, STRENGTH)[0]
    if CORE[layout] == "skipped":
        assert core.patches == {}
    elif CORE[layout] == "exact":
        assert set(core.patches) == set(ours.patches)
        for key, want in expected.items():
            torch.testing.assert_close(_patched(core, key, base), want, atol=1e-10, rtol=1e-10)
    else:  # output-axis DoRA: core divides by the norm of W, not of W + dW
        for key in expected:
            got, stem = _patched(core, key, base), "lora_unet_" + flat(key.rsplit(".", 1)[0])
            delta = (4.0 / made.tensors[f"{stem}.lora_down.weight"].shape[0]) * (
                made.tensors[f"{stem}.lora_up.weight"] @ made.tensors[f"{stem}.lora_down.weight"])
            core_rule = dora_reference(base[key], delta, made.tensors[f"{stem}.dora_scale"], STRENGTH,
                                       norm_of_base=True)
            torch.testing.assert_close(got, core_rule, atol=1e-10, rtol=1e-10)
            assert (got - expected[key]).abs().max() > 1e-3
    assert model.patches == {}


def test_lora_format_pack_loader_refuses_other_models_and_broken_files(comfy_host, pack_nodes, model, base):
    flux = {"transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight": torch.zeros(2, 16),
            "transformer.single_transformer_blocks.0.attn.to_q.lora_B.weight": torch.zeros(16, 2)}
    name = _write(comfy_host, "flux", flux)
    problem = pack_nodes.lora.lora_problem(str(comfy_host.model_dir("loras") / name))
    assert "is a LoRA for another model (it looks like Flux" in problem
    with pytest.raises(ValueError, match="it looks like Flux"):
        pack_nodes.lora.LTX2NLoraLoader.execute(model, name, 1.0)
    a_only = {f"lora_unet_{flat(Q)}.lora_down.weight": torch.zeros(2, 16)}
    name = _write(comfy_host, "a_only", a_only)
    with pytest.raises(ValueError, match=rf"without both A and B.*{Q} \(LoRA\) lacks B"):
        pack_nodes.lora.LTX2NLoraLoader.execute(model, name, 1.0)
    ranks = {f"transformer.{Q}.lora_A.weight": torch.zeros(4, 16), f"transformer.{Q}.lora_B.weight": torch.zeros(16, 3)}
    name = _write(comfy_host, "ranks", ranks)
    with pytest.raises(ValueError, match=rf"{Q}: lora_B.weight \[16, 3\] and lora_A.weight \[4, 16\] do not pair"):
        pack_nodes.lora.LTX2NLoraLoader.execute(model, name, 1.0)


def test_lora_format_pack_loader_lists_unmapped_keys_once(comfy_host, pack_nodes, model, base, caplog):
    tensors = dict(plain_lora(base, "lora_unet_", flat_names=True, names=("lora_down", "lora_up"), modules=(Q,),
                              alpha=1.0).tensors)
    for n in range(6):
        tensors[f"lora_unet_transformer_blocks_{20 + n}_attn1_to_k.lora_down.weight"] = torch.zeros(1, 16)
        tensors[f"lora_unet_transformer_blocks_{20 + n}_attn1_to_k.lora_up.weight"] = torch.zeros(16, 1)
    name = _write(comfy_host, "unmapped", tensors)
    with caplog.at_level(logging.WARNING):
        patched = pack_nodes.lora.LTX2NLoraLoader.execute(model, name, 1.0).result[0]
    assert list(patched.patches) == [f"diffusion_model.{Q}.weight"]
    messages = [r.getMessage() for r in caplog.records if name in r.getMessage()]
    assert len(messages) == 1 and "6 LoRA layer(s) / key(s) match no weight of this model" in messages[0]
