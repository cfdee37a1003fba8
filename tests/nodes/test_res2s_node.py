"""Res2s Sampler (LTX-2) (the res_2s sampler) and the 'HQ stage 1' schedule in the real host.

The sampler function is checked against the library's res_2s pipeline loop (``ltx_model.pipelines.
res2s_pipeline_loop``, itself pinned to Lightricks' latest by ``tests/parity/test_res2s_hq_parity.py``) on a packed
audio+video latent with a partial noise mask and a fixed nonlinear stand-in model, so part splitting, token layout,
noise order and masking are exact; then the node runs a tiny demo LTX-2.3 model through core Sampler Custom Advanced
and through Sample Audio+Video (LTX-2)'s ``sampler`` input.
"""

from __future__ import annotations

import dataclasses
import types

import pytest
import torch
from node_support import pack_module, prompt

SHAPES = [(1, 4, 2, 2, 3), (1, 2, 5, 3)]  # video (B, C, F, H, W), audio (B, C, T, M)
SIGMAS = (1.0, 0.7, 0.3, 0.0)


def _x0(tokens: torch.Tensor, sigma: float) -> torch.Tensor:
    """Stand-in transformer on ``(B, T, D)`` tokens (nonlinear, mixes the feature dim)."""
    w = torch.linspace(-1.0, 1.0, tokens.shape[-1] ** 2).view(tokens.shape[-1], -1)
    return torch.tanh(tokens @ w) * (1.2 - sigma) + 0.1 * sigma


class _Model:
    """A ``KSamplerX0Inpaint`` stand-in: packed ``(B, 1, N)`` in, packed x0 out, ``latent_shapes`` in its conds."""

    def __init__(self, sampling, clean: torch.Tensor) -> None:
        self.sampling, self.latent_image, self.sigmas = sampling, clean, []
        shapes = types.SimpleNamespace(cond=SHAPES)
        self.inner_model = types.SimpleNamespace(conds={"positive": [{"model_conds": {"latent_shapes": shapes}}]})

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, **_: object) -> torch.Tensor:
        import comfy.utils

        s = self.sampling
        self.sigmas.append(float(sigma[0]))
        video, audio = comfy.utils.unpack_latents(x, SHAPES)
        xv = s.unpatchify_video(_x0(s.patchify_video(video), float(sigma[0])), frames=2, height=2, width=3)
        xa = s.unpatchify_audio(_x0(s.patchify_audio(audio), float(sigma[0])), channels=2, mel_bins=3)
        return comfy.utils.pack_latents([xv, xa])[0]


def _inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    import comfy.utils

    g = torch.Generator().manual_seed(3)
    x = comfy.utils.pack_latents([torch.randn(s, generator=g) for s in SHAPES])[0]
    clean = comfy.utils.pack_latents([torch.randn(s, generator=g) for s in SHAPES])[0]
    video_mask = torch.ones(SHAPES[0])
    video_mask[:, :, 0] = 0.3  # latent frame 0: an image with strength 0.7
    mask = comfy.utils.pack_latents([video_mask, torch.ones(SHAPES[1])])[0]
    return x, clean, mask


def _library(comfy_host, x, clean, mask, eta, seed):
    """The library's pipeline loop on token states built from the same packed tensors."""
    import comfy.utils

    sampling, pipelines = pack_module(comfy_host, "ltx_model.sampling"), pack_module(comfy_host, "ltx_model.pipelines")
    states = []
    for tensors, patchify in zip(zip(*(comfy.utils.unpack_latents(t, SHAPES) for t in (x, clean, mask)), strict=True),
                                 (sampling.patchify_video, sampling.patchify_audio), strict=True):
        lat, cl, m = (patchify(t) for t in tensors)
        states.append(sampling.LatentState(latent=lat, denoise_mask=m, positions=lat.new_zeros(0), clean_latent=cl,
                                           grid=None))

    def denoise(video, audio, sig, i):
        return _x0(video.latent, float(sig[i])), _x0(audio.latent, float(sig[i]))

    loop = pipelines.res2s_pipeline_loop(sampling.Res2sNoise.from_seed(seed), eta=eta)
    video, audio = loop(torch.tensor(SIGMAS), states[0], states[1], denoise)
    return (sampling.unpatchify_video(video.latent, frames=2, height=2, width=3),
            sampling.unpatchify_audio(audio.latent, channels=2, mel_bins=3))


