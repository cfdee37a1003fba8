"""Rules of the IC-LoRA modes (``ltx_model.modes.ingredients`` / ``pixel_upscale``) and their pipeline entries.

Ingredients: pictures -> a reference sheet on black (grid of panels, each picture fitted keeping its aspect ratio
and centred) -> a static reference video of the clip's frame count; bad inputs raise one clear error.
Pixel upscale: output = input x factor, each side rounded to the nearest multiple of 32 x factor; reference grid =
output / factor (x4: the 128 grid); frames = the input's first 1 + 8k; the tiny IC-LoRAs the graph tests write
under the release names carry the published factor (pixel-spatial upscaler x4: 4, x2: 2).
"""

from __future__ import annotations

import pytest
import torch

from ltx_model.modes import GenerationError
from ltx_model.modes.ingredients import (
    fit_and_pad,
    ingredient_pictures,
    ingredients_video,
    reference_sheet,
    sheet_grid,
)
from ltx_model.modes.pixel_upscale import UpscalePlan, upscale_plan, upscaled_side
from ltx_model.pipelines.ingredients import ingredients_reference
from ltx_model.pipelines.pixel_upscale import upscale_request
from ltx_model.pipelines.request import GenerationRequest
from scripts.workflow_models import demo_lora_metadata


def _flat(h: int, w: int, value: float, channels: int = 3) -> torch.Tensor:
    return torch.full((h, w, channels), value)


@pytest.mark.parametrize(("count", "grid"), [(1, (1, 1)), (2, (1, 2)), (3, (2, 2)), (4, (2, 2)), (5, (2, 3)),
                                             (7, (3, 3))])
def test_ingredients_grid_has_a_cell_per_picture(count, grid):
    assert sheet_grid(count) == grid


def test_ingredients_fit_and_pad_keeps_aspect_and_centres():
    out = fit_and_pad(_flat(10, 20, 0.5), 64, 64)  # 2:1 picture in a square: 64x32, rows 16..47
    assert out.shape == (64, 64, 3)
    rows = out[:, 32, 0] > 0
    assert rows.nonzero().min() == 16 and rows.nonzero().max() == 47
    assert torch.allclose(out[16:48], torch.full((32, 64, 3), 0.5))
    assert not out[:16].any() and not out[48:].any()


def test_ingredients_one_picture_fills_the_frame_like_resize_and_pad():
    sheet = reference_sheet([_flat(32, 32, 1.0)], height=32, width=64)
    assert torch.equal(sheet[:, 16:48], torch.ones(32, 32, 3))
    assert not sheet[:, :16].any() and not sheet[:, 48:].any()


def test_ingredients_two_pictures_side_by_side_in_their_cells():
    sheet = reference_sheet([_flat(8, 8, 0.25), _flat(8, 8, 0.75)], height=32, width=64)
    assert torch.allclose(sheet[:, :32], torch.full((32, 32, 3), 0.25))
    assert torch.allclose(sheet[:, 32:], torch.full((32, 32, 3), 0.75))


def test_ingredients_batch_gives_one_panel_per_picture_and_rgba_goes_over_black():
    batch = torch.stack([_flat(8, 8, 0.5), _flat(8, 8, 1.0)])
    assert len(ingredient_pictures([batch])) == 2
    rgba = torch.cat([_flat(4, 4, 1.0), torch.full((4, 4, 1), 0.5)], -1)
    (picture,) = ingredient_pictures([rgba])
    assert picture.shape == (4, 4, 3) and torch.allclose(picture, torch.full((4, 4, 3), 0.5))


def test_ingredients_video_repeats_the_sheet():
    video = ingredients_video([_flat(16, 24, 0.5), _flat(24, 16, 0.9)], frames=9, height=32, width=64)
    sheet = reference_sheet([_flat(16, 24, 0.5), _flat(24, 16, 0.9)], height=32, width=64)
    assert video.shape == (9, 32, 64, 3)
    assert all(torch.equal(frame, sheet) for frame in video)


