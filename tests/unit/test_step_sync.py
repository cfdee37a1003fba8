"""No host syncs in the denoising step loop, and the op count of one transformer pass stays at or below today's.

Sync check: the distilled loop (``euler_loop`` + ``simple_denoiser``: transformer pass, x0, blend, Euler step) runs
on the ``meta`` device, the CPU stand-in for an accelerator that cannot be read back: ``.item()``, ``.tolist()``,
``.cpu()``, ``bool(tensor)`` (Python branching on a value) and data-dependent ops (``torch.unique``, ``nonzero``)
all raise there. A dispatch mode additionally records every op that reads a value back to the host
(``aten._local_scalar_dense``) or copies to the CPU, so a path that happens to work on meta is still caught.
Per-token timesteps (image-to-video: denoise mask x sigma) are held to the same property: the pipeline hands the
AdaLN the mask's distinct levels x sigma (``Modality.timestep_levels``, found once per generation by
``mask_levels``), so the per-step path has no ``torch.unique`` (a whole CPU loop runs it once per stream, not per
step) and gives bitwise the rows the ``torch.unique`` path gives. The check can fail: the levels' own
``torch.unique`` (before the first step) is caught on meta below.

Op count: aten ops dispatched by one tiny pass on the CPU (float32 fast paths), counted with a dispatch mode
(composite ops once); the ceilings are the counts of this commit (a regression guard against extra casts,
copies or syncs per block, performance.md §5.4).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ltx_model.pipelines.denoise import euler_loop, mask_levels, modality, predict_x0, simple_denoiser
from ltx_model.pipelines.request import TextContexts
from ltx_model.sampling import AudioGrid, VideoGrid, distilled_sigmas, initial_state, timesteps_from_mask
from ltx_model.transformer import LTXTransformer, Modality, TransformerConfig

# aten ops per tiny pass (batch 1, 12 video + 5 audio tokens, 2 blocks) at this commit; lower is fine.
OP_CEILINGS = {"19b": 916, "22b": 1078}
FORMS = {"19b": TransformerConfig.tiny, "22b": TransformerConfig.tiny_22b}


class HostReadGuard(TorchDispatchMode):
    """Records ops that read a device tensor's value on the host or copy it to the CPU."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        kwargs = kwargs or {}
        tensors = [a for a in (*args, *kwargs.values()) if isinstance(a, torch.Tensor)]
        off_host = any(t.device.type != "cpu" for t in tensors)
        to_cpu = kwargs.get("device") is not None and torch.device(kwargs["device"]).type == "cpu"
        if off_host and (func is torch.ops.aten._local_scalar_dense.default or to_cpu):
            self.reads.append(str(func))
        return func(*args, **kwargs)


def meta_model(form: str) -> LTXTransformer:
    with torch.device("meta"):
        return LTXTransformer(FORMS[form]()).eval()


