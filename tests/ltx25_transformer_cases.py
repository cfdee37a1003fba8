"""Shared tiny LTX-2.5 transformer cases: the parity tests and the golden-value generator
(``tests/data/golden/ltx25_transformer_golden.py``) build the same weights and inputs from here.

Weights: :func:`random_transformer` fills every parameter of our model from one seed (sorted names). Inputs:
:func:`case_inputs` builds seeded video/audio :class:`~ltx_model.transformer.Modality` bundles with reference-pipeline
positions, optional per-token timesteps (clean first latent frame), appended keyframe-slot tokens and a keyframes
mask (first latent frame + slots).
"""

from __future__ import annotations

import dataclasses

import torch

from ltx_model.loading.detect import Family
from ltx_model.loading.released import released_transformer
from ltx_model.transformer import LTXTransformer, Modality, ModelKind, TransformerConfig

DIFFUSION_PREFIX = "model.diffusion_model."
FRAMES, HEIGHT, WIDTH = 3, 2, 2  # latent video grid -> 12 tokens, 4 per latent frame
AUDIO_TOKENS = 6
CONTEXT_TOKENS = 5


# The released LTX-2.5 section with the sizes of TransformerConfig.tiny (video 2 x 8, audio 2 x 4, 8 channels).
TINY_SIZES = {
    "num_layers": 2, "num_attention_heads": 2, "attention_head_dim": 8, "in_channels": 8, "out_channels": 8,
    "cross_attention_dim": 16, "caption_channels": 12, "audio_num_attention_heads": 2, "audio_attention_head_dim": 4,
    "audio_in_channels": 8, "audio_out_channels": 8, "audio_cross_attention_dim": 8,
}


def ltx25_section(**changes: object) -> dict:
    """The tiny LTX-2.5 ``transformer`` metadata section (released keys, tiny sizes), optionally changed."""
    return {**released_transformer(Family.LTX25), **TINY_SIZES, **changes}


def ltx25_config(kind: ModelKind = ModelKind.AUDIO_VIDEO, **changes: object) -> TransformerConfig:
    """The tiny LTX-2.5 form (video 2 heads x 8, audio 2 x 4, 2 blocks), optionally changed."""
    return dataclasses.replace(TransformerConfig.tiny_25(kind), **changes)


def random_transformer(config: TransformerConfig, seed: int = 0) -> LTXTransformer:
    """Our model in fp32 eval mode, every parameter seeded from ``seed`` (sorted names): fan-in scaled matrices,
    norms near 1, tables and vectors (the keyframe embedding included) N(0, 0.2)."""
    model = LTXTransformer(config)
    gen = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in sorted(params):
            param = params[name]
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            if name.endswith("norm.weight"):
                value = 1 + 0.1 * noise
            elif param.ndim == 2 and "table" not in name and "embedding" not in name:
                value = noise * (0.8 / param.shape[1] ** 0.5)
            else:
                value = 0.2 * noise
            param.copy_(value)
    return model.eval()


def official_state_dict(model: LTXTransformer) -> dict[str, torch.Tensor]:
    """The model's tensors under the official single-file / split-file key names (``model.diffusion_model.*``)."""
    return {DIFFUSION_PREFIX + k: v.detach().clone() for k, v in model.state_dict().items()}


@dataclasses.dataclass(frozen=True)
class Case:
    """Inputs of one forward.

    Attributes:
        batch: batch size.
        sigma_video / sigma_audio: the streams' sigmas.
        clean_first_frame: first latent frame's tokens at t = 0 (image-to-video).
        keyframe_slots: appended generated-keyframe-slot tokens (one latent frame each, 4 tokens, at t = sigma).
        keyframes_mask: pass the keyframes mask (first latent frame + slots); False = None.
    """

    batch: int = 1
    sigma_video: float = 0.7
    sigma_audio: float = 0.7
    clean_first_frame: bool = False
    keyframe_slots: int = 0
    keyframes_mask: bool = True


