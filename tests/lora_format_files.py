"""LoRA files in every trainer's layout, and the adapter formulas in float64 (the tests' own oracle).

Each writer follows the trainer's save code (read, not copied):

- Lightricks trainer / ltx-core: ``diffusion_model.<module>.lora_A.weight`` / ``.lora_B.weight``, no alpha.
- PEFT ``save_pretrained``: ``base_model.model.<module>.lora_A.weight`` / ``.lora_B.weight`` (lora_alpha lives in
  adapter_config.json, not in the file); DoRA adds ``.lora_magnitude_vector`` [out].
- kohya sd-scripts / musubi-tuner: ``lora_unet_<module with . -> _>.lora_down.weight`` / ``.lora_up.weight`` /
  ``.alpha`` (a 0-d tensor); LyCORIS through the kohya wrapper uses the same names with ``lokr_*`` / ``hada_*``
  tensors and ``dora_scale`` ([out, 1] with ``wd_on_out``, else [1, in]).
- diffusers ``save_lora_weights`` (SimpleTuner, ai-toolkit): ``transformer.<diffusers module>.lora_A.weight``, with
  diffusers' LTX-2 renames (``proj_in``, ``time_embed``, ``norm_q`` ...).
- ComfyUI TrainLoRA + SaveLoRA: ``diffusion_model.<module>.lora_up.weight`` / ``.lora_down.weight`` / ``.alpha``
  (1.0), ``.diff`` for 1-D weights (norms) and ``.diff_b`` for biases.
- ComfyUI ExtractLoRA: ``diffusion_model.<module>.lora_up.weight`` / ``.lora_down.weight`` in float16, no alpha.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

Q = "transformer_blocks.0.attn1.to_q"  # video attention q
K = "transformer_blocks.0.audio_attn1.to_k"  # audio attention k
FF = "transformer_blocks.1.ff.net.0.proj"  # feed-forward projection
Q_NORM = "transformer_blocks.0.attn1.q_norm"
PATCHIFY = "patchify_proj"
ADALN = "adaln_single.linear"
TARGETS = (Q, K, FF)
RENAMED = {PATCHIFY: "proj_in", ADALN: "time_embed.linear", Q_NORM: "transformer_blocks.0.attn1.norm_q"}
Weights = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class TrainerFile:
    """A LoRA state dict as a trainer writes it and the float64 weights it must produce.

    Attributes:
        tensors: file key -> tensor.
        expected: ``(base params, strength) -> {param key: new value}`` (float64; only the params it changes).
    """

    tensors: dict[str, torch.Tensor]
    expected: Callable[[Weights, float], dict[str, torch.Tensor]]


def _shape(shapes: Weights, key: str) -> tuple[int, ...]:
    """Shape of ``key`` from a state dict (tensors) or a shape table (tuples)."""
    value = shapes[key]
    return tuple(value.shape) if isinstance(value, torch.Tensor) else tuple(value)


def flat(module: str) -> str:
    return module.replace(".", "_")


def _randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return (torch.randn(*shape, generator=gen, dtype=torch.float64) * 0.3)


def _lora_tensors(stem: str, shape: tuple[int, int], rank: int, gen, names=("lora_A", "lora_B")) -> dict:
    return {f"{stem}.{names[0]}.weight": _randn(gen, rank, shape[1]),
            f"{stem}.{names[1]}.weight": _randn(gen, shape[0], rank)}


def _lora_delta(tensors: dict, stem: str, names=("lora_A", "lora_B")) -> torch.Tensor:
    a, b = tensors[f"{stem}.{names[0]}.weight"].double(), tensors[f"{stem}.{names[1]}.weight"].double()
    alpha = tensors.get(f"{stem}.alpha")
    scale = 1.0 if alpha is None else float(alpha) / a.shape[0]
    return scale * (b @ a)


def _linear(modules: dict[str, str], deltas: Callable[[str], torch.Tensor]):
    """expected = W + s * delta for each ``{module: stem}``."""
    def expected(base: Weights, strength: float) -> dict[str, torch.Tensor]:
        return {f"{m}.weight": base[f"{m}.weight"].double() + strength * deltas(stem) for m, stem in modules.items()}
    return expected


def plain_lora(shapes: Weights, prefix: str, *, flat_names: bool = False, names=("lora_A", "lora_B"),
               alpha: float | None = None, dtype=torch.float64, modules=TARGETS, seed: int = 0) -> TrainerFile:
    """A LoRA on ``modules`` in a layout: ``prefix`` + module (dots or kohya ``_``), A/B or down/up names."""
    gen = torch.Generator().manual_seed(seed)
    tensors, stems = {}, {}
    for module in modules:
        name = RENAMED.get(module, module) if prefix == "transformer." else module
        stem = prefix + (flat(name) if flat_names else name)
        stems[module] = stem
        tensors.update(_lora_tensors(stem, _shape(shapes, f"{module}.weight"), 2 + len(stems), gen, names))
        if alpha is not None:
            tensors[f"{stem}.alpha"] = torch.tensor(alpha)
    tensors = {k: v.to(dtype) for k, v in tensors.items()}
    return TrainerFile(tensors, _linear(stems, lambda stem: _lora_delta(tensors, stem, names)))


def comfy_trained(shapes: Weights, seed: int = 0) -> TrainerFile:
    """ComfyUI TrainLoRA + SaveLoRA: LoRA (alpha 1.0) on linears, ``.diff`` on the q norm, ``.diff_b`` on q's bias."""
    lora = plain_lora(shapes, "diffusion_model.", names=("lora_down", "lora_up"), alpha=1.0, seed=seed)
    gen = torch.Generator().manual_seed(seed + 100)
    tensors = dict(lora.tensors)
    tensors[f"diffusion_model.{Q_NORM}.diff"] = _randn(gen, *_shape(shapes, f"{Q_NORM}.weight"))
    tensors[f"diffusion_model.{Q}.diff_b"] = _randn(gen, *_shape(shapes, f"{Q}.bias"))

    def expected(base: Weights, strength: float) -> dict[str, torch.Tensor]:
        out = lora.expected(base, strength)
        norm_diff = tensors[f"diffusion_model.{Q_NORM}.diff"]
        out[f"{Q_NORM}.weight"] = base[f"{Q_NORM}.weight"].double() + strength * norm_diff
        out[f"{Q}.bias"] = base[f"{Q}.bias"].double() + strength * tensors[f"diffusion_model.{Q}.diff_b"]
        return out

    return TrainerFile(tensors, expected)


