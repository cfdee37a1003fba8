"""Self-attention masks for appended conditioning tokens (ltx-core ``conditioning/mask_utils.py``).

A mask is ``(B, T, T)`` in [0, 1] (1 = full attention). When an item appends ``M`` tokens to ``N`` existing ones
(of which the first ``N_noisy`` are the generated target), the new mask is::

                 noisy      prev_ref    new
    noisy      existing    existing    cross
    prev_ref   existing    existing      0
    new         cross         0          1

with ``cross`` the per-new-token weight. The transformer applies it as an additive bias (:func:`attention_bias`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from .errors import ConditioningError

AttentionWeight = float | torch.Tensor


def resolve_cross_mask(
    weight: AttentionWeight, *, num_new_tokens: int, batch: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """Per-new-token weights ``(B, M)`` from a scalar, a 0-D, ``(M,)`` or ``(B|1, M)`` tensor."""
    if isinstance(weight, (int, float)) or (isinstance(weight, torch.Tensor) and weight.dim() == 0):
        return torch.full((batch, num_new_tokens), float(weight), device=device, dtype=dtype)
    mask = weight.to(device=device, dtype=dtype)
    if mask.dim() == 1:
        if mask.shape[0] != num_new_tokens:
            raise ConditioningError(f"1-D attention mask must have {num_new_tokens} entries, got {tuple(mask.shape)}")
        return mask.unsqueeze(0).expand(batch, -1)
    if mask.dim() == 2:
        if mask.shape[1] != num_new_tokens or mask.shape[0] not in (batch, 1):
            raise ConditioningError(
                f"2-D attention mask must be ({batch} or 1, {num_new_tokens}), got {tuple(mask.shape)}"
            )
        return mask.expand(batch, -1)
    raise ConditioningError(f"attention mask must be a scalar, 1-D or 2-D, got shape {tuple(mask.shape)}")


def build_attention_mask(
    existing: torch.Tensor | None, cross: torch.Tensor, *, num_noisy_tokens: int, num_existing_tokens: int
) -> torch.Tensor:
    """The ``(B, N+M, N+M)`` block mask above (``existing`` ``(B, N, N)`` or ``None`` = all ones)."""
    batch, num_new = cross.shape
    n, total = num_existing_tokens, num_existing_tokens + num_new
    mask = torch.zeros((batch, total, total), device=cross.device, dtype=cross.dtype)
    mask[:, :n, :n] = 1.0 if existing is None else existing
    mask[:, n:, n:] = 1.0
    mask[:, :num_noisy_tokens, n:] = cross.unsqueeze(1)
    mask[:, n:, :num_noisy_tokens] = cross.unsqueeze(2)
    return mask


def extend_attention_mask(
    existing: torch.Tensor | None,
    weight: AttentionWeight | None,
    *,
    num_noisy_tokens: int,
    num_existing_tokens: int,
    num_new_tokens: int,
    batch: int,
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor | None:
    """``update_attention_mask``: grow the mask for ``num_new_tokens`` appended tokens.

    Without a ``weight`` and without an existing mask there is still no mask (``None``); without a weight but with
    an existing mask the new tokens get weight 1 towards the noisy tokens.
    """
    if weight is None:
        if existing is None:
            return None
        cross = torch.ones(batch, num_new_tokens, device=device, dtype=dtype)
    else:
        cross = resolve_cross_mask(weight, num_new_tokens=num_new_tokens, batch=batch, device=device, dtype=dtype)
    return build_attention_mask(
        existing, cross, num_noisy_tokens=num_noisy_tokens, num_existing_tokens=num_existing_tokens
    )


def attention_bias(mask: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """Additive self-attention bias ``(B, 1, T, T)`` from a [0, 1] mask ``(B, T, T)``.

    ``log(value)`` (clamped at ``finfo(dtype).tiny``) where value > 0, ``finfo(dtype).min`` where value <= 0;
    ``None`` stays ``None`` (no masking). Mirrors ltx-core ``_prepare_self_attention_mask``.
    """
    if mask is None:
        return None
    finfo = torch.finfo(dtype)
    bias = torch.full_like(mask, finfo.min, dtype=dtype)
    positive = mask > 0
    if positive.any():
        bias[positive] = torch.log(mask[positive].clamp(min=finfo.tiny)).to(dtype)
    return bias.unsqueeze(1)


def pixel_mask_to_latent(mask: torch.Tensor, *, frames: int, height: int, width: int) -> torch.Tensor:
    """Downsample a pixel-space mask ``(B, 1, F_pix, H_pix, W_pix)`` to per-token weights ``(B, F*H*W)``.

    Area interpolation per frame to ``(height, width)``; in time the first pixel frame is kept and the remaining
    ``F_pix - 1`` frames are averaged in groups of ``(F_pix - 1) / (frames - 1)`` (the causal VAE layout)
    (ltx-pipelines ``ICLoraPipeline._downsample_mask_to_latent``).
    """
    b, _, f_pix, h_pix, w_pix = mask.shape
    per_frame = mask.permute(0, 2, 1, 3, 4).reshape(b * f_pix, 1, h_pix, w_pix)
    small = F.interpolate(per_frame, size=(height, width), mode="area").reshape(b, f_pix, height, width)
    first = small[:, :1]
    if f_pix > 1 and frames > 1:
        if (f_pix - 1) % (frames - 1):
            raise ConditioningError(f"{f_pix} pixel frames do not map onto {frames} latent frames (need 8k+1)")
        group = (f_pix - 1) // (frames - 1)
        rest = small[:, 1:].reshape(b, frames - 1, group, height, width).mean(dim=2)
        first = torch.cat([first, rest], dim=1)
    return first.reshape(b, -1)
