"""Multi-device inference over ``torch.distributed`` (NCCL on CUDA, gloo on CPU; one node).

Public API:

* process groups: :class:`Rank`, :func:`init_group`, :func:`close_group`, :func:`launch`, :func:`backend_for`;
* sequence parallel: :class:`SequenceParallel` (video tokens sharded across ranks, called like the transformer),
  its communication model :func:`sequence_pass_bytes` and byte counter :class:`Traffic`;
* guidance parallel: :class:`GuidanceParallel` (a pass runner for the guided denoiser), :func:`parallel_layout`,
  :func:`batch_perturbations` (a host batch of several passes labelled per sample);
* distributed tiled VAE decode: :func:`decode_tiled_distributed`;
* persistent workers driven from the host: :class:`WorkerPool`, :class:`PoolSpec`, :class:`JobControl`,
  :class:`WorkerError`, :class:`WorkerInterrupted`;
* a host's batched passes on the workers: :class:`PoolPass`, :class:`TransformerSetup`, :class:`PassState`,
  :func:`guidance_groups` (strategies :data:`STRATEGIES`), :func:`host_pass`, :func:`host_decode`,
  :func:`host_load_vae` (decode-only pools: :class:`DecoderSetup`), :func:`host_loras`;
* LoRAs on the workers' weights (each worker reads the files itself): :class:`LoraApplication`, :data:`LoraSet`,
  :class:`WeightState`, :func:`apply_loras`.
"""

from .comms import sequence_pass_bytes
from .exchange import head_split
from .groups import Rank, Traffic, backend_for, close_group, free_port, init_group, launch, rank_devices
from .guidance import GuidanceParallel, ParallelLayout, batch_perturbations, parallel_layout
from .sequence import SequenceParallel, shard_length, shard_modality
from .service import (
    STRATEGIES,
    DecoderSetup,
    PassState,
    PoolPass,
    TransformerSetup,
    guidance_groups,
    host_decode,
    host_load_vae,
    host_loras,
    host_pass,
)
from .vae import decode_tiled_distributed
from .weights import LoraApplication, LoraSet, WeightState, apply_loras
from .workers import JobControl, PoolSpec, WorkerError, WorkerInterrupted, WorkerPool

__all__ = [
    "STRATEGIES",
    "DecoderSetup",
    "GuidanceParallel",
    "JobControl",
    "LoraApplication",
    "LoraSet",
    "ParallelLayout",
    "PassState",
    "PoolPass",
    "PoolSpec",
    "Rank",
    "SequenceParallel",
    "Traffic",
    "TransformerSetup",
    "WeightState",
    "WorkerError",
    "WorkerInterrupted",
    "WorkerPool",
    "apply_loras",
    "backend_for",
    "batch_perturbations",
    "close_group",
    "decode_tiled_distributed",
    "free_port",
    "guidance_groups",
    "head_split",
    "host_decode",
    "host_load_vae",
    "host_loras",
    "host_pass",
    "init_group",
    "launch",
    "parallel_layout",
    "rank_devices",
    "sequence_pass_bytes",
    "shard_length",
    "shard_modality",
]
