"""DFR from a plain script (``ltx_model.pipelines.dfr.generate_dfr``) on the tiny LTX-2.5 demo set, 128x128: a request
of 41 frames is rendered on the 49-frame canvas (24-frame segments, slots at 24 and 48) and trimmed back; rounds 0
and 1 keep the promise ((41 - 1) * 2**rounds + 1 frames at 24 * 2**rounds fps, the stage-1 audio cut to the video's
duration), round 1 runs two tiles anchored on the stage-2 keyframes at seams 48 and 96; a transformer without
the keyframe embedding (LTX-2.3) and rounds without a temporal upscaler are refused before anything runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from ltx_model.demo.ltx25_set import LTX25_SET_FILES, write_demo_ltx25_model_set
from ltx_model.loading import Component
from ltx_model.loading.build import load_component
from ltx_model.modes import GenerationError
from ltx_model.pipelines import GenerationRequest, TextContexts, load_pipeline_models
from ltx_model.pipelines import dfr as pipeline

REQUESTED, FPS = 41, 24.0


@pytest.fixture(scope="module")
def model_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dfrset") / "models"
    write_demo_ltx25_model_set(root)
    return root


@pytest.fixture(scope="module")
def models(model_set: Path):  # noqa: ANN201
    return load_pipeline_models(model_set, dtype=torch.float32)


@pytest.fixture(scope="module")
def temporal(model_set: Path):  # noqa: ANN201
    return load_component(model_set / LTX25_SET_FILES["temporal_upscaler"], Component.UPSAMPLER, dtype=torch.float32)


def contexts(models) -> TextContexts:  # noqa: ANN001
    config = models.transformer.config
    g = torch.Generator().manual_seed(5)
    return TextContexts(video=torch.randn(1, 4, config.video_inner_dim, generator=g),
                        audio=torch.randn(1, 4, config.audio_inner_dim, generator=g))


def request() -> GenerationRequest:
    return GenerationRequest(height=128, width=128, num_frames=REQUESTED, fps=FPS, seed=3)


def check_audio(result, frames: int, fps: float) -> None:  # noqa: ANN001
    assert result.waveform.shape[-1] == round(frames / fps * result.sample_rate)  # cut to the video's duration
    assert result.audio_latent.shape[2] == round(49 / FPS * 25)  # stage 1 made it for the whole canvas


def test_dfr_rounds_0_trims_the_canvas_and_cuts_the_audio(models) -> None:  # noqa: ANN001
    result = pipeline.generate_dfr(models, request(), contexts(models))
    assert result.frames.shape[:3] == (41, 128, 128) and result.fps == FPS
    assert result.video_latent.shape[2] == 6  # 7 canvas latent frames, the padding trimmed
    check_audio(result, 41, FPS)


def test_dfr_round_1_doubles_fps_in_two_anchored_tiles(models, temporal, monkeypatch) -> None:  # noqa: ANN001
    seen, keyframes = [], []
    tile, picked = pipeline._tile, pipeline.generated_keyframes

    def tile_spy(models_, ctx, gen, req, state, t, seed, callbacks):  # noqa: ANN001, ANN202
        seen.append((t.anchors, t.slots, seed, state.positions, state.keyframes.clone()))
        return tile(models_, ctx, gen, req, state, t, seed, callbacks)

    monkeypatch.setattr(pipeline, "_tile", tile_spy)
    monkeypatch.setattr(pipeline, "generated_keyframes", lambda s: keyframes.append(picked(s)) or keyframes[-1])
    result = pipeline.generate_dfr(models, request(), contexts(models), temporal_upsampler=temporal, rounds=1)
    assert result.frames.shape[0] == (REQUESTED - 1) * 2 + 1 and result.fps == 2 * FPS
    assert result.video_latent.shape[2] == 11  # 13 latent frames of the 97-frame round canvas, trimmed
    check_audio(result, 81, 2 * FPS)
    stage2 = keyframes[1]  # [stage-1 slots, stage-2 slots, tile 0 slots, tile 1 slots]
    assert [(a, s, seed, p) for a, s, seed, p, _ in seen] == [((48,), (24,), 1003, (24, 48)),
                                                               ((48, 96), (24, 72), 1004, (24, 48))]
    assert all(torch.equal(bag, stage2) for *_, bag in seen)  # the anchors come from the stage-2 keyframes


def test_dfr_refuses_rounds_without_temporal_upscaler_and_non_25_models(models) -> None:  # noqa: ANN001
    with pytest.raises(GenerationError, match="temporal x2"):
        pipeline.generate_dfr(models, request(), contexts(models), rounds=1)
    with pytest.raises(GenerationError, match="0, 1 or 2"):
        pipeline.generate_dfr(models, request(), contexts(models), rounds=3)
    config = dataclasses.replace(models.transformer.config, keyframes_embedding=False)  # an LTX-2.3-like transformer
    no_slots = dataclasses.replace(models, transformer=SimpleNamespace(config=config))
    with pytest.raises(GenerationError, match="LTX-2.5"):
        pipeline.generate_dfr(no_slots, request(), contexts(models))
