"""LTX-2 (19B) and LTX-2.3 video VAE (``CausalVideoAutoencoder``), numerically matching ltx-core 1.0.0.

Public names: :class:`VideoVAE` (encode / decode / tiled variants), :class:`VideoVAEConfig`, :class:`TilingConfig`
and its spatial / temporal parts, :class:`VAEParts`, and the key constants a checkpoint loader needs
(:data:`FILE_PREFIX`, :data:`IGNORED_STATE_KEYS`, :data:`IGNORED_FILE_KEYS`).
"""

from .config import BlockSpec, PaddingMode, VAETopology, VideoVAEConfig, tiny_section
from .model import FILE_PREFIX, IGNORED_FILE_KEYS, IGNORED_STATE_KEYS, TileProgress, VAEParts, VideoVAE
from .networks import VideoDecoder, VideoEncoder
from .tiling import SpatialTilingConfig, TemporalTilingConfig, TileLayout, TilingConfig, decode_layout, encode_layout

__all__ = [
    "FILE_PREFIX",
    "IGNORED_FILE_KEYS",
    "IGNORED_STATE_KEYS",
    "BlockSpec",
    "PaddingMode",
    "SpatialTilingConfig",
    "TemporalTilingConfig",
    "TileLayout",
    "TileProgress",
    "TilingConfig",
    "VAEParts",
    "VAETopology",
    "VideoDecoder",
    "VideoEncoder",
    "VideoVAE",
    "VideoVAEConfig",
    "decode_layout",
    "encode_layout",
    "tiny_section",
]
