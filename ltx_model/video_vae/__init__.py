"""LTX-2 (19B) and LTX-2.3 video VAE (``CausalVideoAutoencoder``), numerically matching ltx-core 1.0.0, and the
LTX-2.5 video VAE files (conv encoder + neighbourhood-attention diffusion decoder, or the conv-decoder variant),
matching ltx-core 1.2 (Lightricks/LTX-2 @400fd31).

Public names: :class:`VideoVAE` (encode / decode / tiled variants), :class:`VideoVAEConfig`, :class:`TilingConfig`
and its spatial / temporal parts, :class:`VAEParts`, and the key constants a checkpoint loader needs
(:data:`FILE_PREFIX`, :data:`IGNORED_STATE_KEYS`, :data:`IGNORED_FILE_KEYS`). LTX-2.5: :class:`LTX25VideoVAE`,
:class:`DiffusionDecoder` / :class:`DiffusionDecoderConfig`, :class:`DiffusionTiling`, :func:`build_ltx25_video_vae`,
:func:`check_ltx25_video_vae`, :func:`ltx25_video_vae_kind`, and the neighbourhood-attention kernel seam
(:class:`NA3DFunction`, :func:`na3d_torch`; a host may pass ``comfy_kitchen.na3d``).
"""

from .config import BlockSpec, PaddingMode, VAETopology, VideoVAEConfig, tiny_section
from .diffusion_config import DiffusionDecoderConfig
from .diffusion_decoder import DiffusionDecoder
from .diffusion_tiling import DiffusionTiling
from .ltx25 import LTX25VideoVAE, build_ltx25_video_vae, check_ltx25_video_vae, is_ltx25_video_vae, ltx25_video_vae_kind
from .model import FILE_PREFIX, IGNORED_FILE_KEYS, IGNORED_STATE_KEYS, TileProgress, VAEParts, VideoVAE
from .neighborhood import NA3DFunction, na3d_torch
from .networks import VideoDecoder, VideoEncoder
from .tiling import SpatialTilingConfig, TemporalTilingConfig, TileLayout, TilingConfig, decode_layout, encode_layout

__all__ = [
    "FILE_PREFIX",
    "IGNORED_FILE_KEYS",
    "IGNORED_STATE_KEYS",
    "BlockSpec",
    "DiffusionDecoder",
    "DiffusionDecoderConfig",
    "DiffusionTiling",
    "LTX25VideoVAE",
    "NA3DFunction",
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
    "build_ltx25_video_vae",
    "check_ltx25_video_vae",
    "decode_layout",
    "encode_layout",
    "is_ltx25_video_vae",
    "ltx25_video_vae_kind",
    "na3d_torch",
    "tiny_section",
]
