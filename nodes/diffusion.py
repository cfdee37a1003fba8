"""The diffusion model as ComfyUI's ``BaseModel`` calls it: ``diffusion_model(x, timestep, context=..., **conds)``.

:class:`HostTransformer` IS ``ltx_model``'s :class:`LTXTransformer` (a subclass, so ``state_dict()`` keys stay the
official names and core LoRA loaders map them); only ``forward`` differs: it translates ComfyUI's calling
convention (latent grids, per-token timesteps, concatenated video|audio text context, ``frame_rate``, core LTXV
guide conditioning) into ``Modality`` bundles, and the velocity tokens back into latent grids. When the checkpoint
has them, the text embeddings connectors are submodules under their official names (``video_embeddings_connector``,
``audio_embeddings_connector``), as in core's LTXAV model. No ComfyUI import here.

Per-call switches read from ``transformer_options``:

* ``PERTURBATIONS_KEY`` (``"ltx2n_perturbations"``): an ``ltx_model.transformer.Perturbations`` (STG, cross-modal
  isolation), set by the pack's guider on a cloned options dict;
* ``PASS_RUNNER_KEY`` (``"ltx2n_pass_runner"``): a callable ``(video, audio, perturbations) -> (video, audio)`` that
  runs the transformer pass instead of this module (the Multi-GPU node's ``ltx_model.distributed.PoolPass``);
* core LTXAV's ``run_vx`` / ``run_ax`` (False freezes that stream), ``a2v_cross_attn`` / ``v2a_cross_attn``
  (False skips that cross-modal attention) and ``stg_self_attn_blocks`` (STG on those blocks), so guiders written
  for core's model work too.

IC-LoRA reference videos ride in the CONDITIONING (``REFERENCES_KEY``, a :class:`VideoReferences`), not in the
latent: their grid is smaller than the video's (``reference_downscale_factor``), so they cannot be appended along
the latent's frame axis. Each call appends their tokens after the video tokens (ltx_model's ``ReferenceVideo``:
positions of the reference grid with height/width scaled by the factor, optional attention strength) and drops
their outputs, so the sampled latent never contains them (no guide cropping needed).

Reference audio (ID-LoRA, core ``LTXVReferenceAudio``) arrives as core's ``ref_audio`` model keyword
``{"tokens": (1|B, T_ref, C*M)}``: the tokens are appended after the audio tokens with the same machinery
(ltx_model's ``ReferenceAudio``: timestep 0, negative time positions ending 0.04 s before t = 0) and their outputs
dropped. Core prepends them instead; the target outputs are the same up to token order (HEAD ltx-core appends).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from typing import Any

import torch

from ..ltx_model.conditioning import ReferenceAudio
from ..ltx_model.modes import keyframes_mask
from ..ltx_model.precision import FP8_DTYPES
from ..ltx_model.sampling import (
    AudioGrid,
    VideoGrid,
    audio_positions,
    patchify_audio,
    patchify_video,
    unpatchify_audio,
    unpatchify_video,
    video_positions,
)
from ..ltx_model.text import EmbeddingsConnectors, TextConfig
from ..ltx_model.text.tokenizer import MAX_TOKENS
from ..ltx_model.transformer import (
    LTXTransformer,
    Modality,
    Perturbation,
    Perturbations,
    SkipAttention,
    TransformerConfig,
    TransformerOptions,
)
from .appended_tokens import VideoReferences, append_items
from .dropped_tokens import keep_per_token, kept_tokens, scatter_kept, surviving_entries
from .guide_attention import guide_attention_mask
from .keyframe_slots import SLOTS_NEED_LTX25, generated_slot_spans

PERTURBATIONS_KEY = "ltx2n_perturbations"
"""``transformer_options`` key holding the :class:`Perturbations` of one forward call."""
PASS_RUNNER_KEY = "ltx2n_pass_runner"
"""``transformer_options`` key holding a callable that runs the transformer pass elsewhere (multi-GPU workers)."""
REFERENCES_KEY = "ltx2n_video_references"
"""Conditioning key (and model keyword) holding the IC-LoRA :class:`VideoReferences` of a prompt."""
VIDEO_LEVELS_KEY, AUDIO_LEVELS_KEY = "ltx2n_video_mask_levels", "ltx2n_audio_mask_levels"
"""Model-condition keys of each stream's denoise-mask levels ``(B, U, 1)`` (``base_model.LTX2Model.extra_conds``)."""

