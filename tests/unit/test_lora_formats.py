"""Every trainer's LoRA layout through the standalone library (``ltx_model.lora``) on a tiny LTX-2.3 transformer:
patched weights and one forward pass against the adapter formulas in float64 (tests/lora_format_files.py), the
LoRA key table, bad input (other models, rank mismatch, A without B, nothing half-applied) and the inspector."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
from lora_format_files import FF, K, Q, dora_reference, flat, plain_lora, trainer_files

from ltx_model.inspect import main as inspect_main
from ltx_model.loading.keymaps import DIFFUSERS_RENAMES, parse_lora_key
from ltx_model.loading.lora_keymap import LTX_SEGMENTS, unflatten
from ltx_model.loading.safetensors_io import CheckpointError, write_safetensors
from ltx_model.lora import LoraMismatchError, fuse_loras, fuse_loras_into_module, lora_from_state_dict, open_lora
from ltx_model.lora_formats.formulas import dora_weight
from ltx_model.transformer import LTXTransformer, Modality, TransformerConfig

STRENGTH = 0.7


def tiny_23(seed: int = 0) -> LTXTransformer:
    """The tiny LTX-2.3 (22B form) transformer in float64 with seeded random weights."""
    model = LTXTransformer(TransformerConfig.tiny_22b()).double()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(0.3 * torch.randn(param.shape, generator=gen, dtype=torch.float64))
    return model.eval()


def forward(model: LTXTransformer) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward pass on fixed inputs (video 6 tokens, audio 5 tokens)."""
    config, gen = model.config, torch.Generator().manual_seed(1)

    def one(tokens: int, channels: int, axes: int) -> Modality:
        start = torch.rand(1, axes, tokens, generator=gen, dtype=torch.float64).cumsum(2)
        return Modality(latent=torch.randn(1, tokens, channels, generator=gen, dtype=torch.float64),
                        sigma=torch.full((1,), 0.5, dtype=torch.float64),
                        timesteps=torch.full((1, tokens, 1), 0.5, dtype=torch.float64),
                        positions=torch.stack([start, start + 1], dim=-1),
                        context=torch.randn(1, 4, config.cross_attention_dim, generator=gen, dtype=torch.float64))

    audio = Modality(**{**one(5, config.audio_in_channels, 1).__dict__,
                        "context": torch.randn(1, 4, config.audio_cross_attention_dim, generator=gen,
                                               dtype=torch.float64)})
    with torch.no_grad():
        return model(one(6, config.in_channels, 3), audio)


LAYOUTS = sorted(trainer_files({k: v for k, v in tiny_23().state_dict().items()}))


@pytest.mark.parametrize("layout", LAYOUTS)
def test_lora_format_fuses_every_trainer_layout_exactly(tmp_path: Path, layout: str) -> None:
    model = tiny_23()
    base = {k: v.clone() for k, v in model.state_dict().items()}
    made = trainer_files(base)[layout]
    write_safetensors(tmp_path / f"{layout}.safetensors", made.tensors)
    expected = made.expected(base, STRENGTH)
    with open_lora(tmp_path / f"{layout}.safetensors") as lora:
        report = fuse_loras_into_module(model, [(lora, STRENGTH)])
    assert set(report.fused) == set(expected) and report.unmatched == () and report.skipped == ()
    tol = 2e-3 if layout == "comfy_extracted" else 1e-12  # float16 file: B @ A is computed in float16
    after = model.state_dict()
    for key, value in after.items():
        want = expected.get(key, base[key])
        torch.testing.assert_close(value, want, atol=tol, rtol=tol, msg=lambda m, key=key: f"{key}: {m}")
    reference = tiny_23()
    reference.load_state_dict({**base, **expected})
    for ours, ref in zip(forward(model), forward(reference), strict=True):
        torch.testing.assert_close(ours, ref, atol=1e-2 if layout == "comfy_extracted" else 1e-10, rtol=1e-6)
    assert not torch.equal(forward(model)[0], forward(tiny_23())[0])


