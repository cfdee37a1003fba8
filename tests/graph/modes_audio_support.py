"""Graph-test helpers for the audio modes: running an audio-only workflow (text-to-audio) and checking its file.

An audio-only workflow has no video (no ``CreateVideo``): it ends in a core audio save node. It is shrunk to
:data:`AUDIO_ONLY_TINY` (length in seconds, 2 steps) and must save one audio file with one stereo stream of about
that length.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from graph_support import AUDIO_DURATION_TOLERANCE_S

from scripts.workflow_api import nodes_of_type, override_inputs

AUDIO_ONLY_TINY = {"seconds": 0.4, "steps": 2}
AUDIO_SAVE_NODES = ("SaveAudio", "SaveAudioMP3", "SaveAudioOpus")


def is_audio_only(prompt: dict[str, Any]) -> bool:
    """True for an API prompt that makes no video: no ``CreateVideo``, one core audio save node."""
    saves = [nid for node_type in AUDIO_SAVE_NODES for nid in nodes_of_type(prompt, node_type)]
    return not nodes_of_type(prompt, "CreateVideo") and len(saves) == 1


def shrink_audio_only(prompt: dict[str, Any]) -> float:
    """Set :data:`AUDIO_ONLY_TINY` in place; returns the expected length in seconds."""
    changed = override_inputs(prompt, AUDIO_ONLY_TINY)
    assert any(name == "seconds" for _, name in changed), "no literal 'seconds' input to shrink"
    return AUDIO_ONLY_TINY["seconds"]


def saved_audio_files(ui_outputs: dict[str, Any], output_dir: Path) -> list[Path]:
    """Paths of the files audio save nodes reported (``{"audio": [{filename, subfolder}]}``)."""
    return [Path(output_dir) / item.get("subfolder", "") / item["filename"]
            for node_output in ui_outputs.values() for item in node_output.get("audio", []) or []
            if isinstance(item, dict) and item.get("filename")]


def check_audio_file(path: Path, seconds: float) -> Any:
    """Exactly one stereo audio stream (no video) of ``seconds`` (within the audio tolerance); returns its info."""
    from ltx_model.media import probe

    streams = probe(path)
    assert [s.kind for s in streams] == ["audio"], streams
    (audio,) = streams
    assert audio.channels == 2 and audio.frames > 0
    assert abs(audio.duration_s - seconds) <= AUDIO_DURATION_TOLERANCE_S, audio
    return audio


def run_audio_only(host: Any, store: Any, prompt: dict[str, Any], stem: str) -> Path:
    """Shrink, write the referenced demo files, run; asserts success and the saved file. Returns its path."""
    seconds = shrink_audio_only(prompt)
    assert store.ensure(prompt), f"{stem} references no model files"
    result = host.run(prompt)
    assert result.success, result.error()
    (path,) = saved_audio_files(result.ui_outputs, host.output_dir)
    assert path.parent.name == "LTX-2" and path.name.startswith(stem)
    check_audio_file(path, seconds)
    return path
