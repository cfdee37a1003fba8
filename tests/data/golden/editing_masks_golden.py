"""Generator of ``tests/data/editing_masks_golden.json``: the official pack's mask preparation on tiny inputs.

Our code, run against Lightricks/ComfyUI-LTXVideo ``master`` @aceeae96 (2026-06-30), whose ``vanish_nodes.py``
(``LTXVDilateVideoMask``, ``LTXVInpaintPreprocess``) is read from a local git mirror and imported from a throw-away
folder with a one-line stand-in for its ``nodes_registry`` (never committed here)::

    COMFYUI_PATH=~/comfy/ComfyUI python tests/data/golden/editing_masks_golden.py /path/to/ComfyUI-LTXVideo.git

It needs ComfyUI on the path (the module imports ``comfy_api.latest``). Inputs are seeded ``torch.rand`` values,
stored with the outputs: a ``(3, 6, 7)`` soft mask, ``(3, 6, 7, 3)`` frames; dilation cases (spatial, temporal
radius) and the flat-colour composite under the 0/1 dilated mask.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "editing_masks_golden.json"
COMMIT = "aceeae9635f6d493f2893ba3c411a1c36031788a"
CASES = [(0, 0), (1, 0), (0, 1), (2, 1)]


def _official_module(mirror: str):
    """``vanish_nodes`` of the official pack at :data:`COMMIT`, imported as ``offpack.vanish_nodes``."""
    folder = Path(tempfile.mkdtemp(prefix="offpack-")) / "offpack"
    folder.mkdir()
    source = subprocess.run(["git", "--git-dir", mirror, "show", f"{COMMIT}:vanish_nodes.py"], check=True,
                            capture_output=True, text=True).stdout
    (folder / "vanish_nodes.py").write_text(source)
    (folder / "nodes_registry.py").write_text("def comfy_node(**_):\n    return lambda cls: cls\n")
    (folder / "__init__.py").write_text("")
    sys.path[:0] = [str(folder.parent), os.path.expanduser(os.environ.get("COMFYUI_PATH", "~/comfy/ComfyUI"))]
    return importlib.import_module("offpack.vanish_nodes")


def main(mirror: str) -> None:
    official = _official_module(mirror)
    generator = torch.Generator().manual_seed(0)
    mask = torch.rand(3, 6, 7, generator=generator)
    frames = torch.rand(3, 6, 7, 3, generator=generator)
    dilated = {f"{s},{t}": official.LTXVDilateVideoMask.execute(s, t, mask=mask)[0].tolist() for s, t in CASES}
    binary = official.LTXVDilateVideoMask.execute(1, 0, mask=mask)[0]
    composite = official.LTXVInpaintPreprocess.execute(frames, binary)[0]
    data = {"commit": COMMIT, "mask": mask.tolist(), "frames": frames.tolist(), "dilated": dilated,
            "composite_mask": "1,0", "composite": composite.tolist()}
    OUT.write_text(json.dumps(data) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
