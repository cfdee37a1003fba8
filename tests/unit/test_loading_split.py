"""LTX-2.5 split component files: each detected from its header (family, part), a folder inspected as one model,
and bad input (truncated file, part of the wrong family, missing part) refused with one error naming the file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from ltx_model.demo import demo_config, write_demo_checkpoint
from ltx_model.demo.configs import DemoFamily
from ltx_model.demo.ltx25 import LTX25_DEMO_FILES, write_demo_ltx25_audio_vae
from ltx_model.demo.ltx25_set import write_demo_ltx25_model_set
from ltx_model.demo.weights import component_tensors
from ltx_model.inspect import main
from ltx_model.loading import CheckpointError, Component, Family, load_component, read_header, write_safetensors
from ltx_model.loading.detect import FilePart, Variant, detect
from ltx_model.loading.gguf import detect_family as gguf_family
from ltx_model.loading.split import SplitModelError, open_split_model
from ltx_model.transformer import LTXTransformer


def _stand_in(path: Path, component: Component, metadata: dict[str, str]) -> Path:
    """A part with the 2.3 demo architecture: only its part and family matter to the folder checks."""
    config = demo_config(DemoFamily.LTX23)
    tensors = {k: v.to(torch.bfloat16) for k, v in component_tensors(component, config, 7).items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, tensors, metadata={"config": json.dumps(config), **metadata})
    return path


@pytest.fixture(scope="module")
def complete_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A complete split 2.5 model folder (ComfyUI layout), written once."""
    root = tmp_path_factory.mktemp("split") / "ltx25"
    write_demo_ltx25_model_set(root, duration_head=False)  # Gemma 4 text encoder, diffusion-decoder video VAE
    return root


@pytest.fixture
def folder(complete_folder: Path, tmp_path: Path) -> Path:
    """A fresh copy of the complete folder that a test may break."""
    return Path(shutil.copytree(complete_folder, tmp_path / "ltx25"))


def test_split_files_are_detected_as_ltx25_parts(folder: Path) -> None:
    expected = {
        "transformer": (FilePart.TRANSFORMER, (Component.TRANSFORMER, Component.CONNECTORS), None),
        "audio_vae": (FilePart.AUDIO_VAE, (Component.AUDIO_VAE, Component.VOCODER), None),
        "spatial_upscaler": (FilePart.UPSAMPLER, (Component.UPSAMPLER,), "spatial x2"),
        "temporal_upscaler": (FilePart.UPSAMPLER, (Component.UPSAMPLER,), "temporal x2"),
        "distilled_lora": (FilePart.LORA, (), None),
    }
    for name, (part, components, upsampler) in expected.items():
        info = detect(read_header(folder / LTX25_DEMO_FILES[name]))
        assert (info.family, info.part, info.components, info.upsampler_kind) == (
            Family.LTX25, part, components, upsampler), name
        assert info.warnings == (), name
    assert detect(read_header(folder / LTX25_DEMO_FILES["distilled_lora"])).variant is Variant.DISTILLED


def test_split_folder_opens_as_one_model_and_loads_a_part(folder: Path) -> None:
    model = open_split_model(folder)
    assert model.family is Family.LTX25
    assert {i.part for i in model.files} == {FilePart.TRANSFORMER, FilePart.TEXT_ENCODER, FilePart.VIDEO_VAE,
                                             FilePart.AUDIO_VAE, FilePart.UPSAMPLER, FilePart.LORA}
    path = model.component_path(Component.TRANSFORMER)
    assert path.endswith(LTX25_DEMO_FILES["transformer"])
    transformer = load_component(path, Component.TRANSFORMER)
    assert isinstance(transformer, LTXTransformer)
    assert transformer.config.keyframes_embedding and not transformer.config.ff_bias
    assert model.component_path(Component.VOCODER).endswith(LTX25_DEMO_FILES["audio_vae"])