AUDIO_ONLY_MODEL_ERROR = (
    "this LTX-2 MODEL was loaded with streams = 'audio only (text-to-audio)': it has no video weights and can only "
    "generate audio, but the latent has video frames; use an Empty Audio Latent (LTX-2) for text-to-audio, or load "
    "the model with streams = 'audio+video'")

# core LTXAV switch -> the attention it removes when set to False
_CORE_CROSS_SWITCHES = {"a2v_cross_attn": SkipAttention.AUDIO_TO_VIDEO, "v2a_cross_attn": SkipAttention.VIDEO_TO_AUDIO}


class HostTransformer(LTXTransformer):
    """:class:`LTXTransformer` with ComfyUI's constructor keywords and call contract.

    ``BaseModel`` builds it as ``HostTransformer(**unet_config, device=..., operations=...)`` where
    ``unet_config = {"image_model": ..., "transformer": TransformerConfig, "text": TextConfig | None,
    "attention_fn": ..., "dtype": ...}``; ``attention_fn`` is the host's attention kernel (same calling convention
    as ``ltx_model``'s, optionally taking ``transformer_options``), None for PyTorch SDPA; ``text`` adds the
    embeddings connectors (needed for core's unprocessed text-encoder output).
    """

    def __init__(self, *, transformer: TransformerConfig, text: TextConfig | None = None,
                 image_model: str = "ltx2_native", attention_fn: Any = None, dtype: torch.dtype | None = None,
                 device: torch.device | str | None = None, operations: Any = None, **_ignored: Any) -> None:
        super().__init__(transformer, dtype=dtype, device=device, operations=operations or torch.nn)
        self.dtype = dtype  # BaseModel.get_dtype() reads it
        self._attention_fn = attention_fn
        self._attention_takes_options = attention_fn is not None and (
            "transformer_options" in inspect.signature(attention_fn).parameters)
        self._connectors: tuple[EmbeddingsConnectors, ...] = ()  # a tuple: its children are registered below
        if text is not None:
            # fp8 storage: the connectors stay high precision (ltx_model.precision; the loader sets their final
            # dtype) and their register init cannot run in fp8
            text_dtype = torch.bfloat16 if dtype in FP8_DTYPES else dtype
            connectors = EmbeddingsConnectors(text, dtype=text_dtype, device=device, operations=operations or torch.nn)
            for name, child in connectors.named_children():  # official names, directly under the transformer
                self.add_module(name, child)
            self._connectors = (connectors,)

    @property
    def has_connectors(self) -> bool:
        """Whether the text embeddings connectors were loaded with the model."""
        return bool(self._connectors)

    def context_widths(self) -> tuple[int, int]:
        """Widths of the video and audio parts of the concatenated text context (19B: caption features each;
        22B: the streams' hidden widths), the layout core LTXAV also uses."""
        c = self.config
        if c.caption_projection:
            return c.caption_channels, c.caption_channels
        return c.video_inner_dim, c.audio_inner_dim

    @property
    def cross_attention_dim(self) -> int:
        """Width of the video part of the text context (core LTXAV's name; core's ``LTXVDurationPredictor`` splits
        the context with it)."""
        return self.context_widths()[0]

    def preprocess_text_embeds(self, context: torch.Tensor, unprocessed: bool = False) -> torch.Tensor:
        """Core LTXAV's contract (v0.33 ``LTXVDurationPredictor`` calls it): core's unprocessed text-encoder output
        through the connectors (:meth:`process_text_embeds`), a processed context ``(B, S, Wv + Wa)`` as it is."""
        return self.process_text_embeds(context) if unprocessed else context

    def process_text_embeds(self, features: torch.Tensor) -> torch.Tensor:
        """Core's unprocessed LTXAV text-encoder output -> this model's context (what core's
        ``preprocess_text_embeds`` does with its own connectors).

        Args:
            features: ``(B, S, W)`` projected Gemma features of the S valid tokens: ``W`` = the caption width
                (19B, shared by both streams) or video width + audio width (22B, video part first).
        Returns:
            ``(B, max(1024, S), Wv + Wa)``: the tokens padded to 1024 and run through the connectors (padding
            becomes learnable registers, as in ltx-core and core ComfyUI).
        """
        if not self._connectors:
            raise ValueError("this LTX-2 model was loaded without its text connectors (a transformer-only file), "
                             "so it cannot use core's LTXV text encoder output; load a full checkpoint or use the "
                             "pack's Text Encode node")
        connectors = self._connectors[0]
        vw, aw = connectors.config.video.width, connectors.config.audio.width
        width = features.shape[-1]
        if width == vw + aw and vw != aw or width == vw == aw:
            video, audio = (features[..., :vw], features[..., vw:]) if width == vw + aw else (features, features)
        else:
            raise ValueError(f"text features of width {width} do not fit this model's connectors ({vw} video, "
                             f"{aw} audio): a text encoder for another LTX-2 model?")
        b, s = features.shape[:2]
        length = max(MAX_TOKENS, s)
        mask = torch.zeros(b, length, dtype=torch.int64, device=features.device)
        mask[:, :s] = 1
        pad = (0, 0, 0, length - s)
        out = connectors(torch.nn.functional.pad(video, pad), torch.nn.functional.pad(audio, pad), mask)
        return torch.cat([out.video, out.audio], dim=-1)

    def _forward_audio_only(self, audio: torch.Tensor, timestep: Any, context: torch.Tensor,
                            attention_mask: torch.Tensor | None, options: dict,
                            ref_audio: dict | None = None) -> torch.Tensor:
        """Audio velocity ``(B, C, T, M)`` with the video stream left out (the transformer gets ``video=None``):
        the latent's video part is empty (0 frames), as for text-to-audio."""
        _, a_t, _, a_sigma, _, a_levels = _timestep_parts(timestep)
        _, a_ctx = self._split_context(context)
        a_in = self._audio_modality(audio, a_t, a_sigma, a_ctx, attention_mask, enabled=options.get("run_ax", True),
                                    ref_audio=ref_audio)
        a_in = a_in if ref_audio is not None else _with_levels(a_in, a_levels)
        _, a_out = self._transformer_pass(None, a_in, options)
        return _audio_output(a_out, audio)

    def _transformer_pass(self, video: Modality | None, audio: Modality | None,
                          options: dict) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """One transformer pass: through ``options[PASS_RUNNER_KEY]`` when set, else on this module."""
        runner = options.get(PASS_RUNNER_KEY)
        if runner is not None:
            return runner(video, audio, _perturbations(options))
        return super().forward(video, audio, _perturbations(options), options=self._options(options))

    def forward(self, x: torch.Tensor | list[torch.Tensor], timestep: Any, context: torch.Tensor | None = None,
                attention_mask: torch.Tensor | None = None, frame_rate: float = 25,
                transformer_options: dict | None = None, keyframe_idxs: torch.Tensor | None = None,
                guide_attention_entries: list[dict] | None = None, denoise_mask: torch.Tensor | None = None,
                ltx2n_video_references: VideoReferences | None = None, ref_audio: dict | None = None,
                **conds: Any) -> torch.Tensor | list[torch.Tensor]:
        """Velocity prediction in ComfyUI's layout.

        Args:
            x: ``[video (B, C, F, H, W), audio (B, C, T, M)]`` or a video grid alone. A video part with F = 0
                (text-to-audio) leaves the video stream out: no video tokens are built or computed. An audio-only
                MODEL (``ModelKind.AUDIO_ONLY``) accepts only that form (else ``AUDIO_ONLY_MODEL_ERROR``).
            timestep: ``(video_t, audio_t, video_sigma, audio_sigma[, video_levels, audio_levels])`` from
                ``process_timestep`` (per-token ``(B, T)`` or ``(B,)``; sigmas ``(B,)``; levels ``(B, U, 1)`` or None,
                the ``Modality.timestep_levels`` when no token is dropped or appended); or a bare ``(B,)`` sigma.
            context: text context ``(B, S, Wv + Wa)``, video part first (:meth:`context_widths`).
            attention_mask: optional text mask ``(B, S)``.
            frame_rate: video frames per second (positions are in seconds).
            keyframe_idxs: core ``LTXVAddGuide`` guide positions ``(1|B, 3, N, 2)`` in pixel units (time in pixel
                frames) for the last N video tokens (guide latent frames appended to the video latent).
            guide_attention_entries: core's per-guide attention strengths (``pre_filter_count``, ``strength``,
                ``pixel_mask``, ``latent_shape``), in the order the guides were appended.
            denoise_mask: the video noise mask ``(B, 1, F, H, W)``; guide tokens where it is negative are dropped
                (``nodes/dropped_tokens.py``, the first sample's mask for the batch, as core) and output zeros.
            ltx2n_video_references: IC-LoRA reference tokens appended after the video tokens (outputs dropped).
            ref_audio: core ``LTXVReferenceAudio``'s ``{"tokens": (1|B, T_ref, C*M)}``: clean reference tokens
                appended after the audio tokens (outputs dropped).
        Returns:
            velocities shaped like ``x``.
        """
        if ref_audio is not None and (not isinstance(x, (list, tuple)) or len(x) < 2):  # never ignore it silently
            raise ValueError("reference audio (ID-LoRA) needs an audio+video or audio latent, not a video latent")
        parts = list(x) if isinstance(x, (list, tuple)) else [x]
        video, audio = parts[0], (parts[1] if len(parts) > 1 else None)
        if not self.config.kind.has_video and (audio is None or video.shape[2] != 0):
            raise ValueError(AUDIO_ONLY_MODEL_ERROR)
        if audio is not None and video.shape[2] == 0:  # audio-only latent (text-to-audio): no video tokens at all
            return [torch.zeros_like(video), self._forward_audio_only(audio, timestep, context, attention_mask,
                                                                      transformer_options or {}, ref_audio)]
        v_t, a_t, v_sigma, a_sigma, v_levels, a_levels = _timestep_parts(timestep)
        options = transformer_options or {}
        v_ctx, a_ctx = self._split_context(context)
        keep = kept_tokens(denoise_mask, keyframe_idxs)  # (T,) bool, None when no token is dropped
        if keep is not None:
            guide_attention_entries = surviving_entries(guide_attention_entries, keep[-keyframe_idxs.shape[2]:])
        v_in = self._video_modality(video, v_t, v_sigma, v_ctx, float(frame_rate), attention_mask,
                                    keyframe_idxs, guide_attention_entries, keep, enabled=options.get("run_vx", True))
        grid = _generated_grid(video, keyframe_idxs, float(frame_rate))
        if ltx2n_video_references is not None:
            v_in = ltx2n_video_references.append_to(v_in, grid)
        elif keep is None:  # the levels cover exactly the tokens' timesteps (none dropped, none appended)
            v_in = _with_levels(v_in, v_levels)
        slots = generated_slot_spans(guide_attention_entries, grid.token_count)
        if self.config.keyframes_embedding:  # LTX-2.5 only: the tokens its keyframe embedding goes to
            v_in = _with_keyframes_mask(v_in, grid, slots)
        elif slots:
            raise ValueError(SLOTS_NEED_LTX25)
        a_in = None
        if audio is not None:
            a_in = self._audio_modality(audio, a_t, a_sigma, a_ctx, attention_mask,
                                        enabled=options.get("run_ax", True), ref_audio=ref_audio)
            a_in = a_in if ref_audio is not None else _with_levels(a_in, a_levels)
        v_out, a_out = self._transformer_pass(v_in, a_in, options)
        _, _, f, h, w = video.shape
        kept = f * h * w if keep is None else int(keep.sum())
        out = [unpatchify_video(scatter_kept(v_out[:, :kept], keep), frames=f, height=h, width=w)]  # no references
        if audio is not None:
            out.append(_audio_output(a_out, audio))
        return out if len(parts) > 1 else out[0]

    def _split_context(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        widths = list(self.context_widths())
        if context is None or context.shape[-1] != sum(widths):
            got = None if context is None else tuple(context.shape)
            raise ValueError(f"LTX-2 text context must be (B, S, {sum(widths)}) (video {widths[0]} + audio "
                             f"{widths[1]}); got {got}: conditioning from a text encoder for another model?")
        v_ctx, a_ctx = torch.split(context, widths, dim=-1)
        return v_ctx, a_ctx

    def _options(self, transformer_options: dict) -> TransformerOptions:
        if self._attention_fn is None:
            return TransformerOptions()
        if self._attention_takes_options:
            return TransformerOptions(functools.partial(self._attention_fn, transformer_options=transformer_options))
        return TransformerOptions(self._attention_fn)

    @torch.compiler.disable  # host-side input prep, run eagerly under torch.compile (Dynamo fails on the grid)
    def _video_modality(self, video: torch.Tensor, t: torch.Tensor, sigma: torch.Tensor, ctx: torch.Tensor,
                        fps: float, mask: torch.Tensor | None, keyframe_idxs: torch.Tensor | None,
                        guide_entries: list[dict] | None, keep: torch.Tensor | None, *, enabled: bool) -> Modality:
        """The video stream's tokens; ``keep`` ``(T,)``: the tokens that enter (None: all), ``guide_entries`` then
        counting surviving tokens."""
        b, _, f, h, w = video.shape
        positions = video_positions(VideoGrid(frames=f, height=h, width=w, fps=fps), batch=b, dtype=torch.float32,
                                    device=video.device)
        attention = None
        if keyframe_idxs is not None:
            positions = _with_guide_positions(positions, keyframe_idxs, fps)
        guides = 0 if keyframe_idxs is None else keyframe_idxs.shape[2]
        latent = patchify_video(video)
        if keep is not None:
            guides = int(keep[-guides:].sum())
            positions, latent = positions[:, :, keep.to(video.device)], latent[:, keep.to(video.device)]
        if keyframe_idxs is not None:
            attention = guide_attention_mask(guide_entries, total=positions.shape[2], guides=guides, batch=b,
                                             device=video.device)
        return Modality(latent=latent, sigma=sigma, timesteps=keep_per_token(_per_token(t, b), keep),
                        positions=positions.to(video.dtype), context=ctx, context_mask=mask, enabled=bool(enabled),
                        attention_mask=attention)

    @torch.compiler.disable  # host-side input prep, run eagerly under torch.compile (Dynamo fails on the grid)
    def _audio_modality(self, audio: torch.Tensor, t: torch.Tensor, sigma: torch.Tensor, ctx: torch.Tensor,
                        mask: torch.Tensor | None, *, enabled: bool, ref_audio: dict | None = None) -> Modality:
        b, channels, frames, mel_bins = audio.shape
        positions = audio_positions(AudioGrid(frames=frames), batch=b, device=audio.device)
        a_in = Modality(latent=patchify_audio(audio), sigma=sigma, timesteps=_per_token(t, b), positions=positions,
                        context=ctx, context_mask=mask, enabled=bool(enabled))
        if ref_audio is None:
            return a_in
        tokens = ref_audio["tokens"]  # (1|B, T_ref, C*M), core LTXVReferenceAudio's layout = patchify_audio's
        if tokens.shape[0] != b and b % tokens.shape[0] == 0:  # one reference per latent sample, CFG-batched
            tokens = tokens.repeat(b // tokens.shape[0], 1, 1)
        item = ReferenceAudio(tokens)
        return append_items(a_in, (item,), AudioGrid(frames=frames, channels=channels, mel_bins=mel_bins))


def _audio_output(tokens: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
    """Audio velocity tokens ``(B, T + T_ref, C*M)`` -> ``(B, C, T, M)`` like ``audio``; appended reference audio
    tokens dropped."""
    _, channels, frames, mel_bins = audio.shape
    return unpatchify_audio(tokens[:, :frames], channels=channels, mel_bins=mel_bins)


@torch.compiler.disable  # eager under torch.compile (see HostTransformer._video_modality)
def _generated_grid(video: torch.Tensor, keyframe_idxs: torch.Tensor | None, fps: float) -> VideoGrid:
    """Grid of the generated frames of a video latent ``(B, C, F, H, W)`` (appended keyframe guide frames excluded)."""
    _, channels, f, h, w = video.shape
    guides = 0 if keyframe_idxs is None else keyframe_idxs.shape[2] // (h * w)
    return VideoGrid(frames=f - guides, height=h, width=w, fps=fps, channels=channels)


def _with_keyframes_mask(video: Modality, grid: VideoGrid, slots: tuple[tuple[int, int], ...] = ()) -> Modality:
    """``video`` with its keyframes mask ``(B, T, 1)`` (:func:`ltx_model.modes.keyframes_mask`): the generated
    grid's first latent frame and the generated keyframe slots' tokens (``slots``: ``(first, count)`` spans);
    appended guide and reference tokens are not flagged."""
    b, count, _ = video.latent.shape
    return dataclasses.replace(video, keyframes_mask=keyframes_mask(grid, count, slots=slots, batch=b,
                                                                    device=video.latent.device))


def _perturbations(options: dict) -> Perturbations:
    """The pack's perturbations plus those implied by core LTXAV's switches: the cross-attention ones and
    ``stg_self_attn_blocks`` (ComfyUI 0.33 ``LTXVSpatioTemporalGuidance``: video and audio self-attention of those
    blocks become value pass-throughs)."""
    given = options.get(PERTURBATIONS_KEY) or Perturbations()
    extra = tuple(Perturbation(skip) for key, skip in _CORE_CROSS_SWITCHES.items() if options.get(key, True) is False)
    blocks = tuple(sorted(options.get("stg_self_attn_blocks") or ()))
    if blocks:
        extra += (Perturbation(SkipAttention.VIDEO_SELF, blocks), Perturbation(SkipAttention.AUDIO_SELF, blocks))
    return Perturbations(given.items + extra) if extra else given


def _with_guide_positions(positions: torch.Tensor, keyframe_idxs: torch.Tensor, fps: float) -> torch.Tensor:
    """Replace the positions ``(B, 3, T, 2)`` (seconds, pixels) of the last N tokens by core's guide coordinates
    ``(1|B, 3, N, 2)`` (pixel frames, pixels), time divided by ``fps`` in float32 like the generated tokens."""
    guides = keyframe_idxs.to(device=positions.device, dtype=torch.float32).clone()
    guides[:, 0] = guides[:, 0] / fps
    count = guides.shape[2]
    if count > positions.shape[2]:
        raise ValueError(f"{count} guide positions for a video of {positions.shape[2]} tokens")
    positions = positions.clone()
    positions[:, :, -count:] = guides.expand(positions.shape[0], -1, -1, -1)
    return positions


def _timestep_parts(timestep: Any) -> tuple:
    """``process_timestep``'s tuple (4 or 6 entries) or a bare sigma -> ``(v_t, a_t, v_sigma, a_sigma, v_levels,
    a_levels)``, the levels None when not given."""
    if not isinstance(timestep, (list, tuple)):
        return (timestep,) * 4 + (None, None)
    return (*timestep[:4], *(tuple(timestep[4:6]) if len(timestep) >= 6 else (None, None)))


def _with_levels(stream: Modality, levels: torch.Tensor | None) -> Modality:
    """``stream`` with :attr:`Modality.timestep_levels` ``(B, U, 1)`` set (unchanged when None)."""
    return stream if levels is None else dataclasses.replace(stream, timestep_levels=levels)


def _per_token(t: torch.Tensor, batch: int) -> torch.Tensor:
    """``(B,)`` sigma -> ``(B, 1)`` (broadcast over tokens); per-token ``(B, T)`` passes through."""
    return t.reshape(batch, -1)
