"""Image-conditioning rules that depend on the model generation, defined once.

The reference re-compresses every conditioning image as a one-frame H.264 video before encoding it
(:func:`ltx_model.media.crf_round_trip`), at the CRF the model was trained against. ltx-pipelines HEAD
(``utils/constants.py``: ``DEFAULT_IMAGE_CRF`` 33, ``LTX_2_4_IMAGE_CRF`` 18, ``detect_params``) makes that CRF a
property of the checkpoint's ``model_version``: 18 from 2.4 on (so LTX-2.5), 33 before. A CRF chosen by the user
always wins; this rule only fills in the default.
"""

from __future__ import annotations

from ..media import DEFAULT_IMAGE_CRF
from ..sampling.guidance import version_numbers

LTX_2_4_IMAGE_CRF = 18
"""Image-conditioning CRF of model generations 2.4 and later (ltx-pipelines HEAD ``LTX_2_4_IMAGE_CRF``)."""

_CRF_SINCE_VERSION: tuple[tuple[tuple[int, ...], int], ...] = (((2, 4), LTX_2_4_IMAGE_CRF),)


def default_image_crf(model_version: str | None) -> int:
    """The image-conditioning CRF of a checkpoint: 18 for ``model_version >= 2.4``, else 33 (also when unset)."""
    parsed = version_numbers(model_version)
    for since, crf in _CRF_SINCE_VERSION:
        if parsed >= since:
            return crf
    return DEFAULT_IMAGE_CRF
