"""The main job: headless text-to-video+audio through ComfyUI (in-process), writing an mp4 to ``<repo>/output/``.

Runs a text-to-video workflow with the prompt from the command line: ``workflows/ltx25-t2v-distilled.json``
(LTX-2.5 split files) or ``workflows/t2v-distilled.json`` (a single-file LTX-2.3 / LTX-2 checkpoint). ``--model``
picks one; ``auto`` (the default) takes LTX-2.5 when its files are found, else LTX-2.3. Model files:

* real weights when ComfyUI's model folders (plus its ``extra_model_paths.yaml``) hold the files the workflow names,
  or else files of the same kind (``scripts/model_resolution.py``: any ``ltx-2*.safetensors`` checkpoint plus a Gemma
  folder in ``text_encoders``; for 2.5, one file of each part in its folder);
* otherwise tiny random demo weights (``ltx_model.demo``; the LTX-2.3 form unless ``--model ltx-2.5``), written once
  to a cache folder (``~/.cache/comfyui-ltx2/demo-models``); a NOTICE then says that the output is noise from random
  weights, and the clip is made smaller unless a size is given.

Usage: ``scripts/demo.sh "a red fox runs through snow, wind howling"`` (``--help`` lists the options). Bad sizes
are refused before ComfyUI starts, one line each, exit status 2; a prompt ComfyUI refuses prints the node's message
once, exit status 2; a failed run exits with 1. The run prints the clip size it uses and why.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

if not __package__:  # run as a file: the repository root makes `scripts` an importable package
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from ltx_model.modes.geometry import fps_problem, frames_problem, size_multiple
from scripts.comfy_headless import REPO_ROOT, PromptRejected, boot
from scripts.model_resolution import Resolution, resolve_models, resolve_real
from scripts.workflow_api import load_workflow, nodes_titled, override_inputs, saved_files
from scripts.workflow_specs import PROMPT_TITLE

PROMPT_INPUT = "text"
"""Input of the node titled ``workflow_specs.PROMPT_TITLE`` that receives the command-line prompt."""
DEMO_SIZE = {"width": 384, "height": 256, "frames": 49}
"""Clip size with demo weights when none is given (random weights make noise; keep it quick)."""
NOTICE = ("NOTICE: no LTX-2 weights found in ComfyUI's model folders; this run uses tiny RANDOM demo weights, so the "
          "video and audio are noise. Put the LTX-2.5 files in their folders (models/diffusion_models, "
          "models/text_encoders, models/vae), or an LTX-2.3 checkpoint in models/checkpoints and the Gemma folder in "
          "models/text_encoders (see the Note in {workflow}) for real output.")
MODEL_WORKFLOWS = {"ltx-2.5": "ltx25-t2v-distilled.json", "ltx-2.3": "t2v-distilled.json"}
"""``--model`` -> its text-to-video workflow in ``workflows/``; ``auto`` tries them in this order (2.5 first)."""


PROG_ENV = "LTX2_PROG"
"""Environment variable naming the command in messages and ``--help`` (``scripts/demo.sh`` sets it to its name)."""
USAGE_ERROR = 2
"""Exit status of a request that cannot run: a bad size on the command line or a prompt ComfyUI rejects."""


def prog() -> str:
    return os.environ.get(PROG_ENV) or Path(sys.argv[0]).name


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog(),
                                     description="Text-to-video+audio with LTX-2 through ComfyUI, headless.")
    parser.add_argument("prompt", nargs="+", help="what to generate (words are joined with spaces)")
    parser.add_argument("--seed", type=int, default=None, help="noise seed (default: the workflow's)")
    parser.add_argument("--width", type=int, help="video width in pixels (multiple of 32)")
    parser.add_argument("--height", type=int, help="video height in pixels (multiple of 32)")
    parser.add_argument("--frames", type=int, help="number of frames, 1 + 8k")
    parser.add_argument("--fps", type=float, help="frame rate")
    parser.add_argument("--model", choices=("auto", *MODEL_WORKFLOWS), default="auto",
                        help="auto: LTX-2.5 when its split files are found, else an LTX-2.3 (or LTX-2) checkpoint, "
                             "else LTX-2.3 demo weights; ltx-2.5 / ltx-2.3: that model (its demo weights when its "
                             "files are missing)")
    parser.add_argument("--workflow", type=Path,
                        help="UI-format workflow (default: the --model's, workflows/ltx25-t2v-distilled.json or "
                             "workflows/t2v-distilled.json)")
    parser.add_argument("--demo", action="store_true", help="use demo weights even when real ones are found")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto",
                        help="auto: a GPU when torch sees one, else the CPU")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "output", help="output folder")
    parser.add_argument("--extra-model-paths-config", type=Path, action="append", default=[], metavar="YAML",
                        help="extra model folders, as ComfyUI's option of the same name (repeatable)")
    return parser.parse_args(argv)


def candidate_workflows(args: argparse.Namespace) -> list[Path]:
    """The workflows to try, preferred first: ``--workflow``, else the ``--model``'s (``auto``: 2.5, then 2.3).
    Demo weights, when no candidate's files are found, go with the last one."""
    if args.workflow is not None:
        return [args.workflow]
    models = list(MODEL_WORKFLOWS) if args.model == "auto" else [args.model]
    paths = [REPO_ROOT / "workflows" / MODEL_WORKFLOWS[m] for m in models]
    found = [p for p in paths if p.is_file()]
    if not found or (args.model != "auto" and found != paths):
        raise SystemExit(f"missing in the repository: {', '.join(str(p) for p in paths if not p.is_file())}")
    return found


