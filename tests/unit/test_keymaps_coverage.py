"""The key-prefix table covers every manifest key exactly once (or ignores it deliberately)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ltx_model.loading.keymaps import (
    KEYMAPS,
    MODEL_COMPONENTS,
    Component,
    component_keys,
    model_state_keys,
    parse_component,
    present_components,
    split_lora_key,
)

MODEL_MANIFESTS = ("ltx-2-19b.json", "ltx-2.3-22b.json")
# manifest summary names -> our components (the VAE halves are one component each for us)
SUMMARY_PARTS = {
    Component.TRANSFORMER: ("transformer",),
    Component.CONNECTORS: ("text_connectors",),
    Component.TEXT_PROJECTION: ("text_embedding_projection",),
    Component.VIDEO_VAE: ("video_vae_encoder", "video_vae_decoder"),
    Component.AUDIO_VAE: ("audio_vae_encoder", "audio_vae_decoder"),
    Component.VOCODER: ("vocoder",),
}


@pytest.mark.parametrize("name", MODEL_MANIFESTS)
def test_keymap_every_manifest_key_belongs_to_exactly_one_component(manifests_dir: Path, name: str) -> None:
    tensors = json.loads((manifests_dir / name).read_text())["tensors"]
    owners = {key: [c for c in MODEL_COMPONENTS if KEYMAPS[c].owns(key)] for key in tensors}
    assert {k: v for k, v in owners.items() if len(v) != 1} == {}
    assert present_components(tensors) == list(MODEL_COMPONENTS)


@pytest.mark.parametrize("name", MODEL_MANIFESTS)
def test_keymap_component_counts_match_manifest_summary(manifests_dir: Path, name: str) -> None:
    manifest = json.loads((manifests_dir / name).read_text())
    parts = manifest["summary"]["components"]
    for component, names in SUMMARY_PARTS.items():
        expected = sum(parts[n]["tensors"] for n in names)  # counts of file keys (shared stats counted once)
        assert len(component_keys(manifest["tensors"], component)) == expected, component


def test_keymap_strips_one_prefix_and_ignores_vae_statistics(manifests_dir: Path) -> None:
    tensors = json.loads((manifests_dir / "ltx-2.3-22b.json").read_text())["tensors"]
    vocoder = model_state_keys(tensors, Component.VOCODER)
    assert vocoder["vocoder.conv_pre.weight"] == "vocoder.vocoder.conv_pre.weight"  # removeprefix, not replace
    keys = [*tensors, "vae.per_channel_statistics.channel", "vae.per_channel_statistics.mean-of-stds"]
    vae = model_state_keys(keys, Component.VIDEO_VAE)
    assert "per_channel_statistics.std-of-means" in vae and "per_channel_statistics.channel" not in vae
    connectors = model_state_keys(tensors, Component.CONNECTORS)
    assert all(k.startswith(("video_embeddings_connector.", "audio_embeddings_connector.")) for k in connectors)
    transformer = model_state_keys(tensors, Component.TRANSFORMER)
    assert "adaln_single.linear.weight" in transformer and not any("connector" in k for k in transformer)


def test_keymap_upsampler_files_and_names(manifests_dir: Path) -> None:
    tensors = json.loads((manifests_dir / "latent-upscaler-spatial-x2.json").read_text())["tensors"]
    assert present_components(tensors) == [Component.UPSAMPLER]
    assert model_state_keys(tensors, Component.UPSAMPLER)["initial_conv.weight"] == "initial_conv.weight"
    assert parse_component("video_vae") is Component.VIDEO_VAE
    with pytest.raises(ValueError, match="valid: transformer"):
        parse_component("vae")


def test_keymap_lora_key_normalisation() -> None:
    module = "transformer_blocks.0.attn1.to_q"
    assert split_lora_key(f"diffusion_model.{module}.lora_A.weight") == (module, "A")
    assert split_lora_key(f"base_model.model.{module}.lora_B.weight") == (module, "B")
    assert split_lora_key(f"model.diffusion_model.{module}.lora_down.weight") == (module, "A")
    assert split_lora_key(f"{module}.lora_up.weight") == (module, "B")
    assert split_lora_key(f"diffusion_model.{module}.alpha") == (module, "alpha")
    assert split_lora_key(f"diffusion_model.{module}.weight") is None
