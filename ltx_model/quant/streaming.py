"""Put one tensor into a built module by its state-dict name (streaming loads: one tensor in flight at a time)."""

from __future__ import annotations

import torch
from torch import nn


def assign_tensor(model: nn.Module, key: str, value: torch.Tensor, *, assign: bool) -> None:
    """Load ``value`` as ``model``'s parameter or buffer ``key`` (e.g. ``"transformer_blocks.0.attn1.to_q.weight"``).

    Goes through the owning module's ``load_state_dict`` (so layer classes that customise loading, such as
    ComfyUI's ``comfy.ops``, still see it), restricted to that one module and key: the cost does not grow with the
    model. ``assign=False`` copies into the existing storage (cast to its dtype); ``assign=True`` makes ``value``
    itself the parameter (its dtype and device are kept).

    Raises:
        KeyError: ``key`` is not a parameter or buffer of ``model``.
    """
    owner_name, _, leaf = key.rpartition(".")
    owner = model.get_submodule(owner_name) if owner_name else model
    if leaf not in owner._parameters and leaf not in owner._buffers:
        raise KeyError(f"{key}: no such parameter or buffer")
    _, unexpected = owner.load_state_dict({leaf: value}, strict=False, assign=assign)
    if unexpected:
        raise KeyError(f"{key}: not loaded by {type(owner).__name__}")