# name -> (model kind, inputs, TransformerConfig field changes): the cases checked against ltx-core HEAD's outputs.
GOLDEN_CASES: dict[str, tuple[ModelKind, Case, dict[str, bool]]] = {
    "av_keyframe_slot_clean_first_frame": (ModelKind.AUDIO_VIDEO, Case(clean_first_frame=True, keyframe_slots=1), {}),
    "av_different_sigmas_batch2": (ModelKind.AUDIO_VIDEO,
                                   Case(batch=2, sigma_video=0.8, sigma_audio=0.3, keyframe_slots=1), {}),
    "av_without_keyframes_mask": (ModelKind.AUDIO_VIDEO, Case(keyframes_mask=False), {}),
    "av_prompt_adaln_and_ff_bias_on": (ModelKind.AUDIO_VIDEO, Case(clean_first_frame=True),
                                       {"prompt_adaln": True, "ff_bias": True}),
    "video_only_two_keyframe_slots": (ModelKind.VIDEO_ONLY, Case(clean_first_frame=True, keyframe_slots=2), {}),
}


def video_positions(batch: int, fps: float = 24.0) -> torch.Tensor:
    """Reference pipeline video positions ``(B, 3, F*H*W, 2)``: pixel bounds, causal time fix, seconds."""
    grid = torch.stack(torch.meshgrid(torch.arange(FRAMES), torch.arange(HEIGHT), torch.arange(WIDTH),
                                      indexing="ij")).reshape(3, -1).float()  # (3, T)
    scale = torch.tensor([8.0, 32.0, 32.0])[:, None]
    bounds = torch.stack([grid * scale, (grid + 1) * scale], dim=-1)  # (3, T, 2)
    bounds[0] = (bounds[0] + 1 - 8).clamp(min=0) / fps
    return bounds.unsqueeze(0).repeat(batch, 1, 1, 1)


def audio_positions(batch: int) -> torch.Tensor:
    """Reference pipeline audio positions ``(B, 1, T, 2)`` in seconds (4 mel frames of 10 ms per latent)."""
    index = torch.arange(AUDIO_TOKENS, dtype=torch.float32)
    start = (4 * index - 3).clamp(min=0) * 0.01
    end = (4 * (index + 1) - 3).clamp(min=0) * 0.01
    return torch.stack([start, end], dim=-1)[None, None].repeat(batch, 1, 1, 1)


def _video(config: TransformerConfig, case: Case, gen: torch.Generator) -> Modality:
    batch, per_frame = case.batch, HEIGHT * WIDTH
    positions = video_positions(batch)
    denoise = torch.ones(batch, positions.shape[2], 1)
    marker = torch.zeros(batch, positions.shape[2], 1)
    marker[:, :per_frame] = 1.0  # the causal first latent frame encodes one pixel frame
    if case.clean_first_frame:
        denoise[:, :per_frame] = 0.0
    for slot in range(case.keyframe_slots):  # a slot = one more latent frame at an interior time, flagged
        extra = positions[:, :, per_frame:2 * per_frame].clone()
        extra[:, 0] += 0.25 * (slot + 1)
        positions = torch.cat([positions, extra], dim=2)
        denoise = torch.cat([denoise, torch.ones(batch, per_frame, 1)], dim=1)
        marker = torch.cat([marker, torch.ones(batch, per_frame, 1)], dim=1)
    return Modality(
        latent=torch.randn(batch, positions.shape[2], config.in_channels, generator=gen),
        sigma=torch.full((batch,), case.sigma_video),
        timesteps=denoise * case.sigma_video,
        positions=positions,
        context=torch.randn(batch, CONTEXT_TOKENS, config.video_inner_dim, generator=gen),
        keyframes_mask=marker if case.keyframes_mask else None,
    )


def _audio(config: TransformerConfig, case: Case, gen: torch.Generator) -> Modality:
    batch = case.batch
    return Modality(
        latent=torch.randn(batch, AUDIO_TOKENS, config.audio_in_channels, generator=gen),
        sigma=torch.full((batch,), case.sigma_audio),
        timesteps=torch.ones(batch, AUDIO_TOKENS, 1) * case.sigma_audio,
        positions=audio_positions(batch),
        context=torch.randn(batch, CONTEXT_TOKENS, config.audio_inner_dim, generator=gen),
    )


def case_inputs(config: TransformerConfig, case: Case, seed: int = 1) -> tuple[Modality | None, Modality | None]:
    """Seeded (video, audio) inputs for the streams ``config`` has (None for a missing stream)."""
    gen = torch.Generator().manual_seed(seed)
    video = _video(config, case, gen) if config.kind.has_video else None
    audio = _audio(config, case, gen) if config.kind.has_audio else None
    return video, audio


def relative_l2(got: torch.Tensor, want: torch.Tensor) -> float:
    """``||got - want|| / ||want||`` in float64."""
    got, want = got.double(), want.double()
    return float((got - want).norm() / want.norm())
