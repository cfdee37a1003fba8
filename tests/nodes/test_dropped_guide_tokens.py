"""Core ``LTXVAddGuide`` with a small-grid IC-LoRA guide (``reference_downscale_factor`` 2, the union-control LoRA's
``ref0.5``): the dilated guide's empty tokens carry noise mask -1 and are dropped from the transformer pass
(``nodes/dropped_tokens.py``). Our MODEL's velocity is compared with core's own LTX-2.3 model
(``comfy.ldm.lightricks``, loaded by ``comfy.sd.load_diffusion_model_state_dict``) on the same tiny demo weights;
dropped tokens come out zero in both.

Tolerance: on this tiny random model our transformer and core's already differ by up to ~1.6e-2 (velocities up to
~4.5) with an ordinary, non-dilated guide (fp32 both; measured 2026-12, the gap is not about dropped tokens). With
the dilated guide they agree to ~4e-3; keeping the empty tokens instead (no drop) differs from core by ~0.26 on the
generated frames, so :data:`ATOL` separates the two by more than ten times."""

from __future__ import annotations

import pytest
import torch
from node_support import prompt

pytestmark = pytest.mark.comfy

VIDEO, AUDIO = (1, 128, 2, 4, 4), (1, 8, 9, 16)
GUIDED = (1, 128, 3, 4, 4)
"""The video latent with the guide frame appended."""
ATOL = 2e-2


def _guided_latent(comfy_host, model, vae):
    """A 2-frame 4 x 4-cell video latent with a half-size guide (2 x 2 latent cells dilated onto 4 x 4) appended by
    core's LTXVAddGuide, packed with an audio latent; with the prompts and the video noise mask ``(1, 1, 3, 4, 4)``."""
    node = comfy_host.node_class
    image = torch.rand(1, 128, 128, 3, generator=torch.Generator().manual_seed(5))
    pos, neg, video = node("LTXVAddGuide").execute(prompt(model, 1), prompt(model, 2), vae, {"samples": torch.zeros(
        VIDEO)}, image, 0, 1.0, iclora_parameters={"reference_downscale_factor": 2}).result
    latent = node("LTXVConcatAVLatent").execute(video, {"samples": torch.zeros(AUDIO)}).result[0]
    return pos, neg, latent, video["noise_mask"]


def _velocity(comfy_host, model, pos, neg, latent) -> torch.Tensor:
    """The video velocity ``GUIDED`` of the model call of one Euler step (cfg 1: positive only)."""
    import comfy.utils

    calls = []

    def wrapper(apply_model, args):
        denoised = apply_model(args["input"], args["timestep"], **args["c"])
        calls.append((args["input"] - denoised) / args["timestep"].view(-1, 1, 1))  # flow: x0 = x - sigma * v
        return denoised

    wrapped = model.clone()
    wrapped.set_model_unet_function_wrapper(wrapper)
    node = comfy_host.node_class
    guider = node("CFGGuider").execute(wrapped, pos, neg, 1.0).result[0]
    noise, sampler = node("RandomNoise").execute(4).result[0], node("KSamplerSelect").execute("euler").result[0]
    node("SamplerCustomAdvanced").execute(noise, guider, sampler, torch.tensor([0.8, 0.0]), latent)
    assert len(calls) == 1
    return comfy.utils.unpack_latents(calls[0], [GUIDED, AUDIO])[0]


SMALL_GRID_GUIDES_SINCE = (0, 33, 0)
"""The first tested host whose LTXVAddGuide takes IC-LoRA parameters (dilated small-grid guides)."""


def _core_state_dict(state: dict) -> dict:
    """The demo checkpoint for core's loader: core builds the text connectors with 128 learnable registers (the
    demo has 8), so they are tiled to 128. The connectors never run here: the test prompts are processed contexts,
    which core's ``preprocess_text_embeds`` passes through."""
    return {k: v.repeat(128 // v.shape[0], 1) if k.endswith("learnable_registers") else v for k, v in state.items()}


def test_dilated_guide_tokens_dropped_like_core(comfy_host, demo_files, demo_models):
    add_guide = comfy_host.node_class("LTXVAddGuide")
    if "iclora_parameters" not in str(add_guide.INPUT_TYPES()):
        # an older host has no small-grid guides (nothing to drop); a newer host without them fails, never skips
        version = tuple(int(n) for n in comfy_host.version.split(".")[:3])
        assert version < SMALL_GRID_GUIDES_SINCE, f"ComfyUI {comfy_host.version}: LTXVAddGuide lacks iclora_parameters"
        return
    import comfy.sd
    import comfy.utils
    import folder_paths
    from node_support import StandInVAE

    ours = demo_models["2.3-dev"]
    path = folder_paths.get_full_path("checkpoints", demo_files.ltx23_dev)
    state, metadata = comfy.utils.load_torch_file(path, return_metadata=True)
    core = comfy.sd.load_diffusion_model_state_dict(_core_state_dict(state), model_options={"dtype": torch.float32},
                                                   metadata=metadata)
    assert type(core.model.diffusion_model).__module__.startswith("comfy.ldm.lightricks")
    pos, neg, latent, mask = _guided_latent(comfy_host, ours, StandInVAE())
    dropped = (mask < 0).expand(GUIDED)
    assert bool(dropped[:, :, 2].any()) and not bool(dropped[:, :, :2].any())  # empty guide-frame cells only
    assert not bool(dropped[:, :, 2].all())  # the guide's own cells stay
    v_ours, v_core = (_velocity(comfy_host, m, pos, neg, latent) for m in (ours, core))
    assert torch.equal(v_ours[dropped], torch.zeros_like(v_ours[dropped]))
    assert torch.equal(v_core[dropped], torch.zeros_like(v_core[dropped]))
    assert bool((v_ours[~dropped] != 0).all())
    torch.testing.assert_close(v_ours, v_core, atol=ATOL, rtol=0)
