"""Mask preparation parity vs the official pack (Lightricks/ComfyUI-LTXVideo @aceeae96, ``vanish_nodes.py``).

Golden values from ``tests/data/golden/editing_masks_golden.py`` (our generator, importing the official module from
a local mirror): ``LTXVDilateVideoMask`` for four (spatial, temporal) radii and ``LTXVInpaintPreprocess``'s #66FF00
composite. Our ``modes.masks.dilate_mask`` / ``flat_colour_composite`` must give the same values exactly.

Not compared: the Laplacian pyramid blend. The official node pads to powers of two (kornia, reflect) and uses
kornia's pyramids; ours (``modes.pyramid``) blurs any size with edge replication and copies the source wherever
the blend mask is 0, so the values differ by design (see that module's docstring).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ltx_model.modes.masks import dilate_mask, flat_colour_composite

pytestmark = pytest.mark.parity

GOLDEN = json.loads((Path(__file__).resolve().parents[1] / "data" / "editing_masks_golden.json").read_text())


@pytest.mark.parametrize("radii", sorted(GOLDEN["dilated"]))
def test_parity_dilate_mask_matches_official(radii):
    spatial, temporal = (int(v) for v in radii.split(","))
    got = dilate_mask(torch.tensor(GOLDEN["mask"]), spatial, temporal)
    assert torch.equal(got, torch.tensor(GOLDEN["dilated"][radii]))


def test_parity_flat_colour_composite_matches_official():
    spatial, temporal = (int(v) for v in GOLDEN["composite_mask"].split(","))
    mask = dilate_mask(torch.tensor(GOLDEN["mask"]), spatial, temporal)
    got = flat_colour_composite(torch.tensor(GOLDEN["frames"]), mask)
    assert torch.allclose(got, torch.tensor(GOLDEN["composite"]), atol=1e-7, rtol=0)
    assert 0 < float(mask.mean()) < 1
