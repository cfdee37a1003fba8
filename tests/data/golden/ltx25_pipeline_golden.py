"""Generate ``tests/data/ltx25_pipeline_golden.safetensors``: whole distilled LTX-2.5 runs (T2V and I2V) of
Lightricks' latest ltx-pipelines on the tiny demo model set (our code; Lightricks' code is only imported from a local
checkout, never committed).

Run from the repository root with ltx-core and ltx-pipelines HEAD (github Lightricks/LTX-2 main @400fd31) first on
the path::

    PYTHONPATH=/path/to/LTX-2/packages/ltx-core/src:/path/to/LTX-2/packages/ltx-pipelines/src:. \
        python tests/data/golden/ltx25_pipeline_golden.py

(``OpenImageIO``, imported by ltx-pipelines' media module for EXR files only, is replaced by an empty stand-in.)

What runs, in fp32 on CPU, as HEAD's ``DistilledPipeline`` stage 1 does for a 2.5 checkpoint:

* the transformer of ``write_demo_ltx25_model_set(seed=0)``, built by ``DiffusionStage.from_checkpoint`` (HEAD's
  own configurator and key map on the split transformer file, up-cast to fp32 first: HEAD builds in the stored
  dtype, our loader up-casts the bf16 file, so both hold the same numbers);
* ``GaussianNoiser`` on ``torch.Generator().manual_seed(SEED)``, the 8 distilled sigmas, ``SimpleDenoiser`` with
  fixed text contexts (:func:`contexts`; the Gemma path has its own parity tests);
* ``EulerAncestralDiffusionStep(eta=1, s_noise=1)`` with ``euler_ancestral_denoising_loop(noise_seed=SEED + 10000,
  model_dtype=float32)``;
* I2V adds ``combined_image_conditionings`` for :func:`write_image` at frame 0 (CRF 18, the 2.5 default), encoded
  by HEAD's ``VideoEncoderConfigurator`` from the set's video VAE file.

Stored: the final unpatchified video and audio latents of both runs.
"""

from __future__ import annotations

import sys
import tempfile
import types
from functools import partial
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file

from ltx_model.demo.ltx25_set import LTX25_SET_FILES, write_demo_ltx25_model_set

OUT = Path(__file__).resolve().parent.parent / "ltx25_pipeline_golden.safetensors"
SEED = 7
HEIGHT = WIDTH = 64
FRAMES = 9
FPS = 24.0
IMAGE_CRF = 18
CONTEXT_TOKENS = 16


def contexts() -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed text contexts of the demo widths: video ``(1, 16, 16)``, audio ``(1, 16, 8)``."""
    generator = torch.Generator().manual_seed(11)
    return (torch.randn(1, CONTEXT_TOKENS, 16, generator=generator),
            torch.randn(1, CONTEXT_TOKENS, 8, generator=generator))


def write_image(path: Path) -> Path:
    """The I2V first frame: a fixed 80 x 96 RGB gradient with noise (PNG)."""
    from PIL import Image

    rng = np.random.default_rng(5)
    y, x = np.mgrid[0:80, 0:96]
    base = np.stack([x * 2.5, y * 3.0, (x + y) * 1.4], axis=-1) + rng.normal(0, 12, (80, 96, 3))
    Image.fromarray(base.clip(0, 255).astype(np.uint8)).save(path)
    return path


def _reference_encoder(path: Path) -> torch.nn.Module:
    from ltx_core.loader.sft_loader import SafetensorsModelStateDictLoader
    from ltx_core.model.video_vae import model_configurator as mc

    loader = SafetensorsModelStateDictLoader()
    encoder = mc.VideoEncoderConfigurator.from_metadata(loader.metadata(str(path)))
    result = encoder.load_state_dict(loader.load(str(path), mc.VAE_ENCODER_COMFY_KEYS_FILTER).sd, strict=False)
    assert not result.missing_keys, result.missing_keys
    return encoder.eval()


def _fp32_copy(path: Path) -> Path:
    """The file with every tensor up-cast to fp32 (exact), same metadata: HEAD builds in the stored dtype, while
    ``load_pipeline_models(dtype=float32)`` up-casts the bf16 file on load: both then hold the same numbers."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k).float() for k in handle.keys()}  # noqa: SIM118
        metadata = handle.metadata()
    out = path.with_name(path.stem + "-fp32.safetensors.tmp")
    save_file(tensors, str(out), metadata=metadata)
    return out


def run(folder: Path, image: Path | None) -> tuple[torch.Tensor, torch.Tensor]:
    """One HEAD distilled stage-1 run; returns the final (video, audio) latents."""
    from ltx_core.components.diffusion_steps import EulerAncestralDiffusionStep
    from ltx_core.components.noisers import GaussianNoiser
    from ltx_pipelines.utils.args import ImageConditioningInput
    from ltx_pipelines.utils.blocks import DiffusionStage
    from ltx_pipelines.utils.constants import DISTILLED_SIGMAS
    from ltx_pipelines.utils.denoisers import SimpleDenoiser
    from ltx_pipelines.utils.helpers import combined_image_conditionings
    from ltx_pipelines.utils.samplers import euler_ancestral_denoising_loop
    from ltx_pipelines.utils.types import ModalitySpec

    device, dtype = torch.device("cpu"), torch.float32
    video_context, audio_context = contexts()
    conditionings = []
    if image is not None:
        encoder = _reference_encoder(folder / LTX25_SET_FILES["video_vae"])
        inputs = [ImageConditioningInput(str(image), 0, 1.0, IMAGE_CRF)]
        conditionings = combined_image_conditionings(inputs, HEIGHT, WIDTH, encoder, dtype, device)
    stage = DiffusionStage.from_checkpoint(str(_fp32_copy(folder / LTX25_SET_FILES["transformer"])), dtype, device)
    generator = torch.Generator(device=device).manual_seed(SEED)
    video, audio = stage(
        denoiser=SimpleDenoiser(video_context, audio_context),
        sigmas=DISTILLED_SIGMAS.to(dtype=torch.float32, device=device),
        noiser=GaussianNoiser(generator=generator),
        width=WIDTH, height=HEIGHT, frames=FRAMES, fps=FPS,
        video=ModalitySpec(context=video_context, conditionings=conditionings),
        audio=ModalitySpec(context=audio_context),
        stepper=EulerAncestralDiffusionStep(eta=1.0, s_noise=1.0),
        loop=partial(euler_ancestral_denoising_loop, noise_seed=SEED + 10000, model_dtype=dtype),
    )
    return video.latent, audio.latent


def main() -> int:
    sys.modules.setdefault("OpenImageIO", types.ModuleType("OpenImageIO"))
    import ltx_pipelines

    sys.stderr.write(f"ltx-pipelines from {ltx_pipelines.__file__}\n")
    out: dict[str, torch.Tensor] = {}
    with torch.no_grad(), tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "models"
        write_demo_ltx25_model_set(folder, duration_head=False)
        out["t2v.video"], out["t2v.audio"] = run(folder, None)
        out["i2v.video"], out["i2v.audio"] = run(folder, write_image(Path(tmp) / "first.png"))
    save_file({k: v.float().contiguous() for k, v in out.items()}, str(OUT),
              metadata={"source": "Lightricks/LTX-2 main @400fd31 (ltx-core 1.2.x, ltx-pipelines)"})
    sys.stderr.write(f"wrote {OUT} ({OUT.stat().st_size} bytes)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
