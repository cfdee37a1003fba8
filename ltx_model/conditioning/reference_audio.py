"""Reference audio (ID-LoRA speaker identity): clean reference tokens appended after the target audio tokens.

Follows HEAD ltx-core (``AudioConditionByReferenceLatent`` fed by ltx-pipelines'
``patchify_dubit_audio_reference_latent(..., negative_positions=True)``): the reference latent is patchified like
the target audio, its tokens enter with denoise mask ``1 - strength`` (1 = clean, timestep 0) and its RoPE time
bounds are those of its own grid shifted so the reference ends one latent period (0.04 s) before the target's
t = 0. ltx-core 1.0.0 has no such item. ComfyUI core's LTXAV model *prepends* the same tokens with the same
positions and timesteps; attention sees each token with its own position, so both orders give the same target
outputs up to token order (we append, as HEAD does, so the target keeps the leading ``grid.token_count`` tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from ..sampling.patchify import patchify_audio
from ..sampling.positions import AudioGrid, audio_positions
from ..sampling.state import LatentState
from .errors import ConditioningError
from .items import append_tokens


def reference_audio_positions(frames: int, grid: AudioGrid, *, batch: int = 1,
                              device: torch.device | None = None) -> torch.Tensor:
    """RoPE bounds of ``frames`` reference latent frames: float32 ``(B, 1, frames, 2)``, ``[start, end)`` seconds.

    The reference's own bounds (``grid``'s timing, no shift) minus the end of its last token minus one latent
    period (``downsample * hop_length / sample_rate`` = 0.04 s), so every reference time is negative. The two
    subtractions are done in this order in float32, as HEAD's ``patchify_dubit_audio_reference_latent``.
    """
    own = audio_positions(replace(grid, frames=frames, shift=0), batch=batch, device=device)
    period = grid.downsample * grid.hop_length / grid.sample_rate
    return own - own[:, :, -1, 1].max().item() - period


@dataclass(frozen=True)
class ReferenceAudio:
    """Append reference audio tokens to an audio state (HEAD ``AudioConditionByReferenceLatent``).

    Attributes:
        tokens: patchified reference latent ``(B, T_ref, C * M)`` (channel-major, as :func:`patchify_audio` and
            ComfyUI core's ``LTXVReferenceAudio`` lay it out; 8 x 16 = 128 wide for the released audio VAE).
        strength: 1 keeps the reference clean (denoise mask ``1 - strength``, per-token timestep 0).
    """

    tokens: torch.Tensor
    strength: float = 1.0

    @classmethod
    def from_latent(cls, latent: torch.Tensor, *, strength: float = 1.0) -> ReferenceAudio:
        """From a normalised audio VAE latent ``(B, C, T_ref, M)``."""
        return cls(patchify_audio(latent), strength)

    def apply_to(self, state: LatentState) -> LatentState:
        """Return a copy of the audio ``state`` with the reference tokens (positions, mask, attention) appended."""
        if not isinstance(state.grid, AudioGrid):
            raise ConditioningError(f"reference audio needs an audio latent state, got a "
                                    f"{type(state.grid).__name__} state")
        grid = state.grid
        width = grid.channels * grid.mel_bins
        if self.tokens.dim() != 3 or self.tokens.shape[0] != state.latent.shape[0] or self.tokens.shape[2] != width:
            raise ConditioningError(f"reference audio tokens must be ({state.latent.shape[0]}, T_ref, {width}) "
                                    f"(batch, frames, channels x mel bins); got {tuple(self.tokens.shape)}")
        if self.tokens.shape[1] == 0:
            raise ConditioningError("the reference audio is empty (0 latent frames)")
        positions = reference_audio_positions(self.tokens.shape[1], grid, batch=self.tokens.shape[0],
                                              device=self.tokens.device)
        return append_tokens(state, self.tokens, positions, self.strength)
