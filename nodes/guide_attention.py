"""Self-attention weights for appended guide tokens in the ComfyUI path (core LTXV ``guide_attention_entries``).

Used by :class:`~.diffusion.HostTransformer` when a core guide node (``LTXVAddGuide`` with a strength or pixel mask)
tracked its guide tokens: noisy <-> guide attention is scaled per guide token, everything else stays full.
"""

from __future__ import annotations

import torch

from ..ltx_model.conditioning import pixel_mask_to_latent


def guide_attention_mask(entries: list[dict] | None, *, total: int, guides: int, batch: int,
                         device: torch.device) -> torch.Tensor | None:
    """Self-attention strength ``(B, T, T)`` in [0, 1] for appended guide tokens (core LTXV semantics).

    Noisy <-> guide attention of each tracked guide token is scaled by its entry's ``strength`` (times its pixel
    mask, downsampled to latent tokens, when given); guides attend each other and themselves fully, noisy tokens
    each other fully. None (no mask at all) when every weight is 1, as core does.

    Args:
        entries: ``guide_attention_entries`` in append order; their ``pre_filter_count`` must cover the guides.
        total: video tokens T (noisy + guides); guides: the last N tokens that are guides.
    """
    if not entries:
        return None
    if sum(int(e["pre_filter_count"]) for e in entries) != guides:
        raise ValueError(f"guide_attention_entries cover {sum(int(e['pre_filter_count']) for e in entries)} tokens "
                         f"but {guides} guide tokens were appended")
    weights = []
    for entry in entries:
        weight = torch.full((int(entry["pre_filter_count"]),), float(entry["strength"]), device=device)
        if entry.get("pixel_mask") is not None:
            f, h, w = entry["latent_shape"]
            pixel = pixel_mask_to_latent(entry["pixel_mask"].to(device, torch.float32), frames=f, height=h, width=w)
            weight = weight * pixel[0, : weight.shape[0]]
        weights.append(weight)
    tracked = torch.cat(weights)
    if bool((tracked >= 1).all()):
        return None
    start = total - guides
    mask = torch.ones(batch, total, total, device=device)
    mask[:, :start, start:] = tracked.view(1, 1, -1)
    mask[:, start:, :start] = tracked.view(1, -1, 1)
    return mask
