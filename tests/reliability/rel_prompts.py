"""API prompts built from live ``/object_info`` schemas, so every pack node (present and future) is covered.

:class:`PromptFactory` knows, for every socket type a pack node consumes, a provider node (preferred table first,
else any node producing the type, pack nodes first, fewest socket inputs); widget values are the schema defaults
except the tiny sizes of :data:`TINY`. ``factory.prompt_for(node_id)`` is a complete, valid prompt whose target node
``"T"`` feeds core ``PreviewAny`` (so it is validated and executed); tests then break one input at a time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

PACK_PREFIX = "LTX2N"
TARGET = "T"
WIDGET_TYPES = frozenset({"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"})

TINY: dict[str, Any] = {"width": 64, "height": 64, "frames": 9, "steps": 2, "duration": 1.0, "batch_size": 1,
                        "text": "a dog barks in the rain", "image_compression": 0, "start_time": 0.0,
                        "end_time": 0.2}
"""Widget name -> value used instead of the default wherever a node has such a widget (tiny, fast runs)."""

PREFERRED_BY_INPUT: dict[str, str] = {"audio_vae": "LTX2NAudioVAELoader"}
"""Input name -> provider node, where the type alone is ambiguous (both VAEs are ``VAE``)."""

PREFERRED_BY_TYPE: dict[str, str] = {
    "MODEL": "LTX2NCheckpointLoader", "LATENT": "LTX2NEmptyAVLatent", "VAE": "LTX2NVideoVAELoader",
    "CONDITIONING": "LTX2NTextEncode", "LTX2N_TEXT_ENCODER": "LTX2NTextEncoderLoader", "IMAGE": "EmptyImage",
    "AUDIO": "EmptyAudio", "SIGMAS": "LTX2NScheduler", "GUIDER": "LTX2NMultimodalGuider",
    "LATENT_UPSCALE_MODEL": "LTX2NUpscalerLoader", "NOISE": "RandomNoise", "SAMPLER": "KSamplerSelect",
    "VIDEO": "LoadVideo",  # the source clip in the input folder (rel_models.write_source_video)
}
"""Socket type -> provider node."""

MAX_DEPTH = 6


@dataclass(frozen=True)
class InputSpec:
    """One input of a node schema (``/object_info``)."""

    node: str
    name: str
    required: bool
    type: str
    options: dict = field(default_factory=dict)

    @property
    def is_widget(self) -> bool:
        return self.type in WIDGET_TYPES

    @property
    def choices(self) -> list:
        return list(self.options.get("options", []))


def input_specs(info: dict) -> list[InputSpec]:
    """Required and optional inputs of one ``/object_info`` entry, in schema order (legacy list combos -> COMBO)."""
    specs = []
    for category in ("required", "optional"):
        for name, spec in info["input"].get(category, {}).items():
            kind, options = spec[0], dict(spec[1]) if len(spec) > 1 else {}
            if isinstance(kind, list):
                kind, options = "COMBO", {**options, "options": kind}
            specs.append(InputSpec(info["name"], name, category == "required", kind, options))
    return specs


def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


class PromptFactory:
    """Builds valid prompts around any node of ``object_info``."""

    def __init__(self, object_info: dict[str, dict]):
        self.info = object_info

    def pack_nodes(self) -> list[str]:
        """Every registered node id of the pack, sorted."""
        return sorted(n for n in self.info if n.startswith(PACK_PREFIX))

    def specs(self, node_id: str) -> list[InputSpec]:
        return input_specs(self.info[node_id])

    def outputs(self, node_id: str) -> list[str]:
        return list(self.info[node_id]["output"])

    def provider(self, spec: InputSpec, *, avoid: frozenset[str] = frozenset()) -> tuple[str, int]:
        """``(node id, output index)`` of the node that feeds ``spec``."""
        for candidate in (PREFERRED_BY_INPUT.get(spec.name), PREFERRED_BY_TYPE.get(spec.type)):
            if candidate in self.info and candidate not in avoid and spec.type in self.outputs(candidate):
                return candidate, self.outputs(candidate).index(spec.type)
        producers = [n for n in self.info if spec.type in self.outputs(n) and n not in avoid]
        if not producers:
            raise LookupError(f"no node produces {spec.type} (needed by {spec.node}.{spec.name})")
        best = min(producers, key=lambda n: (not n.startswith(PACK_PREFIX), self._sockets(n), n))
        return best, self.outputs(best).index(spec.type)

    def _sockets(self, node_id: str) -> int:
        return sum(1 for s in self.specs(node_id) if s.required and not s.is_widget)

    def widget_value(self, spec: InputSpec) -> Any:
        """A valid value: :data:`TINY` by name, else the default, else the first choice / lowest value."""
        if spec.name in TINY and spec.type in ("INT", "FLOAT", "STRING"):
            return TINY[spec.name]
        if "default" in spec.options and (spec.type != "COMBO" or spec.options["default"] in spec.choices):
            return spec.options["default"]
        if spec.type == "COMBO":
            return spec.choices[0] if spec.choices else ""
        return {"INT": spec.options.get("min", 0), "FLOAT": spec.options.get("min", 0.0), "STRING": "",
                "BOOLEAN": False}[spec.type]

    def add_node(self, prompt: dict, node_id: str, *, key: str | None = None, depth: int = 0,
                 overrides: dict | None = None) -> str:
        """Add ``node_id`` (and providers for its required sockets) to ``prompt``; returns its key."""
        if depth > MAX_DEPTH:
            raise RecursionError(f"provider chain too deep at {node_id}")
        key = key or f"n{len(prompt)}_{uuid.uuid4().hex[:6]}"
        inputs: dict[str, Any] = {}
        prompt[key] = {"class_type": node_id, "inputs": inputs}
        for spec in self.specs(node_id):
            if spec.is_widget:
                if spec.required:
                    inputs[spec.name] = self.widget_value(spec)
            elif spec.required and spec.type != "*":
                provider, slot = self.provider(spec, avoid=frozenset({node_id}))
                inputs[spec.name] = [self.add_node(prompt, provider, depth=depth + 1), slot]
        inputs.update(overrides or {})
        return key

    def prompt_for(self, node_id: str, overrides: dict | None = None) -> dict:
        """A valid prompt: ``node_id`` as node ``"T"`` (inputs ``overrides`` on top) -> ``PreviewAny``."""
        prompt: dict = {}
        self.add_node(prompt, node_id, key=TARGET, overrides=overrides)
        if self.outputs(node_id):
            prompt["preview"] = {"class_type": "PreviewAny", "inputs": {"source": [TARGET, 0]}}
        return prompt

    def wrong_type_source(self, prompt: dict, spec: InputSpec) -> list:
        """A link to an output whose type is not ``spec.type`` (an IMAGE, or a LATENT for IMAGE inputs)."""
        wrong = "LATENT" if spec.type == "IMAGE" else "IMAGE"
        return [self.add_node(prompt, PREFERRED_BY_TYPE[wrong]), 0]


def t2v_prompt(ckpt: str, gemma: str, size: Any, *, seed: int, prefix: str = "rel/t2v") -> dict:
    """Text -> 1-step sample -> video + audio decode -> core CreateVideo -> core SaveVideo (mp4, h264 + aac) with
    the files ``ckpt`` / ``gemma`` and ``size`` (``width``, ``height``, ``frames``, ``fps``)."""
    return {
        "model": {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": ckpt}},
        "te": {"class_type": "LTX2NTextEncoderLoader", "inputs": {"gemma": gemma, "ckpt_name": ckpt}},
        "pos": {"class_type": "LTX2NTextEncode", "inputs": {"text_encoder": ["te", 0], "text": "a dog barks",
                                                            "frame_rate": size.fps}},
        "lat": {"class_type": "LTX2NEmptyAVLatent", "inputs": {"width": size.width, "height": size.height,
                                                               "frames": size.frames, "fps": size.fps,
                                                               "batch_size": 1}},
        "sample": {"class_type": "LTX2NSampler", "inputs": {
            "model": ["model", 0], "positive": ["pos", 0], "negative": ["pos", 0], "latent": ["lat", 0],
            "seed": seed, "schedule": "LTX-2 schedule", "steps": 1, "guidance": "none"}},
        "vvae": {"class_type": "LTX2NVideoVAELoader", "inputs": {"vae_name": ckpt}},
        "avae": {"class_type": "LTX2NAudioVAELoader", "inputs": {"vae_name": ckpt}},
        "frames": {"class_type": "LTX2NDecodeVideo", "inputs": {"samples": ["sample", 0], "vae": ["vvae", 0]}},
        "audio": {"class_type": "LTX2NDecodeAudio", "inputs": {"samples": ["sample", 0], "audio_vae": ["avae", 0]}},
        "video": {"class_type": "CreateVideo", "inputs": {"images": ["frames", 0], "audio": ["audio", 0],
                                                          "fps": size.fps}},
        "save": {"class_type": "SaveVideo", "inputs": {"video": ["video", 0], "filename_prefix": prefix,
                                                       "format": "mp4", "codec": "h264"}},
    }
