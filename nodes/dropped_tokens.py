"""Dropped guide tokens: core ``LTXVAddGuide`` with ``latent_downscale_factor`` > 1 (the union-control IC-LoRA's
``ref0.5``) dilates a small guide latent onto the full grid and marks the empty cells with noise mask -1. Core's
transformer (ComfyUI 0.33 ``comfy/ldm/lightricks/model.py``, ``_process_input``) leaves those video tokens out of
the pass (latent, positions, per-token timesteps, guide attention over the surviving tokens with per-guide
surviving counts, keyframe marks) and puts zeros at their places in the output; these helpers do the same for
``nodes/diffusion.py``.

Batch: like core (``grid_mask = ...[0]``), the first sample's mask decides for the whole batch.
"""

from __future__ import annotations

import torch

from ..ltx_model.sampling import patchify_video


def kept_tokens(denoise_mask: torch.Tensor | None, keyframe_idxs: torch.Tensor | None) -> torch.Tensor | None:
    """Which video tokens enter the transformer: ``(T,)`` bool over the patchified video latent (generated +
    appended guide tokens), False where any channel of the first sample's noise mask ``(B, C, F, H, W)`` is
    negative; None when nothing is dropped (no guides, no mask or no negative value), as core only drops with
    guides appended."""
    if denoise_mask is None or keyframe_idxs is None or keyframe_idxs.shape[2] == 0:
        return None
    keep = ~(patchify_video(denoise_mask[:1]) < 0).any(dim=-1)[0]  # (T,)
    return None if bool(keep.all()) else keep


def surviving_entries(entries: list[dict] | None, guide_keep: torch.Tensor) -> list[dict] | None:
    """``guide_attention_entries`` with each ``pre_filter_count`` replaced by the number of that guide's tokens
    that survive (``guide_keep``: ``(N,)`` bool over the appended guide tokens, in append order); core's
    ``surviving_count``. A guide whose pixel mask weights its tokens then weights its first surviving tokens by
    the first values of the mask, as core does."""
    if not entries:
        return entries
    total = sum(int(e["pre_filter_count"]) for e in entries)
    if total != guide_keep.numel():
        raise ValueError(f"guide_attention_entries cover {total} tokens but {guide_keep.numel()} guide tokens "
                         "were appended")
    resolved, offset = [], 0
    for entry in entries:
        count = int(entry["pre_filter_count"])
        resolved.append({**entry, "pre_filter_count": int(guide_keep[offset:offset + count].sum())})
        offset += count
    return resolved


def keep_per_token(t: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Per-token timesteps ``(B, T)`` -> ``(B, K)`` of the kept tokens; a ``(B, 1)`` timestep passes through."""
    return t if keep is None or t.shape[1] != keep.numel() else t[:, keep.to(t.device)]


def scatter_kept(tokens: torch.Tensor, keep: torch.Tensor | None) -> torch.Tensor:
    """Output tokens ``(B, K, C)`` of the kept video tokens -> ``(B, T, C)`` with zeros at the dropped ones."""
    if keep is None:
        return tokens
    full = tokens.new_zeros(tokens.shape[0], keep.numel(), tokens.shape[2])
    full[:, keep.to(tokens.device)] = tokens
    return full
