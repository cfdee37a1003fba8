"""Guidance parallel: the passes of one guided step (cond, uncond, STG, modality) on different ranks.

:class:`GuidanceParallel` is a :data:`~ltx_model.pipelines.denoise.PassRunner`: every rank receives the same pass
plan, runs the passes assigned to its guidance group (pass ``j`` -> group ``j mod G``), then each pass's owner
broadcasts its x0 predictions, so every rank holds every pass and combines them with the same
:func:`~ltx_model.sampling.guide` call as one device. Each pass is computed exactly as one process computes it
(same inputs, same shapes), so the result is bitwise the single-process result.

With ``W = G·S`` ranks, :func:`parallel_layout` also forms ``G`` sequence-parallel groups of ``S`` consecutive
ranks (guidance and sequence parallel together: e.g. 4 GPUs = 2 passes x 2 token shards).

A host that batches a step's passes into ONE transformer call (ComfyUI's multimodal guider on a multi-GPU MODEL,
whose workers split that batch over the guidance groups) labels each pass's samples with its perturbations through
:func:`batch_perturbations`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..pipelines.denoise import PassPlan, predict_x0
from ..transformer import LTXTransformer, Modality, Perturbation, Perturbations
from .groups import Rank


@dataclass(frozen=True)
class ParallelLayout:
    """How a group of ``W`` ranks is split: ``guidance_size`` guidance groups of ``W / guidance_size`` ranks each.

    Attributes:
        world: this rank in the whole group.
        sequence: this rank in its sequence-parallel subgroup (``world_size`` 1: no sequence parallel).
        guidance_size: G, the number of passes run at the same time.
    """

    world: Rank
    sequence: Rank
    guidance_size: int

    @property
    def guidance_index(self) -> int:
        """Which guidance group this rank belongs to (0..G-1)."""
        return self.world.rank // self.sequence.world_size

    def owner(self, pass_index: int) -> int:
        """Global rank that broadcasts pass ``pass_index``'s result (the first rank of its guidance group)."""
        return (pass_index % self.guidance_size) * self.sequence.world_size


def parallel_layout(world: Rank, guidance_size: int) -> ParallelLayout:
    """Split ``world`` into ``guidance_size`` groups of consecutive ranks; must be called by every rank (each
    sequence subgroup is created collectively)."""
    if guidance_size < 1 or world.world_size % guidance_size:
        raise ValueError(f"{world.world_size} ranks cannot form {guidance_size} equal guidance groups")
    size = world.world_size // guidance_size
    if size == 1 or guidance_size == 1:
        sequence = Rank(world.rank % size, size, world.device, world.group if size == world.world_size else None)
        return ParallelLayout(world, sequence, guidance_size)
    mine = None
    for index in range(guidance_size):  # every rank creates every subgroup, in the same order
        ranks = list(range(index * size, (index + 1) * size))
        group = dist.new_group(ranks)
        if world.rank in ranks:
            mine = group
    return ParallelLayout(world, Rank(world.rank % size, size, world.device, mine), guidance_size)


class GuidanceParallel:
    """:data:`~ltx_model.pipelines.denoise.PassRunner` spreading a step's passes over the guidance groups."""

    def __init__(self, layout: ParallelLayout) -> None:
        self.layout = layout

    def __call__(self, transformer: LTXTransformer, plan: PassPlan) -> dict:
        layout = self.layout
        names = list(plan)
        mine = {name: predict_x0(transformer, *plan[name]) for index, name in enumerate(names)
                if index % layout.guidance_size == layout.guidance_index}
        out = {}
        for index, name in enumerate(names):
            video, audio, _ = plan[name]
            got = mine.get(name, (None, None))
            out[name] = (_share(got[0], video, layout.owner(index), layout.world),
                         _share(got[1], audio, layout.owner(index), layout.world))
        return out


def _share(x0: torch.Tensor | None, stream: Modality | None, src: int, world: Rank) -> torch.Tensor | None:
    """Broadcast one x0 ``(B, T, C)`` (shape and dtype of the stream's latent) from global rank ``src``."""
    if stream is None:
        return None
    buffer = x0.contiguous() if x0 is not None else torch.empty_like(stream.latent)
    dist.broadcast(buffer, src, group=world.group)
    return buffer


def batch_perturbations(given: Perturbations, by_pass: Mapping[int, Perturbations], chunks: Sequence[int],
                        batch: int) -> Perturbations:
    """The perturbations of one transformer call whose batch of ``batch`` samples is ``len(chunks)`` equal chunks,
    chunk ``i`` holding samples of pass ``chunks[i]`` (ComfyUI's ``cond_or_uncond``, in batch order).

    Every pass's perturbations (``by_pass[pass]``, each for all of that pass's samples) are limited to the samples
    of that pass's chunks; ``given`` (perturbations for every sample) is kept in front. E.g. chunks ``[3, 2, 1, 0]``
    of one sample each with ``by_pass = {2: stg}`` -> ``given`` + ``stg`` on sample 1 only.
    """
    if not chunks or batch % len(chunks):
        raise ValueError(f"a batch of {batch} samples cannot be {len(chunks)} equal chunks of passes {list(chunks)}")
    size = batch // len(chunks)
    items = list(given.items)
    for index, perturbations in by_pass.items():
        samples = tuple(sample for position, chunk in enumerate(chunks) if chunk == index
                        for sample in range(position * size, (position + 1) * size))
        if not samples:
            continue
        for item in perturbations.items:
            if item.samples is not None:
                raise ValueError(f"pass {index}'s perturbation {item.skip.name} already names samples "
                                 f"{item.samples}; a pass's perturbations must apply to all of its samples")
            items.append(Perturbation(item.skip, blocks=item.blocks, samples=samples))
    return Perturbations(tuple(items))
