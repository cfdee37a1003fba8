"""Whole-pipeline LTX-2.5 parity: our distilled T2V and I2V runs vs Lightricks' latest ltx-pipelines, same noise.

Golden values: ``tests/data/ltx25_pipeline_golden.safetensors``, produced by ``tests/data/golden/
ltx25_pipeline_golden.py`` with ltx-core / ltx-pipelines main @400fd31 (HEAD's ``DiffusionStage`` on the split
transformer file of ``write_demo_ltx25_model_set(seed=0)``, ``GaussianNoiser`` seeded 7, the 8 distilled sigmas,
``SimpleDenoiser``, the ancestral stage-1 sampler of HEAD's ``DistilledPipeline`` for 2.5 checkpoints
(``EulerAncestralDiffusionStep(eta=1, s_noise=1)``, loop noise seeded 7 + 10000), fp32 on CPU; I2V conditions
frame 0 on a PNG with HEAD's ``combined_image_conditionings`` at CRF 18, encoded by HEAD's encoder from the set's
video VAE file).

Our side loads the same folder through ``load_pipeline_models`` (which picks the 2.5 split files, checks the Gemma
version and builds the LTX-2.5 video VAE) and runs ``denoise_latents`` with ``Sampler.EULER_ANCESTRAL``; the image
CRF is left unset and resolves to 2.5's default (18). Text contexts are fixed tensors fed to both sides (the
Gemma 4 path has its own parity tests). Compared: the final unpatchified video ``(1, 128, 2, 2, 2)`` and audio
``(1, 8, T, 16)`` latents, fp32 relative L2 <= 1e-5 (the loop amplifies fp32 rounding of ~1e-7 per transformer
pass; the measured error is ~1e-7).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ltx_model.demo.ltx25_set import write_demo_ltx25_model_set
from ltx_model.media import read_image
from ltx_model.pipelines import (
    GenerationRequest,
    ImageCondition,
    Sampler,
    TextContexts,
    denoise_latents,
    load_pipeline_models,
)
from ltx_model.sampling import unpatchify_state_latent

pytestmark = pytest.mark.parity

DATA = Path(__file__).resolve().parent.parent / "data"
GOLDEN = DATA / "ltx25_pipeline_golden.safetensors"
TOLERANCE = 1e-5  # fp32 relative L2


def _generator_module():  # noqa: ANN202
    """The golden generator script (our code) for its inputs: contexts, image, sizes, seed."""
    spec = importlib.util.spec_from_file_location("ltx25_pipeline_golden", DATA / "golden" / "ltx25_pipeline_golden.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


G = _generator_module()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    folder = tmp_path_factory.mktemp("ltx25parity") / "models"
    write_demo_ltx25_model_set(folder, duration_head=False)
    return load_pipeline_models(folder, dtype=torch.float32)


def _relative_l2(ours: torch.Tensor, ref: torch.Tensor) -> float:
    assert ours.shape == ref.shape
    return float((ours.float() - ref).norm() / ref.norm())


def _run(models, images: tuple[ImageCondition, ...] = ()) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    video, audio = G.contexts()
    request = GenerationRequest(height=G.HEIGHT, width=G.WIDTH, num_frames=G.FRAMES, fps=G.FPS, seed=G.SEED,
                                sampler=Sampler.EULER_ANCESTRAL, images=images)
    video_state, audio_state = denoise_latents(models, request, TextContexts(video, audio))
    return unpatchify_state_latent(video_state), unpatchify_state_latent(audio_state)


def test_ltx25_pipeline_t2v_parity(models) -> None:  # noqa: ANN001
    golden = load_file(str(GOLDEN))
    video, audio = _run(models)
    assert _relative_l2(video, golden["t2v.video"]) <= TOLERANCE
    assert _relative_l2(audio, golden["t2v.audio"]) <= TOLERANCE


def test_ltx25_pipeline_i2v_parity(models, tmp_path: Path) -> None:  # noqa: ANN001
    golden = load_file(str(GOLDEN))
    image = read_image(G.write_image(tmp_path / "first.png"))
    video, audio = _run(models, (ImageCondition(image),))  # CRF unset: 2.5's default 18, as the reference's
    assert _relative_l2(video, golden["i2v.video"]) <= TOLERANCE
    assert _relative_l2(audio, golden["i2v.audio"]) <= TOLERANCE
    t2v = golden["t2v.video"]
    assert _relative_l2(golden["i2v.video"], t2v) > 1e-2  # the image changed the run (the test can tell them apart)
