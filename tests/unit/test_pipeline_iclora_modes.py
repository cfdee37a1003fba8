"""The IC-LoRA mode plain-script entries on tiny demo weights (LTX-2.3 single file and the LTX-2.5 split set, fp32,
CPU, 2 steps): ``generate_ingredients`` and ``generate_pixel_upscale``.

* Ingredients: the reference sheet (``ingredients_reference``) is a video of the request's size and length, so the
  run resizes and trims nothing (no notes); the clip has the request's size, frames and fps, the reference tokens
  are cropped from the latent, other pictures give another clip (the sheet reaches the model); no picture raises
  before any model runs.
* Pixel upscale (factor 2 and 4, as the x2 / x4 pixel-spatial upscaler IC-LoRAs): the output is the input x factor
  on the ``32 x factor`` grid with the input's first ``1 + 8k`` frames and the request's fps; an input on the
  reference grid (output / factor) is used as it is (no notes), an off-grid one is resized to exactly that grid.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from pipeline_models import FAMILIES, load_demo_models, random_contexts

from ltx_model.pipelines import GenerationError, GenerationRequest, PipelineModels, TextContexts
from ltx_model.pipelines.ingredients import generate_ingredients, ingredients_reference
from ltx_model.pipelines.pixel_upscale import generate_pixel_upscale

REQ = GenerationRequest(height=64, width=96, num_frames=9, fps=24.0, seed=3, sigmas=(1.0, 0.6, 0.0))


@pytest.fixture(scope="module", params=FAMILIES)
def models(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> PipelineModels:
    """The LTX-2.3 single-file demo checkpoint, or the complete LTX-2.5 demo set of split files."""
    return load_demo_models(Path(tmp_path_factory.mktemp(f"iclora_modes_{request.param}")), request.param)


@pytest.fixture(scope="module")
def contexts(models: PipelineModels) -> TextContexts:
    return random_contexts(models)


def _frames(count: int, height: int, width: int, seed: int = 1) -> torch.Tensor:
    """``(count, height, width, 3)`` uint8 gradients, shifted per frame."""
    yy, xx = np.mgrid[0:height, 0:width]
    base = np.stack([xx * 5, yy * 5, (xx + yy) * 3], -1)
    shift = np.random.RandomState(seed).randint(0, 60, size=count)
    return torch.from_numpy(np.stack([(base + s) % 256 for s in shift]).astype(np.uint8))


# ------------------------------------------------------------------------------------------------ ingredients
def test_pipeline_ingredients_sheet_guides_a_clip_of_the_request(models: PipelineModels,
                                                                  contexts: TextContexts) -> None:
    pictures = [_frames(1, 40, 80, seed=2)[0].float(), _frames(1, 48, 32, seed=3)[0].float()]
    reference = ingredients_reference(pictures, REQ)
    assert tuple(reference.frames.shape) == (9, 64, 96, 3) and reference.strength == 1.0
    result = generate_ingredients(models, REQ, contexts, pictures)
    assert tuple(result.frames.shape) == (9, 64, 96, 3) and result.fps == 24.0
    assert tuple(result.video_latent.shape) == (1, 128, 2, 2, 3)  # the reference tokens are cropped
    assert result.notes == ()  # the sheet is on the output grid and as long as the clip: nothing adapted
    other = generate_ingredients(models, REQ, contexts, [torch.flip(p, dims=[0]) for p in pictures])
    assert (other.video_latent - result.video_latent).abs().max() > 1e-4


def test_pipeline_ingredients_without_pictures_fails_before_sampling(models: PipelineModels,
                                                                      contexts: TextContexts) -> None:
    with pytest.raises(GenerationError):
        generate_ingredients(models, REQ, contexts, [])


# ------------------------------------------------------------------------------------------------ pixel upscale
@pytest.mark.parametrize(("factor", "source", "output", "notes"), [
    (2, (20, 32, 64), (17, 64, 128), ()),  # on the reference grid: used as it is
    (2, (12, 40, 72), (9, 64, 128), ("reference video 40x72 resized to 32x64",)),  # 80x144 -> the 64 grid
    (4, (9, 32, 32), (9, 128, 128), ()),  # x4: the 128 grid
])
def test_pipeline_pixel_upscale_output_frames_and_reference_grid(models: PipelineModels, contexts: TextContexts,
                                                                 factor, source, output, notes) -> None:
    frames, height, width = output
    request = dataclasses.replace(REQ, height=32, width=32, num_frames=1, fps=25.0)  # replaced by the plan
    result = generate_pixel_upscale(models, request, contexts, _frames(*source), downscale_factor=factor)
    assert tuple(result.frames.shape) == (frames, height, width, 3) and result.fps == 25.0
    latent_frames = (frames - 1) // 8 + 1
    assert tuple(result.video_latent.shape) == (1, 128, latent_frames, height // 32, width // 32)
    assert result.notes == notes  # the reference is the input at output / factor, nothing else


def test_pipeline_pixel_upscale_bad_input_fails_before_sampling(models: PipelineModels,
                                                               contexts: TextContexts) -> None:
    with pytest.raises(GenerationError, match="F >= 1"):
        generate_pixel_upscale(models, REQ, contexts, torch.zeros(0, 32, 32, 3), downscale_factor=4)
    with pytest.raises(GenerationError, match="reference_downscale_factor"):
        generate_pixel_upscale(models, REQ, contexts, _frames(9, 32, 32), downscale_factor=0)
