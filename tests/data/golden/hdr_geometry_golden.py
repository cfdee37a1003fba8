"""Generator of ``tests/data/hdr_geometry_golden.safetensors``: Lightricks' HDR IC-LoRA sizing on fixed inputs.

Our code, run against Lightricks/LTX-2 main @400fd31 (ltx-pipelines): only the file
``ltx_pipelines/utils/media_io/resize.py`` (torch + einops) is loaded, by path, here (never by the tests)::

    LTX_PIPELINES_SRC=/path/LTX-2/packages/ltx-pipelines/src python tests/data/golden/hdr_geometry_golden.py

Stored: ``align`` ``(N, 6)`` int64 rows ``(width, height, gen_w, gen_h, crop_w, crop_h)`` of
``align_resolution(width, height, ResizeMode.REFLECT_PAD, divisor=64)`` (what ``HDRICLoraPipeline.__call__`` uses);
``frames.<name>`` seeded ``(F, H, W, 3)`` float pixels in [0, 255] and ``pad.<name>.<h>x<w>`` the output of
``resize_and_reflect_pad(frames, h, w)`` turned channel-last ``(F, h, w, 3)`` (the reference returns
``(1, 3, F, h, w)``).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "hdr_geometry_golden.safetensors"
COMMIT = "400fd31"
SIZES = [(1920, 1080), (1280, 720), (96, 64), (100, 37), (768, 512), (3840, 2160), (64, 64)]
FRAMES = {"wide": (1, 23, 40), "tiny": (2, 2, 3)}
TARGETS = {"wide": [(32, 64), (16, 32), (8, 8), (23, 40)], "tiny": [(4, 3), (3, 5)]}


def load_resize():
    path = Path(os.environ["LTX_PIPELINES_SRC"]) / "ltx_pipelines" / "utils" / "media_io" / "resize.py"
    spec = importlib.util.spec_from_file_location("lightricks_resize", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    resize = load_resize()
    rows = [(w, h, *resize.align_resolution(w, h, resize.ResizeMode.REFLECT_PAD, divisor=64)) for w, h in SIZES]
    data = {"align": torch.tensor(rows, dtype=torch.int64)}
    gen = torch.Generator().manual_seed(16)
    for name, shape in FRAMES.items():
        frames = torch.rand(*shape, 3, generator=gen) * 255.0
        data[f"frames.{name}"] = frames
        for h, w in TARGETS[name]:
            data[f"pad.{name}.{h}x{w}"] = resize.resize_and_reflect_pad(frames, h, w)[0].permute(1, 2, 3, 0)
    save_file({k: v.clone().contiguous() for k, v in data.items()}, str(OUT), metadata={"commit": COMMIT})
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")  # noqa: T201 - a generator script


if __name__ == "__main__":
    main()
