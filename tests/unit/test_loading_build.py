"""Strict builders: meta builds from headers, streaming loads of real tensors, fp8 handling, one-line mismatches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from loading_fixtures import available_components, tiny_config, tiny_state
from torch import nn

from ltx_model.demo import write_sparse_checkpoint
from ltx_model.loading.build import (
    Fp8Mode,
    StateDictMismatchError,
    _parameters_on_meta,
    build_component,
    load_component,
)
from ltx_model.loading.keymaps import KEYMAPS, Component, model_state_keys
from ltx_model.loading.safetensors_io import CheckpointError, read_header, write_safetensors

LINEAR = "model.diffusion_model.transformer_blocks.0.attn1.to_q.weight"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, manifests_dir: Path) -> tuple[Path, dict[str, torch.Tensor]]:
    config = tiny_config(manifests_dir)
    state = tiny_state(config)
    path = tmp_path_factory.mktemp("tiny") / "tiny-dev.safetensors"
    write_safetensors(path, state, metadata={"config": json.dumps(config), "model_version": "2.3.0"})
    return path, state


def _expected(state: dict[str, torch.Tensor], component: Component) -> dict[str, torch.Tensor]:
    return {k: state[f] for k, f in model_state_keys(state, component).items()}


@pytest.mark.parametrize("component", available_components(), ids=lambda c: c.value)
def test_loading_component_reads_exact_tensors(tiny: tuple[Path, dict], component: Component) -> None:
    path, state = tiny
    model = load_component(path, component.value)
    loaded = model.state_dict()
    expected = _expected(state, component)
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        assert loaded[key].device.type == "cpu"
        # every tensor is cast to the dtype the module declared (bf16 here), like ltx-core's ``value.to(dtype)``
        assert torch.equal(loaded[key], value.to(loaded[key].dtype)), key
    assert all(t.device.type == "cpu" for t in [*model.parameters(), *model.buffers()])
    assert not model.training


def test_loading_component_stops_between_tensors_when_should_abort_raises(tiny: tuple[Path, dict]) -> None:
    path, _ = tiny
    reads: list[int] = []

    def abort_at_fourth() -> None:
        reads.append(1)
        if len(reads) == 4:
            raise InterruptedError("cancelled")

    with pytest.raises(InterruptedError):
        load_component(path, "video_vae", should_abort=abort_at_fourth)
    assert len(reads) == 4  # called once per tensor, and nothing read after the abort
    reads.clear()
    model = load_component(path, "video_vae", should_abort=lambda: reads.append(1))
    assert len(reads) == len(model.state_dict())


def test_loading_casts_to_requested_dtype_and_builds_meta(tiny: tuple[Path, dict]) -> None:
    path, state = tiny
    model = load_component(path, "transformer", dtype=torch.float32)
    weight = model.state_dict()[LINEAR.removeprefix("model.diffusion_model.")]
    assert weight.dtype == torch.float32 and torch.equal(weight, state[LINEAR].float())
    meta = build_component(path, "transformer")
    assert all(p.device.type == "meta" for p in meta.parameters())
    assert next(meta.parameters()).dtype == torch.bfloat16  # default = storage dtype
    with pytest.raises(ValueError, match="meta"):
        build_component(path, "transformer", device="cpu")


def test_loading_fp8_weights_upcast_keep_and_scaled(tmp_path: Path, tiny: tuple[Path, dict]) -> None:
    path, state = tiny
    config = read_header(path).metadata["config"]
    fp8_state = dict(state)
    fp8_state[LINEAR] = state[LINEAR].to(torch.float8_e4m3fn)
    plain = tmp_path / "fp8.safetensors"
    write_safetensors(plain, fp8_state, metadata={"config": config})
    key = LINEAR.removeprefix("model.diffusion_model.")
    upcast = load_component(plain, "transformer").state_dict()[key]
    assert upcast.dtype == torch.bfloat16 and torch.equal(upcast, fp8_state[LINEAR].to(torch.bfloat16))
    kept = load_component(plain, "transformer", fp8=Fp8Mode.KEEP).state_dict()[key]
    assert kept.dtype == torch.float8_e4m3fn
    scaled = tmp_path / "fp8-scaled.safetensors"
    fp8_state[LINEAR.replace(".weight", ".weight_scale")] = torch.tensor(0.5)
    write_safetensors(scaled, fp8_state, metadata={"config": config})
    dequant = load_component(scaled, "transformer").state_dict()[key]
    assert torch.equal(dequant, (fp8_state[LINEAR].float() * 0.5).to(torch.bfloat16))
    with pytest.raises(CheckpointError, match="scaled fp8"):
        load_component(scaled, "transformer", fp8=Fp8Mode.KEEP)


def test_loading_mismatch_is_one_error_listing_keys(tmp_path: Path, tiny: tuple[Path, dict]) -> None:
    path, state = tiny
    config = read_header(path).metadata["config"]
    broken = {(k.replace("attn1.to_q", "attn1.to_query") if k == LINEAR else k): v for k, v in state.items()}
    broken["model.diffusion_model.adaln_single.linear.bias"] = torch.zeros(3)
    bad = tmp_path / "renamed.safetensors"
    write_safetensors(bad, broken, metadata={"config": config})
    with pytest.raises(StateDictMismatchError) as info:
        build_component(bad, "transformer")
    message = str(info.value)
    assert "\n" not in message
    assert "1 missing key(s): " + LINEAR in message
    assert "1 unexpected key(s): model.diffusion_model.transformer_blocks.0.attn1.to_query.weight" in message
    assert "adaln_single.linear.bias [3] vs model" in message
    with pytest.raises(StateDictMismatchError):
        load_component(bad, "transformer")


def test_loading_lists_at_most_twenty_keys(tmp_path: Path, tiny: tuple[Path, dict]) -> None:
    path, state = tiny
    dropped = [k for k in state if k.startswith("model.diffusion_model.transformer_blocks.")][:25]
    bad = tmp_path / "dropped.safetensors"
    kept = {k: v for k, v in state.items() if k not in dropped}
    write_safetensors(bad, kept, metadata={"config": read_header(path).metadata["config"]})
    with pytest.raises(StateDictMismatchError, match=r"25 missing key\(s\): .*\.\.\. \(5 more\)") as info:
        build_component(bad, "transformer")
    assert str(info.value).count("model.diffusion_model.transformer_blocks.") == 20


def test_loading_errors_for_absent_component_and_bad_config(tmp_path: Path, tiny: tuple[Path, dict]) -> None:
    path, state = tiny
    only_tf = {k: v for k, v in state.items() if KEYMAPS[Component.TRANSFORMER].owns(k)}
    config = json.loads(read_header(path).metadata["config"])
    part = tmp_path / "part.safetensors"
    write_safetensors(part, only_tf, metadata={"config": json.dumps(config)})
    with pytest.raises(CheckpointError, match="no vocoder tensors"):
        build_component(part, "vocoder")
    config["transformer"]["dropout"] = 0.5
    bad = tmp_path / "badcfg.safetensors"
    write_safetensors(bad, only_tf, metadata={"config": json.dumps(config)})
    with pytest.raises(CheckpointError, match="dropout"):
        build_component(bad, "transformer")
    write_safetensors(bad, only_tf, metadata={"other": "x"})
    with pytest.raises(CheckpointError, match="no 'transformer' section"):
        build_component(bad, "transformer")


class _WithBuffers(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(3, 4)
        self.register_buffer("table", torch.arange(4.0), persistent=False)


def test_loading_parameters_on_meta_keeps_computed_buffers() -> None:
    with _parameters_on_meta():
        module = _WithBuffers()
    assert module.lin.weight.device.type == "meta" and module.lin.weight.requires_grad
    assert torch.equal(module.table, torch.arange(4.0))
    assert nn.Linear(2, 2).weight.device.type == "cpu"  # patch removed


@pytest.mark.parametrize("name", ["ltx-2-19b.json", "ltx-2.3-22b.json"])
def test_loading_builds_real_size_components_on_meta(tmp_path: Path, manifests_dir: Path, name: str) -> None:
    """Key-map coverage: every available component's meta build matches the manifest's names and shapes."""
    manifest = json.loads((manifests_dir / name).read_text())
    path = tmp_path / "sparse.safetensors"
    write_sparse_checkpoint(manifest, path)
    header = read_header(path)
    parts = manifest["summary"]["components"]
    elements = {
        Component.TRANSFORMER: parts["transformer"]["elements"],
        Component.CONNECTORS: parts["text_connectors"]["elements"],
        Component.TEXT_PROJECTION: parts["text_embedding_projection"]["elements"],
        Component.VOCODER: parts["vocoder"]["elements"],
    }
    for component in available_components():
        model = build_component(header, component)
        count = sum(t.numel() for t in model.state_dict().values())
        if component in elements:
            assert count == elements[component], component


@pytest.mark.parametrize("manifest", ["latent-upscaler-spatial-x1.5.json", "latent-upscaler-temporal-x2-ltx2.5.json"])
def test_loading_upsampler_file_exact_tensors(tmp_path: Path, manifests_dir: Path, manifest: str) -> None:
    from ltx_model.loading.registry import make_config, make_module

    config = json.loads((manifests_dir / manifest).read_text())["config"]
    config.update(mid_channels=32, in_channels=8, num_blocks_per_stage=1)
    module = make_module(Component.UPSAMPLER, make_config(Component.UPSAMPLER, config, set()), dtype=None, device="cpu")
    gen = torch.Generator().manual_seed(3)
    state = {k: torch.randn(v.shape, generator=gen).to(torch.bfloat16) for k, v in module.state_dict().items()}
    path = tmp_path / "up.safetensors"
    write_safetensors(path, state, metadata={"config": json.dumps(config)})
    loaded = load_component(path, "upsampler", dtype=torch.float32).state_dict()
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], v.float()) for k, v in state.items())
