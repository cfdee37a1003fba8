"""Shared helpers for the frozen config dataclasses read from checkpoint metadata.

Every component config (transformer, video VAE, audio VAE, vocoder, upsampler) validates its metadata section
through :func:`validate_section`, so that an unknown key or an unsupported value is rejected with one message that
names the section and the key, instead of being swallowed by a ``**kwargs`` sink.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ConfigError(ValueError):
    """A checkpoint config section holds an unknown key or a value this implementation does not support."""


def validate_section(
    section: Mapping[str, Any],
    *,
    name: str,
    known: Iterable[str],
    fixed: Mapping[str, Any] | None = None,
    ignored: Iterable[str] = (),
) -> None:
    """Reject unknown keys and unsupported values of one metadata config section.

    Args:
        section: the parsed JSON section (e.g. ``config["transformer"]``).
        name: the section's name, used in error messages (``"transformer"``).
        known: keys the config reads.
        fixed: keys whose value, when present, must equal the given value (the only supported setting).
        ignored: keys that are accepted and deliberately not read (documented metadata, e.g. ``_class_name``).
    Raises:
        ConfigError: naming ``<name>.<key>`` and what is wrong.
    """
    fixed = dict(fixed or {})
    allowed = set(known) | set(fixed) | set(ignored)
    unknown = sorted(k for k in section if k not in allowed)
    if unknown:
        raise ConfigError(f"{name} config: unknown key(s) {', '.join(name + '.' + k for k in unknown)}")
    for key, expected in fixed.items():
        if key in section and section[key] != expected:
            raise ConfigError(
                f"{name} config: unsupported value {section[key]!r} for {name}.{key} (supported: {expected!r})"
            )


def require(section: Mapping[str, Any], key: str, *, name: str) -> Any:
    """Return ``section[key]`` or raise :class:`ConfigError` naming the missing key."""
    if key not in section:
        raise ConfigError(f"{name} config: missing required key {name}.{key}")
    return section[key]
