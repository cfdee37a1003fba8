"""Generator of ``tests/data/res2s_golden.json``: Lightricks' latest res_2s loop on tiny video + audio states.

Our code, run against github:Lightricks/LTX-2 main @400fd31 (ltx-core 1.2.x, ltx-pipelines): its
``res2s_audio_video_denoising_loop`` with ``Res2sDiffusionStep`` (legacy SDE mode, bongmath on), float32 states, from
the extracted source on PYTHONPATH of a throw-away environment::

    PYTHONPATH=/tmp/ltx2ref/packages/ltx-core/src:/tmp/ltx2ref/packages/ltx-pipelines/src \\
        python tests/data/golden/res2s_golden.py

``ltx_pipelines.utils`` imports the optional ``OpenImageIO`` (EXR I/O, unused here); when it is missing, an empty
stand-in module is put in ``sys.modules`` for the run. The transformer is the fixed nonlinear function :func:`x0_of`
(the parity test has the same one). Inputs (seeded ``torch.randn``: video tokens ``(1, 12, 4)`` with a partial
denoise mask, audio tokens ``(1, 5, 6)``, clean latents) are stored with the outputs. Cases: the HQ stage-1 schedule
shape (``LTX2Scheduler``, 3 steps, 12 tokens) at the default step eta 0.5 and at eta 0.8 (a knob new in the latest
reference), and the HQ stage-2 sigmas ``(0.909375, 0.725, 0.421875, 0)``; noise seeds 7 / -1.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "res2s_golden.json"
COMMIT = "400fd31"
STAGE2 = [0.909375, 0.725, 0.421875, 0.0]
CASES = [  # (name, sigmas or steps, noise seed, eta)
    ("stage1_eta05", 3, 7, 0.5),
    ("stage1_eta08", 3, 7, 0.8),
    ("stage2_seed_m1", STAGE2, -1, 0.5),
]


def x0_of(latent: torch.Tensor, sigma: float) -> torch.Tensor:
    """Stand-in for the transformer: a smooth nonlinear map of ``(B, T, D)`` tokens, evaluated in float32."""
    w = torch.linspace(-1.0, 1.0, latent.shape[-1] ** 2, dtype=torch.float32).view(latent.shape[-1], -1)
    return (torch.tanh(latent.float() @ w) * (1.2 - sigma) + 0.1 * sigma).to(latent.dtype)


def inputs() -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(2026)
    video_mask = torch.ones(1, 12, 1)
    video_mask[:, :6] = 0.3  # an image at latent frame 0 with strength 0.7
    return {
        "video": torch.randn(1, 12, 4, generator=g), "video_clean": torch.randn(1, 12, 4, generator=g),
        "video_mask": video_mask,
        "audio": torch.randn(1, 5, 6, generator=g), "audio_clean": torch.randn(1, 5, 6, generator=g),
        "audio_mask": torch.ones(1, 5, 1),
    }


def _reference_run(data: dict[str, torch.Tensor], sigmas: torch.Tensor, seed: int, eta: float) -> list:
    from ltx_core.components.diffusion_steps import Res2sDiffusionStep
    from ltx_core.types import LatentState
    from ltx_pipelines.utils.samplers import res2s_audio_video_denoising_loop

    def state(name: str) -> LatentState:
        latent = data[name]
        return LatentState(latent=latent.clone(), denoise_mask=data[f"{name}_mask"].clone(),
                           positions=torch.zeros(1, 1, latent.shape[1], 2), clean_latent=data[f"{name}_clean"].clone())

    def denoiser(transformer, video_state, audio_state, sigmas, step_index):  # noqa: ANN001, ANN202
        sigma = float(sigmas[step_index])
        result = types.SimpleNamespace
        return (result(denoised=x0_of(video_state.latent, sigma)), result(denoised=x0_of(audio_state.latent, sigma)))

    video, audio = res2s_audio_video_denoising_loop(
        sigmas, state("video"), state("audio"), Res2sDiffusionStep(), None, denoiser, noise_seed=seed, eta=eta,
        model_dtype=torch.float32,
    )
    return [video.latent.flatten().tolist(), audio.latent.flatten().tolist()]


def main() -> None:
    sys.modules.setdefault("OpenImageIO", types.ModuleType("OpenImageIO"))
    from ltx_core.components.schedulers import LTX2Scheduler

    data = inputs()
    cases = []
    for name, schedule, seed, eta in CASES:
        if isinstance(schedule, int):
            sigmas = LTX2Scheduler().execute(latent=torch.empty(1, 4, 2, 2, 3), steps=schedule)
        else:
            sigmas = torch.tensor(schedule)
        video, audio = _reference_run(data, sigmas.float(), seed, eta)
        cases.append({"name": name, "sigmas": sigmas.float().tolist(), "seed": seed, "eta": eta,
                      "video": video, "audio": audio})
    payload = {"commit": COMMIT, "inputs": {k: {"shape": list(v.shape), "values": v.flatten().tolist()}
                                            for k, v in data.items()}, "cases": cases}
    OUT.write_text(json.dumps(payload, indent=1) + "\n")
    sys.stdout.write(f"wrote {OUT}\n")


if __name__ == "__main__":
    main()
