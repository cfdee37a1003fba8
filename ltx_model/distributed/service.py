"""A host's transformer passes on a :class:`~ltx_model.distributed.workers.WorkerPool` (one call = one pass).

The host (ComfyUI) calls the transformer with a batch of B samples, e.g. ``[cond, uncond]`` from core's CFG, with
per-sample perturbations for STG / modality guidance. :class:`PoolPass` sends the inputs to every worker; the
workers split the BATCH over ``G`` guidance groups (guidance parallel: each group computes its samples) and the
TOKENS of each group's samples over its ``S = W / G`` ranks (sequence parallel); rank 0 gathers the samples and
returns them. Strategies (:func:`guidance_groups`): ``"sequence"`` (G = 1), ``"guidance"`` (G = W) and ``"auto"``
(the largest divisor of W that is <= B: whole passes on separate ranks first, since they need no communication
inside the pass, the rest sequence parallel).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from ..loading.safetensors_io import SafetensorsHeader
from ..transformer import LTXTransformer, Modality, Perturbation, Perturbations
from ..video_vae import TilingConfig, VideoVAE
from .groups import Rank
from .guidance import ParallelLayout, parallel_layout
from .sequence import SequenceParallel
from .vae import decode_tiled_distributed
from .weights import LoraSet, WeightState, apply_loras
from .workers import JobControl, WorkerPool

STRATEGIES = ("auto", "sequence", "guidance")


@dataclass(frozen=True)
class TransformerSetup:
    """Worker setup: the transformer of ``path`` (and with ``vae`` its video VAE) on the rank's device, reading only
    their tensors' byte ranges."""

    path: str
    dtype: torch.dtype | None = None
    vae: bool = False

    def __call__(self, rank: Rank) -> PassState:
        from ..loading import load_component  # late: the loaders are heavy and only the workers need them

        model = load_component(self.path, "transformer", dtype=self.dtype, device=rank.device)
        vae = load_component(self.path, "video_vae", dtype=self.dtype, device=rank.device) if self.vae else None
        weights = WeightState(self.path, self.dtype, events=[f"load {Path(self.path).name}"])
        return PassState(model, vae, weights=weights)


@dataclass(frozen=True)
class DecoderSetup:
    """Worker setup of a decode-only pool: nothing is loaded up front (:func:`host_load_vae` brings the VAE)."""

    def __call__(self, rank: Rank) -> PassState:
        return PassState(None)


@dataclass
class PassState:
    """A worker's loaded transformer (None in a decode-only pool) and video VAE (``vae_source``: the file or header
    and dtype it came from), what the transformer's weights hold (checkpoint, LoRA set, event log) and the
    process-group layouts (one per guidance-group count)."""

    model: LTXTransformer | None
    vae: VideoVAE | None = None
    layouts: dict[int, ParallelLayout] = field(default_factory=dict)
    weights: WeightState | None = None
    vae_source: tuple | None = None

    def layout(self, rank: Rank, guidance_size: int) -> ParallelLayout:
        """The layout for ``guidance_size`` groups, created (collectively) on first use."""
        if guidance_size not in self.layouts:
            self.layouts[guidance_size] = parallel_layout(rank, guidance_size)
        return self.layouts[guidance_size]


