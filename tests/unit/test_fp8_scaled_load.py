"""Official scaled-fp8 checkpoints through the library's fp8 matmul: ``load_component(..., fp8=Fp8Mode.SCALED)``.

The file is a tiny LTX-2.3 transformer written in the official fp8 format (ltx-core "fp8-scaled-mm", the
``*-fp8.safetensors`` files): each linear of the precision table stores an e4m3 ``weight``, a float32 0-d
``weight_scale`` (``weight ≈ weight_fp8 · weight_scale``) and a float32 0-d static ``input_scale`` (calibrated here as
``amax(|input|) / 448`` over one full-precision pass, as the official calibration does); every other tensor is float32.
Loaded with ``SCALED`` those linears become ``Fp8Linear`` holding the stored tensors unchanged; the pass is compared
with the same file loaded with ``UPCAST`` (weights de-quantised, full-precision matmuls) at fp8 tolerance: relative
L2 <= 0.05 of the velocity (e4m3 rounds each activation to 3 mantissa bits; measured 0.009 / 0.010), through both the
float32 emulation and ``torch._scaled_mm`` (PyTorch 2.11 runs it on the CPU too).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from loading_fixtures import tiny_transformer_section

from ltx_model.loading.build import Fp8Mode, load_component
from ltx_model.loading.keymaps import KEYMAPS, Component
from ltx_model.loading.registry import make_config, make_module
from ltx_model.loading.safetensors_io import CheckpointError, read_header, write_safetensors
from ltx_model.precision import fp8_eligible
from ltx_model.quant.fp8 import E4M3, Fp8Linear, Fp8Path, quantize_fp8, relative_error
from ltx_model.transformer import Modality

PREFIX = KEYMAPS[Component.TRANSFORMER].strip


def inputs(cfg) -> tuple[Modality, Modality]:
    """Video (12 tokens) and audio (5 tokens) at sigma 0.7 with random latents, positions and text contexts."""
    gen = torch.Generator().manual_seed(7)

    def stream(tokens: int, channels: int, axes: int, width: int) -> Modality:
        start = torch.rand(1, axes, tokens, generator=gen).cumsum(2)
        return Modality(latent=torch.randn(1, tokens, channels, generator=gen), sigma=torch.full((1,), 0.7),
                        timesteps=torch.full((1, 1), 0.7), positions=torch.stack([start, start + 1], dim=-1),
                        context=torch.randn(1, 4, width, generator=gen))

    ctx_v = cfg.caption_channels if cfg.caption_projection else cfg.video_inner_dim
    ctx_a = cfg.caption_channels if cfg.caption_projection else cfg.audio_inner_dim
    return stream(12, cfg.in_channels, 3, ctx_v), stream(5, cfg.audio_in_channels, 1, ctx_a)


def input_amax(model: torch.nn.Module, names: list[str], video: Modality, audio: Modality) -> dict[str, float]:
    """``amax(|input|)`` of each named linear over one pass (the static input-scale calibration). A feed-forward's
    first linear is watched through its ``GeluProjection`` (same input; the CPU fast path fuses the linear away)."""
    amax: dict[str, float] = {}
    watched = {name: name.removesuffix(".proj") if name.endswith("net.0.proj") else name for name in names}
    hooks = [model.get_submodule(watched[name]).register_forward_pre_hook(
        lambda _m, args, name=name: amax.__setitem__(name, max(amax.get(name, 0.0), float(args[0].abs().max()))))
        for name in names]
    with torch.no_grad():
        model(video, audio)
    for hook in hooks:
        hook.remove()
    return amax


@pytest.fixture(scope="module")
def scaled_file(tmp_path_factory: pytest.TempPathFactory, manifests_dir: Path) -> tuple[Path, dict, list[str]]:
    """(path, file state, names of the fp8 linears) of a tiny scaled-fp8 transformer file."""
    config = {"transformer": tiny_transformer_section(manifests_dir)}
    keys = {PREFIX + "patchify_proj.weight", PREFIX + "audio_patchify_proj.weight"}
    model = make_module(Component.TRANSFORMER, make_config(Component.TRANSFORMER, config, keys),
                        dtype=torch.float32, device="cpu").eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, param in model.named_parameters():
            scale = 0.8 / param[0].numel() ** 0.5 if param.ndim >= 2 and "table" not in name else 0.2
            param.copy_(scale * torch.randn(param.shape, generator=gen))
    names = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and fp8_eligible(f"{n}.weight")]
    amax = input_amax(model, names, *inputs(model.config))
    state = {PREFIX + k: v.detach().clone() for k, v in model.state_dict().items()}
    for name in names:
        weight, scale = quantize_fp8(state[f"{PREFIX}{name}.weight"])
        state[f"{PREFIX}{name}.weight"], state[f"{PREFIX}{name}.weight_scale"] = weight, scale
        state[f"{PREFIX}{name}.input_scale"] = torch.tensor(amax[name] / 448.0)
    path = tmp_path_factory.mktemp("fp8") / "tiny-fp8.safetensors"
    write_safetensors(path, state, metadata={"config": json.dumps(config), "model_version": "2.3.0"})
    return path, state, names


def test_fp8_scaled_load_keeps_the_stored_tensors_in_fp8_linears(scaled_file):
    path, state, names = scaled_file
    model = load_component(path, "transformer", dtype=torch.float32, fp8=Fp8Mode.SCALED)
    fp8 = {n for n, m in model.named_modules() if isinstance(m, Fp8Linear)}
    assert names and fp8 == set(names)
    for name in names:
        layer = model.get_submodule(name).state_dict()
        assert set(layer) == {"weight", "weight_scale", "input_scale", "bias"}  # the file's names, nothing else
        for key, value in layer.items():
            stored = state[f"{PREFIX}{name}.{key}"]
            assert value.dtype == stored.dtype and torch.equal(value.float(), stored.float()), f"{name}.{key}"
    assert model.get_submodule(names[0]).weight.dtype == E4M3
    assert not any(isinstance(m, Fp8Linear) for m in load_component(path, "transformer").modules())  # UPCAST


@pytest.mark.parametrize("path", [Fp8Path.EMULATED, Fp8Path.SCALED_MM], ids=lambda p: p.value)
def test_fp8_scaled_load_matches_the_upcast_load_at_fp8_tolerance(scaled_file, path):
    file, _, names = scaled_file
    fp8_model = load_component(file, "transformer", dtype=torch.float32, fp8=Fp8Mode.SCALED)
    for name in names:
        fp8_model.get_submodule(name).path = path
    reference = load_component(file, "transformer", dtype=torch.float32, fp8=Fp8Mode.UPCAST)
    video, audio = inputs(reference.config)
    with torch.no_grad():
        got, want = fp8_model(video, audio), reference(video, audio)
    for g, w in zip(got, want, strict=True):
        assert 0 < relative_error(g, w) <= 0.05


def test_fp8_scaled_load_up_casts_unscaled_fp8_and_refuses_keep(tmp_path, scaled_file):
    file, state, names = scaled_file
    with pytest.raises(CheckpointError, match="Fp8Mode.UPCAST or Fp8Mode.SCALED"):
        load_component(file, "transformer", fp8=Fp8Mode.KEEP)
    plain = dict(state)
    del plain[f"{PREFIX}{names[0]}.weight_scale"], plain[f"{PREFIX}{names[0]}.input_scale"]
    unscaled = tmp_path / "one-unscaled.safetensors"
    write_safetensors(unscaled, plain, metadata={"config": read_header(file).metadata["config"]})
    model = load_component(unscaled, "transformer", dtype=torch.float32, fp8=Fp8Mode.SCALED)
    first = model.get_submodule(names[0])
    assert not isinstance(first, Fp8Linear) and first.weight.dtype == torch.float32  # no scale: up-cast as stored
    assert torch.equal(first.weight, state[f"{PREFIX}{names[0]}.weight"].float())
    assert all(isinstance(model.get_submodule(name), Fp8Linear) for name in names[1:])
