"""Command line: a headless text/image-to-video+audio run that writes an mp4.

    python -m ltx_model.pipelines --checkpoint ltx-2.3-22b-distilled.safetensors --gemma gemma-3-12b-it \
        --prompt "a dog runs on the beach" --out out.mp4
    python -m ltx_model.pipelines --demo --out demo.mp4      # tiny random demo weights, no downloads

Distilled checkpoints (and files whose variant is unknown) use the 8-sigma table without guidance; ``--guided``
(default for files detected as ``dev``) uses the version's LTX2Scheduler steps and multimodal guidance.
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

from ..demo import DemoFamily, write_demo_model_set
from ..loading import Variant, detect, read_header
from ..media import read_image, write_mp4
from .generate import generate
from .models import load_pipeline_models
from .presets import dev_request
from .request import Callbacks, GenerationRequest, ImageCondition
from .text import encode_text

_DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32, "fp16": torch.float16}


def build_parser() -> argparse.ArgumentParser:
    """The CLI's argument parser."""
    p = argparse.ArgumentParser(prog="python -m ltx_model.pipelines", description=__doc__.split("\n")[0])
    p.add_argument("--checkpoint", type=Path, help="single-file LTX-2 / LTX-2.3 .safetensors")
    p.add_argument("--gemma", type=Path, help="Gemma 3 folder (config, weights, tokenizer)")
    p.add_argument(
        "--demo",
        choices=[f.value for f in DemoFamily],
        nargs="?",
        const=DemoFamily.LTX23.value,
        help="write tiny random demo weights to a temporary folder and use them (output is noise)",
    )
    p.add_argument("--prompt", default="a dog runs on the beach at sunset, waves crashing")
    p.add_argument("--negative-prompt", default="blurry, low quality, distorted")
    p.add_argument("--image", type=Path, help="first-frame image (image-to-video)")
    p.add_argument("--out", type=Path, default=Path("ltx2_output.mp4"))
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--width", type=int, default=768)
    p.add_argument("--frames", type=int, default=121)
    p.add_argument("--fps", type=float, default=24.0)
    p.add_argument("--seed", type=int, default=10)
    p.add_argument("--steps", type=int, help="guided runs: number of steps (default: the version's)")
    p.add_argument(
        "--guided",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="multimodal guidance (default: on for dev checkpoints, off otherwise)",
    )
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", choices=sorted(_DTYPES), default="bf16")
    return p


def _request(args: argparse.Namespace, guided: bool, model_version: str | None) -> GenerationRequest:
    fields = {"height": args.height, "width": args.width, "num_frames": args.frames, "fps": args.fps,
              "seed": args.seed}
    if args.image is not None:
        fields["images"] = (ImageCondition(read_image(args.image)),)
    if guided:
        return dev_request(model_version, steps=args.steps, **fields)
    return dataclasses.replace(GenerationRequest(), **fields)


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _progress(done: int, total: int) -> None:
    _say(f"denoising step {done}/{total}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one generation; returns the process exit code."""
    args = build_parser().parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ltx2-demo-") as tmp:
        if args.demo:
            paths = write_demo_model_set(tmp, DemoFamily(args.demo))
            args.checkpoint, args.gemma = paths.checkpoint, paths.gemma
            _say(f"NOTICE: using generated random DEMO weights ({args.demo} form); the output is noise, not a real "
                 "generation. Pass --checkpoint and --gemma to use real model files.")
        if args.checkpoint is None or args.gemma is None:
            _say("error: --checkpoint and --gemma are required (or --demo)")
            return 2
        info = detect(read_header(args.checkpoint))
        guided = info.variant is Variant.DEV if args.guided is None else args.guided
        request = _request(args, guided, info.model_version)
        start = time.monotonic()
        models = load_pipeline_models(args.checkpoint, dtype=_DTYPES[args.dtype], device=args.device)
        contexts = encode_text(
            models, args.gemma, args.prompt, negative_prompt=args.negative_prompt if guided else None
        )
        result = generate(models, request, contexts, callbacks=Callbacks(progress=_progress))
        write_mp4(args.out, result.frames, fps=result.fps, waveform=result.waveform, sample_rate=result.sample_rate)
    _say(f"wrote {args.out} ({result.frames.shape[0]} frames, {result.fps:g} fps, audio {result.sample_rate} Hz) "
         f"in {time.monotonic() - start:.1f} s")
    return 0
