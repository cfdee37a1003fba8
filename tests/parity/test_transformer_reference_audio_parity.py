"""Parity of reference audio (ID-LoRA) conditioning: ``ltx_model.conditioning.ReferenceAudio`` + our transformer.

Ours: the target audio state gets the reference through ``ReferenceAudio.from_latent(...).apply_to(state)`` and the
transformer runs on the resulting tokens, positions, per-token timesteps (``mask * sigma``) and attention mask.
Reference: ltx-core 1.0.0's transformer (1.0.0 has no reference-audio item) on the appended state built by hand
with HEAD semantics (``AudioConditionByReferenceLatent`` + ``patchify_dubit_audio_reference_latent(...,
negative_positions=True)``): reference tokens after the target tokens, timestep 0, positions = own audio bounds -
end of the last token - 0.04 s, no attention mask. Only the target tokens' outputs are compared (ltx-core's
``clear_conditioning``).

Audio-only models have no cross-modal AdaLN, so they are compared with 1.0.0 directly (atol 1e-5, rtol 1e-5, fp32).
Audio+video models feed the cross-modal AdaLN with per-token timesteps in HEAD (ltx2-model.md §2.7), which the clean
reference tokens make non-uniform, so they are checked against golden values from HEAD (end of this file).
"""

from __future__ import annotations

import pytest
import torch
from ltx_core.components.patchifiers import AudioPatchifier
from ltx_core.types import AudioLatentShape
from test_transformer_parity import FORMS, build_pair, to_reference, video_positions

from ltx_model.conditioning import ConditioningError, ReferenceAudio, reference_audio_positions
from ltx_model.sampling.positions import AudioGrid, VideoGrid
from ltx_model.sampling.state import initial_state
from ltx_model.transformer import Modality, ModelKind, TransformerConfig

pytestmark = pytest.mark.parity
ATOL = RTOL = 1e-5
TARGET, REF = 6, 5  # audio latent frames of the generated clip and of the reference
CHANNELS, MEL = 2, 4  # tiny audio latent: tokens are 2 x 4 = 8 wide (the tiny configs' audio_in_channels)
GRID = AudioGrid(frames=TARGET, channels=CHANNELS, mel_bins=MEL)
SIGMAS = (0.7, 0.4)  # per sample (batch 2)


