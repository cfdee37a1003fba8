"""Graph-test helpers for the temporal modes (keyframes, extend, retake, long video).

:func:`tiny_overrides` gives the extra values a temporal workflow needs at the harness's tiny size (9 frames at
24 fps = 0.375 s): keyframe indices and retake windows inside the shrunk clip. Extend and long video need none
(extend cuts a long source to the frames nearest the seam; a long video of 9 frames is one window).
"""

from __future__ import annotations

from typing import Any

from scripts.workflow_api import nodes_of_type

TINY_OVERRIDES: dict[str, dict[str, Any]] = {
    "LTX2NKeyframes": {"frame_idx_2": 4},  # 60 -> the middle of 9 frames (0 and -1 stay valid)
    "LTX2NRetake": {"start_time": 0.1, "end_time": 0.3},  # inside 0.375 s
    "LTX2NOutpaintPrepare": {"left": 32, "right": 0, "top": 0, "bottom": 0},  # the 64x64 canvas keeps a source
    "LTX2NDubItPrepare": {"duration": 0.3},  # Trim Audio Duration: the dub inside the 0.375 s clip
    "LTX2NDFRCanvas": {"frames": 49},  # DFR: 2 keyframe slots (one 1x1 slot cannot pass the upscaler's group norm)
    "LTX2NPixelUpscalePrepare": {"width": 128, "height": 128},  # the x4 upscaler IC-LoRA: sides on the 128 grid
}


def tiny_overrides(prompt: dict[str, Any]) -> dict[str, Any]:
    """The extra tiny values for the temporal-mode nodes ``prompt`` contains ({} for other workflows)."""
    values: dict[str, Any] = {}
    for node_type, extra in TINY_OVERRIDES.items():
        if nodes_of_type(prompt, node_type):
            values.update(extra)
    return values
