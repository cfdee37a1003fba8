"""Latent upsamplers (spatial x2, rational spatial x1.5, temporal x2) and VAE-statistics wrapping."""

from ltx_model.upsampler.config import RATIONAL_SCALES, UpsamplerConfig, UpsamplerKind
from ltx_model.upsampler.model import LatentUpsampler, upsample_latent

__all__ = ["RATIONAL_SCALES", "LatentUpsampler", "UpsamplerConfig", "UpsamplerKind", "upsample_latent"]