def _randn(*shape: int, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _context(config: TransformerConfig, *, audio: bool, seed: int) -> torch.Tensor:
    width = config.audio_inner_dim if audio else config.video_inner_dim
    return _randn(2, 5, config.caption_channels if config.caption_projection else width, seed=seed)


def our_audio(config: TransformerConfig, *, reference: bool) -> Modality:
    """The target audio (batch 2) with, optionally, the reference appended by ``ReferenceAudio``."""
    state = initial_state(GRID, latent=_randn(2, CHANNELS, TARGET, MEL, seed=1))
    if reference:
        state = ReferenceAudio.from_latent(_randn(2, CHANNELS, REF, MEL, seed=2)).apply_to(state)
    sigma = torch.tensor(SIGMAS)
    return Modality(latent=state.latent, sigma=sigma, timesteps=state.denoise_mask[..., 0] * sigma[:, None],
                    positions=state.positions, context=_context(config, audio=True, seed=3),
                    attention_mask=state.attention_mask)


def head_reference_positions(frames: int) -> torch.Tensor:
    """HEAD ``patchify_dubit_audio_reference_latent(..., negative_positions=True)`` positions, by hand, from
    ltx-core's audio patchifier: ``(2, 1, frames, 2)`` seconds."""
    bounds = AudioPatchifier(patch_size=1).get_patch_grid_bounds(
        AudioLatentShape(batch=2, channels=CHANNELS, frames=frames, mel_bins=MEL)).to(torch.float32)
    return bounds - bounds[:, :, -1, 1].max().item() - 0.04


def reference_audio(config: TransformerConfig) -> Modality:
    """The same appended state built by hand (tokens, positions, timesteps 0, no attention mask)."""
    target = _randn(2, CHANNELS, TARGET, MEL, seed=1).permute(0, 2, 1, 3).reshape(2, TARGET, CHANNELS * MEL)
    ref = _randn(2, CHANNELS, REF, MEL, seed=2).permute(0, 2, 1, 3).reshape(2, REF, CHANNELS * MEL)
    positions = torch.cat([AudioPatchifier(patch_size=1).get_patch_grid_bounds(
        AudioLatentShape(batch=2, channels=CHANNELS, frames=TARGET, mel_bins=MEL)).float(),
        head_reference_positions(REF)], dim=2)
    sigma = torch.tensor(SIGMAS)
    timesteps = torch.cat([sigma[:, None].expand(2, TARGET), torch.zeros(2, REF)], dim=1)
    return Modality(latent=torch.cat([target, ref], dim=1), sigma=sigma, timesteps=timesteps, positions=positions,
                    context=_context(config, audio=True, seed=3))


def our_video(config: TransformerConfig) -> Modality:
    """Plain video input (batch 2, 3 x 2 x 2 latent cells) at the audio's sigmas."""
    positions = video_positions(3, 2, 2, batch=2)
    sigma = torch.tensor(SIGMAS)
    return Modality(latent=_randn(2, positions.shape[2], config.in_channels, seed=4), sigma=sigma,
                    timesteps=sigma[:, None].expand(2, positions.shape[2]), positions=positions,
                    context=_context(config, audio=False, seed=5))


def test_transformer_reference_audio_state_follows_head() -> None:
    """Appended tokens, negative positions (ending 0.04 s before 0), clean mask, no attention mask."""
    state = initial_state(GRID, latent=_randn(2, CHANNELS, TARGET, MEL, seed=1))
    ref_latent = _randn(2, CHANNELS, REF, MEL, seed=2)
    new = ReferenceAudio.from_latent(ref_latent).apply_to(state)
    assert torch.equal(new.latent[:, :TARGET], state.latent) and torch.equal(new.positions[:, :, :TARGET],
                                                                             state.positions)
    assert torch.equal(new.latent[:, TARGET:], ref_latent.permute(0, 2, 1, 3).reshape(2, REF, CHANNELS * MEL))
    assert torch.equal(new.clean_latent, new.latent) and new.attention_mask is None
    assert torch.equal(new.denoise_mask[:, TARGET:], torch.zeros(2, REF, 1))
    want = head_reference_positions(REF)
    assert new.positions.dtype == torch.float32 and torch.equal(new.positions[:, :, TARGET:], want)
    assert torch.equal(reference_audio_positions(REF, GRID, batch=2), want)
    assert abs(float(want[0, 0, -1, 1]) + 0.04) < 1e-7 and float(want.max()) < 0
    half = ReferenceAudio.from_latent(ref_latent, strength=0.25).apply_to(state)
    assert torch.equal(half.denoise_mask[:, TARGET:], torch.full((2, REF, 1), 0.75))


def test_transformer_reference_audio_rejects_bad_inputs() -> None:
    state = initial_state(GRID, latent=_randn(2, CHANNELS, TARGET, MEL, seed=1))
    with pytest.raises(ConditioningError, match=r"must be \(2, T_ref, 8\).*got \(2, 3, 6\)"):
        ReferenceAudio(torch.zeros(2, 3, 6)).apply_to(state)
    with pytest.raises(ConditioningError, match="empty"):
        ReferenceAudio(torch.zeros(2, 0, 8)).apply_to(state)
    with pytest.raises(ConditioningError, match="needs an audio latent state, got a VideoGrid"):
        ReferenceAudio(torch.zeros(1, 3, 8)).apply_to(initial_state(VideoGrid(frames=1, height=1, width=1, fps=24.0)))


@pytest.mark.parametrize("form", FORMS)
def test_transformer_reference_audio_parity_audio_only(form: str) -> None:
    config = FORMS[form](ModelKind.AUDIO_ONLY)
    ours, ref = build_pair(config)
    with torch.no_grad():
        _, got = ours(None, our_audio(config, reference=True))
        _, want = ref(None, to_reference(reference_audio(config)), None)
        _, plain = ours(None, our_audio(config, reference=False))
    assert got.shape == want.shape == (2, TARGET + REF, config.audio_out_channels)
    torch.testing.assert_close(got[:, :TARGET], want[:, :TARGET], atol=ATOL, rtol=RTOL)
    assert (got[:, :TARGET] - plain).abs().max() > 1e-3  # the reference is really attended to


# --- audio+video models: golden values from ltx-core HEAD ----------------------------------------------------------
# Computed by running ltx-core HEAD (Lightricks/LTX-2, ltx-core 1.2.0; /tmp/ltx2head) via PYTHONPATH on exactly these
# weights (build_pair, seed 0) and inputs: the audio state built with HEAD's AudioLatentTools +
# AudioConditionByReferenceLatent(*patchify_dubit_audio_reference_latent(ref, negative_positions=True)) (equal to
# ours bit for bit), video = our_video, HEAD's LTXModel forward with perturbations=None; per stream
# (out[-1, :, 0], out[-1, -1, :]) of the target tokens. Our implementation matched HEAD to < 1e-6 at generation time.
HEAD_ATOL = 1e-5
GOLDEN = {
    ("19b", "v"): (
        [-0.8611547, -0.7480552, -0.8739231, -0.8732617, -0.7743114, -0.3711813, -0.6908901, -0.7469423,
         -1.049146, -1.180903, -0.903542, -0.5658403],
        [-0.5658403, -0.6583688, -0.8896159, 1.856868, 0.4208178, 0.161117, 1.458257, 0.4542853],
    ),
    ("19b", "a"): (
        [-0.4846742, 0.747537, -0.2193808, 0.1261899, -0.06475115, -0.003506869],
        [-0.003506869, 0.3866071, -0.3443143, -0.3823505, -1.164061, 1.06891, -0.9673215, 1.37074],
    ),
    ("22b", "v"): (
        [0.9446653, -0.3329469, 0.1810129, -1.034512, -0.1769915, -0.9522556, -0.7448088, 0.05247796,
         -0.503204, -0.7946353, -0.1811409, -1.217801],
        [-1.217801, -1.167071, -0.6857145, -0.3662571, 1.126972, -0.8172601, 0.009295762, -1.114625],
    ),
    ("22b", "a"): (
        [-1.326318, -2.562175, -1.498113, 0.2253656, -0.7419007, -1.760918],
        [-1.760918, 0.4132794, -0.4376515, -1.042832, -0.5852586, 0.1923072, 1.958433, -0.009193987],
    ),
}


@pytest.mark.parametrize("form", FORMS)
def test_transformer_reference_audio_head_golden_audio_video(form: str) -> None:
    config = FORMS[form]()
    ours, _ = build_pair(config)
    video = our_video(config)
    with torch.no_grad():
        got = ours(video, our_audio(config, reference=True))
        plain = ours(video, our_audio(config, reference=False))
    for stream, out, base in zip("va", got, plain, strict=True):
        out = out[:, :TARGET] if stream == "a" else out
        tokens, channels = GOLDEN[(form, stream)]
        torch.testing.assert_close(out[-1, :, 0], torch.tensor(tokens), atol=HEAD_ATOL, rtol=0)
        torch.testing.assert_close(out[-1, -1, :], torch.tensor(channels), atol=HEAD_ATOL, rtol=0)
        assert (out - base).abs().max() > 1e-3  # both streams see the reference (audio directly, video via a2v)