def _factors(n: int) -> tuple[int, int]:
    first = 4 if n % 4 == 0 and n > 4 else 2
    return first, n // first


def lokr(shapes: Weights, *, split_w2: bool = True, seed: int = 0) -> TrainerFile:
    """LyCORIS LoKr via kohya names: ``lokr_w1`` whole, ``lokr_w2_a`` / ``_b`` (rank 2) or whole, ``alpha``."""
    gen = torch.Generator().manual_seed(seed)
    tensors, factors = {}, {}
    for module in TARGETS:
        (o1, o2), (i1, i2) = (_factors(n) for n in _shape(shapes, f"{module}.weight"))
        stem = "lora_unet_" + flat(module)
        tensors[f"{stem}.lokr_w1"] = _randn(gen, o1, i1)
        if split_w2:
            tensors[f"{stem}.lokr_w2_a"], tensors[f"{stem}.lokr_w2_b"] = _randn(gen, o2, 2), _randn(gen, 2, i2)
        else:
            tensors[f"{stem}.lokr_w2"] = _randn(gen, o2, i2)
        tensors[f"{stem}.alpha"] = torch.tensor(3.0)
        factors[module] = stem

    def delta(stem: str) -> torch.Tensor:
        if split_w2:
            w2, scale = tensors[f"{stem}.lokr_w2_a"] @ tensors[f"{stem}.lokr_w2_b"], 3.0 / 2
        else:
            w2, scale = tensors[f"{stem}.lokr_w2"], 1.0  # both factors whole: alpha is ignored (LyCORIS)
        return scale * torch.kron(tensors[f"{stem}.lokr_w1"], w2)

    return TrainerFile(tensors, _linear(factors, delta))