def choose_workflow(host: object, candidates: list[Path], *, force_demo: bool,
                    cache: Path | None = None) -> tuple[Path, dict, Resolution]:
    """The first candidate whose model files are all found (real weights), else the last one on demo weights
    (written to ``cache``, default: the demo cache); returns its path, its API prompt (model inputs renamed to the
    files used) and how the files were resolved."""
    for path in [] if force_demo else candidates:
        prompt = host.ui_to_api(load_workflow(path))
        real = resolve_real(prompt)
        if real is not None:
            return path, prompt, real
    prompt = host.ui_to_api(load_workflow(candidates[-1]))
    return candidates[-1], prompt, resolve_models(prompt, force_demo=True, cache=cache)


def is_two_stage(workflow: dict) -> bool:
    """Whether a UI workflow's latent runs two stages (a ``stages`` combo set to "two stages ...")."""
    return any(isinstance(v, str) and v.startswith("two stages") for n in workflow.get("nodes", [])
               for v in (n.get("widgets_values") or []))


def size_problems(args: argparse.Namespace, *, two_stage: bool) -> list[str]:
    """One message per bad size option (the rules of ``ltx_model.modes.geometry``), checked before ComfyUI starts."""
    problems = []
    multiple = size_multiple(two_stage)
    for name in ("width", "height"):
        value = getattr(args, name)
        if value is not None and (value < multiple or value % multiple):
            stages = " for this two-stage workflow" if two_stage else ""
            nearest = max(multiple, round(value / multiple) * multiple)
            problems.append(f"--{name} must be a multiple of {multiple}{stages}; got {value}, nearest valid: "
                            f"{nearest}")
    if args.frames is not None:
        problems.append(frames_problem(args.frames, "--frames") if args.frames >= 1 else
                        f"--frames must be at least 1 (1 + 8k: 1, 9, 17, ..., 121); got {args.frames}")
    if args.fps is not None:
        problems.append(fps_problem(args.fps) and f"--{fps_problem(args.fps)}")
    return [p for p in problems if p]


def size_report(prompt: dict, args: argparse.Namespace, *, demo: bool) -> str:
    """The line saying which clip size the run uses and why (demo runs are made small: never silently)."""
    sizes = next((node["inputs"] for node in prompt.values()
                  if {"width", "height", "frames"} <= node.get("inputs", {}).keys()), None)
    if sizes is None:
        return "size: as the workflow sets it"
    given = [k for k in ("width", "height", "frames", "fps") if getattr(args, k) is not None]
    rest = (f"the demo's small default {DEMO_SIZE['width']}x{DEMO_SIZE['height']}x{DEMO_SIZE['frames']} "
            "(random weights make noise; --width/--height/--frames change it)" if demo
            else f"the defaults of {args.workflow_name}")
    options = ", ".join("--" + k for k in given)
    if {"width", "height", "frames"} <= set(given):
        why = "from the command line"
    else:
        why = f"{options} from the command line, the rest {rest}" if given else rest
    fps = sizes.get("fps", sizes.get("frame_rate"))
    rate = f" at {fps:g} fps" if isinstance(fps, (int, float)) else ""
    return f"size: {sizes['width']}x{sizes['height']}, {sizes['frames']} frames{rate} ({why})"