@pytest.mark.parametrize(("images", "words"), [
    ([], "no reference images"),
    ([_flat(8, 8, 0.5), _flat(8, 8, 0.5, channels=4)], "image 2 has 4 channels"),
    ([_flat(8, 8, 0.5, channels=1)], "image 1 has 1 channels"),
    ([torch.zeros(0, 8, 8, 3)], "image 1 is not a picture"),
])
def test_ingredients_bad_images_raise_one_clear_error(images, words):
    with pytest.raises(GenerationError, match=words):
        ingredients_video(images, frames=9, height=32, width=32)


def test_ingredients_names_the_input_in_errors():
    with pytest.raises(GenerationError, match="image_3 input has 4 channels.*image_1 input: 3"):
        ingredient_pictures([_flat(8, 8, 0.5), _flat(8, 8, 0.5, channels=4)], names=["image_1 input", "image_3 input"])


def test_ingredients_pipeline_reference_matches_request():
    request = GenerationRequest(height=64, width=96, num_frames=17)
    reference = ingredients_reference([_flat(10, 10, 200.0)], request)
    assert reference.frames.shape == (17, 64, 96, 3) and reference.strength == 1.0
    assert torch.equal(reference.frames, ingredients_video([_flat(10, 10, 200.0)], frames=17, height=64, width=96))


# ------------------------------------------------------------------------------------------------ pixel upscale
@pytest.mark.parametrize(("side", "factor", "expected"), [(32, 2, 64), (40, 2, 64), (48, 2, 128), (72, 2, 128),
                                                          (256, 2, 512), (384, 2, 768), (10, 2, 64), (96, 4, 384),
                                                          (100, 1, 96)])
def test_pixel_upscale_side_is_x_factor_on_the_grid(side, factor, expected):
    assert upscaled_side(side, factor) == expected and expected % (32 * factor) == 0


def test_pixel_upscale_plan_output_reference_and_frames():
    plan = upscale_plan((20, 40, 72), 2)
    assert plan == UpscalePlan(height=64, width=128, ref_height=32, ref_width=64, frames=17)
    assert upscale_plan((9, 32, 64), 2, width=256, height=128) == UpscalePlan(128, 256, 64, 128, 9)


def test_pixel_upscale_plan_x4_uses_the_128_grid():
    # the x4 LoRA (factor 4): 24x40 x 4 = 96x160, each side to the nearest multiple of 128; reference = output / 4
    assert upscale_plan((17, 24, 40), 4) == UpscalePlan(height=128, width=128, ref_height=32, ref_width=32, frames=17)
    assert upscale_plan((25, 272, 480), 4) == UpscalePlan(1152, 1920, 288, 480, 25)  # a ~280p draft -> 1080p-class
    with pytest.raises(GenerationError, match="width 192 must be a multiple of 128"):
        upscale_plan((9, 32, 32), 4, width=192)


@pytest.mark.parametrize(("name", "factor"), [
    ("ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x4-0.9.safetensors", "4"),
    ("ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x2-0.9.safetensors", "2"),
    ("ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors", "2"),
    ("ltx-2.3-22b-ic-lora-ingredients-0.9.safetensors", "1"),
])
def test_pixel_upscale_demo_loras_carry_the_published_factor(name, factor):
    assert demo_lora_metadata(name) == {"reference_downscale_factor": factor}


@pytest.mark.parametrize(("kwargs", "words"), [({"width": 96}, "width 96 must be a multiple of 64"),
                                               ({"height": 32}, "height 32 must be a multiple of 64")])
def test_pixel_upscale_plan_rejects_sizes_off_the_grid(kwargs, words):
    with pytest.raises(GenerationError, match=words):
        upscale_plan((9, 32, 32), 2, **kwargs)


def test_pixel_upscale_plan_rejects_empty_input_and_bad_factor():
    with pytest.raises(GenerationError, match="empty"):
        upscale_plan((0, 32, 32), 2)
    with pytest.raises(GenerationError, match="reference_downscale_factor"):
        upscale_plan((9, 32, 32), 0)


def test_pixel_upscale_request_takes_the_plan():
    request, plan = upscale_request(GenerationRequest(seed=3), torch.zeros(12, 32, 48, 3), 2)
    # 48 x 2 = 96 lies halfway between 64 and 128: ties go up
    assert (request.height, request.width, request.num_frames, request.seed) == (64, 128, 9, 3)
    assert (plan.ref_height, plan.ref_width) == (32, 64)
