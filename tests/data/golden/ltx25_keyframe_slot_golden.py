"""Writes ``tests/data/ltx25_keyframe_slot_golden.json``: the RoPE positions of generated keyframe slots from
Lightricks' latest ltx-core (main @400fd31, ``VideoGeneratedKeyframeSlots._slot_positions``), in pixel frames
(time multiplied back by fps) and pixels, for a few tiny grids.

Run with ltx-core HEAD's source on the path (its dependencies are those of the pack's venv)::

    PYTHONPATH=/tmp/ltx2ref/packages/ltx-core/src python tests/data/golden/ltx25_keyframe_slot_golden.py
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from ltx_core.components.patchifiers import VideoLatentPatchifier
from ltx_core.conditioning.types.keyframe_slots import VideoGeneratedKeyframeSlots
from ltx_core.tools import VideoLatentTools
from ltx_core.types import VideoLatentShape

CASES = [(3, 2, 3, 24.0, 5), (5, 1, 2, 25.0, 0), (2, 2, 2, 30.0, 8)]  # (frames, height, width, fps, pixel frame)


def main() -> None:
    out = []
    for frames, height, width, fps, index in CASES:
        shape = VideoLatentShape(batch=1, channels=128, frames=frames, height=height, width=width)
        tools = VideoLatentTools(VideoLatentPatchifier(patch_size=1), shape, fps=fps)
        positions = VideoGeneratedKeyframeSlots._slot_positions(index, tools, torch.device("cpu"))
        positions[:, 0] *= fps  # back to pixel frames
        out.append({"grid": [frames, height, width, fps], "pixel_frame": index, "bounds": positions.tolist()})
    path = Path(__file__).resolve().parents[1] / "ltx25_keyframe_slot_golden.json"
    path.write_text(json.dumps({"source": "Lightricks/LTX-2 main @400fd31", "cases": out}) + "\n")


if __name__ == "__main__":
    main()
