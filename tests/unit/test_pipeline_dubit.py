"""Dub-It pipeline (``ltx_model.pipelines.dubit``) and its rules (``ltx_model.modes.dubbing``) on the LTX-2.3 demo
checkpoint and the LTX-2.5 demo set (random weights, fp32, CPU, 2 steps): the dub waveform is the output audio bit
for bit and its encoded latent the final audio latent (frozen), the source sound track is the reference audio,
frames are snapped to ``1 + 8k``, and bad input (dub longer than the video, silent source) fails before anything is
encoded."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from pipeline_models import FAMILIES, load_demo_models, random_contexts

from ltx_model.modes import GenerationError
from ltx_model.modes.dubbing import dub_duration_problem, dub_frames, source_audio_problem
from ltx_model.pipelines import PipelineModels, TextContexts
from ltx_model.pipelines.dubit import DubAudio, dub_audio_items, dub_it
from ltx_model.pipelines.editing import Sampling, SourceClip
from ltx_model.pipelines.generate import Frozen
from ltx_model.pipelines.sources import encode_clip_audio

SAMPLING = Sampling(seed=3, sigmas=(1.0, 0.5, 0.0))


@pytest.fixture(scope="module", params=FAMILIES)
def models(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PipelineModels:
    return load_demo_models(tmp_path_factory.mktemp(f"dubit_{request.param}"), request.param)


@pytest.fixture(scope="module")
def contexts(models: PipelineModels) -> TextContexts:
    return random_contexts(models)


def _clip(frames: int = 11, audio: bool = True) -> SourceClip:
    yy, xx = np.mgrid[0:64, 0:64]
    pixels = np.stack([np.stack([xx * 3, yy * 3, np.full_like(xx, 20 + 9 * i)], -1) % 256 for i in range(frames)])
    waveform = torch.rand(2, 22000, generator=torch.Generator().manual_seed(5)) * 2 - 1 if audio else None
    return SourceClip(torch.from_numpy(pixels.astype(np.uint8)), 24.0, waveform, 48000)


def test_dubbing_rules() -> None:
    assert dub_frames(11) == 9 and dub_frames(9) == 9 and dub_frames(1) == 1
    assert dub_duration_problem(18000, 48000, 9, 24.0) is None  # exactly 0.375 s
    long = dub_duration_problem(18001, 48000, 9, 24.0)
    assert "dub_audio" in long and "must not be longer than the video" in long and "9 frames at 24 fps" in long
    assert "empty" in dub_duration_problem(0, 48000, 9, 24.0)
    assert source_audio_problem(True, False) is None and source_audio_problem(False, True) is None
    assert "has no audio and no dub_audio" in source_audio_problem(False, False)


def test_dub_audio_items_layout() -> None:
    ref, dub = torch.randn(1, 8, 5, 16), torch.randn(1, 8, 9, 16)
    items, frozen = dub_audio_items(ref, dub)
    assert frozen is Frozen.AUDIO and torch.equal(items[0].latent, dub) and items[1].tokens.shape == (1, 5, 128)
    items, frozen = dub_audio_items(ref, None)
    assert frozen is Frozen.NONE and len(items) == 1
    items, frozen = dub_audio_items(None, dub)
    assert frozen is Frozen.AUDIO and len(items) == 1


def test_dub_it_output_audio_is_the_dub(models: PipelineModels, contexts: TextContexts) -> None:
    speech = torch.sin(torch.arange(12000) / 9.0)[None] * 0.5  # mono, 0.25 s of a 0.375 s clip: padded
    result = dub_it(models, contexts, _clip(), DubAudio(speech, 48000), sampling=SAMPLING)
    assert result.frames.shape == (9, 64, 64, 3) and result.fps == 24.0
    assert result.sample_rate == 48000 and result.waveform.shape == (1, 18000)
    assert torch.equal(result.waveform[:, :12000], speech) and not result.waveform[:, 12000:].any()
    expected = encode_clip_audio(models.audio_vae, speech, 48000, num_frames=9, fps=24.0).latent
    assert torch.equal(result.audio_latent, expected)
    assert any("padded" in note for note in result.notes)


def test_dub_it_without_dub_generates_speech(models: PipelineModels, contexts: TextContexts) -> None:
    clip = _clip(9)
    result = dub_it(models, contexts, clip, sampling=SAMPLING)
    source = encode_clip_audio(models.audio_vae, clip.waveform, 48000, num_frames=9, fps=24.0).latent
    assert result.frames.shape == (9, 64, 64, 3) and result.audio_latent.shape == source.shape
    assert not torch.equal(result.audio_latent, source)
    assert result.waveform.shape[0] == 2 and result.waveform.shape[1] > 0


def test_dub_it_refuses_bad_input_before_encoding() -> None:
    contexts = TextContexts(torch.zeros(1, 1, 1), torch.zeros(1, 1, 1))
    too_long = DubAudio(torch.zeros(18001), 48000)
    with pytest.raises(GenerationError, match=r"dub_audio lasts 0.375 s \(18001 samples at 48000 Hz\).*at most "
                                              r"18000 samples"):
        dub_it(None, contexts, _clip(), too_long)  # models=None: nothing is touched before the check
    with pytest.raises(GenerationError, match="the source video has no audio and no dub_audio"):
        dub_it(None, contexts, _clip(audio=False))
