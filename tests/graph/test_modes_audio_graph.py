"""What the audio-mode workflows promise, checked on a run of the shipped file through the real host.

Each workflow (converted against the live schemas, tiny demo files, 64x64, 9 frames at 24 fps, 2 steps) is run
with the outputs of its key nodes kept. The generic checks (success, the saved files and their streams) are in
test_workflows.py, which runs every shipped workflow. Here:

* ``a2v-*``: the AUDIO that Create Video receives (the first Audio to Video's output) equals, bit for bit, the first
  round(frames / fps x rate) samples Load Audio decoded from the file, at the file's own rate. Save Video crops it
  to ceil(rate / fps x frames) samples (which keeps all of them) and encodes them to AAC at that rate, no
  resampling; AAC being lossy, the mp4's decoded audio is checked by correlation with the input (> 0.95 at the
  best lag within the codec delay). The audio stream stayed frozen: the sampled audio latent equals the encoded
  input audio (atol 1e-5) after every stage.
* ``t2a-*``: every transformer pass had ``video=None`` (no video token computed) and the audio tokens of the clip,
  on an audio-only transformer (the loader's ``streams = audio only``: no video weights loaded).
* ``v2a-*``: the IMAGE that Create Video receives (Video to Audio's output) equals, bit for bit, the first 9 frames
  Load Video decoded; the video stream stayed frozen (sampled video latent == encoded input, atol 1e-5); the mp4
  re-encodes those frames with H.264 (lossy): mean absolute difference below 4 uint8 levels (measured 2.5).
"""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from graph_support import shrink
from modes_audio_support import run_audio_only

from scripts.workflow_api import load_workflow, nodes_of_type, saved_files

pytestmark = pytest.mark.graph

WORKFLOWS_DIR = Path(__file__).resolve().parents[2] / "workflows"
FROZEN_ATOL = 1e-5  # a frozen stream after the Euler steps: x + (x - x0) / s * (0 - s) == x0 up to float32 rounding
AAC_MIN_CORRELATION = 0.95
AAC_MAX_LAG = 4096  # samples: encoder priming / padding
H264_MEAN_LEVELS = 4.0


def _workflows(slug: str) -> list[Path]:
    return sorted(WORKFLOWS_DIR.glob(f"{slug}-*.json"))


def _run(host, store, path: Path, keep_types: tuple[str, ...]):
    """Run a shipped workflow shrunk; ``{node type: [outputs of each node of that type]}``."""
    prompt = host.ui_to_api(load_workflow(path))
    shrink(prompt)
    store.ensure(prompt)
    ids = {t: nodes_of_type(prompt, t) for t in keep_types}
    result = host.run(prompt, keep=tuple(nid for group in ids.values() for nid in group))
    assert result.success, result.error()
    return prompt, {t: [result.node_outputs[nid] for nid in group] for t, group in ids.items()}, result


def _best_correlation(decoded: np.ndarray, reference: np.ndarray) -> float:
    """Max normalized correlation of ``reference`` (C, S) against ``decoded`` (C, S') shifted by 0..AAC_MAX_LAG."""
    best = 0.0
    for lag in range(0, min(AAC_MAX_LAG, decoded.shape[1] - reference.shape[1] // 2)):
        piece = decoded[:, lag : lag + reference.shape[1]]
        ref = reference[:, : piece.shape[1]]
        best = max(best, float((piece * ref).sum() / (np.linalg.norm(piece) * np.linalg.norm(ref) + 1e-12)))
    return best


@pytest.mark.parametrize("path", _workflows("a2v"), ids=lambda p: p.stem)
def test_a2v_graph_saves_the_input_waveform(graph_host, model_store, path):
    from ltx_model.media import read_audio

    prompt, kept, result = _run(graph_host, model_store, path, ("LoadAudio", "LTX2NAudioToVideo", "LTX2NSampler"))
    loaded, (latent, audio) = kept["LoadAudio"][0][0], kept["LTX2NAudioToVideo"][0]
    frames, fps = 9, prompt[nodes_of_type(prompt, "CreateVideo")[0]]["inputs"]["fps"]
    rate = loaded["sample_rate"]
    wanted = round(frames / fps * rate)
    assert audio["sample_rate"] == rate and loaded["waveform"].shape[2] > wanted  # trimmed, not resampled
    assert torch.equal(audio["waveform"], loaded["waveform"][:, :, :wanted])  # bit-identical
    assert math.ceil(rate / fps * frames) >= wanted  # Save Video's crop keeps every sample

    for sampled in kept["LTX2NSampler"]:  # every stage (two-stage: Audio to Video again after the upscale)
        torch.testing.assert_close(sampled[0]["samples"].unbind()[1], latent["samples"].unbind()[1],
                                   atol=FROZEN_ATOL, rtol=0)

    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    decoded, decoded_rate = read_audio(video)
    assert decoded_rate == rate and decoded.shape[0] == 2
    assert _best_correlation(decoded, audio["waveform"][0].numpy()) > AAC_MIN_CORRELATION


def test_t2a_graph_computes_no_video_tokens(graph_host, model_store, monkeypatch):
    cls = importlib.import_module(f"{graph_host.pack.__name__}.ltx_model.transformer").LTXTransformer
    seen: list[tuple] = []
    kinds: set[str] = set()
    original = cls.forward

    def spy(module, video, audio, *args, **kwargs):
        seen.append((video, audio))
        kinds.add(module.config.kind.name)
        return original(module, video, audio, *args, **kwargs)

    monkeypatch.setattr(cls, "forward", spy)
    (path,) = _workflows("t2a")
    run_audio_only(graph_host, model_store, graph_host.ui_to_api(load_workflow(path)), path.stem)
    assert seen, "the transformer ran"
    assert all(video is None for video, _ in seen)  # the video stream never existed
    assert all(audio.latent.shape[1] == round(0.4 * 25) for _, audio in seen)  # the clip's audio tokens
    assert kinds == {"AUDIO_ONLY"}  # Load LTX-2 Model with streams = audio only: no video weights were loaded


def test_v2a_graph_keeps_the_input_frames(graph_host, model_store):
    from ltx_model.media import read_video_frames

    (path,) = _workflows("v2a")
    _, kept, result = _run(graph_host, model_store, path, ("LoadVideo", "LTX2NVideoToAudio", "LTX2NSampler"))
    source = kept["LoadVideo"][0][0].get_components().images
    latent, images = kept["LTX2NVideoToAudio"][0]
    assert images.shape[0] == 9 and torch.equal(images, source[:9])  # bit-identical input frames
    sampled = kept["LTX2NSampler"][0][0]["samples"].unbind()[0]
    torch.testing.assert_close(sampled, latent["samples"].unbind()[0], atol=FROZEN_ATOL, rtol=0)

    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    frames, _ = read_video_frames(video)
    expected = (images.numpy() * 255).round()
    assert frames.shape == expected.shape
    assert np.abs(frames.astype(np.float64) - expected).mean() < H264_MEAN_LEVELS
