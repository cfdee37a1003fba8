"""pipelines: tiny end-to-end generations on demo weights (mp4 streams, I2V, guidance, callbacks, validation)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from ltx_model.demo import DemoFamily, write_demo_checkpoint, write_demo_gemma, write_demo_upsampler
from ltx_model.media import probe, write_mp4
from ltx_model.pipelines import (
    Callbacks,
    GenerationError,
    GenerationInterrupted,
    GenerationRequest,
    ImageCondition,
    PipelineModels,
    TextContexts,
    TilingMode,
    decode_video,
    denoise_latents,
    dev_request,
    encode_text,
    generate,
    generate_two_stage,
    image_conditionings,
    load_pipeline_models,
)
from ltx_model.sampling import GuiderParams, ltx2_sigmas
from ltx_model.video_vae import SpatialTilingConfig, TilingConfig

SMALL = GenerationRequest(height=64, width=96, num_frames=17, fps=24.0, seed=3, sigmas=(1.0, 0.7, 0.3, 0.0))


@pytest.fixture(scope="module", params=list(DemoFamily), ids=lambda f: f.value)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoFamily, Path]:
    family = request.param
    path = tmp_path_factory.mktemp("pipe") / f"{family.value}-distilled-demo.safetensors"
    return family, write_demo_checkpoint(path, family)


@pytest.fixture(scope="module")
def models(demo: tuple[DemoFamily, Path]) -> PipelineModels:
    return load_pipeline_models(demo[1], dtype=torch.float32)


def _contexts(models: PipelineModels, *, negative: bool = False, seed: int = 0) -> TextContexts:
    gen = torch.Generator().manual_seed(seed)
    video_width, audio_width = models.connectors.config.video.width, models.connectors.config.audio.width

    def make() -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(1, 16, video_width, generator=gen), torch.randn(1, 16, audio_width, generator=gen)

    return TextContexts(*make(), *make()) if negative else TextContexts(*make())


def test_pipeline_generation_writes_mp4_with_right_streams(
    demo: tuple[DemoFamily, Path], models: PipelineModels, tmp_path: Path
) -> None:
    steps: list[tuple[int, int]] = []
    request = dataclasses.replace(SMALL, num_frames=25, fps=25.0)
    result = generate(
        models, request, _contexts(models), callbacks=Callbacks(progress=lambda d, t: steps.append((d, t)))
    )
    assert steps == [(1, 3), (2, 3), (3, 3)]
    assert result.frames.shape == (25, 64, 96, 3) and result.frames.dtype == torch.uint8
    expected_rate = 48000 if demo[0] is DemoFamily.LTX23 else 24000
    assert result.sample_rate == expected_rate and result.waveform.shape[0] == 2
    assert result.audio_latent.shape == (1, 8, 25, 16)  # 1 s at 25 audio latents per second
    # 4 * 25 - 3 mel frames at 100 frames/s: the waveform covers the clip up to the causal tail (30 ms)
    assert result.waveform.shape[1] == (4 * 25 - 3) * expected_rate // 100
    path = write_mp4(tmp_path / "out.mp4", result.frames, fps=result.fps, waveform=result.waveform,
                     sample_rate=result.sample_rate)
    video, audio = probe(path)
    assert (video.kind, video.codec, video.frames, video.rate) == ("video", "h264", 25, 25.0)
    assert video.duration_s == pytest.approx(1.0)
    assert (audio.kind, audio.codec, audio.rate, audio.channels) == ("audio", "aac", expected_rate, 2)
    assert audio.duration_s == pytest.approx(0.97, abs=0.05)


def test_pipeline_is_deterministic_per_seed(models: PipelineModels) -> None:
    contexts = _contexts(models)
    a, _ = denoise_latents(models, SMALL, contexts)
    b, _ = denoise_latents(models, SMALL, contexts)
    c, _ = denoise_latents(models, dataclasses.replace(SMALL, seed=4), contexts)
    assert torch.equal(a.latent, b.latent) and not torch.allclose(a.latent, c.latent)


def test_pipeline_i2v_keeps_the_encoded_first_frame(models: PipelineModels) -> None:
    yy, xx = np.mgrid[0:64, 0:96]
    image = np.stack([xx * 2, yy * 3, xx + yy], -1).clip(0, 255).astype(np.uint8)
    request = dataclasses.replace(SMALL, images=(ImageCondition(image),))
    (item,) = image_conditionings(request.images, models.video_vae, height=64, width=96)
    video, _ = denoise_latents(models, request, _contexts(models))
    first = 2 * 3  # tokens of latent frame 0
    torch.testing.assert_close(video.latent[:, :first], item.latent.flatten(2).transpose(1, 2), atol=1e-6, rtol=0)
    assert (video.denoise_mask[:, :first] == 0).all() and (video.denoise_mask[:, first:] == 1).all()


def test_pipeline_guided_dev_request_runs_all_passes(models: PipelineModels) -> None:
    guided = GuiderParams(cfg_scale=3.0, stg_scale=1.0, stg_blocks=(1,), rescale_scale=0.7, modality_scale=3.0)
    request = dataclasses.replace(dev_request("2.3.0", steps=2, height=64, width=96, num_frames=9),
                                  video_guidance=guided, audio_guidance=guided)
    assert request.sigmas == tuple(ltx2_sigmas(2).tolist())
    calls = []
    hook = models.transformer.register_forward_hook(lambda *args: calls.append(1))
    try:
        video, _ = denoise_latents(models, request, _contexts(models, negative=True))
        plain, _ = denoise_latents(models, dataclasses.replace(request, video_guidance=None, audio_guidance=None),
                                   _contexts(models, negative=True))
    finally:
        hook.remove()
    assert len(calls) == 2 * 4 + 2  # cond, uncond, STG, isolated per guided step; one per plain step
    assert not torch.allclose(video.latent, plain.latent)
    with pytest.raises(ValueError, match="negative"):
        denoise_latents(models, request, _contexts(models))


def test_pipeline_interrupt_stops_before_work(models: PipelineModels) -> None:
    calls = []
    stop_now = Callbacks(interrupted=lambda: True, progress=lambda d, t: calls.append(d))
    with pytest.raises(GenerationInterrupted):
        generate(models, SMALL, _contexts(models), callbacks=stop_now)
    assert calls == []
    steps = []

    def stop_after_two() -> bool:
        return len(steps) >= 2

    with pytest.raises(GenerationInterrupted):
        generate(models, SMALL, _contexts(models), callbacks=Callbacks(lambda d, t: steps.append(d), stop_after_two))
    assert steps == [1, 2]


def test_pipeline_tiled_decode_matches_whole_decode_on_one_tile(models: PipelineModels) -> None:
    latent = torch.randn(1, 128, 2, 2, 3)
    whole = decode_video(models.video_vae, latent, mode=TilingMode.NEVER)
    tiled = decode_video(models.video_vae, latent, mode=TilingMode.ALWAYS)
    assert torch.equal(whole, tiled) and whole.shape == (9, 64, 96, 3)
    small_tiles = TilingConfig(spatial=SpatialTilingConfig(tile_size_px=64, overlap_px=32), temporal=None)
    auto = decode_video(models.video_vae, torch.randn(1, 128, 1, 2, 4), tiling=small_tiles)  # AUTO -> 3 tiles
    assert auto.shape == (1, 64, 128, 3)
    with pytest.raises(GenerationInterrupted):
        decode_video(models.video_vae, torch.randn(1, 128, 1, 2, 4), tiling=small_tiles,
                     callbacks=Callbacks(interrupted=lambda: True))


@pytest.mark.parametrize(
    ("change", "message"),
    [({"height": 70}, "multiples of 32"), ({"num_frames": 20}, "1 \\+ 8k"), ({"fps": 0.0}, "fps"),
     ({"sigmas": (1.0, 0.0, 0.5)}, "sigmas"), ({"sigmas": (1.0,)}, "sigmas"),
     ({"images": (ImageCondition(np.zeros((8, 8, 3), np.uint8), frame_index=17),)}, "frame_index")],
)
def test_pipeline_rejects_bad_requests(models: PipelineModels, change: dict, message: str) -> None:
    with pytest.raises(GenerationError, match=message):
        denoise_latents(models, dataclasses.replace(SMALL, **change), _contexts(models))


def test_pipeline_text_encode_with_demo_gemma(tmp_path: Path) -> None:
    """The main-job path: checkpoint + Gemma folder -> prompt contexts -> clip (one family: Gemma is slow to import)."""
    checkpoint = write_demo_checkpoint(tmp_path / "ltx-2.3-22b-distilled-demo.safetensors", DemoFamily.LTX23)
    models = load_pipeline_models(checkpoint, dtype=torch.float32)
    gemma = write_demo_gemma(tmp_path / "gemma")
    contexts = encode_text(models, gemma, "a dog runs on the beach", negative_prompt="blurry")
    assert contexts.video.shape == (1, 1024, 16) and contexts.audio.shape == (1, 1024, 8)
    assert contexts.negative_video is not None and not torch.allclose(contexts.video, contexts.negative_video)
    again = encode_text(models, gemma, "a dog runs on the beach")
    assert torch.equal(again.video, contexts.video) and again.negative_video is None
    result = generate(models, dataclasses.replace(SMALL, num_frames=9), contexts)
    assert result.frames.shape == (9, 64, 96, 3) and result.waveform.shape[0] == 2


def test_pipeline_cli_demo_run_writes_mp4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m ltx_model.pipelines --demo``: demo weights with a notice, I2V from a PNG, guided, mp4 out."""
    from PIL import Image

    from ltx_model.pipelines.cli import main

    yy, xx = np.mgrid[0:40, 0:60]
    Image.fromarray(np.stack([xx * 4, yy * 6, xx + yy], -1).astype(np.uint8)).save(tmp_path / "first.png")
    out = tmp_path / "clip.mp4"
    argv = ["--demo", "ltx-2-19b", "--out", str(out), "--height", "64", "--width", "64", "--frames", "9",
            "--fps", "12", "--dtype", "fp32", "--device", "cpu", "--guided", "--steps", "2",
            "--image", str(tmp_path / "first.png")]
    assert main(argv) == 0
    assert "DEMO weights" in capsys.readouterr().err
    video, audio = probe(out)
    assert (video.codec, video.frames, video.rate, video.width, video.height) == ("h264", 9, 12.0, 64, 64)
    assert (audio.codec, audio.rate) == ("aac", 24000)
    assert main(["--out", str(out)]) == 2  # no checkpoint, no demo


def test_pipeline_two_stage_shapes_and_errors(demo: tuple[DemoFamily, Path], tmp_path: Path) -> None:
    upsampler = write_demo_upsampler(tmp_path / "up.safetensors")
    models = load_pipeline_models(demo[1], dtype=torch.float32, upsampler=upsampler)
    request = dataclasses.replace(SMALL, height=128, width=64, num_frames=9)
    result = generate_two_stage(models, request, _contexts(models), stage2_sigmas=(0.5, 0.0))
    assert result.frames.shape == (9, 128, 64, 3) and result.video_latent.shape == (1, 128, 2, 4, 2)
    with pytest.raises(GenerationError, match="multiples of 64"):
        generate_two_stage(models, dataclasses.replace(request, width=96), _contexts(models))
    without = dataclasses.replace(models, upsampler=None)
    with pytest.raises(GenerationError, match="upsampler"):
        generate_two_stage(without, request, _contexts(models))