def rejected_lines(error: PromptRejected) -> list[str]:
    """ComfyUI's refusal as the pack's messages, each once."""
    return [f"{prog()}: error: {line}" for line in error.problems()]


def use_cpu(device: str) -> bool:
    if device != "auto":
        return device == "cpu"
    import torch

    return not torch.cuda.is_available()


def apply_overrides(prompt: dict, args: argparse.Namespace, *, demo: bool) -> None:
    """Prompt text, seed, size and fps from the command line (demo runs default to :data:`DEMO_SIZE`)."""
    targets = nodes_titled(prompt, PROMPT_TITLE)
    if len(targets) != 1 or PROMPT_INPUT not in prompt[targets[0]]["inputs"]:
        raise SystemExit(f"the workflow needs exactly one node titled {PROMPT_TITLE!r} with a {PROMPT_INPUT!r} input")
    prompt[targets[0]]["inputs"][PROMPT_INPUT] = " ".join(args.prompt)
    sizes = dict(DEMO_SIZE) if demo else {}
    sizes.update({k: getattr(args, k) for k in ("width", "height", "frames") if getattr(args, k) is not None})
    if args.fps is not None:
        sizes["fps"] = args.fps
        sizes["frame_rate"] = args.fps
    if args.seed is not None:
        sizes["seed"] = sizes["noise_seed"] = args.seed
    override_inputs(prompt, sizes)


def refuse_bad_sizes(args: argparse.Namespace, workflows: list[Path]) -> bool:
    """Print one line per bad size option (before ComfyUI starts); True when there was any."""
    problems = size_problems(args, two_stage=any(is_two_stage(load_workflow(p)) for p in workflows))
    for problem in problems:
        print(f"{prog()}: error: {problem}", file=sys.stderr)
    return bool(problems)


@contextlib.contextmanager
def quiet_comfy_errors() -> Iterator[None]:
    """Silence ERROR-level logging while inside (ComfyUI's own report of a refused prompt, one line per input)."""
    logging.disable(logging.ERROR)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    candidates = candidate_workflows(args)
    if refuse_bad_sizes(args, candidates):
        return USAGE_ERROR
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ltx2n-headless-"))
    host = boot(workdir, isolated_models=False, output_dir=args.output.resolve(), cpu=use_cpu(args.device),
                extra_model_paths=tuple(args.extra_model_paths_config))
    workflow_path, prompt, resolution = choose_workflow(host, candidates, force_demo=args.demo)
    args.workflow_name = workflow_path.name
    print(f"workflow: {workflow_path.name}", flush=True)
    if resolution.demo:
        print(NOTICE.format(workflow=workflow_path.name), flush=True)
    for line in resolution.report:
        print(line, flush=True)
    apply_overrides(prompt, args, demo=resolution.demo)
    print(size_report(prompt, args, demo=resolution.demo), flush=True)
    try:
        with quiet_comfy_errors():  # ComfyUI logs each refusal once per input; the pack's message is printed below
            host.validate(prompt)
    except PromptRejected as rejected:
        print("\n".join(rejected_lines(rejected)), file=sys.stderr)
        return USAGE_ERROR
    result = host.run(prompt)
    if not result.success:
        print(f"generation failed: {result.error()}", file=sys.stderr)
        return 1
    videos = saved_files(result.ui_outputs, host.output_dir)
    if not videos:
        print("the workflow saved no mp4", file=sys.stderr)
        return 1
    if resolution.demo:
        print(NOTICE.format(workflow=workflow_path.name))
    print(f"done in {time.monotonic() - started:.1f} s")
    for video in videos:
        print(f"wrote {video}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
