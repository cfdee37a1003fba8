"""Guidance parallel in the real host: the multimodal guider (CFG + STG + modality, 4 passes per step) driven by
core Sampler Custom Advanced on a Multi-GPU (LTX-2) MODEL sends every pass of a step to the workers as ONE batch,
which the workers split over their guidance groups (2 and 3 gloo workers on the CPU, spawned the production way),
and the guided x0 equals the one-device run (whose passes run one after another, as before).

Tolerance: each pass is computed with the single-device arithmetic except that a worker's GEMMs see another batch
size (2 or 1 samples instead of 1 or 2), which moves fp32 results by a few ULP (<= 1e-6 relative, outputs O(1));
guidance then adds the passes with its scales, so the bound on the guided x0 is 1e-6 times the guidance's gain
(1 + 2·(|cfg - 1| + |stg| + |modality - 1|), the worst case of summing the passes' errors) times the output's
magnitude. A pass given the wrong perturbations moves the result by far more (checked against a run without STG
and modality guidance).
"""

from __future__ import annotations

import pytest
import torch
from node_support import prompt

pytestmark = pytest.mark.comfy

SIGMAS = (0.8, 0.0)  # one Euler step to 0: the sampled latent is the guided x0
TOLERANCE = 1e-6  # fp32, per pass, relative to the output's magnitude
SCALES = {"cfg": (3.0, 7.0), "stg": (1.0, 0.5), "modality": (3.0, 2.0)}  # (video, audio): every pass is active
GAIN = max(1 + 2 * (abs(cfg - 1) + abs(stg) + abs(modality - 1))
           for cfg, stg, modality in zip(*SCALES.values(), strict=True))


def _sample(comfy_host, pack_nodes, model, positive, negative, scales: dict = SCALES) -> torch.Tensor:
    """One step of core SamplerCustomAdvanced with the multimodal guider (``scales``; STG on block 1, rescale)."""
    (video_cfg, audio_cfg), (video_stg, audio_stg), (video_mod, audio_mod) = scales.values()
    guider = pack_nodes.sampling.LTX2NMultimodalGuider.execute(model, positive, negative, video_cfg, audio_cfg,
                                                               video_stg, audio_stg, "1", 0.7, 0.3, video_mod,
                                                               audio_mod).result[0]
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 24.0, 1).result[0]
    node = comfy_host.node_class
    noise = node("RandomNoise").execute(11).result[0]
    sampler = node("KSamplerSelect").execute("euler").result[0]
    out = node("SamplerCustomAdvanced").execute(noise, guider, sampler, torch.tensor(SIGMAS), latent).result
    return out[0]["samples"]


@pytest.mark.parametrize(("devices", "strategy"), [("cpu,cpu", "guidance"), ("cpu,cpu,cpu", "auto")],
                         ids=["2workers", "3workers"])
def test_multi_gpu_guidance_parallel_multimodal_guider_one_batch_per_step_equals_one_device(
        comfy_host, pack_nodes, demo_files, demo_models, monkeypatch, devices: str, strategy: str) -> None:
    model = demo_models["2.3-dev"]
    positive, negative = prompt(model, 1), prompt(model, 2)
    want = _sample(comfy_host, pack_nodes, model, positive, negative)
    world = len(devices.split(","))
    batches: list[tuple[int, int]] = []  # (samples, guidance groups) of every transformer pass sent to the workers
    try:
        multi = pack_nodes.multi_gpu.LTX2NMultiGPU.execute(model, demo_files.ltx23_dev, devices, strategy).result[0]
        pool = multi.model_options["transformer_options"][pack_nodes.diffusion.PASS_RUNNER_KEY].pool
        run = pool.run

        def spy(job, *args, **kwargs):
            if job.__name__ == "host_pass":
                video, _, _, groups = args
                batches.append((video.latent.shape[0], groups))
            return run(job, *args, **kwargs)

        monkeypatch.setattr(pool, "run", spy)
        got = _sample(comfy_host, pack_nodes, multi, positive, negative)
    finally:
        for live in list(pack_nodes.multi_gpu._POOLS.values()):  # noqa: SLF001 - the test closes what it started
            live.close()
        pack_nodes.multi_gpu._POOLS.clear()  # noqa: SLF001
    # one call per step holding cond, uncond, STG and modality, spread over one guidance group per worker
    assert batches == [(4, world)] * (len(SIGMAS) - 1), batches
    for g, w in zip(got.unbind(), want.unbind(), strict=True):  # video, audio
        bound = TOLERANCE * GAIN * max(1.0, float(w.abs().max()))
        assert float((g - w).abs().max()) <= bound
    cfg_only = _sample(comfy_host, pack_nodes, model, positive, negative,
                       {**SCALES, "stg": (0.0, 0.0), "modality": (1.0, 1.0)})
    assert all(float((c - w).abs().max()) > 1e3 * TOLERANCE * GAIN * max(1.0, float(w.abs().max()))
               for c, w in zip(cfg_only.unbind(), want.unbind(), strict=True))  # the bound detects a wrong pass


def test_multi_gpu_guidance_parallel_leaves_one_device_pass_by_pass(comfy_host, pack_nodes, demo_models,
                                                                    monkeypatch) -> None:
    """Without a multi-GPU runner the guider calls the model as before: cond + uncond in one batch, then the STG
    pass, then the isolated pass (so one-device results are unchanged)."""
    import comfy.samplers

    model = demo_models["2.3-dev"]
    key = pack_nodes.diffusion.PERTURBATIONS_KEY
    calls, calc = [], comfy.samplers.calc_cond_batch

    def spy(inner, conds, x, timestep, model_options):
        perturbations = model_options.get("transformer_options", {}).get(key)
        calls.append((len(conds), None if perturbations is None else perturbations.items[0].skip.name))
        return calc(inner, conds, x, timestep, model_options)

    monkeypatch.setattr(comfy.samplers, "calc_cond_batch", spy)
    _sample(comfy_host, pack_nodes, model, prompt(model, 1), prompt(model, 2))
    assert calls == [(2, None), (1, "VIDEO_SELF"), (1, "AUDIO_TO_VIDEO")], calls
