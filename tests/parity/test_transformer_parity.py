"""Parity of ltx_model.transformer against ltx-core 1.0.0 (fp32, tiny random weights shared by both models).

Tolerance: atol 1e-5, rtol 1e-5 on the velocity outputs (O(1) values). Cases cover the 19B and 22B forms ×
audio+video / video-only / audio-only, appended conditioning tokens with an attention-strength mask, STG and
a2v / v2a perturbations (whole batch and per sample), per-token timesteps, interleaved RoPE with a float32 grid,
bf16 positions and a binary text mask.

ltx-core 1.0.0 and HEAD differ in the audio<->video cross-attention AdaLN inputs (we implement HEAD); they agree
when every token of both streams is at one sigma, so the audio+video cases here use uniform timesteps; mixed
timesteps of A/V models are checked against HEAD golden values in test_transformer_head.py. Single-stream
models have no cross-modal AdaLN, so their per-token cases are compared to 1.0.0 directly.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from ltx_core.guidance.perturbations import (
    BatchedPerturbationConfig,
    PerturbationConfig,
    PerturbationType,
)
from ltx_core.guidance.perturbations import Perturbation as RefPerturbation
from ltx_core.model.transformer.modality import Modality as RefModality
from ltx_core.model.transformer.model import LTXModel, LTXModelType
from ltx_core.model.transformer.rope import LTXRopeType
from ltx_core.model.transformer.text_projection import PixArtAlphaTextProjection

from ltx_model.transformer import (
    LTXTransformer,
    Modality,
    ModelKind,
    Perturbation,
    Perturbations,
    RopeType,
    SkipAttention,
    TransformerConfig,
)

pytestmark = pytest.mark.parity
ATOL = RTOL = 1e-5
_KINDS = {ModelKind.AUDIO_VIDEO: LTXModelType.AudioVideo, ModelKind.VIDEO_ONLY: LTXModelType.VideoOnly,
          ModelKind.AUDIO_ONLY: LTXModelType.AudioOnly}
_SKIPS = {SkipAttention.VIDEO_SELF: PerturbationType.SKIP_VIDEO_SELF_ATTN,
          SkipAttention.AUDIO_SELF: PerturbationType.SKIP_AUDIO_SELF_ATTN,
          SkipAttention.AUDIO_TO_VIDEO: PerturbationType.SKIP_A2V_CROSS_ATTN,
          SkipAttention.VIDEO_TO_AUDIO: PerturbationType.SKIP_V2A_CROSS_ATTN}


def randomize_transformer(model: torch.nn.Module, seed: int) -> None:
    """Fill every parameter with seeded random values (sorted names, so the result depends on the seed only)."""
    gen = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in sorted(params):
            param = params[name]
            noise = torch.randn(param.shape, generator=gen, dtype=torch.float32)
            if name.endswith("norm.weight"):
                value = 1 + 0.1 * noise
            elif param.ndim == 2 and "table" not in name:
                value = noise * (0.8 / param.shape[1] ** 0.5)
            else:
                value = 0.2 * noise
            param.copy_(value)


def reference_transformer(config: TransformerConfig) -> LTXModel:
    """ltx-core's LTXModel with the same hyper-parameters (fp32, CPU)."""
    def caption(dim: int) -> PixArtAlphaTextProjection | None:
        return PixArtAlphaTextProjection(config.caption_channels, dim) if config.caption_projection else None

    has_v, has_a = config.kind.has_video, config.kind.has_audio
    return LTXModel(
        model_type=_KINDS[config.kind],
        num_attention_heads=config.num_attention_heads, attention_head_dim=config.attention_head_dim,
        in_channels=config.in_channels, out_channels=config.out_channels, num_layers=config.num_layers,
        cross_attention_dim=config.cross_attention_dim, norm_eps=config.norm_eps,
        positional_embedding_theta=config.positional_embedding_theta,
        positional_embedding_max_pos=list(config.positional_embedding_max_pos),
        timestep_scale_multiplier=config.timestep_scale_multiplier,
        audio_num_attention_heads=config.audio_num_attention_heads,
        audio_attention_head_dim=config.audio_attention_head_dim,
        audio_in_channels=config.audio_in_channels, audio_out_channels=config.audio_out_channels,
        audio_cross_attention_dim=config.audio_cross_attention_dim,
        audio_positional_embedding_max_pos=list(config.audio_positional_embedding_max_pos),
        av_ca_timestep_scale_multiplier=config.av_ca_timestep_scale_multiplier,
        rope_type=LTXRopeType(config.rope_type.value), double_precision_rope=config.rope_double_precision,
        apply_gated_attention=config.gated_attention, cross_attention_adaln=config.cross_attention_adaln,
        caption_projection=caption(config.video_inner_dim) if has_v else None,
        audio_caption_projection=caption(config.audio_inner_dim) if has_a else None,
    )


