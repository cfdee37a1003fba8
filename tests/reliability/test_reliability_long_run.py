"""Long run: 50 tiny text-to-video+audio prompts in a row through one server (a new seed each, so the sampler,
decoders and the mp4 writer really run each time): the server's resident memory after the 50th is within 10% of
after the 5th, and every mp4 is complete (one h264 + one aac stream, 9 frames of 64x64 at 25 fps)."""

from __future__ import annotations

import time

import pytest
from graph_support import ExpectedVideo, check_mp4  # tests/graph
from rel_prompts import t2v_prompt

from scripts.workflow_api import saved_files

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

RUNS, BASELINE_RUN, RSS_TOLERANCE = 50, 5, 0.10
EXPECTED = ExpectedVideo(width=64, height=64, frames=9, fps=25.0)


def test_reliability_long_run_memory_flat_and_outputs_complete(rel_server, rel_models):
    def prompt(seed: int) -> dict:
        return t2v_prompt(rel_models.checkpoint_19b, rel_models.gemma, EXPECTED, seed=seed, prefix="rel/long")

    rel_server.run(prompt(10**6))  # warm-up: loaders, text encoding, first-call caches
    videos, rss, started = [], {}, time.monotonic()
    for run in range(1, RUNS + 1):
        outcome = rel_server.run(prompt(run))
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
