"""A tiny random-weight MoGe v2 file in the layout MoGe ships, for core's ``LoadMoGeModel`` (ComfyUI v0.33.0).

The 2.3 IC-LoRA template's depth branch runs core's MoGe v2 (``moge_2_vitl_normal_fp16.safetensors`` in
``models/geometry_estimation``): ``comfy/ldm/moge/model.py`` builds the model from the state dict alone, reading
every size from tensor shapes (DINOv2 width from ``cls_token``, depth from the block indices, heads = width / 64,
the neck / head ``ConvStack`` levels, widths, residual-block counts and resamplers, the scale MLP), after translating
the Meta-style DINOv2 names MoGe ships (``blocks.N.attn.qkv``, ``ls1.gamma``, ``patch_embed.proj``, ``pos_embed``,
``norm``) to its own. This file is written in those shipped names, so the translation and the shape detection both
run, and loading is strict: a missing or extra key fails the template.

Sizes (:data:`TINY_MOGE`): a 64-wide, 4-block DINOv2 (one head; MoGe takes every (depth / 4)-th block, so 4 is the
least depth) with the full 37 x 37 + 1 position grid of a 518-pixel ViT (core interpolates it), a 5-level neck whose
top level takes the projected features + the 2 view-plane UV channels and the others the UV only, points / mask /
normal heads ending in 3 / 1 / 3 channels at the finest level, and a one-hidden-layer scale MLP on the class token.
About 0.3 M parameters instead of 330 M.
"""

from __future__ import annotations

from pathlib import Path

TINY_MOGE = {"width": 64, "depth": 4, "patch": 14, "grid": 37, "projection": 16, "neck": (16, 8, 8, 4, 4),
             "head": (8, 8, 4, 4, 4), "scale_hidden": 16}
"""DINOv2 width / blocks / patch size / position grid side, the encoder's output projection width, the neck's and
each head's per-level widths (coarse to fine; each level doubles the resolution), the scale MLP's hidden width."""
UV = 2
"""View-plane UV channels core appends to every neck level."""
HEAD_OUT = {"points_head": 3, "mask_head": 1, "normal_head": 3}
"""Head -> channels of its finest-level output (xyz, mask logit, normal)."""
IMAGE_STATS = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
"""The encoder's input normalisation buffers (ImageNet statistics), stored in the file like every MoGe weight."""
MASK_BIAS = 4.0
"""The mask head's output bias: sigmoid(4) = 0.98 > core's 0.5 threshold, so random weights still give a mostly
valid depth map (an all-masked one leaves core's focal / shift solve nothing to fit)."""


def _dinov2(width: int, depth: int, patch: int, grid: int) -> dict[str, tuple[int, ...]]:
    """Shapes of a Meta DINOv2 ViT (no register tokens) under ``encoder.backbone.``."""
    shapes = {"cls_token": (1, 1, width), "mask_token": (1, width), "pos_embed": (1, grid * grid + 1, width),
              "patch_embed.proj.weight": (width, 3, patch, patch), "patch_embed.proj.bias": (width,),
              "norm.weight": (width,), "norm.bias": (width,)}
    for block in range(depth):
        shapes |= {f"blocks.{block}.{name}": shape for name, shape in {
            "norm1.weight": (width,), "norm1.bias": (width,), "attn.qkv.weight": (3 * width, width),
            "attn.qkv.bias": (3 * width,), "attn.proj.weight": (width, width), "attn.proj.bias": (width,),
            "ls1.gamma": (width,), "norm2.weight": (width,), "norm2.bias": (width,),
            "mlp.fc1.weight": (4 * width, width), "mlp.fc1.bias": (4 * width,),
            "mlp.fc2.weight": (width, 4 * width), "mlp.fc2.bias": (width,), "ls2.gamma": (width,)}.items()}
    return {f"encoder.backbone.{name}": shape for name, shape in shapes.items()}


def _res_block(prefix: str, channels: int) -> dict[str, tuple[int, ...]]:
    """Residual conv block: GroupNorm(1) -> ReLU -> 3x3 conv -> GroupNorm -> ReLU -> 3x3 conv (Sequential 0..5)."""
    conv = (channels, channels, 3, 3)
    return {f"{prefix}layers.0.weight": (channels,), f"{prefix}layers.0.bias": (channels,),
            f"{prefix}layers.2.weight": conv, f"{prefix}layers.2.bias": (channels,),
            f"{prefix}layers.3.weight": (channels,), f"{prefix}layers.3.bias": (channels,),
            f"{prefix}layers.5.weight": conv, f"{prefix}layers.5.bias": (channels,)}