@pytest.mark.parametrize(("eta", "seed"), [(0.5, -1), (0.8, 21)])
def test_res2s_sampler_function_equals_library_loop(comfy_host, pack_nodes, eta, seed):
    import comfy.utils

    x, clean, mask = _inputs()
    model = _Model(pack_module(comfy_host, "ltx_model.sampling"), clean)
    steps = []
    out = pack_nodes.res2s.sample_res2s(model, x.clone(), torch.tensor(SIGMAS), {"denoise_mask": mask},
                                        callback=lambda d: steps.append(d["i"]), eta=eta, sde_seed=seed)
    want = _library(comfy_host, x, clean, mask, eta, seed)
    for got, ref in zip(comfy.utils.unpack_latents(out, SHAPES), want, strict=True):
        torch.testing.assert_close(got, ref, atol=1e-6, rtol=1e-5)
    assert steps == [0, 1, 2]
    assert len(model.sigmas) == 2 * 3 + 1 and model.sigmas[-1] == pytest.approx(0.0011)
    assert model.sigmas[1] == pytest.approx((1.0 * 0.7) ** 0.5)  # the midpoint evaluation
    kept = comfy.utils.unpack_latents(out, SHAPES)[0][:, :, 0]
    assert not torch.equal(kept, comfy.utils.unpack_latents(x, SHAPES)[0][:, :, 0])  # partial mask: moves


def test_res2s_node_in_host_samplers(comfy_host, pack_nodes, demo_models):
    node = comfy_host.node_class
    model = demo_models["2.3-dev"]
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(96, 64, 9, 24.0, 1).result[0]
    sampler = pack_nodes.res2s.LTX2NSamplerRes2s.execute(0.5, True, -1).result[0]
    assert sampler.sampler_function is pack_nodes.res2s.sample_res2s
    pos = prompt(model, 1)
    sigmas = pack_nodes.sampling.LTX2NScheduler.execute("HQ stage 1", 2, 2.05, 0.95, True, 0.1,
                                                        latent=latent).result[0]
    guider = node("CFGGuider").execute(model, pos, pos, 1.0).result[0]
    noise = node("RandomNoise").execute(4).result[0]
    custom = node("SamplerCustomAdvanced").execute(noise, guider, sampler, sigmas, latent).result[0]
    euler = node("KSamplerSelect").execute("euler").result[0]
    plain = node("SamplerCustomAdvanced").execute(noise, guider, euler, sigmas, latent).result[0]
    got, ref = custom["samples"].unbind(), plain["samples"].unbind()
    assert all(torch.isfinite(t).all() for t in got)
    assert all(a.shape == b.shape and not torch.equal(a, b) for a, b in zip(got, ref, strict=True))
    stage2 = pack_nodes.sampling.LTX2NSampler.execute(model, pos, pos, latent, 4, "distilled stage 2", 0, "none",
                                                      sampler=sampler).result[0]
    default = pack_nodes.sampling.LTX2NSampler.execute(model, pos, pos, latent, 4, "distilled stage 2", 0,
                                                       "none").result[0]
    assert not torch.equal(stage2["samples"].unbind()[0], default["samples"].unbind()[0])
    with pytest.raises(ValueError, match=r"Res2s Sampler \(LTX-2\): eta must be between 0 and 1"):
        pack_nodes.res2s.res2s_sampler(1.5)


def test_hq_stage1_schedule_is_the_latent_shifted_15_step_ltx2_schedule(comfy_host, pack_nodes):
    sampling = pack_module(comfy_host, "ltx_model.sampling")
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(96, 64, 9, 24.0, 1).result[0]
    tokens = pack_nodes.sampling.video_token_count(latent)
    got = pack_nodes.sampling.schedule_sigmas("HQ stage 1", 0, latent=latent)
    assert len(got) == 16 and torch.equal(got, sampling.ltx2_sigmas(15, tokens=tokens))
    assert not torch.equal(got, sampling.ltx2_sigmas(15))  # the token shift is applied
    pipelines = pack_module(comfy_host, "ltx_model.pipelines")
    request = dataclasses.replace(pipelines.hq_request(), height=128, width=192, num_frames=9)
    assert pipelines.hq_sigmas(request, 15) == tuple(float(s) for s in got)  # library and node: one rule
