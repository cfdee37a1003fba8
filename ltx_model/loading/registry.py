"""Which class builds which component, and with which config.

Components are imported lazily (inside functions), so this package works while a component is absent and never
imports a heavy module that the caller does not need. Every component follows the team contract:
``XConfig.from_dict(section, **kw)`` and ``X(config, *, dtype, device, operations)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .. import layers
from .keymaps import DIFFUSION_PREFIX, Component, config_section


class ComponentUnavailableError(ImportError):
    """The component's implementation package is not importable (not installed / not written yet)."""


@dataclass(frozen=True)
class ComponentSpec:
    """How to build one component.

    Attributes:
        package: the ``ltx_model`` subpackage exporting both classes.
        config_class / model_class: exported names.
        config_kwargs: file keys -> extra ``from_dict`` keyword arguments, as ``(enum class name, argument, value
            chooser)``: the chooser maps the file's key set to the enum member's name.
    """

    package: str
    config_class: str
    model_class: str
    config_kwargs: tuple[tuple[str, str, Callable[[Collection[str]], str]], ...] = field(default=())


def transformer_kind(keys: Collection[str]) -> str:
    """AUDIO_VIDEO / VIDEO_ONLY / AUDIO_ONLY from the patchify projections present in the file."""
    video = DIFFUSION_PREFIX + "patchify_proj.weight" in keys
    audio = DIFFUSION_PREFIX + "audio_patchify_proj.weight" in keys
    if video and not audio:
        return "VIDEO_ONLY"
    if audio and not video:
        return "AUDIO_ONLY"
    return "AUDIO_VIDEO"


def _connector_layout(keys: Collection[str]) -> str:
    """VIDEO_ONLY when the file names its single connector ``embeddings_connector.``, else AUDIO_VIDEO."""
    single = any(k.startswith(DIFFUSION_PREFIX + "embeddings_connector.") for k in keys)
    return "VIDEO_ONLY" if single else "AUDIO_VIDEO"


# The library package, whatever name it was imported under (a ComfyUI pack loads it as "<pack>.ltx_model").
_LIBRARY = __package__.rpartition(".")[0]

COMPONENT_SPECS: dict[Component, ComponentSpec] = {
    Component.TRANSFORMER: ComponentSpec(
        ".transformer", "TransformerConfig", "LTXTransformer", (("ModelKind", "kind", transformer_kind),)
    ),
    Component.CONNECTORS: ComponentSpec(
        ".text", "TextConfig", "EmbeddingsConnectors", (("ConnectorLayout", "layout", _connector_layout),)
    ),
    Component.TEXT_PROJECTION: ComponentSpec(
        ".text", "TextConfig", "TextProjection", (("ConnectorLayout", "layout", _connector_layout),)
    ),
    Component.VIDEO_VAE: ComponentSpec(".video_vae", "VideoVAEConfig", "VideoVAE"),
    Component.AUDIO_VAE: ComponentSpec(".audio", "AudioVAEConfig", "AudioVAE"),
    Component.VOCODER: ComponentSpec(".audio", "VocoderConfig", "Vocoder"),
    Component.UPSAMPLER: ComponentSpec(".upsampler", "UpsamplerConfig", "LatentUpsampler"),
}


def _symbol(package: str, name: str) -> Any:
    """``package.name``, falling back to ``package.config.name`` for config enums."""
    try:
        module = importlib.import_module(package, _LIBRARY)
    except ImportError as exc:
        raise ComponentUnavailableError(f"{package} is not available ({exc})") from None
    if hasattr(module, name):
        return getattr(module, name)
    try:
        return getattr(importlib.import_module(package + ".config", _LIBRARY), name)
    except (ImportError, AttributeError):
        raise ComponentUnavailableError(f"{package} does not export {name}") from None


def is_available(component: Component) -> bool:
    """Whether the component's implementation can be imported."""
    spec = COMPONENT_SPECS[component]
    try:
        _symbol(spec.package, spec.model_class)
        _symbol(spec.package, spec.config_class)
    except ComponentUnavailableError:
        return False
    return True


def make_config(
    component: Component, config: Mapping[str, Any], keys: Collection[str], *, choices: Mapping[str, str] | None = None
) -> Any:
    """Build the component's config object from the file's metadata ``config`` and key set.

    ``choices``: enum arguments chosen by the caller instead of from the key set, ``{argument: member name}``
    (e.g. ``{"kind": "AUDIO_ONLY"}`` builds an audio+video file's transformer as audio-only).

    Raises:
        KeyError: missing metadata section. ConfigError: unsupported values. ComponentUnavailableError.
    """
    spec = COMPONENT_SPECS[component]
    chosen = dict(choices or {})
    unknown = set(chosen) - {arg for _, arg, _ in spec.config_kwargs}
    if unknown:
        raise ValueError(f"{component.value} config has no choice {sorted(unknown)}")
    kwargs = {arg: getattr(_symbol(spec.package, enum), chosen.get(arg) or choose(keys))
              for enum, arg, choose in spec.config_kwargs}
    config_cls = _symbol(spec.package, spec.config_class)
    return config_cls.from_dict(config_section(config, component), **kwargs)


def make_module(component: Component, cfg: Any, *, dtype: Any, device: Any, operations: Any = layers) -> nn.Module:
    """Instantiate the component's module (contract: ``X(config, *, dtype, device, operations)``)."""
    spec = COMPONENT_SPECS[component]
    return _symbol(spec.package, spec.model_class)(cfg, dtype=dtype, device=device, operations=operations)