def test_split_folder_inspected_as_one_model(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(folder)]) == 0
    out = capsys.readouterr().out
    assert "family: LTX-2.5 (from the transformer file)" in out
    for line in ("  transformer: diffusion_models/ltx-2.5-22b-distilled-transformer-demo.safetensors (LTX-2.5",
                 "  audio VAE + vocoder: vae/ltx-2.5-audio-vae-demo.safetensors (LTX-2.5",
                 "  latent upsampler: latent_upscale_models/ltx-2.5-latent-temporal-upscaler-x2-demo.safetensors",
                 "  LoRA: loras/ltx-2.5-22b-distilled-lora-demo.safetensors (LTX-2.5; distilled",
                 "  transformer: ok (", "  vocoder: ok (", "  upsampler: ok ("):
        assert line in out, line
    assert out.rstrip().endswith("valid")


def test_split_folder_missing_part_is_one_error(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / LTX25_DEMO_FILES["audio_vae"]).unlink()
    with pytest.raises(SplitModelError, match=r"missing: audio VAE \+ vocoder \(ltx-2\.5-audio-vae-\*"):
        open_split_model(folder)
    assert main([str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "split model is missing: audio VAE + vocoder" in err


def test_split_folder_without_transformer_is_one_error(folder: Path) -> None:
    (folder / LTX25_DEMO_FILES["transformer"]).unlink()
    with pytest.raises(SplitModelError, match=r"missing: transformer \(ltx-2\.5-22b-\{dev,distilled\}-transformer"):
        open_split_model(folder)


def test_split_folder_truncated_file_is_one_error(folder: Path) -> None:
    path = folder / LTX25_DEMO_FILES["audio_vae"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])
    with pytest.raises(SplitModelError, match=rf"{path}: truncated file"):
        open_split_model(folder)
    with pytest.raises(CheckpointError, match=rf"{path}: truncated file"):
        load_component(path, "vocoder")


def test_split_truncated_transformer_file_loads_nothing(folder: Path) -> None:
    path = folder / LTX25_DEMO_FILES["transformer"]
    data = path.read_bytes()
    path.write_bytes(data[:-8])
    with pytest.raises(CheckpointError, match=rf"{path}: truncated file"):
        load_component(path, "transformer")


def test_split_folder_part_of_the_wrong_family_is_one_error(folder: Path) -> None:
    path = folder / LTX25_DEMO_FILES["audio_vae"]
    write_demo_ltx25_audio_vae(path)
    header = read_header(path)
    tensors = {k: torch.zeros(v.shape, dtype=v.torch_dtype) for k, v in header.tensors.items()}
    write_safetensors(path, tensors, metadata={**header.metadata, "model_version": "2.3.0"})
    with pytest.raises(SplitModelError, match=rf"{path}: audio VAE \+ vocoder file of family LTX-2.3 \(22B\) "
                                              r"\(metadata model_version 2.3.0\), but the model's transformer "):
        open_split_model(folder)


def test_split_folder_with_a_single_file_checkpoint_is_one_error(folder: Path) -> None:
    path = write_demo_checkpoint(folder / "checkpoints" / "ltx-2.3-22b-distilled-demo.safetensors")
    with pytest.raises(SplitModelError, match=rf"{path}: a single-file LTX-2.3 \(22B\) checkpoint, not a split part"):
        open_split_model(folder)


def test_split_folder_with_transformers_of_two_families_is_one_error(folder: Path) -> None:
    path = folder / "diffusion_models" / "ltx-2.3-transformer-only.safetensors"
    _stand_in(path, Component.TRANSFORMER, {"model_version": "2.3.0"})
    with pytest.raises(SplitModelError, match="transformer files of different families: .*LTX-2.3 .*LTX-2.5"):
        open_split_model(folder)


def test_split_transformer_without_model_version_is_ltx25_by_config_or_keys(folder: Path) -> None:
    path = folder / LTX25_DEMO_FILES["transformer"]
    header = read_header(path)
    tensors = {k: torch.zeros(v.shape, dtype=v.torch_dtype) for k, v in header.tensors.items()}
    write_safetensors(path, tensors, metadata={"config": header.metadata["config"]})
    info = detect(read_header(path))
    assert (info.family, info.evidence, info.warnings) == (
        Family.LTX25, "config.transformer.use_keyframes_abs_pos_embedding", ())
    write_safetensors(path, tensors)  # no metadata at all: the keyframe embedding's key still tells
    assert detect(read_header(path)).family is Family.LTX25
    keys = {k.removeprefix("model.diffusion_model."): "" for k in tensors}
    assert gguf_family(keys) is Family.LTX25  # GGUF files carry no metadata either
