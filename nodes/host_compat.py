"""Where the ComfyUI hosts the pack supports really differ (v0.20.1 of May 2026 to v0.33.0 of Aug 2026).

One code path everywhere else; each seam here names the host version that changed and what changed.
"""

from __future__ import annotations

import importlib
import re

# ComfyUI 0.28.0 (upstream #15063, "convert latent_upsampler model to DynamicVram"): core's LATENT_UPSCALE_MODEL
# became a model patcher (core LTXVLatentUpsampler reads .load_device, .model and .model_dtype()); before, it was
# the plain module (core called .parameters() and the module itself).
UPSCALER_PATCHER_SINCE = (0, 28, 0)


def host_version() -> tuple[int, ...]:
    """The running ComfyUI's version (``comfyui_version.__version__``) as a tuple, (0,) when it has none."""
    try:
        text = importlib.import_module("comfyui_version").__version__
    except (ImportError, AttributeError):
        return (0,)
    return tuple(int(n) for n in re.findall(r"\d+", text)[:3]) or (0,)


def upscaler_is_patcher() -> bool:
    """Whether this host passes LATENT_UPSCALE_MODEL as a model patcher (see :data:`UPSCALER_PATCHER_SINCE`)."""
    return host_version() >= UPSCALER_PATCHER_SINCE
