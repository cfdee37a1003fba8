"""Schema helpers shared by all nodes: the id prefix, the category tree and feature-detected schema extras.

Only the V3 surface of ComfyUI v0.3.65 is assumed; newer ``io.Schema`` keywords are passed only when the running
host knows them (``inspect.signature``), so the pack keeps loading on older hosts.
"""

from __future__ import annotations

import inspect
from typing import Any

from comfy_api.latest import io

NODE_ID_PREFIX = "LTX2N"
CATEGORY_ROOT = "LTX-2 Native"

_SCHEMA_PARAMETERS = frozenset(inspect.signature(io.Schema).parameters)


def category(group: str) -> str:
    """Category path below the pack's single tree, e.g. ``category("latent")`` -> ``"LTX-2 Native/latent"``."""
    return f"{CATEGORY_ROOT}/{group}"


def make_schema(name: str, *, display_name: str, group: str, optional: dict[str, Any] | None = None,
                **fields: Any) -> io.Schema:
    """Build an ``io.Schema`` with the prefixed id ``LTX2N<name>`` in ``LTX-2 Native/<group>``.

    ``optional`` holds keywords that only newer hosts accept (``search_aliases``, ``essentials_category``, ...);
    each one is dropped when the running host's ``io.Schema`` has no such parameter.
    """
    extras = {k: v for k, v in (optional or {}).items() if k in _SCHEMA_PARAMETERS}
    return io.Schema(node_id=NODE_ID_PREFIX + name, display_name=display_name, category=category(group),
                     **fields, **extras)
