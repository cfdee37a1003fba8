"""Command line: a headless text/image-to-video+audio run that writes an mp4.

    python -m ltx_model.pipelines --checkpoint ltx-2.3-22b-distilled.safetensors --gemma gemma-3-12b-it \
        --prompt "a dog runs on the beach" --out out.mp4
    python -m ltx_model.pipelines --checkpoint models/ --prompt "a dog runs on the beach"   # LTX-2.5 split files
    python -m ltx_model.pipelines --demo ltx-2.5 --out demo.mp4   # tiny random demo weights, no downloads

The family comes from the files: a folder of split files, or a split transformer file with ``--text-encoder``,
``--video-vae`` and ``--audio-vae``, is LTX-2.5 (its Gemma 4 text encoder is one of the files); a single file is
LTX-2 / LTX-2.3 and needs ``--gemma``. Per-version defaults: image CRF (``default_image_crf``), sampler (ancestral
Euler for distilled LTX-2.5 runs), and for LTX-2.5 with a duration head and no ``--frames``, the frame count the
head predicts from the prompt. Distilled checkpoints (and files whose variant is unknown) use the 8-sigma table
without guidance; ``--guided`` (default for files detected as ``dev``) uses the version's LTX2Scheduler steps and
multimodal guidance.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from ..loading import CheckpointError, Variant, detect, read_header
from ..media import read_image, write_mp4
from ..modes import GenerationError, default_image_crf
from ..text import GemmaVersionError
from .enhance import enhance_prompt, load_prompt_enhancer
from .generate import generate
from .models import ModelFiles, PipelineModels, load_pipeline_models, model_files
from .presets import auto_frame_count, dev_request
from .request import Callbacks, GenerationRequest, ImageCondition, Sampler, TextContexts
from .samplers import default_sampler
from .text import encode_text

_DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}
DEMO_LTX25 = "ltx-2.5"
DEFAULT_FRAMES = 121


def _demo_choices() -> list[str]:
    from ..demo import DemoFamily

    return [f.value for f in DemoFamily] + [DEMO_LTX25]


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    p = argparse.ArgumentParser(prog="python -m ltx_model.pipelines", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", type=Path, help="single-file LTX-2 / LTX-2.3 .safetensors, an LTX-2.5 split "
                   "transformer file, or a folder of LTX-2.5 split files")
    p.add_argument("--gemma", type=Path, help="Gemma folder / file (single-file checkpoints; LTX-2.5: default the "
                   "split text-encoder file)")
    for name, what in (("text-encoder", "Gemma 4 text encoder with projection"), ("video-vae", "video VAE"),
                       ("audio-vae", "audio VAE + vocoder"), ("duration-head", "duration head")):
        p.add_argument(f"--{name}", type=Path, help=f"LTX-2.5 {what} file (default: the one in the folder)")
    p.add_argument("--demo", choices=_demo_choices(), nargs="?", const="ltx-2.3-22b",
                   help="write tiny random demo weights to a temporary folder and use them (output is noise)")
    p.add_argument("--prompt", default="a dog runs on the beach at sunset, waves crashing")
    p.add_argument("--negative-prompt", default="blurry, low quality, distorted")
    p.add_argument("--enhancer", type=Path, help="Gemma 3 or dense Gemma 4 instruct folder: rewrite the prompt first")
    p.add_argument("--image", type=Path, help="first-frame image (image-to-video)")
    p.add_argument("--image-crf", type=int, help="CRF of the image's round trip (default: the model version's)")
    p.add_argument("--out", type=Path, default=Path("ltx2_output.mp4"))
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--frames", type=int, help=f"frame count (default: the duration head's prediction when the "
                   f"model has one, else {DEFAULT_FRAMES})")
    p.add_argument("--fps", type=float, default=24.0)
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--steps", type=int, help="guided runs: number of steps (default: the version's)")
    p.add_argument("--sampler", choices=[s.value for s in Sampler],
                   help="denoising step (default: euler_ancestral for distilled LTX-2.5 runs, else euler)")
    p.add_argument("--guided", action=argparse.BooleanOptionalAction, default=None,
                   help="multimodal guidance (default: on for dev checkpoints, off otherwise)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", choices=sorted(_DTYPES), default="bf16")
    return p


def _request(args: argparse.Namespace, guided: bool, model_version: str | None, frames: int) -> GenerationRequest:
    sampler = Sampler(args.sampler) if args.sampler else default_sampler(model_version, guided=guided)
    fields = {"height": args.height, "width": args.width, "num_frames": frames, "fps": args.fps,
              "seed": args.seed, "sampler": sampler}
    if args.image is not None:
        crf = args.image_crf if args.image_crf is not None else default_image_crf(model_version)
        fields["images"] = (ImageCondition(read_image(args.image), crf=crf),)
    if guided:
        return dev_request(model_version, steps=args.steps, **fields)
    return dataclasses.replace(GenerationRequest(), **fields)


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _progress(done: int, total: int) -> None:
    _say(f"denoising step {done}/{total}")


def _use_demo(args: argparse.Namespace, folder: str) -> None:
    """Write the demo weights of ``args.demo`` into ``folder`` and point the arguments at them."""
    from ..demo import DemoFamily, write_demo_model_set
    from ..demo.ltx25_set import write_demo_ltx25_model_set

    if args.demo == DEMO_LTX25:
        write_demo_ltx25_model_set(folder)
        args.checkpoint = Path(folder)
    else:
        paths = write_demo_model_set(folder, DemoFamily(args.demo))
        args.checkpoint, args.gemma = paths.checkpoint, paths.gemma
    _say(f"NOTICE: using generated random DEMO weights ({args.demo} form); the output is noise, not a real "
         "generation. Pass --checkpoint (and --gemma for single files) to use real model files.")


def _files(args: argparse.Namespace) -> ModelFiles:
    return model_files(args.checkpoint, text_encoder=args.text_encoder, video_vae=args.video_vae,
                       audio_vae=args.audio_vae, duration_head=args.duration_head)


def _contexts(args: argparse.Namespace, models: PipelineModels, guided: bool) -> TextContexts:
    prompt = args.prompt
    if args.enhancer is not None:
        enhancer = load_prompt_enhancer(args.enhancer, dtype=models.dtype, device=models.device)
        image = read_image(args.image) if args.image is not None else None
        prompt = enhance_prompt(enhancer, prompt, image=image, seed=args.seed)
        del enhancer
        _say(f"enhanced prompt: {prompt}")
    return encode_text(models, args.gemma, prompt, negative_prompt=args.negative_prompt if guided else None)


def _frames(args: argparse.Namespace, models: PipelineModels, contexts: TextContexts) -> int:
    if args.frames is not None:
        return args.frames
    predicted = auto_frame_count(models, contexts, args.fps)
    if predicted is None:
        return DEFAULT_FRAMES
    _say(f"duration head: {predicted} frames ({predicted / args.fps:.2f} s)")
    return predicted


def run(args: argparse.Namespace, tmp: str) -> int:
    """One generation from parsed arguments (demo weights go to ``tmp``); returns the exit code."""
    if args.demo:
        _use_demo(args, tmp)
    if args.checkpoint is None:
        _say("error: --checkpoint is required (or --demo)")
        return 2
    files = _files(args)
    if not files.split and args.gemma is None:
        _say("error: --gemma is required for a single-file checkpoint")
        return 2
    info = detect(read_header(files.transformer))
    guided = info.variant is Variant.DEV if args.guided is None else args.guided
    start = time.monotonic()
    models = load_pipeline_models(files, dtype=_DTYPES[args.dtype], device=args.device)
    contexts = _contexts(args, models, guided)
    request = _request(args, guided, info.model_version, _frames(args, models, contexts))
    result = generate(models, request, contexts, callbacks=Callbacks(progress=_progress))
    write_mp4(args.out, result.frames, fps=result.fps, waveform=result.waveform, sample_rate=result.sample_rate)
    _say(f"wrote {args.out} ({result.frames.shape[0]} frames, {result.fps:g} fps, audio {result.sample_rate} Hz) "
         f"in {time.monotonic() - start:.1f} s")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one generation; returns the process exit code (1 with one ``error:`` line for bad model files or
    a request the model cannot generate)."""
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ltx2-demo-") as tmp:
        try:
            return run(args, tmp)
        except (CheckpointError, GemmaVersionError, GenerationError) as exc:
            _say(f"error: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}")
            return 1
