"""The LTX-2.5 keyframes mask rule (``ltx_model.modes.keyframes_mask``) and its use in the library pipelines.

Golden masks: ``tests/data/ltx25_keyframes_mask_golden.json``, the ``keyframes_mask`` of Lightricks' latest ltx-core
(main @400fd31) for the same tiny states, written by ``tests/data/golden/ltx25_keyframes_mask_golden.py``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from ltx25_transformer_cases import random_transformer

from ltx_model.conditioning import ImageAtLatentIndex, KeyframeAtFrame, ReferenceVideo
from ltx_model.conditioning.items import append_tokens
from ltx_model.modes import keyframes_mask, state_keyframes_mask
from ltx_model.pipelines.denoise import GuidedDenoiser, modality, predict_x0, simple_denoiser
from ltx_model.pipelines.request import TextContexts
from ltx_model.sampling import AudioGrid, GuiderParams, VideoGrid, initial_state
from ltx_model.transformer import ModelKind, TransformerConfig

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "data" / "ltx25_keyframes_mask_golden.json").read_text())
FRAMES, HEIGHT, WIDTH, FPS = GOLDEN["grid"]
PER_FRAME = HEIGHT * WIDTH


def _latent(frames: int, seed: int, channels: int = 128) -> torch.Tensor:
    return torch.randn(1, channels, frames, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(seed))


def _with_slots(state, pixel_frames: list[int]):
    """``state`` with generated keyframe slots appended (empty tokens, denoised, one latent frame each)."""
    first = state.num_tokens
    grid = state.grid
    positions = state.positions[:, :, PER_FRAME : 2 * PER_FRAME].repeat(1, 1, len(pixel_frames), 1)
    tokens = torch.zeros(1, PER_FRAME * len(pixel_frames), grid.channels)
    new = append_tokens(state, tokens, positions, strength=0.0)
    spans = tuple((first + i * PER_FRAME, PER_FRAME) for i in range(len(pixel_frames)))
    return dataclasses.replace(new, generated_slots=spans)


def _state(case: str, channels: int = 128):
    state = initial_state(VideoGrid(FRAMES, HEIGHT, WIDTH, fps=FPS, channels=channels))
    if case in ("i2v", "keyframes"):
        state = ImageAtLatentIndex(_latent(1, 1, channels)).apply_to(state)
    if case in ("keyframes", "generated_slots"):
        state = KeyframeAtFrame(_latent(1, 2, channels), frame_index=16,
                                strength=1.0 if case == "keyframes" else 0.8).apply_to(state)
    if case == "generated_slots":
        state = _with_slots(state, [4, 12])
        state = ReferenceVideo(_latent(2, 3, channels)).apply_to(state)
    return state


@pytest.mark.parametrize("case", ["t2v", "i2v", "keyframes", "generated_slots"])
def test_ltx25_keyframes_mask_equals_lightricks_latest(case: str) -> None:
    state = _state(case)
    mask = state_keyframes_mask(state)
    assert state.num_tokens == GOLDEN[case]["tokens"]
    assert mask.shape == (1, state.num_tokens, 1) and mask.dtype == torch.float32
    assert mask.flatten().int().tolist() == GOLDEN[case]["mask"]


def test_ltx25_keyframes_mask_flags_first_frame_and_slots_only() -> None:
    grid = VideoGrid(3, 2, 3, fps=24.0)
    mask = keyframes_mask(grid, 18 + 6 + 6, slots=((24, 6),), batch=2)
    assert mask.shape == (2, 30, 1)
    assert mask[0, :, 0].tolist() == [1.0] * 6 + [0.0] * 12 + [0.0] * 6 + [1.0] * 6
    assert torch.equal(mask[0], mask[1])
    with pytest.raises(ValueError, match="do not fit"):
        keyframes_mask(grid, 30, slots=((10, 6),))  # a slot inside the target
    with pytest.raises(ValueError, match="do not fit"):
        keyframes_mask(grid, 30, slots=((24, 4),))  # not one latent frame
    with pytest.raises(ValueError, match="shorter than its target"):
        keyframes_mask(grid, 12)
    audio = initial_state(AudioGrid.from_duration(0.5, channels=8, mel_bins=16, sample_rate=16000, hop_length=160,
                                                  downsample=4))
    assert state_keyframes_mask(audio) is None and state_keyframes_mask(None) is None


def _contexts(config: TransformerConfig, seed: int = 5) -> TextContexts:
    g = torch.Generator().manual_seed(seed)
    video, audio = ((config.caption_channels,) * 2 if config.caption_projection  # 19B: projected inside
                    else (config.video_inner_dim, config.audio_inner_dim))
    return TextContexts(video=torch.randn(1, 4, video, generator=g), audio=torch.randn(1, 4, audio, generator=g),
                        negative_video=torch.randn(1, 4, video, generator=g),
                        negative_audio=torch.randn(1, 4, audio, generator=g))


def test_ltx25_pipeline_i2v_step_gives_the_model_lightricks_mask() -> None:
    """One distilled I2V step of the library pipeline on a tiny 2.5 model equals a direct transformer call with
    Lightricks' mask (golden), and differs from a call without it (the embedding is really applied)."""
    config = TransformerConfig.tiny_25(ModelKind.VIDEO_ONLY)
    model = random_transformer(config)
    contexts = _contexts(config)
    state = _state("i2v", channels=config.in_channels)
    state = dataclasses.replace(state, latent=state.latent + torch.randn(state.latent.shape,
                                                                        generator=torch.Generator().manual_seed(9)))
    sigmas = torch.tensor([0.8, 0.0])
    got, _ = simple_denoiser(model, contexts)(state, None, sigmas, 0)
    golden = torch.tensor(GOLDEN["i2v"]["mask"], dtype=torch.float32).view(1, -1, 1)
    plain = modality(state, contexts.video, sigmas[0])
    want, _ = predict_x0(model, dataclasses.replace(plain, keyframes_mask=golden), None)
    without, _ = predict_x0(model, dataclasses.replace(plain, keyframes_mask=None), None)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert (got - without).abs().max() > 1e-3


