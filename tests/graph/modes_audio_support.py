"""Graph-test helpers for the audio modes: running an audio-only workflow (text-to-audio) and checking its file.

An audio-only workflow has no video (no ``CreateVideo``): it ends in a core audio save node. It is shrunk to
:data:`AUDIO_ONLY_TINY` (length in seconds, 2 steps) and must save one audio file with one stereo stream of about
that length.
"""

from __future__ import annotations

import math
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


# ------------------------------------------------------------------ audio-to-video and text-to-audio promises
FROZEN_ATOL = 1e-5  # a frozen stream after the Euler steps: x + (x - x0) / s * (0 - s) == x0 up to float32 rounding
AAC_MIN_CORRELATION = 0.95
AAC_MAX_LAG = 4096  # samples: encoder priming / padding
A2V_KEPT = ("LoadAudio", "LTX2NAudioToVideo", "LTX2NSampler")  # node types whose outputs check_a2v reads


def best_correlation(decoded: Any, reference: Any) -> float:
    """Best normalised correlation of ``reference`` ``(C, S)`` with ``decoded`` ``(C, S')`` over lags below
    :data:`AAC_MAX_LAG` (AAC's encoder delay)."""
    import numpy as np

    best = 0.0
    for lag in range(0, min(AAC_MAX_LAG, decoded.shape[1] - reference.shape[1] // 2)):
        piece = decoded[:, lag : lag + reference.shape[1]]
        ref = reference[:, : piece.shape[1]]
        best = max(best, float((piece * ref).sum() / (np.linalg.norm(piece) * np.linalg.norm(ref) + 1e-12)))
    return best


def check_a2v(host: Any, prompt: dict[str, Any], kept: dict[str, list], result: Any, frames: int) -> None:
    """An audio-to-video run's promise: the AUDIO that Create Video receives is the first round(frames / fps x
    rate) samples Load Audio decoded, bit for bit, at the file's rate (Save Video's crop keeps every one); the
    audio latent stayed frozen through every sampler stage; the mp4's AAC correlates with it (> 0.95).
    ``kept``: ``{node type: [outputs]}`` for :data:`A2V_KEPT`."""
    import torch

    from ltx_model.media import read_audio
    from scripts.workflow_api import saved_files

    loaded, (latent, audio) = kept["LoadAudio"][0][0], kept["LTX2NAudioToVideo"][0]
    fps = prompt[nodes_of_type(prompt, "CreateVideo")[0]]["inputs"]["fps"]
    rate = loaded["sample_rate"]
    wanted = round(frames / fps * rate)
    assert audio["sample_rate"] == rate and loaded["waveform"].shape[2] > wanted  # trimmed, not resampled
    assert torch.equal(audio["waveform"], loaded["waveform"][:, :, :wanted])  # bit-identical
    assert math.ceil(rate / fps * frames) >= wanted  # Save Video's crop keeps every sample
    for sampled in kept["LTX2NSampler"]:  # every stage (two-stage: Audio to Video again after the upscale)
        torch.testing.assert_close(sampled[0]["samples"].unbind()[1], latent["samples"].unbind()[1],
                                   atol=FROZEN_ATOL, rtol=0)
    (video,) = saved_files(result.ui_outputs, host.output_dir)
    decoded, decoded_rate = read_audio(video)
    assert decoded_rate == rate and decoded.shape[0] == 2
    assert best_correlation(decoded, audio["waveform"][0].numpy()) > AAC_MIN_CORRELATION


def check_t2a_passes(host: Any, store: Any, prompt: dict[str, Any], stem: str, monkeypatch: Any) -> None:
    """Run an audio-only workflow watching the transformer: every pass had ``video=None`` and the clip's audio
    tokens (0.4 s at 25 latents/s), on an audio-only transformer (no video weights loaded)."""
    import importlib

    cls = importlib.import_module(f"{host.pack.__name__}.ltx_model.transformer").LTXTransformer
    seen: list[tuple] = []
    kinds: set[str] = set()
    original = cls.forward

    def spy(module: Any, video: Any, audio: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append((video, audio))
        kinds.add(module.config.kind.name)
        return original(module, video, audio, *args, **kwargs)

    monkeypatch.setattr(cls, "forward", spy)
    run_audio_only(host, store, prompt, stem)
    assert seen, "the transformer ran"
    assert all(video is None for video, _ in seen)  # the video stream never existed
    assert all(audio.latent.shape[1] == round(AUDIO_ONLY_TINY["seconds"] * 25) for _, audio in seen)
    assert kinds == {"AUDIO_ONLY"}  # Load LTX-2 Model with streams = audio only: no video weights were loaded
