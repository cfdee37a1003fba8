"""scripts/bench_mgpu.py smoke test: the quick size at world size 2 (gloo on the CPU) prints, per world size, the
pass time, each rank's sent bytes (counted by the collectives) and the communication model's bytes, which must be
equal (the model is exact for sequence parallel), and the memory per rank; the backend names what the ranks ran
on. ``--size full`` without a GPU per rank is refused with a clear message instead of running on the CPU."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from scripts.bench_mgpu import plan

REPO_ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_bench_mgpu_quick_json_reports_measured_and_modelled_bytes_per_rank() -> None:
    result = subprocess.run([sys.executable, "scripts/bench_mgpu.py", "--json", "--size", "quick",
                             "--world-sizes", "2", "--reps", "1"], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert [row["world_size"] for row in rows] == [2]
    row = rows[0]
    assert row["size"] == "quick" and len(row["devices"]) == 2
    assert row["backend"] == ("nccl" if row["devices"][0].startswith("cuda") else "gloo")
    assert [r["rank"] for r in row["ranks"]] == [0, 1]
    for rank in row["ranks"]:
        assert rank["pass_s"] > 0 and rank["peak_mem"] > 0
        assert rank["sent_bytes"] > 0 and rank["sent_bytes"] == rank["model_bytes"], rank
    assert row["pass_s"] == max(r["pass_s"] for r in row["ranks"])


def test_bench_mgpu_full_size_without_a_gpu_per_rank_is_refused() -> None:
    too_many = (torch.cuda.device_count() if torch.cuda.is_available() else 0) + 1
    with pytest.raises(SystemExit, match="--size full needs one CUDA GPU per rank"):
        plan("full", [1, too_many])
    assert plan("quick", [1, too_many])[too_many] == ["cpu"] * too_many