def guidance_groups(world_size: int, batch: int, strategy: str) -> int:
    """G, the number of guidance groups for a batch of ``batch`` samples on ``world_size`` ranks."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown multi-GPU strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}")
    if strategy == "sequence":
        return 1
    if strategy == "guidance":
        return world_size
    return max(g for g in range(1, world_size + 1) if world_size % g == 0 and g <= max(batch, 1))


def take_samples(modality: Modality | None, index: torch.Tensor, batch: int) -> Modality | None:
    """The samples ``index`` of every per-sample tensor of ``modality`` (tensors without a batch of ``batch``
    samples, e.g. a scalar sigma, are shared)."""
    if modality is None:
        return None
    changes = {}
    for item in dataclasses.fields(modality):
        value = getattr(modality, item.name)
        if isinstance(value, torch.Tensor) and value.ndim and value.shape[0] == batch:
            changes[item.name] = value.index_select(0, index.to(value.device))
    return dataclasses.replace(modality, **changes)


def take_perturbations(perturbations: Perturbations | None, index: torch.Tensor) -> Perturbations | None:
    """``perturbations`` for the sub-batch ``index``: sample numbers renumbered, items of no kept sample dropped."""
    if perturbations is None:
        return None
    kept = index.tolist()
    items = []
    for item in perturbations.items:
        if item.samples is None:
            items.append(item)
            continue
        local = tuple(position for position, sample in enumerate(kept) if sample in item.samples)
        if local:
            items.append(Perturbation(item.skip, blocks=item.blocks, samples=local))
    return Perturbations(tuple(items))


def _to(modality: Modality | None, device: torch.device | str) -> Modality | None:
    """``modality`` with every tensor on ``device``."""
    if modality is None:
        return None
    changes = {item.name: getattr(modality, item.name).to(device) for item in dataclasses.fields(modality)
               if isinstance(getattr(modality, item.name), torch.Tensor)}
    return dataclasses.replace(modality, **changes)


def host_pass(rank: Rank, state: PassState, control: JobControl, video: Modality | None, audio: Modality | None,
              perturbations: Perturbations | None, guidance_size: int) -> tuple:
    """Worker job: this rank's share of one batched pass; rank 0 returns ``(video, audio)`` outputs on the CPU."""
    control.check()
    layout = state.layout(rank, guidance_size)
    batch = (video if video is not None else audio).latent.shape[0]
    chunks = torch.arange(batch).tensor_split(guidance_size)
    mine = chunks[layout.guidance_index]
    outputs = (None, None)
    if len(mine):
        local = (_to(take_samples(video, mine, batch), rank.device), _to(take_samples(audio, mine, batch), rank.device))
        with torch.no_grad():
            outputs = SequenceParallel(state.model, layout.sequence)(*local, take_perturbations(perturbations, mine))
    config = state.model.config
    parts = [_collect(outputs[i], stream, chunks, layout, channels) for i, (stream, channels) in
             enumerate(((video, config.out_channels), (audio, config.audio_out_channels)))]
    return tuple(None if part is None else part.cpu() for part in parts) if rank.is_driver else None


def _collect(mine: torch.Tensor | None, stream: Modality | None, chunks: tuple, layout: ParallelLayout,
             channels: int) -> torch.Tensor | None:
    """On global rank 0: every group's output samples ``(B, T, channels)`` in batch order; the first rank of each
    other group sends its group's samples."""
    if stream is None:
        return None
    world, size = layout.world, layout.sequence.world_size
    pieces = []
    for group, chunk in enumerate(chunks):
        owner = group * size
        if not len(chunk):
            continue
        if world.rank == 0 and owner == 0:
            pieces.append(mine)
        elif world.rank == 0:
            buffer = torch.empty((len(chunk), stream.latent.shape[1], channels), dtype=stream.latent.dtype,
                                 device=world.device)
            dist.recv(buffer, owner)
            pieces.append(buffer)
        elif world.rank == owner:
            dist.send(mine.contiguous(), 0)
    return torch.cat(pieces) if world.rank == 0 else None


def host_decode(rank: Rank, state: PassState, control: JobControl, latent: torch.Tensor,
                tiling: TilingConfig | None) -> torch.Tensor | None:
    """Worker job: a tiled decode with the tiles spread over every rank; rank 0 returns the video on the CPU. The
    interrupt is checked before each round of W tiles (Cancel stops every rank within one round)."""
    if state.vae is None:
        raise RuntimeError("these workers have no video VAE (TransformerSetup(vae=True) or PoolPass.load_vae)")
    control.check()
    latent = latent.to(rank.device, next(state.vae.parameters()).dtype)  # the VAE's compute dtype
    with torch.no_grad():
        video = decode_tiled_distributed(state.vae, latent, tiling, rank, progress=control.progress,
                                         check=control.check)
    return None if video is None else video.cpu()


