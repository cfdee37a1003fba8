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

from pathlib import Path

import numpy as np
import pytest
import torch
from graph_support import shrink
from modes_audio_support import A2V_KEPT, FROZEN_ATOL, check_a2v, check_t2a_passes

from scripts.workflow_api import load_workflow, nodes_of_type, saved_files

pytestmark = pytest.mark.graph

WORKFLOWS_DIR = Path(__file__).resolve().parents[2] / "workflows"
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


@pytest.mark.parametrize("path", _workflows("a2v"), ids=lambda p: p.stem)
def test_a2v_graph_saves_the_input_waveform(graph_host, model_store, path):
    prompt, kept, result = _run(graph_host, model_store, path, A2V_KEPT)
    check_a2v(graph_host, prompt, kept, result, frames=9)


def test_t2a_graph_computes_no_video_tokens(graph_host, model_store, monkeypatch):
    (path,) = _workflows("t2a")
    check_t2a_passes(graph_host, model_store, graph_host.ui_to_api(load_workflow(path)), path.stem, monkeypatch)


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
