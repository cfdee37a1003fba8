"""LTX-2.5 from a plain script: split-file loading hooks (duration head part, split video VAE, the text projection
built from the split text config, the Gemma version check), the pipelines' model set, per-version defaults (CRF,
sampler, duration head) and the CLI on the tiny demo model set. Bad input: a wrong ``gemma_version``, a Gemma 3 with
a 2.5 model and the reverse, a missing component: one error naming the file(s), nothing loaded."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ltx_model.demo import write_demo_checkpoint, write_demo_gemma
from ltx_model.demo.ltx25_set import LTX25_SET_FILES, write_demo_ltx25_model_set
from ltx_model.demo.ltx25_text import write_gemma4_text_encoder
from ltx_model.duration import DurationHead, predict_frame_count
from ltx_model.inspect import main as inspect_main
from ltx_model.loading import Component, Family, FilePart, SplitModelError, read_header
from ltx_model.loading.detect import detect
from ltx_model.loading.safetensors_io import SafetensorsReader
from ltx_model.loading.split import open_split_model
from ltx_model.pipelines import (
    GenerationRequest,
    ImageCondition,
    ModelFiles,
    Sampler,
    auto_frame_count,
    default_sampler,
    encode_text,
    generate,
    load_pipeline_models,
    model_files,
    with_version_crf,
)
from ltx_model.pipelines.cli import main as cli_main
from ltx_model.text import GemmaVersionError, load_split_text_projection
from ltx_model.video_vae.ltx25 import LTX25VideoVAE


@pytest.fixture(scope="module")
def model_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The complete tiny 2.5 model set (with a duration head), written once."""
    root = tmp_path_factory.mktemp("ltx25set") / "models"
    write_demo_ltx25_model_set(root)
    return root


@pytest.fixture(scope="module")
def models(model_set: Path):  # noqa: ANN201
    return load_pipeline_models(model_set, dtype=torch.float32)


@pytest.fixture
def folder(model_set: Path, tmp_path: Path) -> Path:
    """A copy a test may break."""
    return Path(shutil.copytree(model_set, tmp_path / "models"))


def test_ltx25_split_parts_detected_duration_head_and_video_vae(model_set: Path) -> None:
    head = detect(read_header(model_set / LTX25_SET_FILES["duration_head"]))
    assert (head.part, head.family, head.components) == (FilePart.DURATION_HEAD, Family.LTX25, ())
    vae = detect(read_header(model_set / LTX25_SET_FILES["video_vae"]))  # split form: no ``vae.`` prefix
    assert (vae.part, vae.family, vae.components) == (FilePart.VIDEO_VAE, Family.LTX25, (Component.VIDEO_VAE,))
    model = open_split_model(model_set)
    text = model.part(FilePart.TEXT_ENCODER)[0]  # its Gemma 4 config marks it as LTX-2.5 on its own
    assert text.family is Family.LTX25 and "gemma_config model_type gemma4_unified" in text.evidence
    assert model.part_path(FilePart.DURATION_HEAD).endswith(LTX25_SET_FILES["duration_head"])


def test_ltx25_model_files_from_folder_and_explicit_paths(model_set: Path) -> None:
    files = model_files(model_set)
    for name in ("transformer", "text_encoder", "video_vae", "audio_vae", "duration_head"):
        assert str(getattr(files, name)).endswith(LTX25_SET_FILES[name]), name
    assert str(files.upsampler).endswith(LTX25_SET_FILES["spatial_upscaler"]) and files.split
    transformer = model_set / LTX25_SET_FILES["transformer"]
    with pytest.raises(SplitModelError, match=r"a split LTX-2.5 transformer file; also give the text_encoder, "
                                              r"video_vae, audio_vae file"):
        model_files(transformer)
    explicit = model_files(transformer, **{k: model_set / LTX25_SET_FILES[k]
                                           for k in ("text_encoder", "video_vae", "audio_vae")})
    assert explicit == ModelFiles(transformer, files.text_encoder, files.video_vae, files.audio_vae)


def test_ltx25_text_projection_component_uses_split_text_config(model_set: Path) -> None:
    """TEXT_PROJECTION of a 2.5 folder: input width from the Gemma 4 config (16 x 3 hidden states), outputs from
    the transformer's config; every tensor equals the file's."""
    te = model_set / LTX25_SET_FILES["text_encoder"]
    projection = load_split_text_projection(model_set / LTX25_SET_FILES["transformer"], te, dtype=torch.float32)
    state = projection.state_dict()
    assert state["video_aggregate_embed.weight"].shape == (16, 48)
    with SafetensorsReader(read_header(te)) as reader:
        for name, value in state.items():
            assert torch.equal(value, reader.read("text_embedding_projection." + name)), name
    assert inspect_main([str(model_set), "--load", "text_projection"]) == 0