def loha(shapes: Weights, seed: int = 0) -> TrainerFile:
    """LyCORIS LoHa via kohya names: ``hada_w1_a`` [out, r], ``hada_w1_b`` [r, in], the same for w2, ``alpha``."""
    gen = torch.Generator().manual_seed(seed)
    tensors, stems = {}, {}
    for module in TARGETS:
        out, inp = _shape(shapes, f"{module}.weight")
        stem = "lora_unet_" + flat(module)
        for half in ("w1", "w2"):
            tensors[f"{stem}.hada_{half}_a"] = _randn(gen, out, 3)
            tensors[f"{stem}.hada_{half}_b"] = _randn(gen, 3, inp)
        tensors[f"{stem}.alpha"] = torch.tensor(1.5)
        stems[module] = stem

    def delta(stem: str) -> torch.Tensor:
        one = tensors[f"{stem}.hada_w1_a"] @ tensors[f"{stem}.hada_w1_b"]
        return (1.5 / 3) * one * (tensors[f"{stem}.hada_w2_a"] @ tensors[f"{stem}.hada_w2_b"])

    return TrainerFile(tensors, _linear(stems, delta))


def dora_reference(weight: torch.Tensor, delta: torch.Tensor, magnitude: torch.Tensor, strength: float,
                   *, norm_of_base: bool = False) -> torch.Tensor:
    """DoRA in float64: ``W + s * ((W + dW) * m / ||.|| - W)``; the norm is of ``W + dW`` per output row for an
    [out, 1] magnitude and per input column for [1, in] (``norm_of_base``: of ``W`` instead, core's output axis)."""
    merged = weight + delta
    source = weight if norm_of_base else merged
    axis = 1 if magnitude.shape[-1] == 1 else 0
    return weight + strength * (merged * magnitude / source.norm(dim=axis, keepdim=True) - weight)


def dora(shapes: Weights, *, out_axis: bool, peft: bool = False, seed: int = 0) -> TrainerFile:
    """DoRA: LyCORIS (kohya names, ``dora_scale`` [out, 1] or [1, in], alpha) or PEFT (``lora_magnitude_vector``)."""
    gen = torch.Generator().manual_seed(seed)
    prefix, names = ("base_model.model.", ("lora_A", "lora_B")) if peft else ("lora_unet_", ("lora_down", "lora_up"))
    lora = plain_lora(shapes, prefix, flat_names=not peft, names=names, alpha=None if peft else 4.0, seed=seed)
    tensors = dict(lora.tensors)
    stems = {}
    for module in TARGETS:
        out, inp = _shape(shapes, f"{module}.weight")
        stem = prefix + (module if peft else flat(module))
        stems[module] = stem
        magnitude = _randn(gen, out, 1).abs() + 1.0 if out_axis else _randn(gen, 1, inp).abs() + 1.0
        if peft:
            tensors[f"{stem}.lora_magnitude_vector"] = magnitude.reshape(-1)
        else:
            tensors[f"{stem}.dora_scale"] = magnitude

    def expected(base: Weights, strength: float) -> dict[str, torch.Tensor]:
        out = {}
        for module, stem in stems.items():
            magnitude = tensors.get(f"{stem}.dora_scale", tensors.get(f"{stem}.lora_magnitude_vector"))
            magnitude = magnitude.reshape(-1, 1) if magnitude.ndim == 1 else magnitude
            delta = _lora_delta(tensors, stem, names)
            out[f"{module}.weight"] = dora_reference(base[f"{module}.weight"].double(), delta, magnitude, strength)
        return out

    return TrainerFile(tensors, expected)


def trainer_files(shapes: Weights) -> dict[str, TrainerFile]:
    """Every layout of the compatibility table, by id."""
    return {
        "lightricks": plain_lora(shapes, "diffusion_model."),
        "peft": plain_lora(shapes, "base_model.model."),
        "kohya_musubi": plain_lora(shapes, "lora_unet_", flat_names=True, names=("lora_down", "lora_up"), alpha=2.0),
        "diffusers": plain_lora(shapes, "transformer.", modules=(*TARGETS, PATCHIFY, ADALN)),
        "comfy_trained": comfy_trained(shapes),
        "comfy_extracted": plain_lora(shapes, "diffusion_model.", names=("lora_down", "lora_up"), dtype=torch.float16),
        "lycoris_lokr": lokr(shapes),
        "lycoris_lokr_full": lokr(shapes, split_w2=False),
        "lycoris_loha": loha(shapes),
        "dora_out_axis": dora(shapes, out_axis=True),
        "dora_in_axis": dora(shapes, out_axis=False),
        "peft_dora": dora(shapes, out_axis=True, peft=True),
    }
