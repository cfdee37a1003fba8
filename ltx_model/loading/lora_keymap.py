"""The ONE table mapping LoRA / LyCORIS file keys onto the transformer's parameter names (any LTX-2 family).

A LoRA key is ``<layout prefix><module path><adapter suffix>``. The layout says how the trainer spelled the module
path; the suffix says which tensor of which adapter it is. Module paths come out transformer-relative, exactly as
``LTXTransformer.named_parameters()`` spells them minus ``.weight`` / ``.bias`` (19B, 2.3 and 2.5 share the names;
2.5 only lacks the video FF bias, which the loaders see from the model).

Layouts (prefix -> module path):

=================================  ===============================  ==============================================
layout                             written by                       module path
=================================  ===============================  ==============================================
``diffusion_model.``               Lightricks' trainer, ComfyUI     official names (dots)
                                   TrainLoRA / ExtractLoRA, other
                                   ComfyUI-style saves
``model.diffusion_model.``         checkpoint-style merges          official names (dots)
``base_model.model.``              PEFT ``save_pretrained``         the wrapped model's names (official or
                                                                    diffusers)
``transformer.``                   diffusers ``save_lora_weights``  diffusers names (DIFFUSERS_RENAMES)
                                   (SimpleTuner)
``lora_unet_`` / ``lycoris_``      kohya sd-scripts, musubi-tuner,  official names with ``.`` -> ``_``
                                   LyCORIS (kohya / own wrapper)
(no prefix)                        bare state dicts                 official names (dots)
=================================  ===============================  ==============================================

diffusers renames (diffusers 0.42.1 ``loaders/lora_conversion_utils.py`` and ``single_file_utils.py``): whole path
segments, applied to every layout (no official LTX-2 name uses a diffusers name, so this is unambiguous).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class LoraLayout:
    """How one trainer spells a LoRA key's module path.

    Attributes:
        name: the layout's display name.
        prefix: file-key prefix (removed once).
        flat: module path with ``_`` instead of ``.`` (kohya); split back with the LTX segment vocabulary.
    """

    name: str
    prefix: str
    flat: bool = False


# Longest prefix first; the bare layout (no prefix) last.
LORA_LAYOUTS: tuple[LoraLayout, ...] = (
    LoraLayout("checkpoint-style (model.diffusion_model.)", "model.diffusion_model."),
    LoraLayout("Lightricks / ComfyUI (diffusion_model.)", "diffusion_model."),
    LoraLayout("PEFT (base_model.model.)", "base_model.model."),
    LoraLayout("diffusers (transformer.)", "transformer."),
    LoraLayout("kohya / musubi-tuner (lora_unet_)", "lora_unet_", flat=True),
    LoraLayout("LyCORIS (lycoris_)", "lycoris_", flat=True),
    LoraLayout("bare module names", ""),
)


@dataclass(frozen=True)
class AdapterPart:
    """One tensor of an adapter: ``kind`` (LoRA, LoHa, LoKr, diff, ...) and ``part`` (its role in the formula)."""

    kind: str
    part: str


# suffix -> part. LoRA: A = down [rank, in], B = up [out, rank]; alpha scalar (scale alpha / rank); DoRA magnitude
# ``dora_scale`` [out, 1] (output axis) or [1, in] (input axis), PEFT ``lora_magnitude_vector`` [out].
# LoHa: (hada_w1_a @ hada_w1_b) * (hada_w2_a @ hada_w2_b) * alpha / rank;
# LoKr: kron(w1, w2) * alpha / rank (w = w_a @ w_b when split).
# diff: full weight difference; diff_b: bias difference (ComfyUI TrainLoRA for 1-D weights and biases).
ADAPTER_SUFFIXES: dict[str, AdapterPart] = {
    ".lora_A.weight": AdapterPart("LoRA", "A"),
    ".lora_B.weight": AdapterPart("LoRA", "B"),
    ".lora_down.weight": AdapterPart("LoRA", "A"),
    ".lora_up.weight": AdapterPart("LoRA", "B"),
    ".alpha": AdapterPart("scale", "alpha"),
    ".dora_scale": AdapterPart("DoRA", "dora_scale"),
    ".lora_magnitude_vector": AdapterPart("DoRA", "magnitude"),
    ".lora_magnitude_vector.weight": AdapterPart("DoRA", "magnitude"),
    ".hada_w1_a": AdapterPart("LoHa", "hada_w1_a"),
    ".hada_w1_b": AdapterPart("LoHa", "hada_w1_b"),
    ".hada_w2_a": AdapterPart("LoHa", "hada_w2_a"),
    ".hada_w2_b": AdapterPart("LoHa", "hada_w2_b"),
    ".lokr_w1": AdapterPart("LoKr", "w1"),
    ".lokr_w1_a": AdapterPart("LoKr", "w1_a"),
    ".lokr_w1_b": AdapterPart("LoKr", "w1_b"),
    ".lokr_w2": AdapterPart("LoKr", "w2"),
    ".lokr_w2_a": AdapterPart("LoKr", "w2_a"),
    ".lokr_w2_b": AdapterPart("LoKr", "w2_b"),
    ".diff": AdapterPart("diff", "diff"),
    ".diff_b": AdapterPart("diff", "diff_b"),
    # recognised so they are named in errors, but not applied (convolution-only or other adapter families)
    ".lora_mid.weight": AdapterPart("LoCon (Tucker, conv only)", "mid"),
    ".hada_t1": AdapterPart("LoHa (Tucker, conv only)", "t1"),
    ".hada_t2": AdapterPart("LoHa (Tucker, conv only)", "t2"),
    ".lokr_t2": AdapterPart("LoKr (Tucker, conv only)", "t2"),
    ".oft_blocks": AdapterPart("OFT", "blocks"),
    ".oft_diag": AdapterPart("BOFT", "diag"),
    ".a1.weight": AdapterPart("GLoRA", "a1"),
    ".w_norm": AdapterPart("norm diff", "w_norm"),
    ".set_weight": AdapterPart("set weight", "set"),
}
APPLIED_KINDS = ("LoRA", "DoRA", "LoHa", "LoKr", "diff", "scale")
# Suffixes that end in another suffix must be tried first.
_SUFFIX_ORDER = sorted(ADAPTER_SUFFIXES, key=len, reverse=True)

# diffusers segment -> official segment (the inverse of diffusers' LTX-2 / 2.3 renames).
DIFFUSERS_RENAMES: dict[str, str] = {
    "proj_in": "patchify_proj",
    "audio_proj_in": "audio_patchify_proj",
    "time_embed": "adaln_single",
    "audio_time_embed": "audio_adaln_single",
    "av_cross_attn_video_scale_shift": "av_ca_video_scale_shift_adaln_single",
    "av_cross_attn_video_a2v_gate": "av_ca_a2v_gate_adaln_single",
    "av_cross_attn_audio_scale_shift": "av_ca_audio_scale_shift_adaln_single",
    "av_cross_attn_audio_v2a_gate": "av_ca_v2a_gate_adaln_single",
    "video_a2v_cross_attn_scale_shift_table": "scale_shift_table_a2v_ca_video",
    "audio_a2v_cross_attn_scale_shift_table": "scale_shift_table_a2v_ca_audio",
    "norm_q": "q_norm",
    "norm_k": "k_norm",
    "prompt_adaln": "prompt_adaln_single",
    "audio_prompt_adaln": "audio_prompt_adaln_single",
    "text_proj_in": "aggregate_embed",
}

# Every path segment of the LTX-2 / 2.3 / 2.5 transformer's parameter names (numbers aside); a test checks it
# against the built models. Used to split kohya's flattened names back into paths.
LTX_SEGMENTS: frozenset[str] = frozenset({
    "transformer_blocks", "attn1", "attn2", "audio_attn1", "audio_attn2", "audio_to_video_attn",
    "video_to_audio_attn", "ff", "audio_ff", "net", "proj", "to_q", "to_k", "to_v", "to_out", "to_gate_logits",
    "q_norm", "k_norm", "patchify_proj", "audio_patchify_proj", "proj_out", "audio_proj_out", "adaln_single",
    "audio_adaln_single", "prompt_adaln_single", "audio_prompt_adaln_single", "av_ca_video_scale_shift_adaln_single",
    "av_ca_audio_scale_shift_adaln_single", "av_ca_a2v_gate_adaln_single", "av_ca_v2a_gate_adaln_single", "emb",
    "timestep_embedder", "linear", "linear_1", "linear_2", "caption_projection", "audio_caption_projection",
    "scale_shift_table", "audio_scale_shift_table", "prompt_scale_shift_table", "audio_prompt_scale_shift_table",
    "scale_shift_table_a2v_ca_video", "scale_shift_table_a2v_ca_audio", "keyframes_abs_pos_embedding",
})
_MAX_SEGMENT_TOKENS = max(s.count("_") + 1 for s in LTX_SEGMENTS)

# Modules of the checkpoint that are not the diffusion transformer (skipped with a warning, never an error).
# (path segment, part); the first segment listed that a path contains names its part.
OTHER_PARTS: tuple[tuple[str, str], ...] = (
    ("text_embedding_projection", "text projection"),
    ("aggregate_embed", "text projection"),
    ("video_embeddings_connector", "text connector"),
    ("audio_embeddings_connector", "text connector"),
    ("embeddings_connector", "text connector"),
    ("connectors", "text connector"),
)

# Key patterns of LoRAs for other models: (pattern, what it looks like).
FOREIGN_MODELS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|[._])(double_blocks|single_blocks|single_transformer_blocks)[._]"),
     "Flux / HunyuanVideo (double_blocks / single_blocks)"),
    (re.compile(r"(^|[._])joint_blocks[._]"), "Stable Diffusion 3 (joint_blocks)"),
    (re.compile(r"(^|[._])(down_blocks|up_blocks|mid_block|input_blocks|output_blocks|middle_block)[._]"),
     "Stable Diffusion 1.x / 2.x / SDXL (UNet)"),
    (re.compile(r"(^|[._])blocks[._]\d+[._](self_attn|cross_attn|ffn)[._]"), "Wan 2.x (blocks.N.self_attn)"),
    (re.compile(r"(^|[._])(img_mlp|txt_mlp|img_mod|txt_mod)[._]"), "Qwen-Image (img_mlp / txt_mlp)"),
    (re.compile(r"^(lora_te\d?_|text_encoders?[._]|te\d?[._])|(^|[._])layers[._]\d+[._](self_attn|mlp)[._]"),
     "a text encoder (CLIP / T5 / Gemma)"),
)


@dataclass(frozen=True)
class LoraKey:
    """One parsed LoRA key.

    Attributes:
        module: transformer-relative module path in official names (``transformer_blocks.0.attn1.to_q``).
        kind: adapter kind of the tensor (``LoRA``, ``DoRA``, ``LoHa``, ``LoKr``, ``diff``, ``scale``, ...).
        part: the tensor's role (``A``, ``B``, ``alpha``, ``dora_scale``, ``w1_a``, ``diff_b``, ...).
        layout: :class:`LoraLayout` name.
        stem: the file key minus its suffix (the name core's ``comfy.lora.load_lora`` looks adapters up by).
    """

    module: str
    kind: str
    part: str
    layout: str
    stem: str


def unflatten(flat: str) -> str:
    """kohya ``transformer_blocks_0_attn1_to_q`` -> ``transformer_blocks.0.attn1.to_q`` (LTX_SEGMENTS, longest first;
    tokens no segment claims stay joined by ``_`` so an unknown name is kept whole, never mis-split)."""
    tokens = flat.split("_")
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in range(min(_MAX_SEGMENT_TOKENS, len(tokens) - i), 0, -1):
            candidate = "_".join(tokens[i : i + size])
            if candidate in LTX_SEGMENTS or (size == 1 and candidate.isdigit()):
                break
        else:
            size, candidate = 1, tokens[i]
            if out and not out[-1].isdigit() and out[-1] not in LTX_SEGMENTS:
                out[-1] = out[-1] + "_" + candidate
                i += 1
                continue
        out.append(candidate)
        i += size
    return ".".join(out)


def official_path(path: str) -> str:
    """Module path with diffusers segment names replaced by the official ones."""
    return ".".join(DIFFUSERS_RENAMES.get(segment, segment) for segment in path.split("."))


def parse_lora_key(key: str) -> LoraKey | None:
    """Parse a LoRA / LyCORIS file key; None for keys that are no adapter tensor (e.g. metadata-like tensors)."""
    suffix = next((s for s in _SUFFIX_ORDER if key.endswith(s)), None)
    if suffix is None:
        return None
    stem = key[: -len(suffix)]
    layout = next(lay for lay in LORA_LAYOUTS if stem.startswith(lay.prefix))
    path = stem[len(layout.prefix) :]
    path = unflatten(path) if layout.flat else path
    part = ADAPTER_SUFFIXES[suffix]
    return LoraKey(official_path(path), part.kind, part.part, layout.name, stem)


def split_lora_key(key: str) -> tuple[str, str] | None:
    """``"diffusion_model.<module>.lora_A.weight"`` -> ``("<module>", "A")``; any layout of LORA_LAYOUTS."""
    parsed = parse_lora_key(key)
    return None if parsed is None else (parsed.module, parsed.part)


def is_lora_file(keys: Iterable[str]) -> bool:
    """Whether a file holds adapter weights (LoRA down/A, LoHa, LoKr, diff) in any layout."""
    weights = {"A", "hada_w1_a", "w1_a", "w1", "diff", "diff_b"}
    return any((p := parse_lora_key(k)) is not None and p.part in weights for k in keys)


def other_part(module: str) -> str | None:
    """Which non-transformer part of the checkpoint ``module`` belongs to (text projection, ...), or None."""
    segments = set(module.split("."))
    return next((name for segment, name in OTHER_PARTS if segment in segments), None)


def is_ltx_path(module: str) -> bool:
    """Whether every segment of ``module`` is an LTX-2 transformer segment (or a block number)."""
    return all(s in LTX_SEGMENTS or s.isdigit() for s in module.split("."))


def foreign_model(keys: Iterable[str]) -> str | None:
    """What model a LoRA looks like it is for when its keys match another model's names, else None."""
    keys = list(keys)
    votes = Counter(what for k in keys for pattern, what in FOREIGN_MODELS if pattern.search(k))
    if not votes or sum(1 for k in keys if (p := parse_lora_key(k)) and is_ltx_path(p.module)) >= max(votes.values()):
        return None
    return votes.most_common(1)[0][0]


def guess_layout(keys: Iterable[str]) -> str:
    """The layout most of a file's adapter keys are written in ("unknown" when none parse)."""
    votes = Counter(p.layout for k in keys if (p := parse_lora_key(k)) is not None)
    return votes.most_common(1)[0][0] if votes else "unknown"