def test_ltx25_pipeline_models_from_folder(models) -> None:  # noqa: ANN001
    assert isinstance(models.video_vae, LTX25VideoVAE) and isinstance(models.duration_head, DurationHead)
    assert models.model_version == "2.5.0" and models.upsampler is not None
    assert models.transformer.config.keyframes_embedding


def test_ltx25_wrong_gemma_version_in_folder_is_one_error(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    te = folder / LTX25_SET_FILES["text_encoder"]
    write_gemma4_text_encoder(te, gemma_version="gemma4-12b-ltx-v0")
    message = r"ltx-2.5-22b-distilled-transformer-demo.safetensors needs .*'gemma4-12b-ltx-v1'.*gemma4-12b-with-proj"
    with pytest.raises(GemmaVersionError, match=message):
        load_pipeline_models(folder, dtype=torch.float32)
    assert inspect_main([str(folder)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "gemma_version 'gemma4-12b-ltx-v0'" in err


def test_ltx25_gemma3_with_25_model_and_gemma4_with_23_model_are_errors(models, tmp_path: Path) -> None:  # noqa: ANN001
    gemma3 = write_demo_gemma(tmp_path / "gemma3", dtype=torch.float32)
    with pytest.raises(GemmaVersionError, match=r"needs the Gemma text encoder .* but gemma3 is Gemma 3"):
        encode_text(models, gemma3, "a red fox")
    checkpoint = write_demo_checkpoint(tmp_path / "ltx-2.3-22b-distilled-demo.safetensors")
    single = load_pipeline_models(checkpoint, dtype=torch.float32)
    with pytest.raises(GemmaVersionError, match=r"LTX-2 / LTX-2.3 checkpoint that needs a Gemma 3 .* is Gemma 4"):
        encode_text(single, models.files.text_encoder, "a red fox")


def test_ltx25_missing_component_is_one_error(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / LTX25_SET_FILES["video_vae"]).unlink()
    with pytest.raises(SplitModelError, match=r"missing: video VAE \(ltx-2\.5-video-vae-\*"):
        load_pipeline_models(folder)
    assert cli_main(["--checkpoint", str(folder), "--out", str(folder / "x.mp4")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "missing: video VAE" in err


def test_ltx25_version_defaults_crf_and_sampler() -> None:
    images = (ImageCondition(np.zeros((8, 8, 3), np.uint8)), ImageCondition(np.zeros((8, 8, 3), np.uint8), crf=0))
    assert [i.crf for i in with_version_crf(images, "2.5.0")] == [18, 0]
    assert [i.crf for i in with_version_crf(images, "2.3.0")] == [33, 0]
    assert default_sampler("2.5.0", guided=False) is Sampler.EULER_ANCESTRAL
    assert default_sampler("2.5.0", guided=True) is Sampler.EULER
    assert default_sampler("2.3.0", guided=False) is Sampler.EULER


def test_ltx25_generate_with_duration_head_and_ancestral_sampler(models) -> None:  # noqa: ANN001
    contexts = encode_text(models, None, "a red fox jumps over the lazy dog")
    frames = auto_frame_count(models, contexts, 24.0)
    expected, _ = predict_frame_count(models.duration_head, contexts.video, contexts.audio, fps=24.0)
    assert frames == expected and (frames - 1) % 8 == 0
    request = GenerationRequest(height=64, width=64, num_frames=9, seed=3, sampler=Sampler.EULER_ANCESTRAL)
    first = generate(models, request, contexts)
    again = generate(models, request, contexts)
    euler = generate(models, GenerationRequest(height=64, width=64, num_frames=9, seed=3), contexts)
    assert first.frames.shape == (9, 64, 64, 3) and torch.equal(first.frames, again.frames)
    assert not torch.equal(first.video_latent, euler.video_latent)  # the ancestral noise changed the path


def test_ltx25_cli_runs_the_demo_set_with_automatic_duration(model_set: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "clip.mp4"
    code = cli_main(["--checkpoint", str(model_set), "--height", "64", "--width", "64", "--dtype", "fp32",
                     "--device", "cpu", "--prompt", "a red fox in the snow", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0 and out.stat().st_size > 0
    assert "duration head: " in err and "wrote " in err
