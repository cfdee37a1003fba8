"""Generator of ``tests/data/dfr_layout_golden.json``: Lightricks' DFR layout rules on many frame counts and rounds.

Our code, run against Lightricks/LTX-2 main @400fd31: ``ltx_pipelines/dfr_layout.py`` is loaded straight from its
file (it needs only ``ltx_core.types.VIDEO_SCALE_FACTORS``, which the installed ltx-core provides; the package
``ltx_pipelines`` itself is not imported). The tests never import it::

    python tests/data/golden/dfr_layout_golden.py /path/LTX-2/packages/ltx-pipelines/src/ltx_pipelines/dfr_layout.py

For every request of ``1 + 8k`` frames (k = 1..40) it stores the reference ``resolve_canvas`` (frames, segment,
positions); for rounds 1 and 2 the seams the pipeline derives (the carried positions doubled per round, the carried
bag = anchors + the round's slots, first slot entry wins) and ``tile_ranges(seams, frames, 2**round)``; and
``stitch_tile_latents`` applied to tiles whose latent frame ``t`` holds the value ``1000 * tile + t`` (the stitched
frame order). Cases where the reference raises store its message class.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parents[1] / "dfr_layout_golden.json"


def load(path: str):
    spec = importlib.util.spec_from_file_location("dfr_layout_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tiles_case(ref, seams: list[int], frames: int, tiles: int) -> dict:
    try:
        ranges = ref.tile_ranges(seams, frames, tiles)
    except ValueError as exc:
        return {"error": type(exc).__name__, "message": str(exc)}
    latents = [torch.arange(r.latent_end_exclusive - r.latent_start, dtype=torch.float32).view(1, 1, -1, 1, 1)
               + 1000 * i for i, r in enumerate(ranges)]
    stitched = ref.stitch_tile_latents(latents, ranges)
    return {"tiles": [list(r._asdict().values()) for r in ranges], "stitched": stitched.flatten().tolist()}


def round_seams(ref, positions: list[int], frames: int, rounds: int) -> list[dict]:
    """The seams / tiles of each round as the pipeline walks them (carried bag = seams + the round's slots)."""
    out, carry = [], list(positions)
    for round_idx in range(1, rounds + 1):
        frames = 2 * (frames - 1) + 1
        seams = [2 * p for p in carry]
        case = {"round": round_idx, "frames": frames, "seams": seams,
                **tiles_case(ref, seams, frames, 2 ** round_idx)}
        out.append(case)
        if "error" in case:
            break
        slots = sorted({s for tile in ref.tile_ranges(seams, frames, 2 ** round_idx) for s in tile.slot_kf_global})
        carry = sorted(set(seams) | set(slots))
    return out


def main(path: str) -> None:
    ref = load(path)
    cases = []
    for k in range(1, 41):
        frames = 1 + 8 * k
        frames_out, segment, positions = ref.resolve_canvas(frames)
        cases.append({"requested": frames, "canvas": [frames_out, segment, positions],
                      "segment_for_content": ref.choose_segment_length(frames - 1),
                      "rounds": round_seams(ref, positions, frames_out, 2)})
    extra = [{"seams": s, "frames": f, "count": t, **tiles_case(ref, s, f, t)}
             for s, f, t in (([24, 48, 72, 96], 97, 3), ([32, 64], 65, 5), ([16, 40], 41, 2), ([24, 48], 49, 1),
                             ([8, 32], 33, 2), ([24, 47], 48, 2), ([24, 40], 49, 2))]
    OUT.write_text(json.dumps({"source": "Lightricks/LTX-2 main @400fd31 ltx_pipelines/dfr_layout.py",
                               "cases": cases, "extra": extra}, separators=(",", ":")) + "\n")
    sys.stdout.write(f"wrote {OUT} ({OUT.stat().st_size} bytes)\n")


if __name__ == "__main__":
    main(sys.argv[1])
