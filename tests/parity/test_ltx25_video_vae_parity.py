"""LTX-2.5 video VAE parity (fp32, tiny random weights, relative L2 <= 1e-5).

Oracles:

* diffusers 0.42.1 ``LTX2VideoDiffusionDecoder3d`` (test-only) with our weights mapped to its names and the same
  seeded noise, its attention processor swapped for a brute-force dense window attention (diffusers' CPU path,
  FlexAttention without compile, takes minutes; the swap is checked against it on one layer). The latent holds
  >= 3 frames and >= the stage-1 kernel in rows / columns, the regime where diffusers and ltx-core agree. They
  differ on smaller latents: ltx-core pads the latent up to every stage's kernel first (repeat the last frame,
  replicate the spatial edges) and keeps at least the stage-5 kernel of context frames, diffusers raises; we follow
  ltx-core (the ``decode_small`` golden case checks it). The diffusers cases use 1x1 spatial windows in stages 1-2
  (``PARITY_DECODER``) only to keep the dense attention small. diffusers' defaults are the 2.4 export (x0, one step,
  11^3 stage-5 kernel); we always read the file's config, as ltx-core does.
* Lightricks' latest ltx-core (github Lightricks/LTX-2 main @400fd31, ltx-core 1.2.x), through golden values in
  ``tests/data/ltx25_video_vae_golden.safetensors``, produced by ``tests/data/golden/ltx25_video_vae_golden.py``
  (HEAD's configurators and key operations load the tiny demo files of ``ltx_model.demo.ltx25_vae``, seed 0, the
  diffusion one with static gates; HEAD's eager NA fallback stands in for NATTEN with the same semantics).
* ltx-core 1.0.0 (installed) for the conv decoder variant, whose architecture is 2.3's.

Tiled decode: our tile plan keeps each tile's exact receptive field (see ``ltx_model.video_vae.diffusion_tiling``),
so the tiled output matches the untiled reference (diffusers) within the same tolerance. ltx-core HEAD's own tiled
decode uses a one-step halo and is only close to its untiled output; we match its untiled decode.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ltx_model.demo.ltx25_vae import TINY_DECODER, tiny_diffusion_vae_section, write_demo_ltx25_video_vae
from ltx_model.loading.safetensors_io import read_header
from ltx_model.video_vae.diffusion_tiling import DiffusionTiling, plan_tiles
from ltx_model.video_vae.ltx25 import LTX25VideoVAE, build_ltx25_video_vae

pytestmark = pytest.mark.parity

TOL = 1e-5
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "ltx25_video_vae_golden.safetensors"
SUBSAMPLE = {"decode": (slice(None), slice(None), slice(None, None, 2), slice(None, None, 8), slice(None, None, 8))}


def rel_l2(a: torch.Tensor, b: torch.Tensor) -> float:
    return ((a.float() - b.float()).norm() / b.float().norm()).item()


def dense_window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, kernel: tuple[int, ...]) -> torch.Tensor:
    """Brute force: dense attention over every position, keys outside the query's NATTEN window masked out.

    q, k, v: ``(B, T, H, W, heads, d)``, q already scaled (diffusers' ``project_qkv``)."""
    b, t, h, w, n, d = q.shape
    grids = torch.meshgrid(*(torch.arange(x) for x in (t, h, w)), indexing="ij")
    pos = torch.stack([g.reshape(-1) for g in grids], dim=1)
    allowed = torch.ones(pos.shape[0], pos.shape[0], dtype=torch.bool)
    for axis, (length, kk) in enumerate(zip((t, h, w), kernel, strict=True)):
        kk = min(kk, length)
        start = (pos[:, axis] - kk // 2).clamp(0, length - kk)
        allowed &= (pos[None, :, axis] >= start[:, None]) & (pos[None, :, axis] < start[:, None] + kk)
    qf, kf, vf = (x.reshape(b, -1, n, d).transpose(1, 2) for x in (q, k, v))
    out = torch.nn.functional.scaled_dot_product_attention(qf, kf, vf, attn_mask=allowed, scale=1.0)
    return out.transpose(1, 2).reshape(b, t, h, w, n * d)


class DenseWindowProcessor:
    """A diffusers attention processor computing the window attention by brute force (CPU-fast stand-in for
    diffusers' FlexAttention processor; ``test_ltx25_dense_processor_matches_diffusers_flex`` checks the swap)."""

    def __call__(self, attn: torch.nn.Module, hidden_states: torch.Tensor, block_mask: object = None) -> torch.Tensor:
        q, k, v = attn.project_qkv(hidden_states)
        return attn.to_out[0](dense_window_attention(q, k, v, attn.kernel_size))


def diffusers_decoder(model: LTX25VideoVAE, processor: object | None = None) -> torch.nn.Module:
    """diffusers 0.42.1's decoder with our config and weights (its names: split q/k/v, ``to_out.0``, PixArt)."""
    from diffusers.models.autoencoders.ltx2_diffusion_decoder import LTX2VideoDiffusionDecoder3d

    cfg = model.decoder.config
    ref = LTX2VideoDiffusionDecoder3d(
        in_channels=cfg.in_channels, out_channels=cfg.out_channels, patch_size=cfg.patch_size, head_dim=cfg.head_dim,
        stage_channels=cfg.stage_channels, stage_depths=cfg.stage_depths, stage_kernels=cfg.stage_kernels[:4],
        upsample_strides=tuple(s for s, _ in cfg.upsamples),
        upsample_channel_reductions=tuple(r for _, r in cfg.upsamples), stage5_kernel=cfg.stage5_kernel,
        t_emb_dim=cfg.t_emb_dim, timestep_scale_multiplier=cfg.timestep_scale_multiplier,
        model_output_type=cfg.model_output_type, default_num_inference_steps=cfg.default_num_inference_steps,
    )
    state = {}
    for key, value in model.decoder.state_dict().items():
        if ".attn.qkv." in key:
            base, leaf = key.split(".qkv.")
            state.update({f"{base}.to_{n}.{leaf}": part for n, part in zip("qkv", value.chunk(3), strict=True)})
            continue
        for ours, theirs in (("attn.proj.", "attn.to_out.0."), ("q_norm", "norm_q"), ("k_norm", "norm_k"),
                             ("t_embedder.mlp.0.", "t_embedder.timestep_embedder.linear_1."),
                             ("t_embedder.mlp.2.", "t_embedder.timestep_embedder.linear_2.")):
            key = key.replace(ours, theirs)
        state[key] = value
    ref.load_state_dict(state, strict=True)
    if processor is not None:
        for module in ref.modules():
            if hasattr(module, "set_processor") and hasattr(module, "project_qkv"):
                module.set_processor(processor)
    return ref.eval()


# The demo decoder with 1x1 spatial windows in stages 1-2, so that a 2x2-cell latent needs no size floor and
# diffusers' CPU path (FlexAttention without compile materialises every score) stays fast.
PARITY_DECODER = replace(TINY_DECODER, stage_kernels=((3, 1, 1), (3, 1, 1), (3, 3, 3), (3, 3, 3), (3, 3, 3)))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> LTX25VideoVAE:
    path = tmp_path_factory.mktemp("ltx25vae") / "vae.safetensors"
    section = tiny_diffusion_vae_section(PARITY_DECODER)
    return build_ltx25_video_vae(write_demo_ltx25_video_vae(path, seed=11, section=section))


@pytest.fixture(scope="module")
def reference_output(tiny):
    """diffusers' untiled decode of one latent (un-normalised by our statistics first: diffusers' pipeline does it)."""
    latent = torch.randn(1, 8, 3, 2, 2, generator=torch.Generator().manual_seed(2))
    raw = tiny.per_channel_statistics.un_normalize(latent)
    with torch.no_grad():
        pixels = diffusers_decoder(tiny, DenseWindowProcessor())(raw, generator=torch.Generator().manual_seed(9))
    return latent, pixels


@pytest.mark.slow
def test_ltx25_dense_processor_matches_diffusers_flex(tiny):
    """diffusers' own FlexAttention processor and the brute-force one agree on a stage-5 attention layer."""
    ref = diffusers_decoder(tiny)
    attn = ref.diff_blocks[0].attn
    x = torch.randn(1, 3, 4, 5, attn.heads * attn.head_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        flex = attn(x, attn.build_block_mask(x))
        attn.set_processor(DenseWindowProcessor())
        dense = attn(x)
    assert rel_l2(dense, flex) <= TOL


def test_ltx25_diffusion_decoder_parity(tiny, reference_output):
    latent, want = reference_output
    with torch.no_grad():
        got = tiny.decode(latent, generator=torch.Generator().manual_seed(9))
    assert got.shape == want.shape == (1, 3, 17, 64, 64)
    assert rel_l2(got, want) <= TOL


@pytest.mark.slow
def test_ltx25_diffusion_decoder_tiled_parity(tiny, reference_output):
    latent, want = reference_output
    tiling = DiffusionTiling(tile=(5, 4, 4), blend=(1, 1, 1))
    plan = plan_tiles(tiny.decoder, (9, 8, 8), tiling, steps=2)
    assert [len(spans) for spans in plan] == [2, 2, 2]  # really tiled on every axis
    with torch.no_grad():
        got = tiny.decode(latent, generator=torch.Generator().manual_seed(9), tiling=tiling)
    assert rel_l2(got, want) <= TOL


def test_ltx25_diffusion_decoder_golden_ltx_core_head(tmp_path):
    golden = load_file(str(GOLDEN))
    model = build_ltx25_video_vae(write_demo_ltx25_video_vae(tmp_path / "vae.safetensors", seed=0, gates=True))
    for case in ("decode", "decode_small"):
        with torch.no_grad():
            pixels = model.decode(golden[f"{case}.latent"], generator=torch.Generator().manual_seed(7))
        assert rel_l2(pixels.norm().reshape(1), golden[f"{case}.norm"]) <= TOL
        assert rel_l2(pixels[SUBSAMPLE[case]] if case in SUBSAMPLE else pixels, golden[f"{case}.pixels"]) <= TOL
    encoder_input = torch.rand(1, 3, 9, 64, 64, generator=torch.Generator().manual_seed(4)) * 2 - 1
    with torch.no_grad():
        assert rel_l2(model.encode(encoder_input), golden["encode.latent"]) <= TOL


def test_ltx25_conv_decoder_parity(tmp_path):
    """The conv variant against ltx-core HEAD (golden) and ltx-core 1.0.0 (live; same architecture as 2.3)."""
    from ltx_core.model.video_vae import VideoDecoderConfigurator

    golden = load_file(str(GOLDEN))
    path = write_demo_ltx25_video_vae(tmp_path / "conv.safetensors", seed=0, conv=True)
    model = build_ltx25_video_vae(path)
    latent = golden["conv_decode.latent"]
    with torch.no_grad():
        pixels = model.decode(latent)
    assert rel_l2(pixels[:, :, :, ::2, ::2], golden["conv_decode.pixels"]) <= TOL
    assert rel_l2(pixels.norm().reshape(1), golden["conv_decode.norm"]) <= TOL
    encoder_input = torch.rand(1, 3, 9, 64, 64, generator=torch.Generator().manual_seed(4)) * 2 - 1
    with torch.no_grad():
        assert rel_l2(model.encode(encoder_input), golden["conv_encode.latent"]) <= TOL
    section = json.loads(read_header(path).metadata["config"])["vae"]
    old = VideoDecoderConfigurator.from_config({"vae": section}).eval()
    old.load_state_dict({k.removeprefix("decoder."): v for k, v in model.state_dict().items()
                         if k.startswith(("decoder.", "per_channel_statistics."))}, strict=True)
    with torch.no_grad():
        assert rel_l2(pixels, old(latent)) <= TOL
