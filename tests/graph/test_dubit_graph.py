"""The Dub-It workflow (``dubit-distilled``) through the real host, asserting what the mode promises (a 64x64 source
of 11 frames with speech at 24 fps, the example WAV trimmed to 0.3 s as the new speech, tiny demo weights, the tiny
LipDub IC-LoRA the model store writes):

* durations / fps: ``frames`` 0 takes the source snapped down to ``1 + 8k`` (11 -> 9, the reference's
  ``snap_frames_to_grid``); the mp4 has 9 frames at 24 fps and audio of the clip's length;
* the new speech is the output audio: the AUDIO Create Video receives is the trimmed dub bit for bit, padded with
  zero samples to round(9 / 24 x rate) at the file's own rate; the prepared audio latent is that waveform encoded,
  with noise mask 0 on every audio element (frozen) and 1 on the video; the sampler returns it bit for bit; the
  saved mp4's AAC audio correlates with the dub (> 0.95, as the audio-to-video test);
* the video is regenerated with the source as the IC-LoRA reference: the prepare node's reference is the loaded
  source frames, the guide carries a video reference, and the decoded frames differ from the source;
* the source's whole sound track is the voice: both prompts carry its encoded latent as reference audio tokens;
* bad input: a dub longer than the clip fails in the prepare node (before the sampler) naming dub_audio and the
  rule, and nothing is saved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ltx_model.sampling import patchify_audio
from scripts.workflow_api import load_workflow, nodes_of_type, override_inputs, saved_files

pytestmark = pytest.mark.graph

WORKFLOW = Path(__file__).resolve().parents[2] / "workflows" / "dubit-distilled.json"
FPS, SIZE, SOURCE_FRAMES, FRAMES, DUB_S = 24, 64, 11, 9, 0.3
SOURCE = "ltx2n_dubit_source.mp4"
KEEP = ("LoadVideo", "TrimAudioDuration", "LTX2NDubItPrepare", "LTX2NAudioVAELoader", "LTX2NSampler",
        "LTX2NICLoraGuide", "LTX2NDecodeVideo")
MIN_CORRELATION, MAX_LAG = 0.95, 4096  # AAC is lossy; the lag covers encoder priming


def _write_source(folder: Path) -> None:
    from ltx_model.media import write_mp4

    y, x = np.mgrid[0:SIZE, 0:SIZE]
    pictures = [np.stack([255 * x / SIZE, 255 * y / SIZE, np.full_like(x, 40 + 8 * i)], -1).astype(np.uint8)
                for i in range(SOURCE_FRAMES)]
    t = np.arange(round(SOURCE_FRAMES / FPS * 48000)) / 48000
    wave = 0.3 * np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 495 * t)])
    write_mp4(folder / SOURCE, np.stack(pictures), fps=FPS, waveform=wave, sample_rate=48000)


def _prompt(host, store, duration: float) -> dict:
    prompt = host.ui_to_api(load_workflow(WORKFLOW))
    _write_source(store.folder("input"))
    for nid in nodes_of_type(prompt, "LoadVideo"):
        prompt[nid]["inputs"]["file"] = SOURCE
    override_inputs(prompt, {"steps": 2, "fps": float(FPS), "width": 0, "height": 0, "frames": 0,
                             "duration": duration})
    store.ensure(prompt)
    return prompt


def _correlation(decoded: np.ndarray, reference: np.ndarray) -> float:
    """Best normalized correlation of ``reference`` (C, S) against ``decoded`` (C, S') shifted by 0..MAX_LAG."""
    best = 0.0
    for lag in range(0, min(MAX_LAG, decoded.shape[1] - reference.shape[1] // 2)):
        piece = decoded[:, lag: lag + reference.shape[1]]
        ref = reference[:, : piece.shape[1]]
        best = max(best, float((piece * ref).sum() / (np.linalg.norm(piece) * np.linalg.norm(ref) + 1e-12)))
    return best


def test_graph_dubit_new_speech_is_the_audio(graph_host, model_store, pack_nodes):
    from ltx_model.media import probe, read_audio

    prompt = _prompt(graph_host, model_store, DUB_S)
    ids = {t: nodes_of_type(prompt, t)[0] for t in KEEP}
    result = graph_host.run(prompt, keep=tuple(ids.values()))
    assert result.success, result.error()
    out = {t: result.node_outputs[nid] for t, nid in ids.items()}
    positive, negative, latent, reference, audio = out["LTX2NDubItPrepare"]

    trimmed = out["TrimAudioDuration"][0]
    rate = trimmed["sample_rate"]
    wanted, kept = round(FRAMES / FPS * rate), trimmed["waveform"].shape[-1]
    assert kept == round(DUB_S * rate) < wanted and audio["sample_rate"] == rate
    assert audio["waveform"].shape == (1, trimmed["waveform"].shape[1], wanted)
    assert torch.equal(audio["waveform"][..., :kept], trimmed["waveform"])  # bit-identical
    assert not audio["waveform"][..., kept:].any()  # padded with silence

    vae = out["LTX2NAudioVAELoader"][0]
    with torch.inference_mode():
        frames_lat = vae.first_stage_model.num_of_latents_from_frames(FRAMES, FPS)
        dub_a = pack_nodes.audio_modes.encode_clip_audio(vae, audio["waveform"], rate, frames_lat).float().cpu()
        clip = pack_nodes.source_clips.clip_from_video(out["LoadVideo"][0])
        voice = vae.encode_audio(clip.waveform[None].float(), clip.sample_rate).float().cpu()
    video_l, audio_l = latent["samples"].unbind()
    assert torch.equal(audio_l.cpu(), dub_a) and video_l.shape[2] == 2  # 9 frames -> 2 latent frames
    assert not latent["noise_mask"].unbind()[1].any() and latent["noise_mask"].unbind()[0].all()
    _, got_a = out["LTX2NSampler"][0]["samples"].unbind()
    assert torch.equal(got_a.cpu(), dub_a.to(got_a).cpu())  # frozen through sampling
    for cond in (positive, negative):
        assert torch.equal(cond[0][1]["ref_audio"]["tokens"].cpu(), patchify_audio(voice))

    loaded = out["LoadVideo"][0].get_components().images[..., :3].float()
    assert loaded.shape[0] == SOURCE_FRAMES and torch.equal(reference, loaded[:FRAMES])
    assert out["LTX2NICLoraGuide"][0][0][1]["ltx2n_video_references"].items
    decoded = out["LTX2NDecodeVideo"][0]
    assert decoded.shape == (FRAMES, SIZE, SIZE, 3) and (decoded.cpu() - reference).abs().max() > 0.05

    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    video_stream, audio_stream = probe(video)
    assert (video_stream.frames, video_stream.width, video_stream.height) == (FRAMES, SIZE, SIZE)
    assert abs(video_stream.rate - FPS) < 1e-3 and abs(audio_stream.duration_s - FRAMES / FPS) < 0.06
    sound, sound_rate = read_audio(video)
    assert sound_rate == rate
    assert _correlation(sound, audio["waveform"][0, :, :kept].numpy()) > MIN_CORRELATION


def test_graph_dubit_long_dub_fails_before_sampling(graph_host, model_store):
    prompt = _prompt(graph_host, model_store, 1.0)
    result = graph_host.run(prompt)
    assert not result.success
    message = result.error()
    assert "Dub-It Prepare (LTX-2)" in message and "dub_audio lasts 1.000 s" in message, message
    assert "must not be longer than the video" in message and "9 frames at 24 fps" in message, message
    assert not saved_files(result.ui_outputs, graph_host.output_dir)
