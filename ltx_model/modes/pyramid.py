"""Blending a generated clip back into its source: Laplacian pyramid blend under a softened mask.

The official pack's ``LTXVLaplacianPyramidBlend`` builds Laplacian pyramids of both clips (kornia, padded to powers
of two) and a Gaussian pyramid of the mask, mixes each level and collapses the result; its
``mask_low_res_dilation`` first grows the mask at a long side of 64 pixels. This is our own version with the same
steps (a 5-tap binomial blur, any size, no padding to powers of two) plus one guarantee the official node does not
give: pixels where the softened blend mask is 0 are copied from the source, so outside the blend region the
result is the source bit-identically (a pyramid's coarse levels would otherwise leak a little everywhere).

Frames are ``(F, H, W, C)`` floats in [0, 1]; masks ``(F, H, W)`` in [0, 1] (1 = take the generated clip).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F  # noqa: N812

LOW_RES_LONG_SIDE = 64  # the mask is grown at this long side (official ``_MASK_LOW_RES_LONG_SIDE``)
MAX_LEVELS = 7
CHUNK_FRAMES = 8
_BINOMIAL = (1.0, 4.0, 6.0, 4.0, 1.0)


def soften_mask(mask: torch.Tensor, radius: int, long_side: int = LOW_RES_LONG_SIDE) -> torch.Tensor:
    """Grow a ``(F, H, W)`` mask softly: resize to ``long_side`` (bilinear), max-pool ``2 * radius + 1``, resize
    back (bilinear) -> ``(F, H, W)`` in [0, 1]. ``radius`` 0 returns the mask unchanged."""
    if radius <= 0:
        return mask.float()
    height, width = mask.shape[-2:]
    scale = long_side / max(height, width)
    small = (max(1, round(height * scale)), max(1, round(width * scale)))
    low = F.interpolate(mask.float()[:, None], size=small, mode="bilinear", align_corners=False)
    low = F.max_pool2d(low, 2 * radius + 1, stride=1, padding=radius)
    return F.interpolate(low, size=(height, width), mode="bilinear", align_corners=False)[:, 0].clamp(0.0, 1.0)


def _blur(x: torch.Tensor) -> torch.Tensor:
    """Separable 5-tap binomial blur of ``(N, C, H, W)`` with edge replication."""
    kernel = torch.tensor(_BINOMIAL, dtype=x.dtype, device=x.device) / 16.0
    channels = x.shape[1]
    x = F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), kernel.view(1, 1, 1, 5).repeat(channels, 1, 1, 1),
                 groups=channels)
    return F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), kernel.view(1, 1, 5, 1).repeat(channels, 1, 1, 1),
                    groups=channels)


def _up(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return _blur(F.interpolate(x, size=size, mode="bilinear", align_corners=False))


def gaussian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """``levels + 1`` images ``(N, C, H_i, W_i)``: ``x`` then blurred and halved (``ceil``) ``levels`` times."""
    out = [x]
    for _ in range(levels):
        out.append(_blur(out[-1])[..., ::2, ::2])
    return out


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels ``G_i - up(G_{i+1})`` and the coarsest Gaussian level last (collapses back to ``x``)."""
    gauss = gaussian_pyramid(x, levels)
    bands = [g - _up(n, tuple(g.shape[-2:])) for g, n in zip(gauss[:-1], gauss[1:], strict=True)]
    return [*bands, gauss[-1]]


def pyramid_levels(height: int, width: int, levels: int = MAX_LEVELS) -> int:
    """Levels used for a ``height`` x ``width`` image: at most ``levels``, at most ``floor(log2(min side))``."""
    return max(0, min(levels, int(math.log2(max(1, min(height, width))))))


def _blend_chunk(generated: torch.Tensor, source: torch.Tensor, mask: torch.Tensor, levels: int) -> torch.Tensor:
    """``(N, C, H, W)`` clips and ``(N, 1, H, W)`` mask -> the collapsed blended pyramid ``(N, C, H, W)``."""
    gen, src = laplacian_pyramid(generated, levels), laplacian_pyramid(source, levels)
    weights = gaussian_pyramid(mask, levels)
    out = gen[-1] * weights[-1] + src[-1] * (1.0 - weights[-1])
    for g, s, w in zip(gen[-2::-1], src[-2::-1], weights[-2::-1], strict=True):
        out = _up(out, tuple(g.shape[-2:])) + g * w + s * (1.0 - w)
    return out


def pyramid_blend(generated: torch.Tensor, source: torch.Tensor, mask: torch.Tensor, *,
                  levels: int = MAX_LEVELS) -> torch.Tensor:
    """Blend ``generated`` into ``source`` (both ``(F, H, W, C)`` in [0, 1]) under ``mask`` ``(F|1, H, W)``.

    Returns ``(F, H, W, C)`` in [0, 1]: the Laplacian pyramid blend, and exactly ``source`` where ``mask == 0``.
    """
    if generated.shape != source.shape:
        raise ValueError(f"pyramid blend: the generated frames {tuple(generated.shape)} and the source "
                         f"{tuple(source.shape)} must have the same shape")
    frames, height, width = source.shape[:3]
    mask = mask.float().to(source.device).expand(frames, height, width)
    count = pyramid_levels(height, width, levels)
    chunks = []
    for start in range(0, frames, CHUNK_FRAMES):
        part = slice(start, start + CHUNK_FRAMES)
        blended = _blend_chunk(generated[part].float().permute(0, 3, 1, 2), source[part].float().permute(0, 3, 1, 2),
                               mask[part, None], count)
        chunks.append(blended.permute(0, 2, 3, 1).clamp(0.0, 1.0))
    out = torch.cat(chunks).to(source.dtype)
    return torch.where((mask > 0)[..., None], out, source)
