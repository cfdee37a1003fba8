"""Per-version sampling defaults (ltx-pipelines HEAD ``detect_params``): LTX-2.5 keeps the 2.3 steps and STG
block, only its image CRF moves (``ltx_model.modes.default_image_crf``)."""

from __future__ import annotations

import pytest

from ltx_model.modes import default_image_crf
from ltx_model.pipelines.presets import dev_request
from ltx_model.sampling import LTX_2_3_PARAMS, LTX_2_PARAMS, defaults_for_version
from ltx_model.sampling.guidance import version_numbers


@pytest.mark.parametrize(("version", "params"), [
    (None, LTX_2_PARAMS), ("", LTX_2_PARAMS), ("2.0.1", LTX_2_PARAMS), ("2.2", LTX_2_PARAMS),
    ("garbage", LTX_2_PARAMS), ("2.3.0", LTX_2_3_PARAMS), ("2.3-rc1", LTX_2_3_PARAMS), ("2.4.0", LTX_2_3_PARAMS),
    ("2.5.0", LTX_2_3_PARAMS), ("3", LTX_2_3_PARAMS)])
def test_ltx25_defaults_for_version_follows_the_generation_table(version, params) -> None:
    assert defaults_for_version(version) is params


def test_ltx25_version_numbers_and_dev_request() -> None:
    assert version_numbers("2.5.0") == (2, 5, 0) and version_numbers("2.4-rc2") == (2, 4)
    assert version_numbers(None) == () and version_numbers("v2.5") == ()
    request = dev_request("2.5.0")
    assert len(request.sigmas) == LTX_2_3_PARAMS.num_inference_steps + 1
    assert request.video_guidance.stg_blocks == (28,)
    assert default_image_crf("2.5.0") == 18 and default_image_crf("2.3.0") == 33
