"""Rank-side bodies of the distributed tests (module-level, so that spawned processes can unpickle them).

Each case builds the same tiny seeded model and inputs on every rank, runs the distributed path AND the plain
single-process path in the same process, and returns the max abs difference (plus what the test needs to check
that the distributed path really ran distributed). One launch per world size runs every case, since starting the
processes costs far more than the tiny models.
"""

from __future__ import annotations

import dataclasses

import torch

from ltx_model.distributed import (
    GuidanceParallel,
    Rank,
    SequenceParallel,
    Traffic,
    decode_tiled_distributed,
    parallel_layout,
    sequence_pass_bytes,
)
from ltx_model.pipelines.denoise import GuidedDenoiser, euler_loop, simple_denoiser
from ltx_model.pipelines.request import TextContexts
from ltx_model.sampling import AudioGrid, GuiderParams, VideoGrid, distilled_sigmas, initial_state, noise_state
from ltx_model.transformer import (
    LTXTransformer,
    Modality,
    ModelKind,
    Perturbation,
    Perturbations,
    SkipAttention,
    TransformerConfig,
    TransformerOptions,
    sdpa_attention,
)
from ltx_model.video_vae import (
    SpatialTilingConfig,
    TemporalTilingConfig,
    TilingConfig,
    VAETopology,
    VideoVAE,
    VideoVAEConfig,
)


def tiny_config(form: str) -> TransformerConfig:
    """Tiny 19B/22B form with 4 heads per stream (so that 3 ranks split heads unevenly: 2, 1, 1)."""
    base = TransformerConfig.tiny_22b() if form == "22b" else TransformerConfig.tiny()
    return dataclasses.replace(base, num_attention_heads=4, attention_head_dim=4, audio_num_attention_heads=4,
                               audio_attention_head_dim=2, audio_cross_attention_dim=8, cross_attention_dim=16)


