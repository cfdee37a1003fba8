"""Latent upsamplers (spatial x2, rational spatial x1.5, temporal x2) and VAE-statistics wrapping."""

from .config import RATIONAL_SCALES, UpsamplerConfig, UpsamplerKind
from .model import LatentUpsampler, upsample_latent

__all__ = ["RATIONAL_SCALES", "LatentUpsampler", "UpsamplerConfig", "UpsamplerKind", "upsample_latent"]