def build_pair(config: TransformerConfig, seed: int = 0) -> tuple[LTXTransformer, LTXModel]:
    """Our model with random weights and ltx-core's model holding the same tensors (key sets must match)."""
    ours = LTXTransformer(config)
    randomize_transformer(ours, seed)
    ref = reference_transformer(config)
    ref_keys, our_keys = set(ref.state_dict()), set(ours.state_dict())
    assert ref_keys == our_keys, sorted(ref_keys ^ our_keys)[:10]
    ref.load_state_dict(ours.state_dict(), strict=True)
    return ours.eval(), ref.eval()


def video_positions(frames: int, height: int, width: int, *, batch: int, fps: float = 24.0) -> torch.Tensor:
    """Reference pipeline video positions ``(B, 3, F*H*W, 2)``: pixel bounds, causal time fix, seconds."""
    grid = torch.stack(torch.meshgrid(torch.arange(frames), torch.arange(height), torch.arange(width),
                                      indexing="ij")).reshape(3, -1).float()  # (3, T)
    scale = torch.tensor([8.0, 32.0, 32.0])[:, None]
    bounds = torch.stack([grid * scale, (grid + 1) * scale], dim=-1)  # (3, T, 2)
    bounds[0] = (bounds[0] + 1 - 8).clamp(min=0) / fps
    return bounds.unsqueeze(0).repeat(batch, 1, 1, 1)


def audio_positions(tokens: int, *, batch: int) -> torch.Tensor:
    """Reference pipeline audio positions ``(B, 1, T, 2)`` in seconds (4 mel frames of 10 ms per latent)."""
    index = torch.arange(tokens, dtype=torch.float32)
    start = (4 * index - 3).clamp(min=0) * 0.01
    end = (4 * (index + 1) - 3).clamp(min=0) * 0.01
    return torch.stack([start, end], dim=-1)[None, None].repeat(batch, 1, 1, 1)


@dataclasses.dataclass(frozen=True)
class Case:
    """Inputs of one forward: sizes, sigmas, conditioning tokens and masks."""

    batch: int = 1
    sigma_video: float = 0.7
    sigma_audio: float = 0.7
    cond_tokens: int = 0  # appended video / audio conditioning tokens
    clean_cond: bool = False  # conditioning tokens at t = 0 (denoise mask 0), else at sigma
    clean_first_frame: bool = False  # first latent frame's tokens at t = 0 (image-to-video)
    strength_mask: bool = False
    context_mask: bool = False
    bf16_positions: bool = False


def make_modality(config: TransformerConfig, case: Case, *, audio: bool, seed: int) -> Modality:
    """Seeded random inputs for one stream of ``config`` following ``case``."""
    gen = torch.Generator().manual_seed(seed)
    batch = case.batch
    if audio:
        positions = audio_positions(6, batch=batch)
        channels, sigma = config.audio_in_channels, case.sigma_audio
        ctx_dim = config.caption_channels if config.caption_projection else config.audio_inner_dim
    else:
        positions = video_positions(3, 2, 2, batch=batch)
        channels, sigma = config.in_channels, case.sigma_video
        ctx_dim = config.caption_channels if config.caption_projection else config.video_inner_dim
    mask = torch.ones(batch, positions.shape[2], 1)
    if case.clean_first_frame and not audio:
        mask[:, :4] = 0.0
    if case.cond_tokens:
        extra = positions[:, :, : case.cond_tokens].clone()
        extra[:, 0] += 0.5  # own (later) time coordinates
        positions = torch.cat([positions, extra], dim=2)
        mask = torch.cat([mask, torch.full((batch, case.cond_tokens, 1), 0.0 if case.clean_cond else 1.0)], 1)
    tokens = positions.shape[2]
    strength = None
    if case.strength_mask:
        strength = torch.ones(batch, tokens, tokens)
        gen_tokens = tokens - case.cond_tokens
        strength[:, :gen_tokens, gen_tokens:] = 0.5
        strength[:, gen_tokens:, :gen_tokens] = 0.25
        strength[:, 0, -1] = 0.0
    context_mask = None
    if case.context_mask:
        context_mask = torch.ones(batch, 5, dtype=torch.int64)
        context_mask[:, :2] = 0
    return Modality(
        latent=torch.randn(batch, tokens, channels, generator=gen),
        sigma=torch.full((batch,), sigma),
        timesteps=mask * sigma,
        positions=positions.to(torch.bfloat16) if case.bf16_positions else positions,
        context=torch.randn(batch, 5, ctx_dim, generator=gen),
        context_mask=context_mask,
        attention_mask=strength,
    )


