"""Shared pieces of ``scripts/bench.py``: benchmark configurations, synthetic weights, the FLOP model, results.

Everything here is independent of the three implementations being compared (ours, ComfyUI core, ltx-core); see
``bench_impls.py`` for those. Not part of the test run.
"""

from __future__ import annotations

import copy
import json
import math
import os
import statistics
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parent.parent
# The real LTX-2.3 checkpoint's header (config + tensor list); $LTX2_BENCH_MANIFEST points at a copy (the GPU check's
# bundle carries one to machines without the shared reference folder).
MANIFEST = Path(os.environ.get("LTX2_BENCH_MANIFEST")
                or REPO.parent / "shared" / "reference" / "manifests" / "ltx-2.3-22b.json")
DIFFUSION_PREFIX = "model.diffusion_model."
VAE_PREFIX = "vae."
IMPLS = ("ours", "comfy_core", "ltx_core")
H200_BF16_DENSE_TFLOPS = 989.0  # datasheet dense bf16 peak (performance.md §3 plans with 80 % of it, 790)

# The reduced ("--quick") LTX-2.3 (22B-form) transformer: 8 heads everywhere, 1 connector layer.
QUICK_TRANSFORMER = {
    "num_layers": 4, "num_attention_heads": 8, "attention_head_dim": 64, "cross_attention_dim": 512,
    "audio_num_attention_heads": 8, "audio_attention_head_dim": 32, "audio_cross_attention_dim": 256,
    "connector_num_attention_heads": 8, "connector_attention_head_dim": 64,
    "audio_connector_num_attention_heads": 8, "audio_connector_attention_head_dim": 32, "connector_num_layers": 1,
}
# The reduced video VAE: LTX-2.3 block structure (same 8x32x32 compression), narrow and one layer per stack.
QUICK_VAE = {
    "encoder_blocks": [
        ["res_x", {"num_layers": 1}], ["compress_space_res", {"multiplier": 1}], ["res_x", {"num_layers": 1}],
        ["compress_time_res", {"multiplier": 1}], ["res_x", {"num_layers": 1}],
        ["compress_all_res", {"multiplier": 1}], ["res_x", {"num_layers": 1}],
        ["compress_all_res", {"multiplier": 1}], ["res_x", {"num_layers": 1}],
    ],
    "decoder_blocks": [
        ["res_x", {"num_layers": 1}], ["compress_space", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
        ["compress_time", {"multiplier": 2}], ["res_x", {"num_layers": 1}], ["compress_all", {"multiplier": 1}],
        ["res_x", {"num_layers": 1}], ["compress_all", {"multiplier": 2}], ["res_x", {"num_layers": 1}],
    ],
    "decoder_base_channels": 32,
}


@dataclass(frozen=True)
class PassShape:
    """One transformer pass: pixel video size (W x H x frames at fps) and text tokens; latent sizes derived.

    ``i2v``: per-token timesteps with the first latent frame clean (image-to-video conditioning; the reference
    pipelines always pass per-token timesteps), instead of one sigma for all tokens.
    """

    width: int
    height: int
    frames: int
    fps: float = 24.0
    text_tokens: int = 1024
    i2v: bool = False

    @property
    def latent(self) -> tuple[int, int, int]:
        """Latent (frames, height, width) for the 8x32x32 VAE."""
        return (self.frames - 1) // 8 + 1, self.height // 32, self.width // 32

    @property
    def video_tokens(self) -> int:
        """Video tokens = latent frames x latent height x latent width."""
        f, h, w = self.latent
        return f * h * w

    @property
    def audio_tokens(self) -> int:
        """Audio latent frames for the video's duration (25 per second: 16 kHz, hop 160, x4 downsampling)."""
        return round(self.frames / self.fps * 25.0)

    def label(self) -> str:
        """``WxHxF`` (+ ``-i2v``)."""
        return f"{self.width}x{self.height}x{self.frames}" + ("-i2v" if self.i2v else "")


@dataclass(frozen=True)
class BenchConfig:
    """What one benchmark run measures and at which size.

    Attributes:
        quick: reduced CPU config (True) or real 22B size on a GPU.
        device / dtype: where and in which precision everything runs (cpu/fp32 or cuda/bf16).
        section: the checkpoint metadata ``config`` (transformer + vae sections) all three implementations read.
        passes: transformer pass sizes; the first is the headline ``transformer_pass_s``.
        vae_latent: latent (frames, height, width) of ``vae_decode_s``.
        peak_latent: latent (frames, height, width) of the short video of the tiled-decode peak test (the long one
            has 4x its pixel frames).
        tile_px / tile_overlap_px / tile_frames / tile_overlap_frames: tiled-decode settings shared by all three.
        reps: timed repetitions per implementation (alternating), after one warm-up each.
    """

    quick: bool
    device: str
    dtype: torch.dtype
    section: dict[str, Any]
    passes: tuple[PassShape, ...]
    vae_latent: tuple[int, int, int]
    tile_px: int
    tile_overlap_px: int
    tile_frames: int
    tile_overlap_frames: int
    peak_latent: tuple[int, int, int]
    reps: int = 5
    seed: int = 0
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def dtype_name(self) -> str:
        """``float32`` / ``bfloat16``."""
        return str(self.dtype).removeprefix("torch.")

    def describe(self) -> dict[str, Any]:
        """JSON-able summary of the model size (the ``config`` field of every result line)."""
        t = self.section["transformer"]
        return {
            "device": self.device, "dtype": self.dtype_name, "quick": self.quick,
            "layers": t["num_layers"], "video_dim": t["num_attention_heads"] * t["attention_head_dim"],
            "audio_dim": t["audio_num_attention_heads"] * t["audio_attention_head_dim"],
            "heads": t["num_attention_heads"], "torch_threads": torch.get_num_threads(), "reps": self.reps,
            "host_load_avg_1min": round(os.getloadavg()[0], 2), "host_cpus": os.cpu_count(),
        }


def load_manifest_config() -> dict[str, Any]:
    """The real LTX-2.3 metadata ``config`` (all sections) from the shared manifest."""
    return json.loads(MANIFEST.read_text())["config"]


def make_config(*, quick: bool, reps: int | None = None) -> BenchConfig:
    """The ``--quick`` CPU configuration or the real-size GPU one."""
    section = copy.deepcopy(load_manifest_config())
    section = {"transformer": section["transformer"], "vae": section["vae"]}
    if quick:
        section["transformer"].update(QUICK_TRANSFORMER)
        section["vae"].update(copy.deepcopy(QUICK_VAE))
        return BenchConfig(
            quick=True, device="cpu", dtype=torch.float32, section=section,
            passes=(PassShape(384, 256, 25, text_tokens=256), PassShape(384, 256, 25, text_tokens=256, i2v=True)),
            vae_latent=(3, 8, 8),
            peak_latent=(5, 4, 4), tile_px=96, tile_overlap_px=32, tile_frames=16, tile_overlap_frames=8,
            reps=reps or 9,
        )
    return BenchConfig(
        quick=False, device="cuda", dtype=torch.bfloat16, section=section,
        passes=(PassShape(768, 512, 121), PassShape(768, 512, 121, i2v=True), PassShape(1216, 704, 121),
                PassShape(1920, 1088, 121)),
        vae_latent=(16, 16, 24), tile_px=512, tile_overlap_px=64, tile_frames=64, tile_overlap_frames=24,
        peak_latent=(16, 16, 24), reps=reps or 3,
    )


# ----------------------------------------------------------------------------------------------- FLOP model
def pass_flops(section: Mapping[str, Any], shape: PassShape) -> float:
    """Matmul FLOPs of one audio+video pass (performance.md §3 generalised to any width/depth).

    Per block: video tokens see 14·Dv² + 4·Dv·Da linear parameters, audio tokens 18·Da², text tokens
    2·Dv·Cv + 2·Da·Ca (text K/V); attention costs 4·Nq·Nk·d_inner for each of the six attentions.
    """
    t = section["transformer"]
    dv = t["num_attention_heads"] * t["attention_head_dim"]
    da = t["audio_num_attention_heads"] * t["audio_attention_head_dim"]
    cv, ca = t["cross_attention_dim"], t["audio_cross_attention_dim"]
    nv, na, s = shape.video_tokens, shape.audio_tokens, shape.text_tokens
    linear = 2 * ((14 * dv * dv + 4 * dv * da) * nv + 18 * da * da * na + (2 * dv * cv + 2 * da * ca) * s)
    attention = 4 * dv * nv * (nv + s) + 4 * da * na * (na + s) + 8 * da * nv * na
    return float(t["num_layers"] * (linear + attention))


# ----------------------------------------------------------------------------------------------- weights
def _fill(name: str, tensor: torch.Tensor, gen: torch.Generator) -> None:
    """Seeded values that keep activations O(1): norms ~1, matrices ~ 1/sqrt(fan_in), the rest small."""
    noise = torch.randn(tensor.shape, generator=gen, device=tensor.device, dtype=torch.float32)
    if name.endswith(("norm.weight", "std-of-means")):
        value = 1 + 0.1 * noise
    elif tensor.ndim >= 2 and "table" not in name and "registers" not in name:
        value = noise * (0.8 / math.sqrt(tensor[0].numel()))
    else:
        value = 0.2 * noise
    tensor.copy_(value)


def randomize(state: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Fill every tensor of ``state`` in place (sorted names: the values depend on the seed only)."""
    device = next(iter(state.values())).device
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.no_grad():
        for name in sorted(state):
            _fill(name, state[name], gen)
    return state


# ----------------------------------------------------------------------------------------------- results
@dataclass
class Metric:
    """One output line: a value per implementation (None = cannot, with the reason in ``config``)."""

    metric: str
    ours: float | None = None
    comfy_core: float | None = None
    ltx_core: float | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def set(self, impl: str, value: float | None, *, reason: str | None = None) -> None:
        """Store ``impl``'s value; a None value needs a reason (``config["<impl>_null_reason"]``)."""
        setattr(self, impl, value)
        if value is None:
            self.config[f"{impl}_null_reason"] = reason or "not measured"

    def ratio(self, other: str) -> float | None:
        """ours / other (None when either is missing)."""
        mine, theirs = self.ours, getattr(self, other)
        return None if mine is None or not theirs else mine / theirs

    def to_json(self) -> str:
        """One JSON line."""
        return json.dumps(asdict(self), default=str)


def median(values: list[float]) -> float:
    """Median of a non-empty list."""
    return float(statistics.median(values))


def spread(values: list[float]) -> dict[str, float]:
    """min / max of the repetitions (reported next to the median)."""
    return {"min": round(min(values), 6), "max": round(max(values), 6)}
