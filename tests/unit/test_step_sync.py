"""No host syncs in the denoising step loop, and the op count of one transformer pass stays at or below today's.

Sync check: the distilled loop (``euler_loop`` + ``simple_denoiser``: transformer pass, x0, blend, Euler step) runs
on the ``meta`` device, the CPU stand-in for an accelerator that cannot be read back: ``.item()``, ``.tolist()``,
``.cpu()``, ``bool(tensor)`` (Python branching on a value) and data-dependent ops (``torch.unique``, ``nonzero``)
all raise there. A dispatch mode additionally records every op that reads a value back to the host
(``aten._local_scalar_dense``) or copies to the CPU, so a path that happens to work on meta is still caught.
The check can fail: per-token timesteps (image-to-video) de-duplicate their AdaLN values with ``torch.unique``
(one sync per stream per pass, kept on purpose: it saves the (B, T, 9·D) AdaLN tensor), and that is caught below.

Op count: aten ops dispatched by one tiny pass on the CPU (float32 fast paths), counted with a dispatch mode
(composite ops once); the ceilings are the counts of this commit (a regression guard against extra casts,
copies or syncs per block, performance.md §5.4).
"""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from ltx_model.pipelines.denoise import euler_loop, predict_x0, simple_denoiser
from ltx_model.pipelines.request import TextContexts
from ltx_model.sampling import AudioGrid, VideoGrid, distilled_sigmas, initial_state
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


def test_step_sync_guard_catches_host_reads():
    """The guard is not blind: ``.item()`` / ``.cpu()`` of a device tensor are recorded (on meta they also raise),
    and the library loop's per-token timesteps (``simple_denoiser``: timesteps = denoise mask x sigma) hit the
    AdaLN de-duplication's ``torch.unique``, a data-dependent op that needs the values on the host."""
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