def tiny_model(config: TransformerConfig, seed: int = 0) -> LTXTransformer:
    """Tiny model with seeded random weights."""
    model = LTXTransformer(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(0.15 * torch.randn(param.shape, generator=gen))
    return model.eval()


def modality(config: TransformerConfig, tokens: int, *, audio: bool, seed: int, per_token: bool = True,
             mask: bool = False) -> Modality:
    """Random stream input: per-token timesteps (some clean tokens), increasing positions, optional soft mask."""
    gen = torch.Generator().manual_seed(seed)
    axes, channels = (1, config.audio_in_channels) if audio else (3, config.in_channels)
    width = config.audio_inner_dim if audio else config.video_inner_dim
    context_width = config.caption_channels if config.caption_projection else width
    start = torch.rand(2, axes, tokens, generator=gen).cumsum(2)
    timesteps = torch.full((2, tokens, 1), 0.7)
    if per_token:
        timesteps[:, :2] = 0.0  # clean conditioning tokens
    strength = torch.rand(2, tokens, tokens, generator=gen) if mask else None
    return Modality(latent=torch.randn(2, tokens, channels, generator=gen), sigma=torch.full((2,), 0.7),
                    timesteps=timesteps if per_token else torch.full((2, 1), 0.7),
                    positions=torch.stack([start, start + 1], dim=-1),
                    context=torch.randn(2, 5, context_width, generator=gen), attention_mask=strength)


def _max_diff(got: tuple, want: tuple) -> float:
    return max(float((g - w).abs().max()) for g, w in zip(got, want, strict=True) if w is not None)


def counting(calls: list[int]):  # noqa: ANN201 - an AttentionFn
    def kernel(q, k, v, heads, mask=None):
        calls.append(heads)
        return sdpa_attention(q, k, v, heads, mask=mask)
    return kernel


def sequence_parallel_cases(rank: Rank) -> dict[str, float | list[int]]:
    """Transformer passes (19B and 22B forms; uneven token counts; per-token timesteps; soft self-attention mask;
    STG and modality isolation; video-only) sequence-parallel vs one process. Returns max abs diffs and the head
    counts the host kernel saw on this rank (sharded self-attention runs on this rank's heads only)."""
    torch.manual_seed(0)
    results: dict[str, float | list[int]] = {}
    stg = Perturbations((Perturbation(SkipAttention.VIDEO_SELF, blocks=(1,)),
                         Perturbation(SkipAttention.AUDIO_TO_VIDEO, samples=(1,))))
    for form in ("19b", "22b"):
        config = tiny_config(form)
        model = tiny_model(config)
        parallel = SequenceParallel(model, rank)
        for name, tokens, kwargs, perturbations in (
            ("plain", 7, {"per_token": False}, None),
            ("per_token_masked", 10, {"mask": True}, None),
            ("perturbed", 8, {}, stg),
        ):
            video = modality(config, tokens, audio=False, seed=1, **kwargs)
            audio = modality(config, 5, audio=True, seed=2)
            with torch.no_grad():
                want = model(video, audio, perturbations)
                calls: list[int] = []
                got = parallel(video, audio, perturbations, options=TransformerOptions(counting(calls)))
            results[f"{form}_{name}"] = _max_diff(got, want)
            results[f"{form}_{name}_heads"] = sorted(set(calls))
        traffic = Traffic()
        video, audio = modality(config, 7, audio=False, seed=1), modality(config, 5, audio=True, seed=2)
        with torch.no_grad():
            SequenceParallel(model, dataclasses.replace(rank, traffic=traffic))(video, audio)
        modelled = sequence_pass_bytes(config, batch=2, video_tokens=7, audio_tokens=5, world_size=rank.world_size,
                                       rank=rank.rank, element_size=4)
        results[f"{form}_bytes_heads"] = [traffic.sent, modelled]  # ("_heads": not a difference)
    video_only = dataclasses.replace(tiny_config("22b"), kind=ModelKind.VIDEO_ONLY)
    model = tiny_model(video_only)
    video = modality(video_only, 11, audio=False, seed=3)
    with torch.no_grad():
        results["video_only"] = _max_diff(SequenceParallel(model, rank)(video, None), model(video, None))
    return results


def sampling_inputs(config: TransformerConfig) -> tuple:
    """Noised 25-token video (first token a clean conditioning token) and 5-token audio states, text contexts."""
    gen = torch.Generator().manual_seed(4)
    video = initial_state(VideoGrid(frames=1, height=5, width=5, fps=24.0, channels=config.in_channels))
    mask = video.denoise_mask.clone()
    mask[:, 0] = 0.0
    video = noise_state(dataclasses.replace(video, denoise_mask=mask), gen)
    audio = noise_state(initial_state(AudioGrid(frames=5, channels=2, mel_bins=4)), gen)
    width = {False: config.video_inner_dim, True: config.audio_inner_dim}
    ctx = {audio_: torch.randn(1, 5, config.caption_channels if config.caption_projection else width[audio_],
                               generator=gen) for audio_ in (False, True)}
    negative = {audio_: torch.randn_like(ctx[audio_]) for audio_ in (False, True)}
    return video, audio, TextContexts(ctx[False], ctx[True], negative[False], negative[True])


GUIDED_VIDEO = GuiderParams(cfg_scale=3.0, stg_scale=1.0, stg_blocks=(1,), rescale_scale=0.7, modality_scale=3.0)
GUIDED_AUDIO = GuiderParams(cfg_scale=7.0, stg_scale=1.0, stg_blocks=(0,), rescale_scale=0.7, modality_scale=3.0)


def _final_diff(got: tuple, want: tuple) -> float:
    return max(float((g.latent - w.latent).abs().max()) for g, w in zip(got, want, strict=True))


def sampling_cases(rank: Rank) -> dict[str, float]:
    """Whole sampling runs vs one process: a distilled run (8 steps) sequence-parallel, and CFG+STG+modality
    guided runs (3 steps) with the passes spread over the ranks (guidance parallel, expected bitwise) and with
    every pass sequence-parallel over all ranks."""
    torch.manual_seed(0)
    config = tiny_config("22b")
    model = tiny_model(config)
    video, audio, contexts = sampling_inputs(config)
    results = {}
    with torch.no_grad():
        sigmas = distilled_sigmas()
        want = euler_loop(sigmas, video, audio, simple_denoiser(model, contexts))
        got = euler_loop(sigmas, video, audio, simple_denoiser(SequenceParallel(model, rank), contexts))
        results["distilled_sequence"] = _final_diff(got, want)
        sigmas = torch.tensor([1.0, 0.7, 0.4, 0.0])
        want = euler_loop(sigmas, video, audio, GuidedDenoiser(model, contexts, GUIDED_VIDEO, GUIDED_AUDIO))
        for name, guidance_size in (("guided_guidance", rank.world_size), ("guided_sequence", 1)):
            layout = parallel_layout(rank, guidance_size)
            transformer = SequenceParallel(model, layout.sequence)
            denoiser = GuidedDenoiser(transformer, contexts, GUIDED_VIDEO, GUIDED_AUDIO, GuidanceParallel(layout))
            results[name] = _final_diff(euler_loop(sigmas, video, audio, denoiser), want)
        results["guided_magnitude"] = max(float(state.latent.abs().max()) for state in want)
    return results


def decode_cases(rank: Rank) -> dict[str, float | int | None]:
    """Tiled decode (spatial + temporal tiles: 4 time slices x 2 x 2 = 16 tiles) vs one device; rank 0 also counts
    the progress calls. Other ranks report None (only rank 0 returns the video)."""
    torch.manual_seed(5)
    vae = VideoVAE(VideoVAEConfig.tiny(VAETopology.LTX2_3)).eval()
    latent = torch.randn(1, 4, 5, 3, 3, generator=torch.Generator().manual_seed(6))
    tiling = TilingConfig(SpatialTilingConfig(64, 32), TemporalTilingConfig(16, 8))
    calls: list[int] = []
    with torch.no_grad():
        got = decode_tiled_distributed(vae, latent, tiling, rank, progress=lambda done, total: calls.append(total))
        if got is None:
            return {"decode": None, "tiles": None}
        want = vae.decode_tiled(latent, tiling)
    return {"decode": float((got - want).abs().max()), "tiles": len(calls), "total": calls[-1]}


def all_cases(rank: Rank) -> dict[str, dict]:
    """Every case above in one launch (starting processes costs far more than the tiny models)."""
    return {"sequence": sequence_parallel_cases(rank), "sampling": sampling_cases(rank),
            "decode": decode_cases(rank)}


def combined_cases(rank: Rank) -> dict[str, float]:
    """4 ranks as 2 guidance groups x 2 sequence shards (sequence subgroups): a guided run vs one process."""
    torch.manual_seed(0)
    config = tiny_config("22b")
    model = tiny_model(config)
    video, audio, contexts = sampling_inputs(config)
    sigmas = torch.tensor([1.0, 0.7, 0.4, 0.0])
    layout = parallel_layout(rank, 2)
    with torch.no_grad():
        want = euler_loop(sigmas, video, audio, GuidedDenoiser(model, contexts, GUIDED_VIDEO, GUIDED_AUDIO))
        denoiser = GuidedDenoiser(SequenceParallel(model, layout.sequence), contexts, GUIDED_VIDEO, GUIDED_AUDIO,
                                  GuidanceParallel(layout))
        got = euler_loop(sigmas, video, audio, denoiser)
    return {"guided_combined": _final_diff(got, want), "sequence_ranks": layout.sequence.world_size,
            "group": layout.guidance_index, "magnitude": max(float(state.latent.abs().max()) for state in want)}
