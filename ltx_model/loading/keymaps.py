"""The ONE table mapping checkpoint keys to components (and back).

Single-file LTX-2 / LTX-2.3 checkpoints hold every component under a key prefix (ltx2-model.md §1.1). A component's
own ``state_dict()`` keys equal the file keys minus exactly one prefix. This module is the only place that knows
those prefixes; the builder, the detector, the inspector and the ComfyUI adapters all ask it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum


class Component(str, Enum):
    """Loadable parts of an LTX-2 checkpoint (the value is the CLI / API name)."""

    TRANSFORMER = "transformer"
    CONNECTORS = "connectors"
    TEXT_PROJECTION = "text_projection"
    VIDEO_VAE = "video_vae"
    AUDIO_VAE = "audio_vae"
    VOCODER = "vocoder"
    UPSAMPLER = "upsampler"


# File-key prefix of each single-file component (ltx2-model.md §1.1); every other module imports these.
DIFFUSION_PREFIX = "model.diffusion_model."  # transformer and text connectors
TEXT_PROJECTION_PREFIX = "text_embedding_projection."
VIDEO_VAE_PREFIX = "vae."
AUDIO_VAE_PREFIX = "audio_vae."
VOCODER_PREFIX = "vocoder."
CONNECTOR_NAMES = ("video_embeddings_connector.", "audio_embeddings_connector.", "embeddings_connector.")

# Quantisation side tensors stored next to an fp8 ``<layer>.weight`` (ltx-core "fp8-scaled-mm" and ComfyUI
# "scaled fp8" spellings). They are consumed while de-quantising, never loaded as parameters.
FP8_WEIGHT_SCALE_SUFFIXES = (".weight_scale", ".scale_weight")
FP8_INPUT_SCALE_SUFFIXES = (".input_scale", ".scale_input")
FP8_MARKER_KEYS = ("scaled_fp8",)


@dataclass(frozen=True)
class ComponentKeyMap:
    """How one component's tensors are found in a file.

    Attributes:
        component: which component.
        strip: the prefix removed from a file key to get the module's state-dict key.
        include: file-key prefixes that belong to the component ("" = every key).
        exclude: file-key prefixes that do not belong to it even though they match ``include``.
        ignored: full file keys that belong to the component's namespace but are deliberately not loaded.
        config_section: the metadata ``config`` section the component's config is built from (None = the whole
            flat config, as in upsampler files).
    """

    component: Component
    strip: str
    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()
    config_section: str | None = None

    def owns(self, key: str) -> bool:
        """Whether file ``key`` belongs to this component (ignored keys included)."""
        return key.startswith(self.include) and not (self.exclude and key.startswith(self.exclude))

    def to_model_key(self, key: str) -> str:
        """File key -> module state-dict key (one ``removeprefix``, never a ``replace``)."""
        return key.removeprefix(self.strip)

    def to_file_key(self, key: str) -> str:
        """Module state-dict key -> file key."""
        return self.strip + key


KEYMAPS: dict[Component, ComponentKeyMap] = {
    Component.TRANSFORMER: ComponentKeyMap(
        Component.TRANSFORMER,
        strip=DIFFUSION_PREFIX,
        include=(DIFFUSION_PREFIX,),
        exclude=tuple(DIFFUSION_PREFIX + c for c in CONNECTOR_NAMES),
        config_section="transformer",
    ),
    Component.CONNECTORS: ComponentKeyMap(
        Component.CONNECTORS,
        strip=DIFFUSION_PREFIX,
        include=tuple(DIFFUSION_PREFIX + c for c in CONNECTOR_NAMES),
        config_section="transformer",
    ),
    Component.TEXT_PROJECTION: ComponentKeyMap(
        Component.TEXT_PROJECTION,
        strip=TEXT_PROJECTION_PREFIX,
        include=(TEXT_PROJECTION_PREFIX,),
        config_section="transformer",
    ),
    Component.VIDEO_VAE: ComponentKeyMap(
        Component.VIDEO_VAE,
        strip=VIDEO_VAE_PREFIX,
        include=(VIDEO_VAE_PREFIX,),
        # present in the real files, not used by ltx-core (diffusers' converter drops exactly these two)
        ignored=(
            VIDEO_VAE_PREFIX + "per_channel_statistics.channel",
            VIDEO_VAE_PREFIX + "per_channel_statistics.mean-of-stds",
            VIDEO_VAE_PREFIX + "per_channel_statistics.mean-of-stds_over_std-of-means",
        ),
        config_section="vae",
    ),
    Component.AUDIO_VAE: ComponentKeyMap(
        Component.AUDIO_VAE, strip=AUDIO_VAE_PREFIX, include=(AUDIO_VAE_PREFIX,), config_section="audio_vae"
    ),
    Component.VOCODER: ComponentKeyMap(
        Component.VOCODER, strip=VOCODER_PREFIX, include=(VOCODER_PREFIX,), config_section="vocoder"
    ),
    Component.UPSAMPLER: ComponentKeyMap(Component.UPSAMPLER, strip="", include=("",), config_section=None),
}

# Transformer keys deliberately left out when an audio+video file is built as a single-stream model, by the
# ``ModelKind`` member name the module is built as. Entries are module-side names with any ``transformer_blocks.<n>.``
# removed: ``"x."`` = a submodule, ``"x"`` = exactly one parameter. Every other key stays strict.
TRANSFORMER_VIDEO_STREAM = (
    "patchify_proj.", "adaln_single.", "prompt_adaln_single.", "caption_projection.", "norm_out.", "proj_out.",
    "scale_shift_table", "attn1.", "attn2.", "ff.", "prompt_scale_shift_table", "keyframes_abs_pos_embedding",
)
TRANSFORMER_CROSS_MODAL = (
    "av_ca_video_scale_shift_adaln_single.", "av_ca_audio_scale_shift_adaln_single.",
    "av_ca_a2v_gate_adaln_single.", "av_ca_v2a_gate_adaln_single.",
    "audio_to_video_attn.", "video_to_audio_attn.", "scale_shift_table_a2v_ca_video", "scale_shift_table_a2v_ca_audio",
)
TRANSFORMER_KIND_SKIPS: dict[str, tuple[str, ...]] = {
    "AUDIO_VIDEO": (),
    "AUDIO_ONLY": TRANSFORMER_VIDEO_STREAM + TRANSFORMER_CROSS_MODAL,
}
_BLOCK_KEY = re.compile(r"^transformer_blocks\.\d+\.")


def skipped_for_kind(model_key: str, kind: str) -> bool:
    """Whether transformer module key ``model_key`` is left out of a build as ModelKind ``kind`` (member name).

    Raises:
        ValueError: ``kind`` has no entry in TRANSFORMER_KIND_SKIPS.
    """
    if kind not in TRANSFORMER_KIND_SKIPS:
        raise ValueError(f"a transformer cannot be built as {kind} (supported: {', '.join(TRANSFORMER_KIND_SKIPS)})")
    local = _BLOCK_KEY.sub("", model_key)
    return any(local.startswith(n) if n.endswith(".") else local == n for n in TRANSFORMER_KIND_SKIPS[kind])


# Components of a single-file model checkpoint, in display order (the upsampler is always a separate file).
MODEL_COMPONENTS: tuple[Component, ...] = tuple(c for c in Component if c is not Component.UPSAMPLER)

# A component counts as present when at least one of its keys is; these prefixes make that cheap and unambiguous.
UPSAMPLER_SIGNATURE_KEYS = ("initial_conv.weight", "final_conv.weight")
DURATION_HEAD_PREFIX = "duration_head."  # LTX-2.5 duration head (its own split file, or next to other parts)
# A split video VAE file in ComfyUI's form (``vae/ltx-2.5-video-vae-*``): the ``vae.`` prefix left out.
BARE_VIDEO_VAE_PREFIXES = ("encoder.", "decoder.", "per_channel_statistics.")


def is_bare_video_vae(keys: Iterable[str]) -> bool:
    """Every key under :data:`BARE_VIDEO_VAE_PREFIXES`, with latent statistics and a decoder (no ``vae.``)."""
    keys = list(keys)
    return (bool(keys) and all(k.startswith(BARE_VIDEO_VAE_PREFIXES) for k in keys)
            and any(k.startswith("per_channel_statistics.") for k in keys)
            and any(k.startswith("decoder.") for k in keys))


def parse_component(name: str | Component) -> Component:
    """``"video_vae"`` -> Component.VIDEO_VAE; raises ValueError listing the valid names."""
    try:
        return Component(name)
    except ValueError:
        valid = ", ".join(c.value for c in Component)
        raise ValueError(f"unknown component {name!r} (valid: {valid})") from None


def is_quantization_side_key(key: str) -> bool:
    """Whether ``key`` is an fp8 scale / marker tensor rather than a model parameter."""
    return key.endswith(FP8_WEIGHT_SCALE_SUFFIXES + FP8_INPUT_SCALE_SUFFIXES) or key in FP8_MARKER_KEYS


def component_keys(keys: Iterable[str], component: Component) -> list[str]:
    """File keys owned by ``component`` (ignored and quantisation side keys excluded), in input order."""
    keymap = KEYMAPS[component]
    return [k for k in keys if keymap.owns(k) and k not in keymap.ignored and not is_quantization_side_key(k)]


def present_components(keys: Iterable[str]) -> list[Component]:
    """Components with at least one tensor in a file, in display order.

    A file whose keys carry none of the single-file prefixes but hold the upsampler's signature keys is an
    upsampler file.
    """
    keys = list(keys)
    found = [c for c in MODEL_COMPONENTS if any(KEYMAPS[c].owns(k) for k in keys)]
    if not found and any(k in UPSAMPLER_SIGNATURE_KEYS for k in keys):
        found = [Component.UPSAMPLER]
    return found


def model_state_keys(keys: Iterable[str], component: Component, *, kind: str | None = None) -> dict[str, str]:
    """``{module key: file key}`` for ``component``'s tensors in a file.

    ``kind``: for the transformer, the ``ModelKind`` member name it is built as (e.g. ``"AUDIO_ONLY"``): the keys
    :func:`skipped_for_kind` names are left out; None = every key of the component.
    """
    keymap = KEYMAPS[component]
    pairs = {keymap.to_model_key(k): k for k in component_keys(keys, component)}
    if kind is None:
        return pairs
    if component is not Component.TRANSFORMER:
        raise ValueError(f"only the transformer can be built as a single-stream kind, not {component.value}")
    return {m: f for m, f in pairs.items() if not skipped_for_kind(m, kind)}


def config_section(config: Mapping[str, object], component: Component) -> Mapping[str, object]:
    """The metadata ``config`` section a component is built from (the flat config for upsamplers).

    Raises:
        KeyError: the section is missing (message names it).
    """
    section = KEYMAPS[component].config_section
    if section is None:
        return config
    if section not in config or not isinstance(config[section], Mapping):
        raise KeyError(f"checkpoint metadata 'config' has no '{section}' section (needed for {component.value})")
    return config[section]  # type: ignore[return-value]


# LoRA files: the LoRA key table (every trainer's layout and adapter suffix) lives in lora_keymap.py, beside this
# checkpoint table; these names are re-exported so callers ask keymaps for every key rename.
from .lora_keymap import (  # noqa: E402, F401
    ADAPTER_SUFFIXES,
    DIFFUSERS_RENAMES,
    LORA_LAYOUTS,
    LoraKey,
    is_lora_file,
    parse_lora_key,
    split_lora_key,
)

