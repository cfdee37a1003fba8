"""The temporal-mode workflows through the real host, each asserting what its mode promises (on a source clip with
sound, 64x64 at 24 fps, tiny demo weights):

* retake-distilled: latents outside the window BIT-IDENTICAL to the encoded source (video and audio);
* extend-distilled: the source's latent frames bit-identical to the encoded (padded) source, and decoded they give
  the source's own VAE round trip decode(encode(source)) within EXTEND_FRAME_ATOL uint8 levels. (Decoding the whole
  extended clip at once differs near and, with these random demo weights, well beyond the seam: the decoder is
  not causal, so its kept frames also see the new latents; with real weights the reach should be local, not
  measured here.)
* long-video-distilled: 3 windows; seam difference (max |latent difference| over each overlap) 0 at
  overlap_strength 1 and <= LONG_SOFT_SEAM_BOUND with 0.5; the whole clip decoded with its audio.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ltx_model import modes
from scripts.workflow_api import load_workflow, nodes_of_type, override_inputs

pytestmark = pytest.mark.graph

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
SOURCE = "ltx2n_temporal_source.mp4"
FPS, SIZE = 24, 64
SOURCE_FRAMES = 41
EXTEND_FRAME_ATOL = 1  # uint8 levels: the kept latents decoded vs decode(encode(source)) (causal encoder)
LONG_SOFT_SEAM_BOUND = 10.0  # latent units, overlap_strength 0.5 (revised overlap; tiny random model)


def _write_source(folder: Path, frames: int) -> str:
    from ltx_model.media import write_mp4

    y, x = np.mgrid[0:SIZE, 0:SIZE]
    pictures = [np.stack([255 * x / SIZE, 255 * y / SIZE, np.full_like(x, 40 + 8 * i)], -1).astype(np.uint8)
                for i in range(frames)]
    t = np.arange(round(frames / FPS * 48000)) / 48000
    wave = 0.3 * np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 495 * t)])
    name = f"{frames}f_{SOURCE}"
    write_mp4(folder / name, np.stack(pictures), fps=FPS, waveform=wave, sample_rate=48000)
    return name


def _run(host, store, stem: str, values: dict, keep_types: tuple[str, ...]) -> tuple[dict, dict]:
    prompt = host.ui_to_api(load_workflow(WORKFLOWS / f"{stem}.json"))
    override_inputs(prompt, values)
    override_inputs(prompt, {"steps": 2})
    store.ensure(prompt)
    ids = {t: nodes_of_type(prompt, t)[0] for t in keep_types}
    result = host.run(prompt, keep=tuple(ids.values()))
    assert result.success, result.error()
    return prompt, {t: result.node_outputs[nid] for t, nid in ids.items()}


def test_graph_retake_outside_window_bit_identical(graph_host, model_store, pack_nodes):
    name = _write_source(model_store.folder("input"), 25)
    _, out = _run(graph_host, model_store, "retake-distilled",
                  {"file": name, "width": 0, "height": 0, "frames": 0, "start_time": 0.4, "end_time": 0.7},
                  ("LoadVideo", "LTX2NRetake", "LTX2NVideoVAELoader", "LTX2NAudioVAELoader"))
    ops = pack_nodes.source_clips
    clip = ops.clip_from_video(out["LoadVideo"][0])
    vae, audio_vae = out["LTX2NVideoVAELoader"][0], out["LTX2NAudioVAELoader"][0]
    with torch.inference_mode():
        src_v = ops.encode_video(vae, clip.images)
        src_a = ops.encode_audio(audio_vae, clip.waveform, clip.sample_rate, frames=clip.frames, fps=clip.fps)
    got_v, got_a = out["LTX2NRetake"][0]["samples"].unbind()
    v_in = modes.video_window_mask(src_v.shape, FPS, 0.4, 0.7)[0, 0, :, 0, 0].bool()
    a_in = modes.audio_window_mask(src_a.shape, 0.4, 0.7)[0, 0, :, 0].bool()
    assert 0 < int(v_in.sum()) < v_in.numel() and 0 < int(a_in.sum()) < a_in.numel()
    assert torch.equal(got_v[:, :, ~v_in], src_v[:, :, ~v_in])
    assert torch.equal(got_a[:, :, ~a_in], src_a.to(got_a)[:, :, ~a_in])
    assert (got_v[:, :, v_in] - src_v[:, :, v_in]).abs().max() > 0.1


def test_graph_extend_kept_frames_match_round_trip(graph_host, model_store, pack_nodes):
    name = _write_source(model_store.folder("input"), SOURCE_FRAMES)
    _, out = _run(graph_host, model_store, "extend-distilled",
                  {"file": name, "width": 0, "height": 0, "frames": SOURCE_FRAMES + 16},
                  ("LoadVideo", "LTX2NExtend", "LTX2NDecodeVideo", "LTX2NVideoVAELoader"))
    ops = pack_nodes.source_clips
    clip = ops.clip_from_video(out["LoadVideo"][0])
    vae = out["LTX2NVideoVAELoader"][0]
    with torch.inference_mode():
        padded = pack_nodes.source_clips.padded_clip(clip, 16, True)
        source_latent = ops.encode_video(vae, padded.images)
        round_trip = vae.decode(ops.encode_video(vae, clip.images))  # the source's own VAE round trip
        extended = out["LTX2NExtend"][0]["samples"].unbind()[0]
        kept = (SOURCE_FRAMES - 1) // 8 + 1
        kept_frames = vae.decode(extended[:, :, :kept])
    assert torch.equal(extended[:, :, :kept], source_latent[:, :, :kept])  # the source's latent frames
    assert out["LTX2NDecodeVideo"][0].shape[0] == SOURCE_FRAMES + 16
    diff = ((kept_frames - round_trip).abs() * 255).round()
    assert kept_frames.shape == round_trip.shape and diff.max() <= EXTEND_FRAME_ATOL, float(diff.max())


@pytest.mark.parametrize(("strength", "bound"), [(1.0, 0.0), (0.5, LONG_SOFT_SEAM_BOUND)])
def test_graph_long_video_seams_within_bound(graph_host, model_store, strength, bound):
    values = {"width": SIZE, "height": SIZE, "frames": 41, "window_frames": 17, "overlap_frames": 8,
              "overlap_strength": strength}
    _, out = _run(graph_host, model_store, "long-video-distilled", values,
                  ("LTX2NLongVideo", "LTX2NDecodeVideo", "LTX2NDecodeAudio"))
    latent, report = out["LTX2NLongVideo"]
    assert report.startswith("3 window(s)")
    seams = [float(v) for part in ("video", "audio") for v in
             report.split(f"{part} [")[1].split("]")[0].split(", ")]
    assert len(seams) == 4 and max(seams) <= bound
    assert latent["samples"].unbind()[0].shape[2] == 6
    assert out["LTX2NDecodeVideo"][0].shape[0] == 41
    audio = out["LTX2NDecodeAudio"][0]
    assert abs(audio["waveform"].shape[-1] / audio["sample_rate"] - 41 / FPS) < 0.06
