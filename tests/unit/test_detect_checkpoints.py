"""Detection from headers alone: family, variant, storage dtype, components, upsampler kind, LoRA kind and target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.demo import write_sparse_checkpoint
from ltx_model.loading.detect import Family, FileKind, LoraKind, Variant, detect
from ltx_model.loading.keymaps import MODEL_COMPONENTS, Component
from ltx_model.loading.safetensors_io import read_header, write_safetensors


def _sparse(tmp_path: Path, manifests_dir: Path, manifest: str, name: str, **kw: object) -> Path:
    path = tmp_path / name
    write_sparse_checkpoint(json.loads((manifests_dir / manifest).read_text()), path, **kw)
    return path


@pytest.mark.parametrize(
    ("manifest", "file_name", "family", "variant", "evidence"),
    [
        ("ltx-2-19b.json", "ltx-2-19b-dev.safetensors", Family.LTX2_19B, Variant.DEV, "caption_projection"),
        ("ltx-2.3-22b.json", "ltx-2.3-22b-distilled-1.1.safetensors", Family.LTX23_22B, Variant.DISTILLED, "2.3.0"),
        ("ltx-2.3-22b.json", "model.safetensors", Family.LTX23_22B, Variant.UNKNOWN, "2.3.0"),
    ],
)
def test_detect_model_checkpoints(
    tmp_path: Path, manifests_dir: Path, manifest: str, file_name: str, family: Family, variant: Variant, evidence: str
) -> None:
    info = detect(read_header(_sparse(tmp_path, manifests_dir, manifest, file_name)))
    assert info.kind is FileKind.MODEL
    assert (info.family, info.variant) == (family, variant)
    assert evidence in info.evidence
    assert info.components == MODEL_COMPONENTS
    assert info.storage.startswith("bf16 (+ f32:")
    assert info.warnings == ()


def test_detect_22b_without_version_by_config_and_keys(tmp_path: Path, manifests_dir: Path) -> None:
    manifest = json.loads((manifests_dir / "ltx-2.3-22b.json").read_text())
    manifest["model_version"] = None
    path = tmp_path / "x.safetensors"
    write_sparse_checkpoint(manifest, path)
    assert detect(read_header(path)).evidence == "config.transformer.cross_attention_adaln"
    manifest["config"] = {}
    write_sparse_checkpoint(manifest, path)
    info = detect(read_header(path))
    assert info.family is Family.LTX23_22B and info.evidence.startswith("module ")


def test_detect_variant_from_metadata_and_conflicts(tmp_path: Path, manifests_dir: Path) -> None:
    path = _sparse(tmp_path, manifests_dir, "ltx-2-19b.json", "a.safetensors", extra_metadata={"variant": "distilled"})
    info = detect(read_header(path))
    assert info.variant is Variant.DISTILLED
    path = _sparse(
        tmp_path, manifests_dir, "ltx-2-19b.json", "b.safetensors", extra_metadata={"model_version": "2.3.0"}
    )
    info = detect(read_header(path))
    assert info.family is Family.LTX23_22B and any("LTX-2 (19B)" in w for w in info.warnings)


def test_detect_fp8_storage_and_partial_files(tmp_path: Path) -> None:
    tensors = {
        "model.diffusion_model.transformer_blocks.0.attn1.to_q.weight": ("F8_E4M3", (4096, 4096)),
        "model.diffusion_model.transformer_blocks.0.attn1.to_q.bias": ("BF16", (4096,)),
        "vae.decoder.conv_in.conv.weight": ("BF16", (8, 8)),
    }
    path = tmp_path / "ltx-2-19b-dev-fp8.safetensors"
    write_safetensors(path, tensors)
    info = detect(read_header(path))
    assert info.storage == "fp8 (e4m3fn) (+ bf16: 2 tensors)"
    assert info.components == (Component.TRANSFORMER, Component.VIDEO_VAE)
    write_safetensors(path, {"foo": torch.zeros(2)})
    assert detect(read_header(path)).kind is FileKind.UNKNOWN


@pytest.mark.parametrize(
    ("manifest", "kind"),
    [
        ("latent-upscaler-spatial-x2.json", "spatial x2"),
        ("latent-upscaler-spatial-x1.5.json", "spatial x1.5"),
        ("latent-upscaler-temporal-x2-ltx2.5.json", "temporal x2"),
    ],
)
def test_detect_upsampler_kind(tmp_path: Path, manifests_dir: Path, manifest: str, kind: str) -> None:
    info = detect(read_header(_sparse(tmp_path, manifests_dir, manifest, "up.safetensors")))
    assert info.kind is FileKind.UPSAMPLER and info.components == (Component.UPSAMPLER,)
    assert info.upsampler_kind == kind


def _lora(path: Path, modules: dict[str, tuple[int, int]], rank: int = 4, **metadata: str) -> Path:
    tensors = {}
    for module, (out, inp) in modules.items():
        tensors[f"diffusion_model.{module}.lora_A.weight"] = ("BF16", (rank, inp))
        tensors[f"diffusion_model.{module}.lora_B.weight"] = ("BF16", (out, rank))
    write_safetensors(path, tensors, metadata=metadata or None)
    return path


ATTN = {"transformer_blocks.0.attn1.to_q": (4096, 4096), "transformer_blocks.0.audio_attn1.to_k": (2048, 2048)}


def test_detect_lora_kinds_and_targets(tmp_path: Path) -> None:
    plain = detect(read_header(_lora(tmp_path / "style.safetensors", ATTN)))
    assert plain.kind is FileKind.LORA and plain.lora is not None
    assert plain.lora.kind is LoraKind.PLAIN and plain.lora.target is None  # to_q/to_k fit both families
    assert (plain.lora.ranks, plain.lora.layers, plain.lora.reference_downscale_factor) == ((4,), 2, 1)

    gated = {**ATTN, "transformer_blocks.0.attn1.to_gate_logits": (32, 4096)}
    ic = detect(read_header(_lora(tmp_path / "x.safetensors", gated, reference_downscale_factor="2")))
    assert ic.lora is not None and ic.lora.kind is LoraKind.IC_LORA
    assert ic.lora.target is Family.LTX23_22B and ic.lora.reference_downscale_factor == 2

    adaln = {"adaln_single.linear": (6 * 4096, 4096)}
    camera = detect(read_header(_lora(tmp_path / "ltx-2-19b-lora-camera-control-dolly-in.safetensors", adaln)))
    assert camera.lora is not None and camera.lora.kind is LoraKind.CAMERA
    assert camera.lora.target is Family.LTX2_19B

    by_name = detect(read_header(_lora(tmp_path / "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors", ATTN)))
    assert by_name.lora is not None and by_name.lora.kind is LoraKind.IC_LORA

    other = detect(read_header(_lora(tmp_path / "o.safetensors", {"transformer_blocks.3.attn1.to_q": (2048, 2048)})))
    assert other.lora is not None and other.lora.target is Family.UNKNOWN
    assert "not an LTX-2/2.3 layer shape" in other.lora.target_note
