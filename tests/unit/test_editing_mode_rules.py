"""The spatial editing rules (``ltx_model.modes.masks`` / ``.pyramid``): mask checks and dilation, the flat-colour
composite, the outpaint canvas on the 32-pixel grid (the whole source placed, never cropped: fitted into an explicit
canvas, pixel for pixel on a canvas of source + borders) and its errors, and the Laplacian pyramid blend (exact
reconstruction, the source bit for bit where the blend mask is 0)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from ltx_model.modes.masks import (
    FLAT_COLOUR,
    as_mask,
    ceil_to_grid,
    dilate_mask,
    flat_colour_composite,
    mask_problem,
    outpaint_canvas,
    outpaint_problem,
    outpaint_source,
    round_to_grid,
)
from ltx_model.modes.pyramid import gaussian_pyramid, laplacian_pyramid, pyramid_blend, pyramid_levels, soften_mask


def test_mode_mask_problem_names_the_rule():
    assert mask_problem((17, 64, 96), (17, 64, 96, 3)) is None
    assert mask_problem((1, 64, 96), (17, 64, 96, 3)) is None  # one frame for all
    size = mask_problem((17, 64, 64), (17, 64, 96, 3))
    assert "64x64" in size and "96x64" in size and "size" in size
    frames = mask_problem((9, 64, 96), (17, 64, 96, 3), "mask input")
    assert "mask input" in frames and "9 frames" in frames and "17" in frames


def test_mode_as_mask_shapes():
    assert as_mask(torch.ones(4, 5)).shape == (1, 4, 5)
    image = torch.zeros(2, 4, 5, 3)
    image[..., 0] = 0.9
    assert torch.allclose(as_mask(image), torch.full((2, 4, 5), 0.3))


def test_mode_dilate_mask_grows_square_and_frames():
    mask = torch.zeros(5, 9, 9)
    mask[2, 4, 4] = 1.0
    grown = dilate_mask(mask, 2)
    assert torch.equal(grown[2, 2:7, 2:7], torch.ones(5, 5)) and grown.sum() == 25
    both = dilate_mask(mask, 1, 1)
    assert both.sum() == 27 and both[1:4, 3:6, 3:6].all()
    assert torch.equal(dilate_mask(torch.full((1, 3, 3), 0.4)), torch.zeros(1, 3, 3))  # below the threshold
    assert set(dilate_mask(torch.rand(2, 6, 6), 1).unique().tolist()) <= {0.0, 1.0}


def test_mode_flat_colour_composite_only_under_mask():
    frames = torch.rand(2, 4, 4, 3)
    mask = torch.zeros(1, 4, 4)
    mask[:, 1:3, 1:3] = 1.0
    out = flat_colour_composite(frames, mask)
    colour = torch.tensor(FLAT_COLOUR) / 255.0
    assert torch.equal(out[:, 0], frames[:, 0]) and torch.equal(out[:, :, 0], frames[:, :, 0])
    assert torch.allclose(out[:, 1:3, 1:3], colour.expand(2, 2, 2, 3))


@pytest.mark.parametrize(("pixels", "rounded"), [(0, 0), (15, 0), (16, 32), (20, 32), (47, 32), (48, 64)])
def test_mode_round_to_grid(pixels, rounded):
    assert round_to_grid(pixels) == rounded


def test_mode_outpaint_canvas_places_source():
    canvas = outpaint_canvas(160, 96, source_width=96, source_height=64, left=20, right=40, top=0, bottom=30)
    assert (canvas.left, canvas.top, canvas.source_width, canvas.source_height) == (32, 0, 96, 64)
    frames = torch.rand(3, 64, 96, 3)
    placed = canvas.place(frames)
    assert placed.shape == (3, 96, 160, 3) and torch.equal(canvas.crop(placed), frames)
    mask = canvas.mask(3)
    assert mask.shape == (3, 96, 160) and mask.sum() == 3 * (160 * 96 - 96 * 64)
    assert not mask[:, 0:64, 32:128].any()


@pytest.mark.parametrize(("pixels", "ceiled"), [(1, 32), (32, 32), (33, 64), (500, 512)])
def test_mode_ceil_to_grid(pixels, ceiled):
    assert ceil_to_grid(pixels) == ceiled


def test_mode_outpaint_source_and_borders_keeps_every_pixel():
    """width = height = 0: the canvas is the source plus its borders on the grid; the source is not resized, the
    < 32 pixels its sides leave go next to the bordered side (top only here) or are centred (left/right)."""
    frames = torch.rand(2, 40, 50, 3)
    canvas, placed = outpaint_source(frames, width=0, height=0, left=0, right=0, top=20, bottom=0)
    assert (canvas.width, canvas.height) == (64, 32 + 64)
    assert (canvas.left, canvas.top) == (7, 32 + 24) and (canvas.source_width, canvas.source_height) == (50, 40)
    assert torch.equal(canvas.crop(placed), frames)  # the whole source, bit for bit
    mask = canvas.mask(2)
    assert not mask[:, 56:96, 7:57].any() and mask.sum() == 2 * (64 * 96 - 50 * 40)
    assert torch.equal(placed[mask.bool()], torch.zeros(int(mask.sum()), 3))


def test_mode_outpaint_fits_the_source_into_a_canvas_never_crops():
    """An explicit canvas whose free region has another aspect: the source is scaled to fit inside it (aspect
    kept), whole; the rest of the region is generated as well (bottom, the bordered side)."""
    frames = torch.rand(2, 48, 80, 3)
    canvas, placed = outpaint_source(frames, width=160, height=96, left=20, right=40, top=0, bottom=30)
    assert (canvas.width, canvas.height, canvas.left, canvas.top) == (160, 96, 32, 0)
    assert (canvas.source_width, canvas.source_height) == (96, 58)  # 80x48 x 1.2: inside the 96x64 region
    resized = F.interpolate(frames.permute(0, 3, 1, 2), size=(58, 96), mode="bilinear", align_corners=False)
    assert torch.equal(canvas.crop(placed), resized.permute(0, 2, 3, 1).clamp(0, 1))
    assert canvas.mask(2)[:, 58:64, 32:128].all()  # the region's leftover rows are generated
    wide = outpaint_canvas(1024, 576, source_width=1920, source_height=1080, left=128, right=128, top=32, bottom=32)
    assert (wide.source_width, wide.source_height, wide.left, wide.top) == (768, 432, 128, 32 + 40)  # centred


@pytest.mark.parametrize(("size", "sides", "words"), [
    ((100, 64), (32, 0, 0, 0), "multiples of 32"),
    ((128, 64), (-32, 0, 0, 0), ">= 0"),
    ((128, 64), (10, 0, 15, 0), "nothing to generate"),
    ((0, 0), (10, 0, 15, 0), "nothing to generate"),
    ((128, 64), (64, 64, 0, 0), "leave no source pixels"),
    ((0, 64), (0, 0, 20, 20), "leave no source pixels"),
])
def test_mode_outpaint_problems(size, sides, words):
    left, right, top, bottom = sides
    problem = outpaint_problem(*size, left=left, right=right, top=top, bottom=bottom)
    assert problem is not None and words in problem
    with pytest.raises(ValueError, match=words):
        outpaint_canvas(*size, source_width=64, source_height=64, left=left, right=right, top=top, bottom=bottom)


def test_mode_outpaint_zero_canvas_always_keeps_source_pixels():
    assert outpaint_problem(0, 0, left=64, right=64, top=20, bottom=20) is None  # source + borders: never empty
    with pytest.raises(ValueError, match="no pixels"):
        outpaint_canvas(0, 0, source_width=0, source_height=64, left=32, right=0, top=0, bottom=0)


def test_mode_laplacian_pyramid_collapses_back():
    x = torch.rand(2, 3, 37, 50)
    levels = pyramid_levels(37, 50)
    assert levels == 5 and len(gaussian_pyramid(x, levels)) == 6
    bands = laplacian_pyramid(x, levels)
    assert bands[-1].shape[-2:] == (2, 2)
    blended = pyramid_blend(x.permute(0, 2, 3, 1), torch.zeros(2, 37, 50, 3), torch.ones(1, 37, 50))
    assert torch.allclose(blended, x.permute(0, 2, 3, 1), atol=1e-6)  # mask 1 everywhere: the input back


def test_mode_pyramid_blend_keeps_source_where_mask_is_zero():
    source, generated = torch.rand(9, 48, 80, 3), torch.rand(9, 48, 80, 3)
    mask = torch.zeros(9, 48, 80)
    mask[:, 16:32, 30:50] = 1.0
    weights = soften_mask(mask, 3)
    assert torch.equal(soften_mask(mask, 0), mask)
    assert (weights > 0).sum() > (mask > 0).sum() and float(weights.max()) == 1.0
    out = pyramid_blend(generated, source, weights)
    outside = weights == 0
    assert torch.equal(out[outside], source[outside])
    centre = out[:, 22:26, 38:42]
    assert (centre - generated[:, 22:26, 38:42]).abs().mean() < (centre - source[:, 22:26, 38:42]).abs().mean()
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    with pytest.raises(ValueError, match="same shape"):
        pyramid_blend(generated[:, :40], source, weights)
