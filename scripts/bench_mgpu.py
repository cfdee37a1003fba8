"""Multi-GPU benchmark (never part of the test run): one sequence-parallel transformer pass per world size.

For every world size it reports, per rank: ``pass_s`` (median of ``--reps`` passes after a warm-up), ``sent_bytes``
(bytes the rank sent to other ranks in one pass, counted by the collectives) and ``model_bytes`` (the
communication model :func:`ltx_model.distributed.sequence_pass_bytes`; the two agree exactly), and ``peak_mem``
(peak GPU memory allocated on CUDA; peak process RSS on CPU, which includes the Python/torch runtime).

``--size quick`` (default on CPU): a 4-layer, 8-head LTX-2.3-form model with 768 video tokens, gloo, fp32.
``--size full`` (needs one CUDA GPU per rank; refused otherwise): the 22B config with random bf16 weights,
1216x704x121 (13,376 video tokens, 126 audio tokens), NCCL. Each rank runs on ``cuda:<rank>`` when the machine has
a GPU per rank, else on the CPU; ``backend`` and ``devices`` in the output are those the ranks actually used.
``--json`` prints one JSON object per world size: ``world_size``, ``size``, ``backend``, ``devices``, ``pass_s``
(the slowest rank's), ``ranks`` (the per-rank fields above).

Usage: python scripts/bench_mgpu.py [--json] [--size quick|full] [--world-sizes 1,2] [--reps N]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from ltx_model.distributed import (  # noqa: E402
    Rank,
    SequenceParallel,
    Traffic,
    backend_for,
    launch,
    rank_devices,
    sequence_pass_bytes,
)
from ltx_model.inspect import peak_rss_bytes  # noqa: E402
from ltx_model.transformer import LTXTransformer, Modality, TransformerConfig  # noqa: E402

# name -> (config overrides of the 22B form, (video frames, height, width) in latent tokens, audio tokens)
SIZES = {
    "quick": ({"num_layers": 4, "num_attention_heads": 8, "attention_head_dim": 16, "audio_num_attention_heads": 8,
               "audio_attention_head_dim": 8, "audio_cross_attention_dim": 64, "cross_attention_dim": 128,
               "in_channels": 32, "out_channels": 32, "audio_in_channels": 16, "audio_out_channels": 16},
              (3, 16, 16), 40),
    "full": ({}, (16, 22, 38), 126),
}


def bench_config(size: str) -> TransformerConfig:
    """The 22B (LTX-2.3) form at ``size``."""
    base = dataclasses.replace(TransformerConfig(), gated_attention=True, cross_attention_adaln=True,
                               caption_projection=False)
    return dataclasses.replace(base, **SIZES[size][0])


def _model(config: TransformerConfig, device: torch.device, dtype: torch.dtype) -> LTXTransformer:
    """Seeded random weights (the same on every rank), built directly on ``device``."""
    model = LTXTransformer(config, device=device, dtype=dtype)
    gen = torch.Generator(device=device).manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(0.02 * torch.randn(param.shape, generator=gen, device=device, dtype=dtype))
    return model.eval()


def _stream(tokens: int, channels: int, axes: int, width: int, device: torch.device,
            dtype: torch.dtype) -> Modality:
    gen = torch.Generator(device=device).manual_seed(tokens)
    start = torch.arange(tokens, device=device, dtype=torch.float32).expand(1, axes, tokens)
    return Modality(latent=torch.randn(1, tokens, channels, generator=gen, device=device, dtype=dtype),
                    sigma=torch.full((1,), 0.5, device=device), timesteps=torch.full((1, 1), 0.5, device=device),
                    positions=torch.stack([start, start + 1], dim=-1),
                    context=torch.randn(1, 128, width, generator=gen, device=device, dtype=dtype))


def measure(rank: Rank, size: str, reps: int) -> dict:
    """Rank body: build, warm up, time ``reps`` passes, count one pass's bytes."""
    cuda = rank.device.type == "cuda"
    dtype = torch.bfloat16 if cuda else torch.float32
    config = bench_config(size)
    frames, height, width = SIZES[size][1]
    video = _stream(frames * height * width, config.in_channels, 3, config.video_inner_dim, rank.device, dtype)
    audio = _stream(SIZES[size][2], config.audio_in_channels, 1, config.audio_inner_dim, rank.device, dtype)
    traffic = Traffic()
    parallel = SequenceParallel(_model(config, rank.device, dtype), dataclasses.replace(rank, traffic=traffic))
    times = []
    with torch.no_grad():
        for rep in range(reps + 1):
            traffic.sent = 0
            if cuda:
                torch.cuda.synchronize(rank.device)
            start = time.perf_counter()
            parallel(video, audio)
            if cuda:
                torch.cuda.synchronize(rank.device)
            if rep:
                times.append(time.perf_counter() - start)
    model_bytes = sequence_pass_bytes(config, batch=1, video_tokens=video.latent.shape[1],
                                      audio_tokens=audio.latent.shape[1], world_size=rank.world_size,
                                      rank=rank.rank, element_size=torch.finfo(dtype).bits // 8)
    peak = (torch.cuda.max_memory_allocated(rank.device) if cuda
            else peak_rss_bytes())  # VmHWM: this worker's own peak (ru_maxrss can carry a parent's)
    return {"rank": rank.rank, "pass_s": statistics.median(times), "sent_bytes": traffic.sent,
            "model_bytes": model_bytes, "peak_mem": peak}


def plan(size: str, world_sizes: list[int]) -> dict[int, list[str]]:
    """The rank devices of each world size (:func:`rank_devices`); ``full`` needs a CUDA GPU for every rank."""
    devices = {world_size: rank_devices(world_size) for world_size in world_sizes}
    short = [w for w, on in devices.items() if size == "full" and any(d == "cpu" for d in on)]
    if short:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        raise SystemExit(f"bench_mgpu: --size full needs one CUDA GPU per rank, but world size {max(short)} has "
                         f"{count} GPU(s) here; use --size quick (CPU, gloo) or fewer --world-sizes")
    return devices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="one JSON object per world size")
    parser.add_argument("--size", choices=sorted(SIZES), default=None, help="quick (CPU default) or full (CUDA)")
    parser.add_argument("--world-sizes", default=None, help="comma-separated, e.g. 1,2,4 (default 1,2)")
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    size = args.size or ("full" if torch.cuda.is_available() else "quick")
    devices = plan(size, [int(n) for n in (args.world_sizes or "1,2").split(",")])
    for world_size, on in devices.items():
        ranks = launch(measure, world_size, size, args.reps, devices=on)
        row = {"world_size": world_size, "size": size, "backend": backend_for(on[0]), "devices": on,
               "pass_s": max(r["pass_s"] for r in ranks), "ranks": ranks}
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print(f"W={world_size} ({row['backend']}) pass {row['pass_s']:.3f} s  " + "  ".join(
                f"r{r['rank']}: sent {r['sent_bytes'] / 1e6:.2f} MB (model {r['model_bytes'] / 1e6:.2f}) "
                f"peak {r['peak_mem'] / 2**20:.0f} MiB" for r in ranks), flush=True)


if __name__ == "__main__":
    main()
