"""Request presets following ltx-pipelines' per-version defaults (``utils/constants.py``)."""

from __future__ import annotations

import dataclasses
from typing import Any

from ..duration import predict_frame_count
from ..sampling import defaults_for_version, ltx2_sigmas
from .models import PipelineModels
from .request import GenerationRequest, TextContexts


def dev_request(model_version: str | None, *, steps: int | None = None, **fields: Any) -> GenerationRequest:  # noqa: ANN401
    """A guided (dev-model) request: LTX2Scheduler sigmas (fixed shift 2.05) and the version's guider params.

    Args:
        model_version: the checkpoint's ``model_version`` ("2.3*" → LTX-2.3 defaults: 30 steps, STG block 28;
            otherwise LTX-2: 40 steps, block 29).
        steps: number of steps (default: the version's).
        fields: any other :class:`GenerationRequest` field (height, width, num_frames, fps, seed, images...).
    """
    defaults = defaults_for_version(model_version)
    sigmas = ltx2_sigmas(steps or defaults.num_inference_steps)
    base = GenerationRequest(
        height=defaults.stage_1_height,
        width=defaults.stage_1_width,
        num_frames=defaults.num_frames,
        fps=defaults.frame_rate,
        seed=defaults.seed,
        sigmas=tuple(float(s) for s in sigmas),
        video_guidance=defaults.video,
        audio_guidance=defaults.audio,
    )
    return dataclasses.replace(base, **fields)


def auto_frame_count(models: PipelineModels, contexts: TextContexts, fps: float) -> int | None:
    """The frame count the model's duration head suggests for the prompt (``1 + 8k``, 1-20 s), or None when the
    model has no duration head (LTX-2.5's optional ``duration_head`` file; ltx-pipelines HEAD ``AutoDuration``)."""
    if models.duration_head is None:
        return None
    frames, _seconds = predict_frame_count(models.duration_head, contexts.video, contexts.audio, fps=fps)
    return frames