def _conv_stack(prefix: str, dim_in: list[int], widths: tuple[int, ...], dim_out: int | None) -> dict:
    """Shapes of a MoGe ``ConvStack``: a 1x1 input conv and one residual block per level, a 2x transposed conv +
    3x3 conv between levels, and (``dim_out``) a 1x1 output conv on the finest level only."""
    shapes: dict[str, tuple[int, ...]] = {}
    for level, (channels_in, width) in enumerate(zip(dim_in, widths, strict=True)):
        shapes |= {f"{prefix}input_blocks.{level}.weight": (width, channels_in, 1, 1),
                   f"{prefix}input_blocks.{level}.bias": (width,)}
        shapes |= _res_block(f"{prefix}res_blocks.{level}.0.", width)
    for level, (coarse, fine) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        shapes |= {f"{prefix}resamplers.{level}.0.weight": (coarse, fine, 2, 2),
                   f"{prefix}resamplers.{level}.0.bias": (fine,),
                   f"{prefix}resamplers.{level}.1.weight": (fine, fine, 3, 3),
                   f"{prefix}resamplers.{level}.1.bias": (fine,)}
    if dim_out is not None:
        last = len(widths) - 1
        shapes |= {f"{prefix}output_blocks.{last}.weight": (dim_out, widths[-1], 1, 1),
                   f"{prefix}output_blocks.{last}.bias": (dim_out,)}
    return shapes


def moge_v2_shapes(sizes: dict = TINY_MOGE) -> dict[str, tuple[int, ...]]:
    """Every tensor name and shape of a MoGe v2 (normal) file of ``sizes``, in the shipped layout."""
    width, projection, neck = sizes["width"], sizes["projection"], sizes["neck"]
    shapes = _dinov2(width, sizes["depth"], sizes["patch"], sizes["grid"])
    shapes |= {f"encoder.image_{stat}": (1, 3, 1, 1) for stat in IMAGE_STATS}
    for index in range(4):  # one 1x1 projection per intermediate block, summed
        shapes |= {f"encoder.output_projections.{index}.weight": (projection, width, 1, 1),
                   f"encoder.output_projections.{index}.bias": (projection,)}
    shapes |= _conv_stack("neck.", [projection + UV] + [UV] * (len(neck) - 1), neck, None)
    for head, channels in HEAD_OUT.items():
        shapes |= _conv_stack(f"{head}.", list(neck), sizes["head"], channels)
    hidden = sizes["scale_hidden"]
    return shapes | {"scale_head.0.weight": (hidden, width), "scale_head.0.bias": (hidden,),
                     "scale_head.2.weight": (1, hidden), "scale_head.2.bias": (1,)}


def _initial(name: str, shape: tuple[int, ...], generator) -> "torch.Tensor":  # noqa: F821
    """N(0, 1 / fan-in) for matrices and kernels, unit norm scales, 0.1 layer scales, zero biases (the mask
    head's output bias :data:`MASK_BIAS`)."""
    import torch

    if name.startswith("encoder.image_"):
        return torch.tensor(IMAGE_STATS[name.removeprefix("encoder.image_")]).view(shape)
    if len(shape) >= 2 or name.endswith(("_token", "pos_embed")):
        fan_in = max(int(torch.Size(shape[1:]).numel()), 1)
        return torch.randn(shape, generator=generator) / fan_in ** 0.5
    if name.endswith("gamma"):
        return torch.full(shape, 0.1)
    if name == f"mask_head.output_blocks.{len(TINY_MOGE['head']) - 1}.bias":
        return torch.full(shape, MASK_BIAS)
    is_norm = any(part in name for part in (".norm", ".layers.0.", ".layers.3."))
    return torch.full(shape, float(is_norm and name.endswith("weight")))


def write_tiny_moge(path: Path, *, seed: int = 0) -> Path:
    """Write the tiny MoGe v2 file (fp16, like the released ``moge_2_vitl_normal_fp16``) to ``path``."""
    import torch

    from ltx_model.loading import write_safetensors

    generator = torch.Generator().manual_seed(seed)
    tensors = {name: _initial(name, shape, generator).to(torch.float16) for name, shape in moge_v2_shapes().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, tensors)
    return path
