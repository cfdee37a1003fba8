"""Build the shipped UI-format workflows (``workflows/*.json``) from compact descriptions and node schemas.

Usage (from the repository root, with the venv of ``scripts/env.sh``)::

    python scripts/build_workflows.py          # (re)write workflows/*.json (and the schema snapshot), on the
                                               # reference host (the ComfyUI of scripts/workflow_schemas.json)
    python scripts/build_workflows.py --check  # on any host: exit 1 when a file differs from what the reference
                                               # schemas give, or a description is not valid on this host

(``python -m scripts.build_workflows`` works the same.) The descriptions live in ``scripts/workflow_specs*.py``; this
module only collects them, builds each one with ``scripts/workflow_kit.py`` against the reference schemas
(``scripts/workflow_schemas.py``) and the live ones of the real ComfyUI with this pack loaded (``/object_info``),
and writes or compares the files.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

if not __package__:  # run as a file: the repository root makes `scripts` an importable package
    sys.path.append(str(Path(__file__).resolve().parents[1]))

from scripts.comfy_headless import boot
from scripts.workflow_kit import Workflow, build, render
from scripts.workflow_schemas import SNAPSHOT, load_snapshot, render_snapshot, snapshot
from scripts.workflow_specs import core_workflows
from scripts.workflow_specs_audio import audio_workflows
from scripts.workflow_specs_control import control_workflows
from scripts.workflow_specs_dfr import dfr_workflows
from scripts.workflow_specs_dubit import dubit_workflows
from scripts.workflow_specs_edit import edit_workflows
from scripts.workflow_specs_hdr import hdr_workflows
from scripts.workflow_specs_hq import hq_workflows
from scripts.workflow_specs_iclora_modes import iclora_mode_workflows
from scripts.workflow_specs_ltx25 import ltx25_workflows
from scripts.workflow_specs_mgpu import mgpu_workflows
from scripts.workflow_specs_temporal import temporal_workflows

REPO_ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS_DIR = REPO_ROOT / "workflows"


def all_workflows() -> list[Workflow]:
    """Every shipped workflow description: text/image to video, audio, temporal modes, control, multi-GPU."""
    return [*core_workflows(), *audio_workflows(), *temporal_workflows(), *control_workflows(), *mgpu_workflows(),
            *edit_workflows(), *ltx25_workflows(), *iclora_mode_workflows(),
            *dubit_workflows(), *hq_workflows(), *dfr_workflows(),
            *hdr_workflows()]


def expected_files(object_info: dict[str, dict]) -> dict[Path, str]:
    """``{path: text}`` of every workflow the descriptions produce."""
    return {WORKFLOWS_DIR / f"{w.stem}.json": render(build(w, object_info)) for w in all_workflows()}


def node_types() -> set[str]:
    """The node types the shipped workflows use."""
    return {n.type for w in all_workflows() for n in w.nodes}


def host_problems(object_info: dict[str, dict]) -> list[str]:
    """Why descriptions cannot be built against this host's live schemas (unknown node or input, bad combo value,
    unlinked required input); empty when all can."""
    problems = []
    for workflow in all_workflows():
        try:
            build(workflow, object_info)
        except (KeyError, ValueError) as exc:
            problems.append(f"{workflow.stem}: {exc}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when a file is out of date")
    args = parser.parse_args(argv)
    host = boot(Path(tempfile.mkdtemp(prefix="ltx2n-build-")))
    live, version = host.object_info(), host.version
    reference = load_snapshot() if SNAPSHOT.is_file() else None
    if not args.check and reference is not None and reference["comfyui_version"] != version:
        print(f"the workflows are built on ComfyUI {reference['comfyui_version']} (scripts/workflow_schemas.json); "
              f"this is {version}: run this on that host (COMFYUI_PATH), or check with --check", file=sys.stderr)
        return 2
    schemas = live if not args.check else (reference or {}).get("nodes", {})
    files = expected_files(schemas)
    stale = [p for p, text in files.items() if not p.is_file() or p.read_text(encoding="utf-8") != text]
    extra = sorted(set(WORKFLOWS_DIR.glob("*.json")) - set(files))
    if args.check:
        problems = [f"out of date: {p.relative_to(REPO_ROOT)}" for p in stale + extra] + host_problems(live)
        print("\n".join(problems), end="\n" if problems else "")
        return 1 if problems else 0
    SNAPSHOT.write_text(render_snapshot(snapshot(live, node_types(), version)), encoding="utf-8")
    return write_files(files, stale, extra)


def write_files(files: dict[Path, str], stale: list[Path], extra: list[Path]) -> int:
    """Write the ``stale`` files; name the ``extra`` ones (workflows no description produces). Returns 0."""
    WORKFLOWS_DIR.mkdir(exist_ok=True)
    messages = [f"not generated (remove it or add a description): {p.relative_to(REPO_ROOT)}" for p in extra]
    for path in stale:
        path.write_text(files[path], encoding="utf-8")
    print("\n".join([f"wrote {p.relative_to(REPO_ROOT)}" for p in stale] + messages) if stale or extra else "",
          end="\n" if stale or extra else "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
