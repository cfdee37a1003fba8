"""Generated keyframe slots (LTX-2.5) between the conditioning nodes and the model, kept free of heavy imports.

A slot is appended like a keyframe guide (``conditioning.append_generated_slots``); its entry in core's
``guide_attention_entries`` carries :data:`GENERATED_SLOT_KEY`. The model reads the entries back as token spans
(:func:`generated_slot_spans`) and hands them to the library's one rule, ``ltx_model.modes.keyframes_mask``.
"""

from __future__ import annotations

GENERATED_SLOT_KEY = "ltx2n_generated_slot"
"""Key of a ``guide_attention_entries`` entry that is a generated keyframe slot (core ignores unknown keys)."""

SLOTS_NEED_LTX25 = ("generated keyframe slots need an LTX-2.5 model (a transformer with the keyframe position "
                    "embedding); clear generated_frames in Keyframes (LTX-2) or load an LTX-2.5 model")


def generated_slot_spans(entries: list[dict] | None, first_token: int) -> tuple[tuple[int, int], ...]:
    """``(first token, count)`` of every generated keyframe slot among the appended guides described by
    ``entries`` (in append order; their tokens start at ``first_token``, right after the generated target)."""
    if not any(entry.get(GENERATED_SLOT_KEY) for entry in entries or ()):
        return ()  # core's own guides only: nothing to flag
    spans, offset = [], first_token
    for entry in entries:
        count = int(entry["pre_filter_count"])
        if entry.get(GENERATED_SLOT_KEY):
            spans.append((offset, count))
        offset += count
    return tuple(spans)


def parse_generated_frames(text: str | None) -> tuple[int, ...]:
    """The ``generated_frames`` widget: pixel frame numbers separated by commas or spaces (negative counts from the
    end, -1 = last frame); empty = no generated slots. Raises ValueError naming the widget on anything else."""
    try:
        return tuple(int(part) for part in (text or "").replace(",", " ").split())
    except ValueError:
        raise ValueError(f"generated_frames must be frame numbers like '40' or '24, 72' (empty = none); "
                         f"got {text!r}") from None


def resolve_generated_frames(frames: tuple[int, ...], num_frames: int) -> tuple[int, ...]:
    """Negative frame numbers counted from the end (``-1`` = frame ``num_frames - 1``), as the keyframe inputs."""
    return tuple(f + num_frames if f < 0 else f for f in frames)
