"""The persistent worker pool over gloo on CPU: weights by byte range kept between jobs, a crashing / raising /
hanging worker ends the job with an error naming the rank and the cause (the pool restarts on the next job), an
interrupt stops every rank at the same step, and closing leaves no process behind.

Workers start from a forkserver here (production uses spawn) to keep the restarts cheap on a 2-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import distributed_cases
import distributed_jobs
import pytest
import torch
import torch.multiprocessing as mp

from ltx_model.demo import DemoFamily
from ltx_model.demo.weights import write_demo_checkpoint
from ltx_model.distributed import (
    DecoderSetup,
    PoolPass,
    PoolSpec,
    TransformerSetup,
    WorkerError,
    WorkerInterrupted,
    WorkerPool,
    guidance_groups,
)
from ltx_model.loading import load_component
from ltx_model.transformer import Perturbation, Perturbations, SkipAttention
from ltx_model.video_vae import SpatialTilingConfig, TemporalTilingConfig, TilingConfig, decode_layout


def _pool(setup: object, *, timeout_s: float = 60.0) -> WorkerPool:
    mp.set_forkserver_preload(["torch", "distributed_jobs"])
    return WorkerPool(PoolSpec(("cpu", "cpu"), setup, start_method="forkserver", timeout_s=timeout_s,
                               start_timeout_s=120.0, threads=1))


def test_worker_pool_loads_weights_by_range_and_keeps_them(tmp_path: Path) -> None:
    path = write_demo_checkpoint(tmp_path / "ltx-2.3-22b-distilled.safetensors", DemoFamily.LTX23,
                                 dtype=torch.float32)
    model = load_component(path, "transformer", dtype=torch.float32)
    video = distributed_cases.modality(model.config, 7, audio=False, seed=1)
    audio = distributed_cases.modality(model.config, 5, audio=True, seed=2)
    vae = load_component(path, "video_vae", dtype=torch.float32)
    latent = torch.randn(1, vae.config.latent_channels, 3, 3, 2, generator=torch.Generator().manual_seed(3))
    tiling = TilingConfig(SpatialTilingConfig(64, 32), TemporalTilingConfig(16, 8))
    pool = _pool(TransformerSetup(str(path), torch.float32, vae=True))
    stg = Perturbations((Perturbation(SkipAttention.VIDEO_SELF, blocks=(0,), samples=(1,)),
                         Perturbation(SkipAttention.AUDIO_TO_VIDEO, samples=(0,))))
    try:
        got = {"sequence_parallel": pool.run(distributed_jobs.transformer_pass, video, audio)}
        first = pool.run(distributed_jobs.identity)
        for strategy in ("sequence", "guidance", "auto"):  # a batch of 2 samples with per-sample perturbations
            got[strategy] = PoolPass(pool, strategy)(video, audio, stg)
        decoded = PoolPass(pool).decode(latent, tiling)  # tiles spread over the workers' copies of the VAE
        again = pool.run(distributed_jobs.identity)
    finally:
        pool.close()
    with torch.no_grad():
        assert torch.equal(decoded, vae.decode_tiled(latent, tiling))
    with torch.no_grad():
        want = {"sequence_parallel": model(video, audio)}
        want.update(dict.fromkeys(("sequence", "guidance", "auto"), model(video, audio, stg)))
    for name, outputs in got.items():
        assert max(float((g - w).abs().max()) for g, w in zip(outputs, want[name], strict=True)) <= 1e-6, name
    assert first == again  # same process, same loaded state: nothing reloaded between jobs


def test_worker_pool_strategies_pick_guidance_groups() -> None:
    assert [guidance_groups(4, batch, "auto") for batch in (1, 2, 3, 4)] == [1, 2, 2, 4]
    assert guidance_groups(4, 2, "sequence") == 1 and guidance_groups(3, 2, "guidance") == 3
    with pytest.raises(ValueError, match="unknown multi-GPU strategy 'fast'"):
        guidance_groups(2, 2, "fast")


@pytest.mark.parametrize(("job", "message"), [
    ("crash", r"rank 1 died \(exit code 3\)"),
    ("fail", r"rank 1 failed: ValueError: bad tile size on this rank"),
    ("hang", r"rank\(s\) \[1\] did not answer within 3 s \(hung\)"),
])
def test_worker_crash_ends_the_job_naming_the_rank_and_the_pool_restarts(job: str, message: str) -> None:
    pool = _pool(distributed_jobs.no_state, timeout_s=3.0)
    try:
        before = pool.run(distributed_jobs.identity)
        old = pool.pids()
        with pytest.raises(WorkerError, match=message):
            pool.run(getattr(distributed_jobs, job))
        assert not pool.running and pool.pids() == []  # every process of the failed pool is gone
        after = pool.run(distributed_jobs.identity)  # the next job restarts the pool
        assert after[0] != before[0] and set(pool.pids()).isdisjoint(old)
    finally:
        pids = pool.pids()
        pool.close()
    assert pids and not any(Path(f"/proc/{pid}").exists() for pid in pids)  # closing leaves no process behind


def test_worker_crash_interrupt_stops_every_rank_at_the_same_step() -> None:
    pool = _pool(distributed_jobs.no_state)
    seen: list[int] = []
    try:
        with pytest.raises(WorkerInterrupted) as caught:
            pool.run(distributed_jobs.steps, 200, progress=lambda done, total: seen.append(done),
                     interrupted=lambda: len(seen) >= 3)
        steps = caught.value.steps
        assert len(set(steps.values())) == 1 and 3 <= steps[0] <= 5, steps  # within one step of the request
        assert pool.running and pool.run(distributed_jobs.steps, 2) == 2  # the pool survives an interrupt
    finally:
        pool.close()


def test_distributed_decode_cancel_stops_every_rank_within_one_round(tmp_path: Path) -> None:
    """Cancel while the first round of tiles decodes: every rank stops at the next round's check (not after the
    last tile); a decode asked for after the Cancel is never sent; the pool stays up and decodes afterwards."""
    path = write_demo_checkpoint(tmp_path / "ltx-2.3-22b-distilled.safetensors", DemoFamily.LTX23,
                                 dtype=torch.float32)
    latent = torch.randn(1, 128, 3, 3, 4, generator=torch.Generator().manual_seed(5))
    tiling = TilingConfig(SpatialTilingConfig(64, 32), TemporalTilingConfig(16, 8))
    tiles = len(decode_layout((3, 3, 4), tiling, time_scale=8, space_scale=32))
    assert tiles == 12  # 6 rounds of 2 tiles
    pool, seen = _pool(DecoderSetup()), []
    try:
        PoolPass(pool).load_vae(str(path), torch.float32)
        with pytest.raises(WorkerInterrupted) as caught:  # Cancel once rank 0 reported its first tile
            pool.run(distributed_jobs.paused_decode, latent, tiling, 1.0, progress=lambda done, _: seen.append(done),
                     interrupted=lambda: bool(seen))
        with pytest.raises(WorkerInterrupted) as before:
            PoolPass(pool, interrupted=lambda: True).decode(latent, tiling)
        video = PoolPass(pool).decode(latent, tiling)
    finally:
        pool.close()
    # checks passed: the job's first one and round 0's; round 1's check stopped both ranks (tiles 0 and 1 done)
    assert caught.value.steps == {0: 2, 1: 2} and seen == [1, 2], (caught.value.steps, seen)
    assert before.value.steps == {} and "before the job started" in str(before.value)
    assert video.shape == (1, 3, 17, 96, 128)


DRIVER = """
import sys, time
from ltx_model.distributed import PoolSpec, WorkerPool
import distributed_jobs
pool = WorkerPool(PoolSpec(("cpu", "cpu"), distributed_jobs.no_state, threads=1))  # production start: spawn
pool.start()
print(" ".join(map(str, pool.pids())), flush=True)
time.sleep(600)
"""


def _ended(pid: int) -> bool:
    """Gone, or a zombie waiting for whichever process adopted it to reap it."""
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" in status.read_text()
    except OSError:
        return True


def test_worker_crash_of_the_driver_ends_every_worker() -> None:
    """A driver killed outright (no atexit, no close) leaves no worker running: each exits when its pipe closes."""
    here = Path(__file__).resolve().parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here.parents[1]), str(here)])}
    driver = subprocess.Popen([sys.executable, "-c", DRIVER], stdout=subprocess.PIPE, text=True, env=env)
    try:
        pids = [int(pid) for pid in driver.stdout.readline().split()]
        assert len(pids) == 2 and not any(_ended(pid) for pid in pids)
    finally:
        driver.kill()
        driver.wait()
    deadline = time.monotonic() + 30
    while not all(_ended(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(_ended(pid) for pid in pids)
