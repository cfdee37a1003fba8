"""Dub-It / LipDub rules (ltx-pipelines ``DubItPipeline`` at Lightricks/LTX-2 @400fd31, the LipDub IC-LoRA).

What is conditioned how:

* the source video is the IC-LoRA reference (the LoRA's ``reference_downscale_factor``; the LipDub LoRA's is 1),
  at the generated size and frame count: the picture is regenerated following it, the lips re-synced;
* the source's sound track is the speaker's voice: encoded whole and appended as clean reference audio tokens
  (``patchify_dubit_audio_reference_latent(..., negative_positions=True)`` + ``AudioConditionByReferenceLatent``:
  denoise mask 0, times shifted so the reference ends one latent period before t = 0);
* the new speech: with a dub waveform it is the audio stream, encoded and frozen (mask 0, sigma 0: HEAD's
  stage-2 ``ModalitySpec(frozen=True, noise_scale=0, initial_latent=...)``), so the output audio is that waveform
  itself; without one the speech is generated from the prompt (HEAD's stage 1, which generates the audio that
  stage 2 then freezes).

Durations: the clip's frame count is the source's snapped down to ``1 + 8k`` (HEAD ``snap_frames_to_grid``) at the
source's fps; a dub waveform must not be longer than that clip (it is refused before any encoding), a shorter one
is padded with silence. A silent source is accepted only with a dub (then there is no voice reference).
"""

from __future__ import annotations

from .geometry import floor_frame_count

DUB_INPUT = "dub_audio"


def dub_frames(source_frames: int) -> int:
    """Frames of a dubbed clip: the source's, snapped down to ``1 + 8k`` (at least 1)."""
    return floor_frame_count(max(source_frames, 1))


def dub_duration_problem(samples: int, sample_rate: int, frames: int, fps: float,
                         what: str = DUB_INPUT) -> str | None:
    """A message when ``samples`` at ``sample_rate`` last longer than ``frames`` at ``fps`` (or are empty)."""
    if samples <= 0 or sample_rate <= 0:
        return f"{what} is empty: connect the new speech (a waveform with samples and a sample rate)"
    if samples * fps > frames * sample_rate:
        limit = int(frames * sample_rate // fps)
        return (f"{what} lasts {samples / sample_rate:.3f} s ({samples} samples at {sample_rate} Hz) but the video "
                f"lasts {frames / fps:.3f} s ({frames} frames at {fps:g} fps, at most {limit} samples): the new "
                f"speech must not be longer than the video; trim the audio or use a longer source clip")
    return None


def source_audio_problem(has_audio: bool, has_dub: bool, what: str = "the source video") -> str | None:
    """A message when the source has no sound track and no dub is given: nothing would say what is spoken nor in
    whose voice. With a dub and a silent source, the voice reference is left out (the reference pipeline always has
    one; the dub then carries the voice alone)."""
    if has_audio or has_dub:
        return None
    return (f"{what} has no audio and no dub_audio is connected: Dub-It takes the speaker's voice from the source's "
            f"sound track (reference audio tokens); use a clip with its original speech or connect the new speech")
