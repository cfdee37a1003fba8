"""In-process helpers of the reliability suite: run a prompt in the booted host and judge its outcome, count what
ComfyUI's model management and the Python heap hold, temporary extra model folders."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path

import torch
from rel_checks import BARE_EXCEPTION_TYPES, BARE_MESSAGE

from scripts.comfy_headless import ComfyHost, PromptRejected


def host_outcome(host: ComfyHost, prompt: dict) -> tuple[str, str, str]:
    """``(status, exception type, text)``: status ``rejected`` (validation), ``error`` or ``success``."""
    try:
        result = host.run(prompt)
    except PromptRejected as exc:
        details = [f"{e.get('message')}: {e.get('details')}" for n in exc.node_errors.values() for e in n["errors"]]
        return "rejected", "", "\n".join([str(exc.error.get("message", "")), *details])
    if result.success:
        return "success", "", ""
    error = next((data for event, data in result.messages if event == "execution_error"), None)
    if error is None:
        return "interrupted", "", str(result.messages)
    return "error", str(error["exception_type"]).rsplit(".", 1)[-1], str(error["exception_message"])


def unclear_outcome(outcome: tuple[str, str, str], *, mentions: tuple[str, ...] = ()) -> str | None:
    """Why an in-process outcome is not one clear error (None when it is)."""
    status, kind, text = outcome
    if status not in ("rejected", "error"):
        return f"{status}: {text}"
    if kind in BARE_EXCEPTION_TYPES or BARE_MESSAGE.search(text):
        return f"Python's own error: {kind}: {text}"
    if mentions and not any(m.lower() in text.lower() for m in mentions):
        return f"does not mention any of {mentions}: {text}"
    return None


def loaded_models() -> list[int]:
    """Ids of the patchers ComfyUI's model management holds loaded."""
    import comfy.model_management as mm

    return [id(entry.model) for entry in mm.current_loaded_models]


def live_modules() -> int:
    """Live ``nn.Module`` instances (after a full gc): a model built half-way and kept alive shows up here."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, torch.nn.Module))


@contextlib.contextmanager
def extra_model_folder(kind: str, folder: Path) -> Iterator[Path]:
    """Register ``folder`` as one more ComfyUI model folder of ``kind`` for the duration of the block."""
    import folder_paths

    folder.mkdir(parents=True, exist_ok=True)
    folder_paths.add_model_folder_path(kind, str(folder))
    try:
        yield folder
    finally:
        paths = folder_paths.folder_names_and_paths[kind][0]
        if str(folder) in paths:
            paths.remove(str(folder))
        folder_paths.filename_list_cache.pop(kind, None)
