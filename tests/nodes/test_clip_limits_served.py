"""The clip limits Load LTX-2 Model serves to the front end (nodes/clip_limits.py, read by js/ltx2_model_limits.js):
the per-family table is the library's rules, and every listed file whose header names a family is mapped to it (a
2.5 transformer file whose name does not say 2.5 included). Files are tiny official-format demo files."""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.comfy

RENAMED_25 = "renamed-transformer-ltx2n-limits.safetensors"  # a 2.5 file whose name does not say so


@pytest.fixture(scope="module")
def served(comfy_host, pack_nodes, demo_files):
    from ltx_model.demo.ltx25 import write_demo_ltx25_transformer

    write_demo_ltx25_transformer(comfy_host.model_dir("diffusion_models") / RENAMED_25, dtype=torch.float32)
    info = pack_nodes.loaders.LTX2NCheckpointLoader.GET_NODE_INFO_V1()
    options = info["input"]["required"]["ckpt_name"][1]
    return options[pack_nodes.clip_limits.SERVED_KEY]


def test_clip_limits_served_table_is_the_library_rules(served):
    from ltx_model.duration import DEFAULT_MAX_SECONDS, DEFAULT_MIN_SECONDS
    from ltx_model.modes.geometry import SCALE
    from ltx_model.sampling import defaults_for_version

    families = served["families"]
    assert set(families) == {"LTX-2 (19B)", "LTX-2.3 (22B)", "LTX-2.5"}
    for family, version in (("LTX-2.5", "2.5.0"), ("LTX-2.3 (22B)", "2.3.0"), ("LTX-2 (19B)", None)):
        limits = families[family]
        defaults = defaults_for_version(version)
        assert limits["frame_step"] == SCALE.time == 8
        assert (limits["default_fps"], limits["default_frames"]) == (defaults.frame_rate, defaults.num_frames)
    assert (families["LTX-2.5"]["min_seconds"], families["LTX-2.5"]["max_seconds"]) == (
        DEFAULT_MIN_SECONDS, DEFAULT_MAX_SECONDS)
    assert all(v["max_seconds"] is None for k, v in families.items() if k != "LTX-2.5")  # no maximum stated


def test_clip_limits_served_files_map_by_header(served, demo_files):
    files = served["files"]
    assert files[RENAMED_25] == "LTX-2.5"  # from the header, not the name
    assert files[demo_files.ltx23_dev] == "LTX-2.3 (22B)"
    assert all(family != "unknown" for family in files.values())