def meta_streams(model: LTXTransformer) -> tuple:
    """Tiny video (2 x 2 x 3 latent) and audio (5 frames) states and text contexts, all on meta."""
    cfg, meta = model.config, torch.device("meta")
    video = initial_state(VideoGrid(2, 2, 3, 24.0, channels=cfg.in_channels), device=meta)
    audio = initial_state(AudioGrid(5, channels=2, mel_bins=cfg.audio_in_channels // 2), device=meta)
    ctx_v = cfg.caption_channels if cfg.caption_projection else cfg.video_inner_dim
    ctx_a = cfg.caption_channels if cfg.caption_projection else cfg.audio_inner_dim
    return video, audio, TextContexts(video=torch.empty(1, 4, ctx_v, device=meta),
                                      audio=torch.empty(1, 4, ctx_a, device=meta))


def per_sample_denoiser(model: LTXTransformer, contexts: TextContexts):
    """The distilled text-to-video step as ComfyUI's host runs our model: one timestep per sample (no denoise
    mask), x0 per token, then the library's blend and Euler step (``euler_loop``)."""

    def denoise(video, audio, sigmas, step):
        sigma = sigmas[step]

        def stream(state, context):
            return Modality(latent=state.latent, sigma=sigma.view(1), timesteps=sigma.view(1, 1),
                            positions=state.positions, context=context)

        return predict_x0(model, stream(video, contexts.video), stream(audio, contexts.audio))

    return denoise


@pytest.mark.parametrize("form", FORMS)
def test_step_sync_distilled_loop_never_reads_the_device(form):
    model = meta_model(form)
    video, audio, contexts = meta_streams(model)
    sigmas = distilled_sigmas(device=torch.device("meta"))
    with HostReadGuard() as guard:
        out_v, out_a = euler_loop(sigmas, video, audio, per_sample_denoiser(model, contexts))
    assert guard.reads == []
    assert out_v.latent.shape == video.latent.shape and out_a.latent.shape == audio.latent.shape


def per_token_denoiser(model: LTXTransformer, contexts: TextContexts, levels: torch.Tensor):
    """The library's per-token step (``modality()``: timesteps = denoise mask x sigma, levels = the mask's distinct
    values x sigma) with the levels found in advance, as ``mask_levels`` does once per generation."""

    def denoise(video, audio, sigmas, step):
        sigma = sigmas[step]

        def stream(state, context):
            return Modality(latent=state.latent, sigma=sigma, timesteps=timesteps_from_mask(state.denoise_mask, sigma),
                            timestep_levels=timesteps_from_mask(levels, sigma), positions=state.positions,
                            context=context)

        return predict_x0(model, stream(video, contexts.video), stream(audio, contexts.audio))

    return denoise


@pytest.mark.parametrize("form", FORMS)
def test_step_sync_per_token_timesteps_never_read_the_device(form):
    model = meta_model(form)
    video, audio, contexts = meta_streams(model)
    levels = torch.empty(1, 2, 1, device="meta")  # e.g. {0 (clean first frame), 1}
    with HostReadGuard() as guard:
        out_v, _ = euler_loop(distilled_sigmas(device=torch.device("meta")), video, audio,
                              per_token_denoiser(model, contexts, levels))
    assert guard.reads == [] and out_v.latent.shape == video.latent.shape


class UniqueCounter(TorchDispatchMode):
    """Counts ``torch.unique`` calls (any aten unique overload)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        self.count += "unique" in str(func)
        return func(*args, **(kwargs or {}))


def cpu_streams(form: str, mask_rows: list[list[float]]):
    """A random tiny model and CPU states whose video denoise mask rows (one per sample) are ``mask_rows``."""
    model = LTXTransformer(FORMS[form]())
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.1)
    video, audio, contexts = meta_streams(model)
    gen = torch.Generator().manual_seed(3)
    batch = len(mask_rows)

    def real(state, mask=None):
        t = state.latent.shape[1]
        latent = torch.randn(batch, t, state.latent.shape[2], generator=gen)
        mask = torch.ones(batch, t, 1) if mask is None else mask
        positions = torch.rand((batch, *state.positions.shape[1:]), generator=gen)
        return dataclasses.replace(state, latent=latent, positions=positions, denoise_mask=mask,
                                   clean_latent=torch.randn(latent.shape, generator=gen))

    video = real(video, torch.tensor(mask_rows).unsqueeze(-1))
    audio = real(audio)
    contexts = TextContexts(video=torch.randn((batch, *contexts.video.shape[1:]), generator=gen),
                            audio=torch.randn((batch, *contexts.audio.shape[1:]), generator=gen))
    return model.eval(), video, audio, contexts


FIRST_FRAME_CLEAN = [0.0] * 4 + [1.0] * 8  # 2 x 2 x 3 latent: the first latent frame is the conditioning image


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("mask_rows", [[FIRST_FRAME_CLEAN], [[0.3] * 4 + [1.0] * 8],
                                       [FIRST_FRAME_CLEAN, [0.0] * 4 + [0.5] * 4 + [1.0] * 4]],
                         ids=["i2v", "strength-0.7", "batch-2"])
def test_step_sync_mask_levels_give_bitwise_the_unique_rows(form, mask_rows):
    model, video, audio, contexts = cpu_streams(form, mask_rows)
    sigma = distilled_sigmas()[2]
    with torch.inference_mode():
        v, a = modality(video, contexts.video, sigma), modality(audio, contexts.audio, sigma)
        assert v.timestep_levels is not None and v.timestep_levels.shape[1] == max(len(set(r)) for r in mask_rows)
        with UniqueCounter() as counter:
            fast = predict_x0(model, v, a)
        slow = predict_x0(model, *(dataclasses.replace(m, timestep_levels=None) for m in (v, a)))
    assert counter.count == 0  # the levels were found when the Modality was built, not in the pass
    assert torch.equal(fast[0], slow[0]) and torch.equal(fast[1], slow[1])


def test_step_sync_mask_levels_found_once_per_generation():
    """A whole distilled CPU loop (8 steps, per-token video and audio masks) runs ``torch.unique`` once per stream,
    where the AdaLN's own de-duplication ran it per stream and per step; a mask written in place is re-read."""
    model, video, audio, contexts = cpu_streams("22b", [FIRST_FRAME_CLEAN])
    with torch.no_grad(), UniqueCounter() as counter:
        euler_loop(distilled_sigmas(), video, audio, simple_denoiser(model, contexts))
    assert counter.count == 2
    mask = video.denoise_mask
    assert mask_levels(mask).flatten().tolist() == [0.0, 1.0]
    mask[0, 0, 0] = 0.5
    assert mask_levels(mask).flatten().tolist() == [0.0, 0.5, 1.0]


def test_step_sync_guard_catches_host_reads():
    """The guard is not blind: ``.item()`` / ``.cpu()`` of a device tensor are recorded (on meta they also raise),
    and the library loop's per-token timesteps (``simple_denoiser``: timesteps = denoise mask x sigma) find the
    mask's levels with ``torch.unique`` (once per generation), a data-dependent op that needs the values on the
    host."""
    x = torch.ones(3, device="meta")
    for read in (lambda: x.sum().item(), lambda: x.cpu(), lambda: bool(x.sum() > 0), lambda: x.tolist()):
        with HostReadGuard() as guard, pytest.raises((RuntimeError, NotImplementedError)):
            read()
    model = meta_model("22b")
    video, audio, contexts = meta_streams(model)
    with pytest.raises((RuntimeError, NotImplementedError)), HostReadGuard() as guard:
        euler_loop(distilled_sigmas(device=torch.device("meta")), video, audio, simple_denoiser(model, contexts))
    assert guard.reads == []  # it fails on the unique itself, not on a read recorded earlier


class OpCounter(TorchDispatchMode):
    """Counts aten ops dispatched from Python (composite ops once)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        self.count += 1
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("form", FORMS)
def test_step_sync_op_count_per_pass_stays_at_or_below_today(form):
    model = LTXTransformer(FORMS[form]())
    with torch.no_grad():
        for param in model.parameters():
            param.normal_(0.0, 0.1)
    video, audio, contexts = meta_streams(model)
    video, audio = (dataclasses.replace(s, latent=torch.zeros(s.latent.shape), positions=torch.zeros(
        s.positions.shape)) for s in (video, audio))
    contexts = TextContexts(video=torch.zeros(contexts.video.shape), audio=torch.zeros(contexts.audio.shape))
    denoise = per_sample_denoiser(model, contexts)
    sigmas = distilled_sigmas()
    with torch.inference_mode():
        denoise(video, audio, sigmas, 0)  # warm the per-process caches (frequency grids, fused-op self-checks)
        with OpCounter() as counter:
            model(*(Modality(latent=s.latent, sigma=sigmas[:1], timesteps=sigmas[:1].view(1, 1), positions=s.positions,
                             context=c) for s, c in ((video, contexts.video), (audio, contexts.audio))))
    assert 0 < counter.count <= OP_CEILINGS[form], counter.count