def make_inputs(config: TransformerConfig, case: Case, seed: int = 1) -> tuple[Modality | None, Modality | None]:
    """Video and audio inputs for the streams ``config`` has."""
    video = make_modality(config, case, audio=False, seed=seed) if config.kind.has_video else None
    audio = make_modality(config, case, audio=True, seed=seed + 1) if config.kind.has_audio else None
    return video, audio


def to_reference(modality: Modality | None) -> RefModality | None:
    """The same inputs as an ltx-core Modality."""
    return None if modality is None else RefModality(**dataclasses.asdict(modality))


def reference_perturbations(perturbations: Perturbations | None, batch: int) -> BatchedPerturbationConfig:
    """Our Perturbations as ltx-core 1.0.0's per-sample BatchedPerturbationConfig."""
    items = perturbations.items if perturbations is not None else ()
    samples = []
    for sample in range(batch):
        mine = [RefPerturbation(_SKIPS[p.skip], None if p.blocks is None else list(p.blocks))
                for p in items if p.samples is None or sample in p.samples]
        samples.append(PerturbationConfig(mine))
    return BatchedPerturbationConfig(samples)


def assert_parity(config: TransformerConfig, case: Case, perturbations: Perturbations | None = None) -> None:
    """Run both models on the same inputs and compare both outputs."""
    ours, ref = build_pair(config)
    video, audio = make_inputs(config, case)
    with torch.no_grad():
        got = ours(video, audio, perturbations)
        want = ref(to_reference(video), to_reference(audio), reference_perturbations(perturbations, case.batch))
    for name, g, w in zip(("video", "audio"), got, want, strict=True):
        assert (g is None) == (w is None), name
        if g is not None:
            torch.testing.assert_close(g, w, atol=ATOL, rtol=RTOL, msg=lambda m, n=name: f"{n}: {m}")


FORMS = {"19b": TransformerConfig.tiny, "22b": TransformerConfig.tiny_22b}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", list(ModelKind), ids=lambda k: k.value)
def test_transformer_parity_plain(form: str, kind: ModelKind) -> None:
    assert_parity(FORMS[form](kind), Case())


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", list(ModelKind), ids=lambda k: k.value)
def test_transformer_parity_conditioning_tokens_with_strength(form: str, kind: ModelKind) -> None:
    assert_parity(FORMS[form](kind), Case(batch=2, cond_tokens=3, strength_mask=True))


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("kind", [ModelKind.VIDEO_ONLY, ModelKind.AUDIO_ONLY], ids=lambda k: k.value)
def test_transformer_parity_per_token_timesteps_single_stream(form: str, kind: ModelKind) -> None:
    case = Case(cond_tokens=2, clean_cond=True, clean_first_frame=True, strength_mask=True)
    assert_parity(FORMS[form](kind), case)


STG = Perturbations((Perturbation(SkipAttention.VIDEO_SELF, blocks=(1,)),
                     Perturbation(SkipAttention.AUDIO_SELF, blocks=(0,))))
PERTURBATIONS = {
    "stg_all_samples": STG,
    "stg_one_sample": Perturbations(tuple(dataclasses.replace(p, samples=(1,)) for p in STG.items)),
    "a2v_v2a_isolation": Perturbations((Perturbation(SkipAttention.AUDIO_TO_VIDEO),
                                        Perturbation(SkipAttention.VIDEO_TO_AUDIO))),
    "a2v_one_sample_v2a_block0": Perturbations((Perturbation(SkipAttention.AUDIO_TO_VIDEO, samples=(0,)),
                                                Perturbation(SkipAttention.VIDEO_TO_AUDIO, blocks=(0,)))),
}


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("name", PERTURBATIONS)
def test_transformer_parity_perturbations(form: str, name: str) -> None:
    assert_parity(FORMS[form](ModelKind.AUDIO_VIDEO), Case(batch=2), PERTURBATIONS[name])


@pytest.mark.parametrize("form", FORMS)
def test_transformer_parity_interleaved_float32_rope(form: str) -> None:
    config = dataclasses.replace(FORMS[form](), rope_type=RopeType.INTERLEAVED, rope_double_precision=False)
    assert_parity(config, Case(cond_tokens=1))


def test_transformer_parity_bf16_positions_and_context_mask() -> None:
    assert_parity(TransformerConfig.tiny_22b(), Case(batch=2, bf16_positions=True, context_mask=True))
    assert_parity(TransformerConfig.tiny(), Case(bf16_positions=True, context_mask=True))