def host_load_vae(rank: Rank, state: PassState, control: JobControl, source: str | SafetensorsHeader,
                  dtype: torch.dtype | None) -> bool:
    """Worker job: load the video VAE of ``source`` (a path, or a header naming its tensors) in ``dtype`` on this
    rank, by byte range, unless it is already there; returns whether it was loaded now."""
    from ..loading import load_component  # late: the loaders are heavy and only the workers need them

    control.check()
    key = (source.path if isinstance(source, SafetensorsHeader) else source, dtype)
    if state.vae is not None and state.vae_source == key:
        return False
    state.vae = None  # the old VAE's memory is freed before the new one is read
    state.vae = load_component(source, "video_vae", dtype=dtype, device=rank.device)
    state.vae_source = key
    return True


def host_loras(rank: Rank, state: PassState, control: JobControl, loras: LoraSet) -> list[str]:
    """Worker job: make this rank's transformer carry exactly ``loras`` (each rank reads the files itself); returns
    the weight event log (``load ...``, ``restore ...``, ``lora ...``)."""
    control.check()
    if state.weights is None:
        raise RuntimeError("these workers were set up without a checkpoint path (TransformerSetup), so LoRAs cannot "
                           "be applied or removed")
    state.model = apply_loras(state.model, state.weights, loras, rank.device)
    return list(state.weights.events)


class PoolPass:
    """Driver side: called like the transformer (``video, audio, perturbations``), runs the pass on ``pool``."""

    def __init__(self, pool: WorkerPool, strategy: str = "auto",
                 interrupted: Callable[[], bool] | None = None) -> None:
        guidance_groups(pool.spec.world_size, 1, strategy)  # validates the strategy
        self.pool, self.strategy, self.interrupted = pool, strategy, interrupted

    def __deepcopy__(self, memo: dict) -> PoolPass:
        """A handle on the shared pool: copies of model options refer to the same workers."""
        return self

    def __call__(self, video: Modality | None, audio: Modality | None, perturbations: Perturbations | None = None,
                 **_options: Any) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        first = video if video is not None else audio
        groups = guidance_groups(self.pool.spec.world_size, first.latent.shape[0], self.strategy)
        v_out, a_out = self.pool.run(host_pass, _to(video, "cpu"), _to(audio, "cpu"), perturbations, groups,
                                     interrupted=self.interrupted)
        back = first.latent.device
        return (None if v_out is None else v_out.to(back)), (None if a_out is None else a_out.to(back))

    def set_loras(self, loras: LoraSet) -> list[str]:
        """Make every worker's transformer carry exactly ``loras`` (paths + strengths; each worker reads the files
        by byte range, nothing is sent but the names); a set equal to the current one costs one round trip.
        Returns rank 0's weight event log."""
        return self.pool.run(host_loras, tuple(loras), interrupted=self.interrupted)

    def load_vae(self, source: str | SafetensorsHeader, dtype: torch.dtype | None = None) -> bool:
        """Load the video VAE of ``source`` on every worker (by byte range; kept while it stays the same)."""
        return self.pool.run(host_load_vae, source, dtype, interrupted=self.interrupted)

    def decode(self, latent: torch.Tensor, tiling: TilingConfig | None,
               progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """Tiled video decode on the workers (``TransformerSetup(vae=True)`` or :meth:`load_vae`): latent
        ``(B, C, F, h, w)`` -> video ``(B, 3, 1+8(F-1), 32h, 32w)`` (the VAE's dtype) on the latent's device,
        bitwise the single-device tiled decode; ``progress(done, total)`` after each tile."""
        video = self.pool.run(host_decode, latent.cpu(), tiling, progress=progress, interrupted=self.interrupted)
        return video.to(latent.device)