def test_ltx25_guided_passes_all_carry_the_mask() -> None:
    """The uncond (negative context) and perturbed passes of the guided denoiser see the same mask."""
    config = TransformerConfig.tiny_25(ModelKind.VIDEO_ONLY)
    seen = []

    def runner(transformer, plan):
        seen.extend(video.keyframes_mask for video, _, _ in plan.values())
        return {name: (video.latent, None) for name, (video, _, _) in plan.items()}

    state = _state("keyframes", channels=config.in_channels)
    guided = GuidedDenoiser(random_transformer(config), _contexts(config), GuiderParams(cfg_scale=3.0, stg_scale=1.0,
                            stg_blocks=(0,)), None, runner=runner)
    guided(state, None, torch.tensor([0.8, 0.0]), 0)
    assert len(seen) == 3 and all(torch.equal(m, state_keyframes_mask(state)) for m in seen)


@pytest.mark.parametrize("config", [TransformerConfig.tiny(ModelKind.VIDEO_ONLY),
                                    TransformerConfig.tiny_22b(ModelKind.VIDEO_ONLY)], ids=["19b", "2.3"])
def test_ltx25_keyframes_mask_leaves_19b_and_23_unchanged(config: TransformerConfig) -> None:
    model = random_transformer(config)
    state = _state("i2v", channels=config.in_channels)
    video = modality(state, _contexts(config).video, torch.tensor(0.7))
    assert video.keyframes_mask is not None and not hasattr(model, "keyframes_abs_pos_embedding")
    with_mask, _ = predict_x0(model, video, None)
    without, _ = predict_x0(model, dataclasses.replace(video, keyframes_mask=None), None)
    assert torch.equal(with_mask, without)
