"""Generator of ``tests/data/dubit_layout_golden.safetensors``: the conditioning layout Lightricks' Dub-It builds.

Our code, run against Lightricks/LTX-2 main @400fd31 (ltx-core 1.2.x + ltx-pipelines), whose source is put on the
path only here (never imported by the tests)::

    PYTHONPATH=/path/LTX-2/packages/ltx-core/src:/path/LTX-2/packages/ltx-pipelines/src \
        python tests/data/golden/dubit_layout_golden.py

``ltx_pipelines.dubit`` imports its media readers at import time; OpenImageIO (EXR only) is stood in by an empty
module because nothing here reads files. On seeded ``torch.randn`` latents (stored with the outputs):

* ``dub.*`` — HEAD's stage-2 audio (``ModalitySpec(frozen=True, noise_scale=0, initial_latent=...)``): the target
  audio latent ``(1, 8, 10, 16)`` (our dub waveform's latent) kept, plus the reference audio
  ``(1, 8, 7, 16)`` (the source's voice) through ``patchify_dubit_audio_reference_latent(...,
  negative_positions=True)`` + ``AudioConditionByReferenceLatent(strength=1)``; then frozen (mask 0);
* ``speech.*`` — HEAD's stage-1 audio: the same reference on an empty target, noised by ``GaussianNoiser``
  (seed 7, noise scale 1): the speech generated;
* ``video.*`` — the IC-LoRA reference (``VideoConditionByReferenceLatent``, factor 1, strength 1) of a
  ``(1, 128, 2, 2, 2)`` latent appended to an empty ``(1, 128, 2, 2, 2)`` target at 24 fps, noised (seed 8).

Each case stores the state's ``latent``, ``denoise_mask``, ``positions`` and ``clean_latent`` (float32).
"""

from __future__ import annotations

import sys
import types
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "dubit_layout_golden.safetensors"
COMMIT = "400fd31"


def _head():
    sys.modules.setdefault("OpenImageIO", types.ModuleType("OpenImageIO"))  # EXR reader, unused here
    from ltx_core.components.noisers import GaussianNoiser
    from ltx_core.components.patchifiers import AudioPatchifier, VideoLatentPatchifier
    from ltx_core.conditioning import AudioConditionByReferenceLatent, VideoConditionByReferenceLatent
    from ltx_core.tools import AudioLatentTools, VideoLatentTools
    from ltx_core.types import AudioLatentShape, VideoLatentShape
    from ltx_pipelines.dubit import patchify_dubit_audio_reference_latent
    from ltx_pipelines.utils.helpers import create_noised_state

    return types.SimpleNamespace(
        GaussianNoiser=GaussianNoiser, AudioPatchifier=AudioPatchifier, VideoLatentPatchifier=VideoLatentPatchifier,
        AudioConditionByReferenceLatent=AudioConditionByReferenceLatent,
        VideoConditionByReferenceLatent=VideoConditionByReferenceLatent, AudioLatentTools=AudioLatentTools,
        VideoLatentTools=VideoLatentTools, AudioLatentShape=AudioLatentShape, VideoLatentShape=VideoLatentShape,
        patchify_dubit_audio_reference_latent=patchify_dubit_audio_reference_latent,
        create_noised_state=create_noised_state)


def _record(prefix: str, state) -> dict[str, torch.Tensor]:
    return {f"{prefix}.{name}": getattr(state, name).float().contiguous()
            for name in ("latent", "denoise_mask", "positions", "clean_latent")}


def main() -> None:
    h = _head()
    gen = torch.Generator().manual_seed(0)
    inputs = {"dub_latent": torch.randn(1, 8, 10, 16, generator=gen),
              "voice_latent": torch.randn(1, 8, 7, 16, generator=gen),
              "reference_video": torch.randn(1, 128, 2, 2, 2, generator=gen)}
    cpu = torch.device("cpu")
    patch, pos = h.patchify_dubit_audio_reference_latent(inputs["voice_latent"], negative_positions=True, device=cpu)
    voice = h.AudioConditionByReferenceLatent(patch, pos, strength=1.0)
    audio_tools = h.AudioLatentTools(h.AudioPatchifier(patch_size=1), h.AudioLatentShape(1, 8, 10, 16))
    dub = h.create_noised_state(audio_tools, [voice], h.GaussianNoiser(torch.Generator().manual_seed(7)),
                                torch.float32, cpu, noise_scale=0.0, initial_latent=inputs["dub_latent"])
    dub = replace(dub, denoise_mask=torch.zeros_like(dub.denoise_mask))  # blocks._build_state, frozen=True
    speech = h.create_noised_state(audio_tools, [voice], h.GaussianNoiser(torch.Generator().manual_seed(7)),
                                   torch.float32, cpu)
    video_tools = h.VideoLatentTools(h.VideoLatentPatchifier(patch_size=1), h.VideoLatentShape(1, 128, 2, 2, 2),
                                     fps=24.0)
    reference = h.VideoConditionByReferenceLatent(inputs["reference_video"], downscale_factor=1, strength=1.0)
    video = h.create_noised_state(video_tools, [reference], h.GaussianNoiser(torch.Generator().manual_seed(8)),
                                  torch.float32, cpu)
    tensors = {**inputs, **_record("dub", dub), **_record("speech", speech), **_record("video", video)}
    save_file(tensors, str(OUT), metadata={"commit": COMMIT})
    sys.stdout.write(f"wrote {OUT} ({OUT.stat().st_size} bytes)\n")


if __name__ == "__main__":
    main()