def test_lora_format_key_table_maps_each_layout_onto_official_names() -> None:
    for key, module in (
        (f"lora_unet_{flat(K)}.lora_down.weight", K),
        (f"lycoris_{flat(FF)}.lokr_w1", FF),
        ("transformer.proj_in.lora_A.weight", "patchify_proj"),
        ("transformer.audio_time_embed.emb.timestep_embedder.linear_1.lora_B.weight",
         "audio_adaln_single.emb.timestep_embedder.linear_1"),
        ("transformer.av_cross_attn_audio_v2a_gate.linear.lora_A.weight", "av_ca_v2a_gate_adaln_single.linear"),
        ("transformer.transformer_blocks.3.audio_attn2.norm_k.diff", "transformer_blocks.3.audio_attn2.k_norm"),
        (f"base_model.model.{Q}.lora_magnitude_vector", Q),
        (f"model.diffusion_model.{Q}.dora_scale", Q),
    ):
        assert parse_lora_key(key).module == module, key
    assert parse_lora_key(f"diffusion_model.{Q}.weight") is None
    assert unflatten("transformer_blocks_12_audio_to_video_attn_to_gate_logits") == (
        "transformer_blocks.12.audio_to_video_attn.to_gate_logits")
    assert unflatten("some_unknown_name_3_to_q") == "some_unknown_name.3.to_q"  # never mis-split into segments


@pytest.mark.parametrize("form", ["tiny", "tiny_22b", "tiny_25"])
def test_lora_format_segment_vocabulary_covers_every_family(form: str) -> None:
    """kohya names are split back with LTX_SEGMENTS: every segment of 19B / 2.3 / 2.5 parameter names is in it, and
    every diffusers rename lands on a real segment (so a new module name fails here, not in a user's LoRA)."""
    model = LTXTransformer(getattr(TransformerConfig, form)(), device="meta")
    names = [n.rsplit(".", 1)[0] for n, _ in model.named_parameters()]
    segments = {s for n in names for s in n.split(".") if not s.isdigit()}
    assert segments - LTX_SEGMENTS == set()
    assert all(unflatten(flat(n)) == n for n in names)
    official = set(DIFFUSERS_RENAMES.values()) - {"aggregate_embed"}  # text projection: not the transformer
    assert official <= LTX_SEGMENTS


def test_lora_format_dora_normalises_the_merged_weight_on_either_axis() -> None:
    gen = torch.Generator().manual_seed(5)
    weight, delta = torch.randn(6, 4, generator=gen, dtype=torch.float64), torch.randn(6, 4, generator=gen,
                                                                                      dtype=torch.float64)
    for magnitude in (torch.rand(6, 1, generator=gen, dtype=torch.float64) + 1,
                      torch.rand(1, 4, generator=gen, dtype=torch.float64) + 1):
        full = dora_weight(weight, delta, magnitude, 1.0)
        axis = 1 if magnitude.shape[1] == 1 else 0
        torch.testing.assert_close(full.norm(dim=axis, keepdim=True), magnitude, atol=1e-12, rtol=1e-12)
        half = dora_weight(weight, delta, magnitude, 0.5)
        torch.testing.assert_close(half, dora_reference(weight, delta, magnitude, 0.5), atol=1e-12, rtol=1e-12)


def _foreign(prefix: str, module: str) -> dict[str, torch.Tensor]:
    return {f"{prefix}{module}.lora_down.weight": torch.zeros(2, 8),
            f"{prefix}{module}.lora_up.weight": torch.zeros(8, 2)}


@pytest.mark.parametrize(("state", "looks"), [
    (_foreign("lora_unet_", "down_blocks_0_attentions_0_proj_in"), "Stable Diffusion"),
    (_foreign("transformer.", "single_transformer_blocks.0.attn.to_q"), "Flux"),
    (_foreign("diffusion_model.", "blocks.0.self_attn.q"), "Wan"),
])
def test_lora_format_lora_for_another_model_is_refused_naming_it(state: dict, looks: str) -> None:
    model = tiny_23()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(LoraMismatchError, match=rf"matches none.*looks like a .* LoRA for {looks}"):
        fuse_loras_into_module(model, [(lora_from_state_dict(state, name="other"), 1.0)])
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_lora_format_bad_files_name_the_broken_layers_and_change_nothing(tmp_path: Path) -> None:
    model = tiny_23()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    a_only = {f"lora_unet_{flat(Q)}.lora_down.weight": torch.zeros(2, 16),
              f"lora_unet_{flat(K)}.hada_w1_a": torch.zeros(8, 2)}
    with pytest.raises(CheckpointError, match=rf"without both A and B.*{Q} \(LoRA\) lacks B.*{K} \(LoHa\) lacks"):
        lora_from_state_dict(a_only)
    ranks = {f"diffusion_model.{Q}.lora_A.weight": torch.zeros(4, 16), f"diffusion_model.{Q}.lora_B.weight":
             torch.zeros(16, 2)}
    with pytest.raises(CheckpointError, match=rf"{Q}: lora_B.weight \[16, 2\] and lora_A.weight \[4, 16\]"):
        fuse_loras_into_module(model, [(lora_from_state_dict(ranks), 1.0)])
    good = plain_lora({f"{m}.weight": before[f"{m}.weight"] for m in (Q, K, FF)}, "diffusion_model.").tensors
    misfit = {**good, f"diffusion_model.{FF}.lora_B.weight": torch.zeros(32, 5)}
    with pytest.raises(LoraMismatchError, match=rf"{FF} gives \[32, 16\] for weight \[64, 16\]"):
        fuse_loras_into_module(model, [(lora_from_state_dict(misfit), 1.0)])
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # nothing half-applied
    oft = {f"lycoris_{flat(Q)}.oft_blocks": torch.zeros(4, 4, 4), f"lycoris_{flat(Q)}.alpha": torch.tensor(1.0)}
    with pytest.raises(CheckpointError, match=rf"{Q} uses OFT, which this loader does not apply"):
        lora_from_state_dict(oft)


