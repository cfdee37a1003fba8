"""The LTX-2.5 diffusion video decoder (ltx-core 1.2 ``DiffusionVideoDecoder``, "NADiffusionDecoder").

Latent (raw, un-normalised) ``(B, 128, T, h, w)`` -> pixels ``(B, 3, 1 + 8(T-1), 32h, 32w)``:

1. **Size floor** (ltx-core ``ensure_min_latent_shape``): a latent smaller than every stage's NA kernel is padded
   (frames: repeat the last; height/width: replicate both edges, the extra one at the end); cropped at the end.
2. **Stages 1-4** (deterministic): ``conv_in`` (a per-cell linear), then per stage NA blocks and a pixel-shuffle
   upsample. The last latent frame is replicated ``trailing_pad_frames`` times first (NATTEN shifts its window
   inward at the border; the ghost frames move that border past the kept frames) and the ghost frames are cropped
   from the stage-4 context, keeping at least the stage-5 temporal kernel.
3. **Stage 5** (diffusion): pixels ``x_t`` start as seeded Gaussian noise, patchified 4x4 and denoised by the
   diffusion NA blocks conditioned on the context (added through ``context_proj``) and on the timestep (shared
   AdaLN-Zero). Timesteps ``linspace(1, 1/n, n)``; Euler steps ``x <- x - (t - t_next)·v`` with ``t_next = 0`` after
   the last; an ``x0`` model is turned into a velocity ``(x_t - x0)/t`` (one-step ``x0`` returns its prediction).

All arithmetic follows ltx-core; the noise is drawn once over the whole (floor-padded) video with the caller's
generator, in the latent's dtype, so a seed reproduces ltx-core's and diffusers' decode.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .diffusion_config import DiffusionDecoderConfig
from .layers import patchify, unpatchify
from .na_blocks import AdaLNZero, DiffusionNABlock, NABlock, PixelShuffleUpsample, TimestepMLP, default_operations
from .neighborhood import NA3DFunction


def edge_pad(x: torch.Tensor, dim: int, size: int, *, symmetric: bool) -> tuple[torch.Tensor, int]:
    """Pad axis ``dim`` of ``x`` to ``size`` by replicating edges; returns (padded, elements added before).

    ``symmetric``: ``need // 2`` copies of the first slice before and the rest of the last slice after;
    otherwise all copies of the last slice after (ltx-core ``resize_axis`` "symmetric" / "repeat_last")."""
    need = size - x.shape[dim]
    if need <= 0:
        return x, 0
    before = need // 2 if symmetric else 0
    first, last = x.narrow(dim, 0, 1), x.narrow(dim, x.shape[dim] - 1, 1)
    parts = [first.expand(*x.shape[:dim], before, *x.shape[dim + 1 :])] if before else []
    parts += [x, last.expand(*x.shape[:dim], need - before, *x.shape[dim + 1 :])]
    return torch.cat(parts, dim=dim), before


class DiffusionDecoder(nn.Module):
    """Modules: ``conv_in``, ``det_stages.{s}.{i}``, ``upsamples.{s}``, ``t_embedder``, ``conv_in_x_t``,
    ``shared_adaln``, ``diff_blocks.{i}``, ``norm_out``, ``conv_out`` (ltx-core's names).

    ``na3d``: the neighbourhood-attention kernel every block uses (default: the pure-PyTorch path).
    """

    def __init__(
        self, config: DiffusionDecoderConfig, *, dtype: torch.dtype | None = None,
        device: torch.device | str | None = None, operations: Any = None, na3d: NA3DFunction | None = None,
    ) -> None:
        super().__init__()
        self.config = cfg = config
        ops = operations or default_operations()
        factory: dict[str, Any] = {"dtype": dtype, "device": device, "operations": ops}
        plain = {"dtype": dtype, "device": device}
        self.conv_in = ops.Linear(cfg.in_channels, cfg.stage_channels[0], bias=True, **plain)
        self.det_stages = nn.ModuleList()
        self.upsamples = nn.ModuleList()
        for s, (stride, reduction) in enumerate(cfg.upsamples):
            width, kernel = cfg.stage_channels[s], cfg.stage_kernels[s]
            self.det_stages.append(nn.ModuleList(
                NABlock(width, kernel, cfg.head_dim, **factory) for _ in range(cfg.stage_depths[s])))
            self.upsamples.append(PixelShuffleUpsample(width, stride, reduction, **factory))
        self.t_embedder = TimestepMLP(cfg.t_emb_dim, **factory)
        pixel_channels = cfg.out_channels * cfg.patch_size**2
        self.conv_in_x_t = ops.Linear(pixel_channels, cfg.stage5_channels, bias=True, **plain)
        self.shared_adaln = AdaLNZero(cfg.stage5_channels, cfg.t_emb_dim, **factory)
        self.diff_blocks = nn.ModuleList(
            DiffusionNABlock(cfg.stage5_channels, cfg.stage5_kernel, cfg.head_dim, cfg.context_channels, **factory)
            for _ in range(cfg.stage_depths[-1]))
        self.norm_out = ops.RMSNorm(cfg.stage5_channels, eps=1e-6, **plain)
        self.conv_out = ops.Linear(cfg.stage5_channels, pixel_channels, bias=True, **plain)
        if na3d is not None:
            self.set_na3d(na3d)

    def set_na3d(self, na3d: NA3DFunction) -> None:
        """Use ``na3d`` (e.g. ``comfy_kitchen.na3d``) in every neighbourhood-attention layer."""
        for module in self.modules():
            if hasattr(module, "na3d"):
                module.na3d = na3d

    # ------------------------------------------------------------------ geometry
    def min_latent_size(self) -> tuple[int, int, int]:
        """Smallest latent (T, h, w) for which every stage's grid holds its kernel (ltx-core's size floor)."""
        cfg, mins, cum = self.config, [1, 1, 1], [1, 1, 1]
        for s, (stride, _) in enumerate(cfg.upsamples):
            mins = [max(m, -(-cfg.stage_kernels[s][a] // cum[a])) for a, m in enumerate(mins)]
            cum = [c * stride[a] for a, c in enumerate(cum)]
        return tuple(max(m, -(-cfg.stage5_kernel[a] // cum[a])) for a, m in enumerate(mins))  # type: ignore[return-value]

    def pixel_shape(self, latent_shape: tuple[int, ...] | torch.Size) -> tuple[int, int, int, int, int]:
        """Latent ``(B, C, T, h, w)`` -> pixels ``(B, 3, 1 + 8(T-1), 32h, 32w)``."""
        cfg = self.config
        if len(latent_shape) != 5 or latent_shape[1] != cfg.in_channels or min(latent_shape) < 1:
            raise ValueError(f"diffusion VAE decode expects latents (B, {cfg.in_channels}, T, h, w), "
                             f"got {tuple(latent_shape)}")
        b, _, t, h, w = latent_shape
        return b, cfg.out_channels, 1 + cfg.time_scale * (t - 1), h * cfg.space_scale, w * cfg.space_scale

    # ------------------------------------------------------------------ stages
    def stages_1_to_3(self, latent: torch.Tensor) -> torch.Tensor:
        """Raw latent ``(B, C, T, h, w)`` (ghost frames included) -> stage-4 input ``(B, T', H', W', C4)``."""
        x = self.conv_in(latent.permute(0, 2, 3, 4, 1))
        for s in range(len(self.upsamples) - 1):
            for block in self.det_stages[s]:
                x = block(x)
            x = self.upsamples[s](x, drop_leading_frame=True)
        return x

    def stage_4(self, x: torch.Tensor, *, drop_leading_frame: bool, crop_ghost: bool) -> torch.Tensor:
        """Stage-4 input -> stage-5 context ``(B, T5, H5, W5, C_ctx)``.

        ``drop_leading_frame``: the input holds the video's first frame; ``crop_ghost``: it holds the ghost frames,
        which are cut off here (keeping at least the stage-5 temporal kernel, as ltx-core)."""
        for block in self.det_stages[-1]:
            x = block(x)
        x = self.upsamples[-1](x, drop_leading_frame=drop_leading_frame)
        if crop_ghost and self.config.trailing_pad_frames:
            ghost = self.config.trailing_pad_frames * self.config.time_scale
            keep = min(x.shape[1], max(x.shape[1] - ghost, 1, self.config.stage5_kernel[0]))
            x = x[:, :keep]
        return x

    def diffusion_step(self, context: torch.Tensor, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """One stage-5 prediction: context ``(B, T5, H5, W5, C)``, pixels ``(B, 3, T5, 4H5, 4W5)``, t ``(B,)``."""
        cfg = self.config
        modulation = self.shared_adaln(self.t_embedder(cfg.timestep_scale_multiplier * t, x_t.dtype))
        x = self.conv_in_x_t(patchify(x_t, cfg.patch_size).permute(0, 2, 3, 4, 1))
        for block in self.diff_blocks:
            x = block(x, context, modulation)
        x = self.conv_out(self.norm_out(x)).permute(0, 4, 1, 2, 3)
        return unpatchify(x, cfg.patch_size)

    def _euler(self, x_t: torch.Tensor, out: torch.Tensor, t_now: torch.Tensor, t_next: torch.Tensor) -> torch.Tensor:
        """``x_t - (t_now - t_next)·v`` in float32 (v = out, or ``(x_t - out)/t_now`` for an x0 model)."""
        x32, out32 = x_t.float(), out.float()
        velocity = out32 if self.config.model_output_type == "v" else (x32 - out32) / t_now.float().view(-1, 1, 1, 1, 1)
        return (x32 - (t_now - t_next).float().view(-1, 1, 1, 1, 1) * velocity).to(x_t.dtype)

    def denoise(self, context: torch.Tensor, x_t: torch.Tensor, steps: int | None = None,
                on_step: Callable[[], None] | None = None) -> torch.Tensor:
        """Run the stage-5 Euler loop from noise ``x_t`` (B, 3, T5, H, W) to pixels (same shape).

        ``on_step()`` is called after every step (a host's progress bar / interrupt check; it may raise)."""
        steps = steps or self.config.default_num_inference_steps
        timesteps = torch.linspace(1.0, 1.0 / steps, steps, device=x_t.device).unsqueeze(0).expand(x_t.shape[0], -1)
        for i in range(steps):
            t_now = timesteps[:, i]
            out = self.diffusion_step(context, x_t, t_now)
            if on_step is not None:
                on_step()
            if i == steps - 1 and self.config.model_output_type == "x0":
                return out
            t_next = timesteps[:, i + 1] if i + 1 < steps else torch.zeros_like(t_now)
            x_t = self._euler(x_t, out, t_now, t_next)
        return x_t

    # ------------------------------------------------------------------ whole decode
    def prepare(self, latent: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
        """Apply the size floor; returns (padded latent, (h_before, w_before)) in latent cells."""
        min_t, min_h, min_w = self.min_latent_size()
        work, _ = edge_pad(latent, 2, min_t, symmetric=False)
        work, h_before = edge_pad(work, 3, min_h, symmetric=True)
        work, w_before = edge_pad(work, 4, min_w, symmetric=True)
        return work, (h_before, w_before)

    def noise(self, work: torch.Tensor, generator: torch.Generator | None,
              store: torch.device | None = None) -> torch.Tensor:
        """Gaussian noise over the whole floor-padded video (B, 3, F, H, W), drawn on the generator's device and
        kept on ``store`` (default: the latent's device)."""
        shape = self.pixel_shape(work.shape)
        device = generator.device if generator is not None else work.device
        return torch.randn(shape, generator=generator, device=device, dtype=work.dtype).to(store or work.device)

    def with_ghost(self, work: torch.Tensor) -> torch.Tensor:
        """Append ``trailing_pad_frames`` copies of the last latent frame."""
        return edge_pad(work, 2, work.shape[2] + self.config.trailing_pad_frames, symmetric=False)[0]

    def crop(self, pixels: torch.Tensor, latent_shape: torch.Size, before: tuple[int, int]) -> torch.Tensor:
        """Cut the size-floor padding off decoded pixels."""
        _, _, frames, height, width = self.pixel_shape(latent_shape)
        ss = self.config.space_scale
        return pixels[:, :, :frames, before[0] * ss : before[0] * ss + height, before[1] * ss : before[1] * ss + width]

    def forward(
        self, latent: torch.Tensor, generator: torch.Generator | None = None, steps: int | None = None
    ) -> torch.Tensor:
        """Raw latent (B, C, T, h, w) -> pixels (B, 3, 1 + 8(T-1), 32h, 32w), roughly in [-1, 1]."""
        work, before = self.prepare(latent)
        noise = None if self.single_step_x0(steps) else self.noise(work, generator)
        context = self.stage_4(self.stages_1_to_3(self.with_ghost(work)), drop_leading_frame=True, crop_ghost=True)
        return self.crop(self.denoise(context, self.initial_x(context, noise, generator), steps), latent.shape, before)

    def single_step_x0(self, steps: int | None) -> bool:
        """A one-step x0 decode: its prediction is the output, and ltx-core draws its noise per tile."""
        return (steps or self.config.default_num_inference_steps) == 1 and self.config.model_output_type == "x0"

    def initial_x(
        self, context: torch.Tensor, noise: torch.Tensor | None, generator: torch.Generator | None
    ) -> torch.Tensor:
        """Stage-5 start ``(B, 3, T5, 4·H5, 4·W5)``: the video noise resized to the context's frames (repeating
        the last), or, with ``noise=None`` (one-step x0), fresh noise of exactly that shape."""
        b, t, h, w, _ = context.shape
        p = self.config.patch_size
        shape = (b, self.config.out_channels, t, h * p, w * p)
        if noise is None:
            device = generator.device if generator is not None else context.device
            return torch.randn(shape, generator=generator, device=device, dtype=context.dtype).to(context.device)
        return edge_pad(noise, 2, shape[2], symmetric=False)[0][:, :, : shape[2]]


def parameter_count(config: DiffusionDecoderConfig) -> int:
    """Parameters of the decoder built on the meta device (no memory)."""
    return sum(math.prod(p.shape) for p in DiffusionDecoder(config, device="meta").parameters())
