"""Image-to-video through the host MODEL without a per-pass ``torch.unique``: ``LTX2Model.extra_conds`` finds each
denoise mask's distinct levels once per sampling run, ``process_timestep`` scales them by sigma and the adapter hands
them to the AdaLN as ``Modality.timestep_levels`` (as the library loop does with ``pipelines.denoise.mask_levels``).

``torch.unique`` is the per-token path's only host sync (one per stream and pass without the levels); it is counted
at the dispatcher (every ``aten`` unique overload), so the count is the same on any device. The counts can fail: the
same pass without the levels runs it for every stream in every pass (checked below).
"""

from __future__ import annotations

import pytest
import torch
from node_support import StandInVAE, prompt
from torch.utils._python_dispatch import TorchDispatchMode

pytestmark = pytest.mark.comfy


class UniqueCounter(TorchDispatchMode):
    """Counts the ``aten`` unique ops dispatched (``torch.unique`` in any form)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN204
        if "unique" in func.__name__:
            self.count += 1
        return func(*args, **(kwargs or {}))


def i2v_latent(comfy_host, pack_nodes) -> dict:
    """AV latent (64 x 64, 17 frames) whose first video frame is a clean image (noise mask 0 there, 1 elsewhere)."""
    node = comfy_host.node_class
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 17, 24.0, 1).result[0]
    video, audio = node("LTXVSeparateAVLatent").execute(latent).result
    image = torch.rand(1, 64, 64, 3, generator=torch.Generator().manual_seed(3))
    conditioned = node("LTXVImgToVideoInplace").execute(StandInVAE(), image, video, 1.0).result[0]
    return node("LTXVConcatAVLatent").execute(conditioned, audio).result[0]


def sample_counting(comfy_host, model, latent, steps: int) -> tuple[torch.Tensor, int]:
    ksampler = comfy_host.node_class("KSampler")()
    with UniqueCounter() as counter:
        out = ksampler.sample(model, 4, steps, 2.0, "euler", "simple", prompt(model, 1), prompt(model, 2), latent)[0]
    return out["samples"], counter.count


def test_host_i2v_sampling_runs_unique_once_per_run_not_per_step(comfy_host, pack_nodes, demo_models):
    model, latent = demo_models["19b-distilled"], i2v_latent(comfy_host, pack_nodes)
    one, once = sample_counting(comfy_host, model, latent, steps=1)
    _, thrice = sample_counting(comfy_host, model, latent, steps=3)
    assert once == thrice  # the levels' own unique in extra_conds (per stream and prompt), none per pass
    assert 0 < once <= 4  # 2 streams (video + audio masks) x 2 prompts, before the first step
    video = one.unbind()[0]
    torch.testing.assert_close(video[:, :, :1], latent["samples"].unbind()[0][:, :, :1], atol=1e-6, rtol=0)


def test_host_i2v_pass_with_levels_is_bitwise_the_unique_pass(comfy_host, pack_nodes, demo_models):
    """One ``apply_model`` pass with the levels == the same pass with them removed (the AdaLN's ``torch.unique``),
    bit for bit; only the latter runs ``torch.unique`` (per stream, every pass)."""
    import comfy.utils

    model = demo_models["19b-distilled"].model
    latent = i2v_latent(comfy_host, pack_nodes)
    g = torch.Generator().manual_seed(8)
    noise = [torch.randn(part.shape, generator=g) for part in latent["samples"].unbind()]
    packed, shapes = comfy.utils.pack_latents(noise)
    mask, _ = comfy.utils.pack_latents([m.expand(n.shape) for m, n in zip(latent["noise_mask"].unbind(), noise,
                                                                          strict=True)])
    conds = model.extra_conds(cross_attn=prompt(demo_models["19b-distilled"], 1)[0][0], device=torch.device("cpu"),
                              denoise_mask=mask, latent_shapes=shapes, frame_rate=24.0)
    kwargs = {k: v.process_cond(batch_size=1, device=torch.device("cpu")).cond for k, v in conds.items()}
    assert {"ltx2n_video_mask_levels", "ltx2n_audio_mask_levels"} <= set(kwargs)
    without = {k: v for k, v in kwargs.items() if not k.endswith("_mask_levels")}
    sigma = torch.tensor([0.8])
    with UniqueCounter() as fast:
        x0 = model.apply_model(packed, sigma, **kwargs)
    with UniqueCounter() as slow:
        reference = model.apply_model(packed, sigma, **without)
    assert fast.count == 0 and slow.count >= 2  # without: per stream (and per AdaLN group) in every pass
    assert torch.equal(x0, reference)
    v_t, _, _, _, v_levels, _ = model.process_timestep(sigma, **kwargs)
    assert torch.equal(v_levels.flatten(), torch.unique(v_t))  # {0 (the clean first frame), sigma}