def test_lora_format_unmapped_keys_are_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    weights = {k: v for k, v in tiny_23().state_dict().items()}
    state = dict(plain_lora({f"{Q}.weight": weights[f"{Q}.weight"]}, "diffusion_model.", modules=(Q,)).tensors)
    for n in range(7):
        state[f"diffusion_model.transformer_blocks.{9 + n}.attn1.to_k.lora_A.weight"] = torch.zeros(1, 16)
        state[f"diffusion_model.transformer_blocks.{9 + n}.attn1.to_k.lora_B.weight"] = torch.zeros(16, 1)
    state["text_embedding_projection.aggregate_embed.lora_A.weight"] = torch.zeros(1, 4)
    state["text_embedding_projection.aggregate_embed.lora_B.weight"] = torch.zeros(4, 1)
    with caplog.at_level(logging.WARNING, logger="ltx_model.lora"):
        _, report = fuse_loras(weights, [(lora_from_state_dict(state, name="x"), 1.0)])
    assert report.fused == (f"{Q}.weight",) and len(report.unmatched) == 7 and len(report.skipped) == 1
    messages = [r.getMessage() for r in caplog.records if r.name == "ltx_model.lora"]
    assert len(messages) == 1 and messages[0].startswith("8 LoRA layer(s) / key(s) match no weight")
    assert "x:transformer_blocks.9.attn1.to_k" in messages[0] and "transformer_blocks.15" not in messages[0]


def test_lora_format_inspect_names_layout_kinds_ranks_family(tmp_path: Path, capsys) -> None:
    base = tiny_23().state_dict()
    files = trainer_files(base)
    path = tmp_path / "mixed.safetensors"
    write_safetensors(path, files["lycoris_loha"].tensors)
    assert inspect_main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "lora layout: kohya / musubi-tuner (lora_unet_)" in out
    assert "lora: plain, rank 3, 3 layers" in out and "lora adapters: LoHa (3 layers)" in out
    assert "lora keys: 15 of 15 map to LTX-2 transformer layers" in out
    dora = tmp_path / "dora.safetensors"
    write_safetensors(dora, {**files["dora_out_axis"].tensors, "lora_unet_double_blocks_0_x.lora_down.weight":
                             torch.zeros(1, 2), "lora_unet_double_blocks_0_x.lora_up.weight": torch.zeros(2, 1)})
    assert inspect_main([str(dora)]) == 0
    out = capsys.readouterr().out
    assert "lora adapters: DoRA (LoRA) (3 layers), LoRA (1 layers)" in out and "lora ranks: 1/3/4/5" in out
    assert "lora keys: 12 of 14 map to LTX-2 transformer layers" in out
    sd = tmp_path / "sd.safetensors"
    write_safetensors(sd, _foreign("lora_unet_", "down_blocks_0_attentions_0_proj_in"))
    assert inspect_main([str(sd)]) == 1
    assert "Stable Diffusion" in capsys.readouterr().err


def test_lora_format_table_is_family_agnostic_ltx25() -> None:
    """The same files fuse into the LTX-2.5 form (same names; its video FF has no bias, so a bias diff there is
    listed as unmatched, not applied and not an error)."""
    model = LTXTransformer(TransformerConfig.tiny_25()).double()
    base = {k: v.clone() for k, v in model.state_dict().items()}
    made = trainer_files(base)["kohya_musubi"]
    state = {**made.tensors, f"diffusion_model.{FF}.diff_b": torch.ones(64, dtype=torch.float64)}
    report = fuse_loras_into_module(model, [(lora_from_state_dict(state, name="k"), STRENGTH)])
    assert set(report.fused) == {f"{m}.weight" for m in (Q, K, FF)} and report.unmatched == (f"k:{FF} (bias)",)
    for key, want in made.expected(base, STRENGTH).items():
        torch.testing.assert_close(model.state_dict()[key], want, atol=1e-12, rtol=1e-12)
