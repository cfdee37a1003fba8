"""Long run: 50 tiny text-to-video+audio prompts in a row through one server (a new seed each, so the sampler,
decoders and the mp4 writer really run each time): the server's resident memory after the 50th is within 10% of
after the 5th, and every mp4 is complete (one h264 + one aac stream, 9 frames of 64x64 at 25 fps)."""

from __future__ import annotations

import time

import pytest
from graph_support import ExpectedVideo, check_mp4  # tests/graph
from workflow_api import saved_files

pytestmark = pytest.mark.reliability

RUNS, BASELINE_RUN, RSS_TOLERANCE = 50, 5, 0.10
EXPECTED = ExpectedVideo(width=64, height=64, frames=9, fps=25.0)


def t2v_prompt(models, seed: int) -> dict:
    """Text -> 1-step sample -> video + audio decode -> core CreateVideo -> core SaveVideo (mp4, h264 + aac)."""
    ckpt = models.checkpoint_19b
    return {
        "model": {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": ckpt}},
        "te": {"class_type": "LTX2NTextEncoderLoader", "inputs": {"gemma": models.gemma, "ckpt_name": ckpt}},
        "pos": {"class_type": "LTX2NTextEncode", "inputs": {"text_encoder": ["te", 0], "text": "a dog barks",
                                                            "frame_rate": EXPECTED.fps}},
        "lat": {"class_type": "LTX2NEmptyAVLatent", "inputs": {"width": EXPECTED.width, "height": EXPECTED.height,
                                                               "frames": EXPECTED.frames, "fps": EXPECTED.fps,
                                                               "batch_size": 1}},
        "sample": {"class_type": "LTX2NSampler", "inputs": {
            "model": ["model", 0], "positive": ["pos", 0], "negative": ["pos", 0], "latent": ["lat", 0],
            "seed": seed, "schedule": "LTX-2 schedule", "steps": 1, "guidance": "none"}},
        "vvae": {"class_type": "LTX2NVideoVAELoader", "inputs": {"vae_name": ckpt}},
        "avae": {"class_type": "LTX2NAudioVAELoader", "inputs": {"vae_name": ckpt}},
        "frames": {"class_type": "LTX2NDecodeVideo", "inputs": {"samples": ["sample", 0], "vae": ["vvae", 0]}},
        "audio": {"class_type": "LTX2NDecodeAudio", "inputs": {"samples": ["sample", 0], "audio_vae": ["avae", 0]}},
        "video": {"class_type": "CreateVideo", "inputs": {"images": ["frames", 0], "audio": ["audio", 0],
                                                          "fps": EXPECTED.fps}},
        "save": {"class_type": "SaveVideo", "inputs": {"video": ["video", 0], "filename_prefix": "rel/long",
                                                       "format": "mp4", "codec": "h264"}},
    }


def test_reliability_long_run_memory_flat_and_outputs_complete(rel_server, rel_models):
    rel_server.run(t2v_prompt(rel_models, seed=10**6))  # warm-up: loaders, text encoding, first-call caches
    videos, rss, started = [], {}, time.monotonic()
    for run in range(1, RUNS + 1):
        outcome = rel_server.run(t2v_prompt(rel_models, seed=run))
        assert outcome.status == "success", f"run {run}: {outcome.messages()}"
        videos += saved_files(outcome.entry["outputs"], rel_server.output_dir)
        if run in (BASELINE_RUN, RUNS):
            rss[run] = rel_server.rss_kib()
    per_prompt = (time.monotonic() - started) / RUNS
    assert len(set(videos)) == RUNS, f"{len(set(videos))} distinct mp4s for {RUNS} runs"
    for path in videos:
        check_mp4(path, EXPECTED)
    growth = rss[RUNS] / rss[BASELINE_RUN] - 1
    assert abs(growth) <= RSS_TOLERANCE, (
        f"VmRSS {rss[BASELINE_RUN]} KiB after run {BASELINE_RUN} -> {rss[RUNS]} KiB after run {RUNS} "
        f"({growth:+.1%}); {per_prompt:.2f} s per prompt")
