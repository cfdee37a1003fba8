"""Demo weights: tiny checkpoints in the official single-file format load strictly through ltx_model.loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.demo import (
    CHECKPOINT_COMPONENTS,
    DemoFamily,
    demo_checkpoint_tensors,
    write_demo_checkpoint,
    write_demo_upsampler,
)
from ltx_model.loading import Component, Family, FileKind, detect, load_component, read_header
from ltx_model.loading.keymaps import KEYMAPS

MANIFEST_NAMES = {DemoFamily.LTX2: "ltx-2-19b.json", DemoFamily.LTX23: "ltx-2.3-22b.json"}
EXPECTED_FAMILY = {DemoFamily.LTX2: Family.LTX2_19B, DemoFamily.LTX23: Family.LTX23_22B}
IGNORED_STATS = ("vae.per_channel_statistics.channel", "vae.per_channel_statistics.mean-of-stds")


@pytest.fixture(scope="module", params=list(DemoFamily), ids=lambda f: f.value)
def demo_file(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoFamily, Path]:
    family = request.param
    path = tmp_path_factory.mktemp("demo") / f"{family.value}-distilled-demo.safetensors"
    return family, write_demo_checkpoint(path, family, seed=3)


def test_demo_weights_every_component_loads_strictly(demo_file: tuple[DemoFamily, Path]) -> None:
    family, path = demo_file
    for component in CHECKPOINT_COMPONENTS:
        module = load_component(path, component, dtype=torch.float32)
        tensors = [*module.parameters(), *module.buffers()]
        assert all(t.device.type == "cpu" and torch.isfinite(t).all() for t in tensors), component
    info = detect(read_header(path))
    assert info.kind is FileKind.MODEL and info.family is EXPECTED_FAMILY[family]
    assert info.variant.value == "distilled"
    assert set(info.components) == set(CHECKPOINT_COMPONENTS)


def test_demo_weights_every_key_belongs_to_a_component(demo_file: tuple[DemoFamily, Path]) -> None:
    _, path = demo_file
    keys = set(read_header(path).tensors)
    assert set(IGNORED_STATS) <= keys  # the real files carry these two ignored statistics
    owned = {k for k in keys for c in CHECKPOINT_COMPONENTS if KEYMAPS[c].owns(k)}
    assert owned == keys


def test_demo_weights_metadata_like_the_real_files(demo_file: tuple[DemoFamily, Path], manifests_dir: Path) -> None:
    family, path = demo_file
    header = read_header(path)
    manifest = json.loads((manifests_dir / MANIFEST_NAMES[family]).read_text())
    config = header.config()
    assert set(manifest["config"]) <= set(config)
    for section in ("transformer", "vae"):  # same keys as the real sections (values shrunk), nothing invented
        assert set(config[section]) - {"decoder_base_channels"} == set(manifest["config"][section]) - {
            "decoder_base_channels"
        }, section
    assert config["transformer"]["in_channels"] == 128 and config["vae"]["latent_channels"] == 128
    assert header.metadata.get("model_version") == ("2.3.0" if family is DemoFamily.LTX23 else None)
    dtypes = {k: t.dtype for k, t in header.tensors.items()}
    assert {d for k, d in dtypes.items() if "scale_shift_table" in k} == {"F32"}
    assert {d for k, d in dtypes.items() if "scale_shift_table" not in k} == {"BF16"}


def test_demo_weights_key_structure_matches_manifest(demo_file: tuple[DemoFamily, Path], manifests_dir: Path) -> None:
    """Parts whose topology is not shrunk have exactly the real key set (block 0, top level, vocoder, projection)."""
    family, path = demo_file
    ours = set(read_header(path).tensors)
    real = set(json.loads((manifests_dir / MANIFEST_NAMES[family]).read_text())["tensors"])
    for prefix in ("vocoder.", "text_embedding_projection.", "model.diffusion_model.transformer_blocks.0."):
        assert {k for k in ours if k.startswith(prefix)} == {k for k in real if k.startswith(prefix)}, prefix

    def top(keys: set[str]) -> set[str]:
        return {
            k
            for k in keys
            if k.startswith("model.diffusion_model.")
            and "transformer_blocks" not in k
            and "embeddings_connector" not in k
        }

    assert top(ours) == top(real)


def test_demo_weights_are_deterministic_per_seed() -> None:
    a = demo_checkpoint_tensors(DemoFamily.LTX2, seed=1)
    b = demo_checkpoint_tensors(DemoFamily.LTX2, seed=1)
    c = demo_checkpoint_tensors(DemoFamily.LTX2, seed=2)
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    weight = "model.diffusion_model.patchify_proj.weight"
    assert not torch.equal(a[weight], c[weight])
    stds = a["vae.per_channel_statistics.std-of-means"]
    assert stds.shape == (128,) and (stds > 0).all()


def test_demo_weights_upsampler_loads_strictly(tmp_path: Path) -> None:
    path = write_demo_upsampler(tmp_path / "up.safetensors")
    info = detect(read_header(path))
    assert info.kind is FileKind.UPSAMPLER and info.upsampler_kind == "spatial x2"
    upsampler = load_component(path, Component.UPSAMPLER, dtype=torch.float32)
    latent = torch.randn(1, 128, 2, 3, 4)
    assert upsampler(latent).shape == (1, 128, 2, 6, 8)
