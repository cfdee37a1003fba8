"""Generator of ``tests/data/hdr_colour_golden.safetensors``: Lightricks' HDR colour transforms on fixed inputs.

Our code, run against Lightricks/LTX-2 main @400fd31 (ltx-core 1.2.x), whose source is put on the path only here
(never imported by the tests)::

    PYTHONPATH=/path/LTX-2/packages/ltx-core/src python tests/data/golden/hdr_colour_golden.py

Inputs (stored with the outputs): ``linear`` ``(1, 3, 2, 4, 5)`` seeded ``rand * 60`` scene-linear light (with a few
exact zeros / curve breaks), ``codes`` ``(1, 3, 2, 4, 5)`` seeded ``rand`` working codes. Outputs, channel-first as
the reference returns them: ``<curve>.compress`` / ``.decompress`` (``HDRTransfer.compress`` / ``decompress``),
``<curve>.to_working_709`` / ``.to_working_ap1`` (``to_working_space`` from Rec.709 / ACEScg primaries),
``<curve>.to_linear_709`` / ``.to_linear_ap1`` (``to_linear`` into Rec.709 / ACEScg), the matrices
``srgb_to_acescg`` / ``acescg_to_srgb`` and ``chromaticities.rec709`` / ``.acescg``.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "hdr_colour_golden.safetensors"
COMMIT = "400fd31"


def inputs() -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(16)
    linear = torch.rand(1, 3, 2, 4, 5, generator=gen) * 60.0
    flat = linear.view(-1)
    flat[:6] = torch.tensor([0.0, 0.010591, 0.0078125, 0.18, 1.0, 0.001])
    codes = torch.rand(1, 3, 2, 4, 5, generator=gen)
    codes.view(-1)[:4] = torch.tensor([0.0, 1.0, 0.149658, 0.155251141552511])
    return {"linear": linear, "codes": codes}


def main() -> None:
    from ltx_core.color.primaries import ACESCG_TO_SRGB, SRGB_TO_ACESCG, Primaries
    from ltx_core.hdr import HDRTransfer

    data = inputs()
    for curve in (HDRTransfer.LOGC3, HDRTransfer.ACESCCT):
        key = curve.value
        data[f"{key}.compress"] = curve.compress(data["linear"])
        data[f"{key}.decompress"] = curve.decompress(data["codes"])
        for tag, prim in (("709", Primaries.REC709), ("ap1", Primaries.ACESCG)):
            data[f"{key}.to_working_{tag}"] = curve.to_working_space(data["linear"], source_primaries=prim)
            data[f"{key}.to_linear_{tag}"] = curve.to_linear(data["codes"], out_primaries=prim)
    data["srgb_to_acescg"] = SRGB_TO_ACESCG.clone()
    data["acescg_to_srgb"] = ACESCG_TO_SRGB.clone()
    for prim in (Primaries.REC709, Primaries.ACESCG):
        data[f"chromaticities.{prim.value}"] = torch.tensor(prim.exr_chromaticities, dtype=torch.float64)
    save_file({k: v.contiguous() for k, v in data.items()}, str(OUT), metadata={"commit": COMMIT})
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")  # noqa: T201 - a generator script


if __name__ == "__main__":
    main()
