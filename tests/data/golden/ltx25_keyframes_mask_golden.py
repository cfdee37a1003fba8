"""Generator of ``tests/data/ltx25_keyframes_mask_golden.json``: Lightricks' keyframes masks for tiny video states.

Our code, run against Lightricks' latest ltx-core (github Lightricks/LTX-2 main @400fd31, ltx-core 1.2.x), whose
source is put on the path (it is never committed here)::

    PYTHONPATH=/tmp/ltx2ref/packages/ltx-core/src python tests/data/golden/ltx25_keyframes_mask_golden.py

For each case it builds the initial video state (``VideoLatentTools.create_initial_state``) of a 3 x 2 x 3 latent
(17 pixel frames at 24 fps), applies the case's conditioning items in order and stores the resulting
``keyframes_mask`` ``(1, T, 1)`` as a flat list of 0 / 1 plus the token count.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from ltx_core.components.patchifiers import VideoLatentPatchifier
from ltx_core.conditioning.types.keyframe_cond import VideoConditionByKeyframeIndex
from ltx_core.conditioning.types.keyframe_slots import VideoGeneratedKeyframeSlots
from ltx_core.conditioning.types.latent_cond import VideoConditionByLatentIndex
from ltx_core.conditioning.types.reference_video_cond import VideoConditionByReferenceLatent
from ltx_core.tools import VideoLatentTools
from ltx_core.types import VideoLatentShape

OUT = Path(__file__).resolve().parent.parent / "ltx25_keyframes_mask_golden.json"
FRAMES, HEIGHT, WIDTH, FPS = 3, 2, 3, 24.0


def _latent(frames: int, seed: int) -> torch.Tensor:
    return torch.randn(1, 128, frames, HEIGHT, WIDTH, generator=torch.Generator().manual_seed(seed))


def cases() -> dict[str, list]:
    """Case name -> conditioning items (applied in order)."""
    return {
        "t2v": [],
        "i2v": [VideoConditionByLatentIndex(_latent(1, 1), 1.0, 0)],
        "keyframes": [VideoConditionByLatentIndex(_latent(1, 1), 1.0, 0),
                      VideoConditionByKeyframeIndex(_latent(1, 2), frame_idx=16, strength=1.0)],
        "generated_slots": [VideoConditionByKeyframeIndex(_latent(1, 2), frame_idx=16, strength=0.8),
                            VideoGeneratedKeyframeSlots([4, 12]),
                            VideoConditionByReferenceLatent(_latent(2, 3))],
    }


def main() -> None:
    tools = VideoLatentTools(VideoLatentPatchifier(1), VideoLatentShape(1, 128, FRAMES, HEIGHT, WIDTH), FPS)
    out = {"source": "Lightricks/LTX-2 main @400fd31 (ltx-core 1.2.x)", "grid": [FRAMES, HEIGHT, WIDTH, FPS]}
    for name, items in cases().items():
        state = tools.create_initial_state("cpu", torch.float32)
        for item in items:
            state = item.apply_to(state, tools)
        mask = state.keyframes_mask
        out[name] = {"tokens": int(state.latent.shape[1]), "mask": [int(v) for v in mask.flatten().tolist()]}
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    sys.stdout.write(f"wrote {OUT}\n")


if __name__ == "__main__":
    main()
