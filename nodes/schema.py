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


def make_schema(node: type, *, group: str, optional: dict[str, Any] | None = None, **fields: Any) -> io.Schema:
    """Build the ``io.Schema`` of node class ``node`` in ``LTX-2 Native/<group>``.

    The node id is the class name (it carries the ``LTX2N`` prefix) and the display name the class attribute
    ``DISPLAY_NAME``, so the pack entry can build its mappings without calling ``define_schema`` (which may list
    model folders). ``optional`` holds keywords that only newer hosts accept (``search_aliases``,
    ``essentials_category``, ...); each one is dropped when the running host's ``io.Schema`` lacks it.
    """
    if not node.__name__.startswith(NODE_ID_PREFIX):
        raise ValueError(f"node class {node.__name__} lacks the {NODE_ID_PREFIX} prefix")
    extras = {k: v for k, v in (optional or {}).items() if k in _SCHEMA_PARAMETERS}
    return io.Schema(node_id=node.__name__, display_name=node.DISPLAY_NAME, category=category(group),
                     **fields, **extras)


def not_a_number(**values: Any) -> str | None:
    """``validate_inputs`` helper: declaring an input there makes ComfyUI skip its own type and range checks for it,
    so a value that is not a number is reported here, naming the input. None means linked or absent (checked in
    ``execute``)."""
    for name, value in values.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            return f"{name} must be a number (got {value!r})"
    return None


def number_problem(node: type, **values: Any) -> str | None:
    """``validate_inputs`` helper for numeric inputs ComfyUI no longer checks once declared: the first of ``values``
    (input name -> value) that is not a number (:func:`not_a_number`) or lies outside the min..max of its input in
    ``node``'s own schema, as a message naming the input, the value and the allowed range; None when all are fine.
    None values (linked or absent) and names the schema does not bound are skipped."""
    bad = not_a_number(**values)
    if bad:
        return bad
    bounds = {i.id: (getattr(i, "min", None), getattr(i, "max", None)) for i in node.define_schema().inputs}
    for name, value in values.items():
        low, high = bounds.get(name, (None, None))
        if value is None or (low is None or value >= low) and (high is None or value <= high):
            continue
        allowed = f"between {low} and {high}" if None not in (low, high) else f"at least {low}" if high is None \
            else f"at most {high}"
        return f"{name} must be {allowed} (got {value})"
    return None


def not_listed(name: str, value: Any, choices: Any, where: str) -> str | None:
    """``validate_inputs`` helper for a file choice ComfyUI no longer checks once declared: the problem when
    ``value`` is not one of ``choices`` (None: linked or absent)."""
    if value is None or (isinstance(value, str) and value in choices):
        return None
    return f"{name}: {value!r} is not a file in {where}; put the file there or pick one from the list"
