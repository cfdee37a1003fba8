"""pipelines.two_stage_hq: the HQ recipe's request defaults and a tiny two-stage run with res_2s in both stages, on
the LTX-2.3 demo checkpoint and the LTX-2.5 demo set (Lightricks' ``ti2vid_two_stages_hq`` takes both, with
``LTX_2_3_HQ_PARAMS`` whatever the checkpoint)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
from pipeline_models import FAMILIES, load_demo_models

from ltx_model.demo import DemoFamily, write_demo_checkpoint, write_demo_upsampler
from ltx_model.pipelines import (
    Callbacks,
    PipelineModels,
    Sampler,
    TextContexts,
    generate_two_stage,
    generate_two_stage_hq,
    hq_request,
    hq_sigmas,
    load_pipeline_models,
    samplers,
)
from ltx_model.pipelines.two_stage_hq import HQ_STAGE2_SIGMAS
from ltx_model.sampling import LTX_2_3_HQ_PARAMS, STAGE2_DISTILLED_SIGMAS, ltx2_sigmas


def test_hq_request_defaults_follow_the_reference_preset() -> None:
    request = hq_request()
    hq = LTX_2_3_HQ_PARAMS
    assert (request.height, request.width) == (1088, 1920) and request.sampler is Sampler.RES_2S
    assert request.video_guidance == hq.video and request.audio_guidance == hq.audio
    tokens = 16 * (544 // 32) * (960 // 32)  # stage-1 latent of 121 frames at 544 x 960
    assert request.sigmas == tuple(float(s) for s in ltx2_sigmas(15, tokens=tokens))
    assert len(hq_request(steps=4).sigmas) == 5
    explicit = hq_request(sigmas=(1.0, 0.5, 0.0))
    assert explicit.sigmas == (1.0, 0.5, 0.0)
    small = hq_request(height=128, width=64, num_frames=9)
    assert small.sigmas == hq_sigmas(small, 15) != request.sigmas  # the shift follows the size
    assert HQ_STAGE2_SIGMAS == STAGE2_DISTILLED_SIGMAS


VERSIONS = {"ltx23": "2.3", "ltx25": "2.5"}


def _models(folder: Path, family: str) -> PipelineModels:
    """The demo models of ``family`` with a spatial x2 upsampler (the 2.5 set has its own; 2.3 gets the demo one)."""
    if family == "ltx25":
        return load_demo_models(folder, family)
    return load_pipeline_models(write_demo_checkpoint(folder / "ltx-2.3-demo.safetensors", DemoFamily.LTX23),
                                dtype=torch.float32, upsampler=write_demo_upsampler(folder / "up.safetensors"))


@pytest.mark.parametrize("family", FAMILIES)
def test_generate_two_stage_hq_runs_res2s_in_both_stages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         family: str) -> None:
    models = _models(tmp_path, family)
    assert models.upsampler is not None
    gen = torch.Generator().manual_seed(0)
    video_width, audio_width = models.connectors.config.video.width, models.connectors.config.audio.width
    contexts = TextContexts(*(torch.randn(1, 8, w, generator=gen) for w in (video_width, audio_width,
                                                                             video_width, audio_width)))
    request = hq_request(VERSIONS[family], steps=2, height=128, width=64, num_frames=9, seed=3)
    assert request.video_guidance == LTX_2_3_HQ_PARAMS.video  # 2.5: the same HQ preset as the reference
    steps: list[float] = []
    real_step = samplers.res2s_step

    def spy(states, denoise, sigmas, step_index, **kwargs):  # noqa: ANN001, ANN003, ANN202
        steps.append(float(sigmas[step_index]))
        return real_step(states, denoise, sigmas, step_index, **kwargs)

    monkeypatch.setattr(samplers, "res2s_step", spy)
    progress: list[tuple[int, int]] = []
    result = generate_two_stage_hq(models, request, contexts,
                                   callbacks=Callbacks(progress=lambda d, t: progress.append((d, t))))
    assert result.frames.shape == (9, 128, 64, 3) and result.video_latent.shape == (1, 128, 2, 4, 2)
    assert steps == pytest.approx([*request.sigmas[:2], *HQ_STAGE2_SIGMAS[:3]])  # stage 1, then stage 2
    assert progress[-1] == (5, 5)
    monkeypatch.setattr(samplers, "res2s_step", real_step)
    euler = generate_two_stage(models, dataclasses.replace(request, sampler=Sampler.EULER), contexts)
    assert not torch.equal(euler.video_latent, result.video_latent)
