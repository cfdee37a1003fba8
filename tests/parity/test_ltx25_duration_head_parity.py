"""LTX-2.5 duration head parity.

* diffusers 0.42.1 (test-only) ``LTX2DurationHead``, loaded with the weights of our tiny official-format file (the
  ``nn.MultiheadAttention`` pooler's ``in_proj_weight`` / ``in_proj_bias`` split into diffusers' ``to_q/k/v``,
  ``out_proj`` -> ``to_out``); fp32, rel L2 <= 1e-5 on video+audio, video-only and audio-only inputs.
* golden values from Lightricks' latest ltx-core / ltx-pipelines (``tests/data/ltx25_text_golden.json``, github
  Lightricks/LTX-2 main @400fd31, ``tests/data/golden/ltx25_text_golden.py``): HEAD's ``DurationHead`` built by its
  ``DurationHeadConfigurator`` from the same file, on the golden text contexts of prompt 0; and HEAD's
  ``seconds_to_clamped_num_frames`` on a table of durations. Where the bounds admit no ``1 + 8k`` count at all,
  HEAD returns the (off-grid) upper bound; ours keeps to the grid (nearest point, as diffusers) — that case is
  checked separately.
"""

from __future__ import annotations

import pytest
import torch
from ltx25_text_cases import golden, rel_l2

from ltx_model.demo.ltx25_text import write_duration_head
from ltx_model.duration import DurationHead, load_duration_head, predict_frame_count, seconds_to_frame_count
from ltx_model.modes.geometry import is_frame_count

pytestmark = pytest.mark.parity

TOL = 1e-5


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> DurationHead:
    path = write_duration_head(tmp_path_factory.mktemp("ltx25_duration") / "dh.safetensors", seed=0)
    return load_duration_head(path)


def _diffusers_head(head: DurationHead) -> torch.nn.Module:
    from diffusers.pipelines.ltx2.duration_head import LTX2DurationHead

    cfg = head.config
    model = LTX2DurationHead(cfg.video_dim, cfg.audio_dim, cfg.pooler_dim, cfg.num_queries, cfg.num_heads,
                             cfg.mlp_hidden)
    state = {k: v for k, v in head.state_dict().items() if ".cross_attn." not in k}
    attn = head.attention_pooler.cross_attn
    for name, weight, bias in zip(("to_q", "to_k", "to_v"), attn.in_proj_weight.chunk(3),
                                  attn.in_proj_bias.chunk(3), strict=True):
        state[f"attention_pooler.{name}.weight"], state[f"attention_pooler.{name}.bias"] = weight, bias
    state["attention_pooler.to_out.weight"] = attn.out_proj.weight
    state["attention_pooler.to_out.bias"] = attn.out_proj.bias
    model.load_state_dict(state, strict=True)
    return model.eval()


def test_ltx25_duration_head_parity(head: DurationHead) -> None:
    g = torch.Generator().manual_seed(3)
    video = torch.randn(2, 40, head.config.video_dim, generator=g)
    audio = torch.randn(2, 24, head.config.audio_dim, generator=g)
    ref = _diffusers_head(head)
    with torch.no_grad():
        for v, a in ((video, audio), (video, None), (None, audio)):
            ours, theirs = head(v, a), ref(v, a)
            assert ours.shape == (2,)
            assert rel_l2(ours, theirs) <= TOL


def test_ltx25_duration_head_golden_parity(head: DurationHead) -> None:
    ref = golden()
    tokens = ref["max_tokens"]
    video = torch.tensor(ref["text"]["video"][0]).view(1, tokens, -1)
    audio = torch.tensor(ref["text"]["audio"][0]).view(1, tokens, -1)
    with torch.no_grad():
        for name, (v, a) in {"both": (video, audio), "video": (video, None), "audio": (None, audio)}.items():
            assert rel_l2(head(v, a), torch.tensor(ref["duration"]["seconds"][name])) <= TOL
    frames, seconds = predict_frame_count(head, video, audio, fps=24.0)
    assert seconds == pytest.approx(ref["duration"]["seconds"]["both"][0], rel=1e-5)
    assert frames == seconds_to_frame_count(seconds, 24.0) and is_frame_count(frames)


def test_ltx25_duration_frames_golden_parity() -> None:
    ref = golden()["duration"]
    for (seconds, fps, lo, hi), expected in zip(ref["frame_cases"], ref["frames"], strict=True):
        ours = seconds_to_frame_count(seconds, fps, min_seconds=lo, max_seconds=hi)
        assert is_frame_count(ours)
        if is_frame_count(expected):
            assert ours == expected, (seconds, fps, lo, hi)
        else:  # HEAD's off-grid answer for bounds without a grid point: ours is the nearest grid point
            assert abs(ours - expected) < 8, (seconds, fps, lo, hi)
    assert any(not is_frame_count(f) for f in ref["frames"])  # the table does hold that case
