"""Temporal generation modes: keyframe interpolation, extend, retake and long video (``ltx_model.pipelines``'
``generate_keyframes``, ``extend_clip``, ``retake`` and ``generate_long_video`` as ComfyUI nodes).

* ``LTX2NKeyframes`` (positive, negative, vae, latent, image_compression, image_1..4, frame_idx_1..4,
  strength_1..4, generated_frames?, model?) -> positive, negative, latent: every connected image becomes appended
  keyframe tokens at its frame (core ``LTXVAddGuide``'s guide mechanism, ltx-pipelines
  ``KeyframeInterpolationPipeline`` semantics: frame 0 included); LTX-2.5: ``generated_frames`` adds empty slots
  the model generates (ltx-core ``VideoGeneratedKeyframeSlots``; ``conditioning.append_generated_slots``); sample
  with the pack's sampler, then Crop Guides (LTX-2). Two stages: crop, upscale, apply again.
* ``LTX2NExtend`` (model, positive, negative, vae, audio_vae, video, width, height, frames, direction, sampling,
  image?, frame_idx, strength) -> latent: the clip continued forwards or backwards to ``frames`` frames, audio
  carried across; the source's latents are kept bit-identical.
* ``LTX2NRetake`` (model, positive, negative, vae, audio_vae, video, width, height, frames, start_time, end_time,
  target, sampling) -> latent: ``[start_time, end_time)`` seconds of video and/or audio regenerated; every latent
  outside the window is bit-identical to the encoded source.
* ``LTX2NLongVideo`` (model, positive, negative, width, height, frames, fps, window_frames, overlap_frames,
  overlap_strength, sampling, text_encoder?, window_prompts) -> latent, report: sliding windows with overlap,
  audio carried, cross-faded seams, a prompt per window; one progress bar over windows x steps.

Sampling widgets (seed, schedule, steps, guidance, guider) are those of Sample Audio+Video (LTX-2). Keyframes,
Extend and Retake refuse a video or audio VAE of another LTX generation than the model before encoding anything
(``conditioning.check_vae_family``).
"""

from __future__ import annotations

from typing import Any

import torch
from comfy_api.latest import io

from ..ltx_model.loading import Family
from ..ltx_model.modes import (
    extend_window,
    frames_problem,
    long_video_problem,
    new_frames_problem,
    plan_keyframes,
    plan_windows,
    size_problem,
    window_count_note,
    window_problem,
)
from ..ltx_model.modes.keyframes_mask import generated_slot_frames
from .conditioning import (
    AVParts,
    append_generated_slots,
    append_guides,
    check_vae_family,
    compression_input,
    crop_guides,
    generated_geometry,
    image_crf,
    model_input,
)
from .keyframe_slots import SLOTS_NEED_LTX25, parse_generated_frames, resolve_generated_frames
from .latent_formats import tag_latent
from .masked_sampling import SamplingChoice, StepProgress, empty_window_latent, run_long_video, sample_av
from .model_loader import model_facts
from .sampling import GUIDANCE, SCHEDULES, model_version
from .schema import make_schema, not_a_number, number_problem
from .source_clips import TARGETS, clip_from_video, conform_clip, masked_source, nearest_seam, padded_clip
from .text import TextEncoderType, conditioning

KEYFRAME_SLOTS = 4
KEYFRAME_DEFAULTS = (0, -1, 60, 90)  # frame_idx_n defaults: first, last, then two inside a 121-frame clip
DIRECTIONS = ("forward", "backward")


# ---------------------------------------------------------------------------------------------- shared inputs
def _frame_idx(name: str, default: int, what: str) -> io.Int.Input:
    return io.Int.Input(name, default=default, min=-100000, max=100000, step=1,
                        tooltip=f"Frame index of {what} in the clip (0 = first frame; negative counts from the end, "
                                f"-1 = last frame, as core LTXVAddGuide). Drag its marker on the timeline.")


def _strength(name: str, what: str) -> io.Float.Input:
    return io.Float.Input(name, default=1.0, min=0.0, max=1.0, step=0.01,
                          tooltip=f"How strictly the video follows {what} (1 = exactly, 0 = ignored).")


def _size_inputs(frames_tip: str, frames_default: int = 0) -> list[io.Input]:
    tip = "{} of the result in pixels (multiple of 32); the source is resized to cover it and center-cropped. 0 = " \
          "the source's {}."
    return [io.Int.Input("width", default=0, min=0, max=8192, step=32, tooltip=tip.format("Width", "width")),
            io.Int.Input("height", default=0, min=0, max=8192, step=32, tooltip=tip.format("Height", "height")),
            io.Int.Input("frames", default=frames_default, min=0, max=8193, step=8, tooltip=frames_tip)]


def _model_inputs() -> list[io.Input]:
    return [io.Model.Input("model", tooltip="The LTX-2 model."),
            io.Conditioning.Input("positive", tooltip="Positive prompt (describe the whole clip, sound included)."),
            io.Conditioning.Input("negative", tooltip="Negative prompt (unused without guidance).")]


def _source_inputs() -> list[io.Input]:
    return [io.Vae.Input("vae", tooltip="The LTX-2 video VAE."),
            io.Vae.Input("audio_vae", tooltip="The LTX-2 audio VAE (Load Audio VAE (LTX-2))."),
            io.Video.Input("video", tooltip="The source clip (e.g. Load Video); its audio is used when it has one.")]


def _sampling_inputs(*, guider: bool = True) -> list[io.Input]:
    inputs = [
        io.Int.Input("seed", default=10, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                     tooltip="Noise seed."),
        io.Combo.Input("schedule", options=list(SCHEDULES), default="auto",
                       tooltip="auto: distilled model -> the 8 distilled sigmas, dev model -> the LTX-2 schedule."),
        io.Int.Input("steps", default=0, min=0, max=1000,
                     tooltip="Steps of the LTX-2 schedule; 0 = the model version's default."),
        io.Combo.Input("guidance", options=list(GUIDANCE), default="auto",
                       tooltip="auto: none for distilled models, multimodal (Lightricks' defaults) otherwise."),
    ]
    if guider:
        inputs.append(io.Guider.Input("guider", optional=True,
                                      tooltip="Custom guider (e.g. Multimodal Guider (LTX-2)); overrides guidance."))
    return inputs


def _latent_output() -> io.Latent.Output:
    return io.Latent.Output(display_name="latent", tooltip="The audio+video latent (decode with Decode Video / "
                                                           "Decode Audio (LTX-2)).")


def _check_vaes(node: str, model: Any, vae: Any, audio_vae: Any) -> None:
    """Refuse a video or audio VAE of another LTX generation than the model, before the source is encoded."""
    check_vae_family(node, vae, model=model)
    check_vae_family(node, audio_vae, model=model, kind="audio")


def _check(*problems: str | None) -> bool | str:
    """validate_inputs result: the first problem, or True."""
    return next((p for p in problems if p), True)


class LTX2NKeyframes(io.ComfyNode):
    """Keyframe interpolation: images pinned at chosen frames as appended guide tokens."""

    DISPLAY_NAME = "Keyframes (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        slots: list[io.Input] = []
        for n, default in zip(range(1, KEYFRAME_SLOTS + 1), KEYFRAME_DEFAULTS, strict=True):
            slots += [io.Image.Input(f"image_{n}", optional=n > 1, tooltip=f"Keyframe {n} (first image of a batch)."
                                     + ("" if n == 1 else " Optional.")),
                      _frame_idx(f"frame_idx_{n}", default, f"keyframe {n}"), _strength(f"strength_{n}", "it")]
        return make_schema(
            cls, group="conditioning",
            description="Keyframe interpolation: each connected image becomes keyframe tokens at its frame (any "
                        "frame, the first included), the way Lightricks' keyframe pipeline does. Sample, then "
                        "Crop Guides (LTX-2) before decoding or a second stage (apply again after the upscale).",
            inputs=[io.Conditioning.Input("positive", tooltip="Positive prompt."),
                    io.Conditioning.Input("negative", tooltip="Negative prompt."),
                    io.Vae.Input("vae", tooltip="The LTX-2 video VAE."),
                    io.Latent.Input("latent", tooltip="Empty (audio+)video latent; sets size and length."),
                    compression_input(), *slots,
                    io.String.Input("generated_frames", default="", optional=True,
                                    tooltip="LTX-2.5: pixel frames whose keyframe the model GENERATES (no image), "
                                            "e.g. '40' or '24, 72' (-1 = last frame); each adds one latent frame "
                                            "of tokens. Empty = none. Crop Guides removes them after sampling."),
                    model_input()],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="Positive prompt with the keyframes."),
                     io.Conditioning.Output(display_name="negative", tooltip="Negative prompt with the keyframes."),
                     io.Latent.Output(display_name="latent", tooltip="Latent with the keyframe frames appended.")],
        )

    @classmethod
    def validate_inputs(cls, generated_frames: str | None = None) -> bool | str:
        try:
            parse_generated_frames(generated_frames)
        except ValueError as exc:
            return str(exc)
        return True

    @classmethod
    def execute(cls, positive: Any, negative: Any, vae: Any, latent: dict, image_compression: int,
                generated_frames: str = "", model: Any = None, **keyframes: Any) -> io.NodeOutput:
        check_vae_family(cls.DISPLAY_NAME, vae, model=model, latent=latent)
        parts = AVParts.of(latent)
        frames = generated_geometry(parts, positive)[0]
        plan = plan_keyframes(_slots(keyframes), frames)  # all checked before encoding
        generated = _generated_frames(generated_frames, frames, model)
        crf = image_crf(image_compression, model, vae)
        parts, positive, negative = append_guides(parts, positive, negative, vae, plan, crf)
        parts, positive, negative = append_generated_slots(parts, positive, negative, generated)
        return io.NodeOutput(positive, negative, tag_latent(parts.to_latent(latent), model_version(model)))


def _generated_frames(text: str, frames: int, model: Any) -> tuple[int, ...]:
    """The generated slots' pixel frames (library rule ``generated_slot_frames``); refused on a connected model
    that is not LTX-2.5 (others would also refuse them when sampling)."""
    chosen = generated_slot_frames(resolve_generated_frames(parse_generated_frames(text), frames), frames)
    facts = model_facts(model) if model is not None else None
    if chosen and facts is not None and facts.family is not Family.LTX25:
        raise ValueError(f"Keyframes (LTX-2): {SLOTS_NEED_LTX25} (the model is {facts.family.value})")
    return chosen


def _slots(keyframes: dict[str, Any]) -> list[tuple[torch.Tensor, int, float] | None]:
    """``(image, frame_idx, strength)`` of each keyframe slot (None where ``image_n`` is not connected)."""
    return [None if keyframes.get(f"image_{n}") is None else
            (keyframes[f"image_{n}"], keyframes[f"frame_idx_{n}"], keyframes[f"strength_{n}"])
            for n in range(1, KEYFRAME_SLOTS + 1)]


# ---------------------------------------------------------------------------------------------- extend
class LTX2NExtend(io.ComfyNode):
    """Continue a clip forwards or backwards, its audio carried across."""

    DISPLAY_NAME = "Extend Clip (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Extends a video (with its sound) forwards or backwards: the source is encoded, the new "
                        "frames and their audio are generated to continue it, and the source's latents stay "
                        "exactly as encoded. Optionally steer the new part toward an image at a frame.",
            inputs=[*_model_inputs(), *_source_inputs(),
                    *_size_inputs("Length of the result in frames (1 + 8k): the source plus the new frames (a "
                                  "multiple of 8). A source longer than frames - 8 is cut to its frames nearest "
                                  "the seam.", frames_default=241),
                    io.Combo.Input("direction", options=list(DIRECTIONS), default=DIRECTIONS[0],
                                   tooltip="forward: new frames after the source; backward: before it."),
                    *_sampling_inputs(),
                    io.Image.Input("image", optional=True, tooltip="Optional keyframe for the new part."),
                    _frame_idx("frame_idx", -1, "the optional keyframe"), _strength("strength", "the keyframe")],
            outputs=[_latent_output()],
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None,
                        frames: int | None = None) -> bool | str:
        values = {"width": width, "height": height, "frames": frames}
        if bad := not_a_number(**values):
            return bad
        return _check(size_problem(width or 0, height or 0, source_size=True),
                      frames_problem(frames) if frames else None,
                      number_problem(cls, **values))  # the LTX checks' own messages first, then the schema bounds

    @classmethod
    def execute(cls, model: Any, positive: Any, negative: Any, vae: Any, audio_vae: Any, video: Any, width: int,
                height: int, frames: int, direction: str, seed: int, schedule: str, steps: int, guidance: str,
                frame_idx: int, strength: float, guider: Any = None, image: torch.Tensor | None = None
                ) -> io.NodeOutput:
        _check_vaes(cls.DISPLAY_NAME, model, vae, audio_vae)
        forward = direction == DIRECTIONS[0]
        clip = conform_clip(nearest_seam(clip_from_video(video), frames, forward), width=width, height=height,
                            frames=0)
        new = frames - clip.frames
        if new_frames_problem(new):
            raise ValueError(f"frames ({frames}) must exceed the source's {clip.frames} frames by a multiple of 8")
        guide = plan_keyframes([(image, frame_idx, strength)], frames) if image is not None else []
        start, end = extend_window(clip.frames, new, clip.fps, forward=forward)
        latent = masked_source(vae, audio_vae, padded_clip(clip, new, forward), start, end, TARGETS[0])
        parts, positive, negative = append_guides(AVParts.of(latent), positive, negative, vae, guide,
                                                  image_crf(-1, model, vae))  # the model version's CRF
        choice = SamplingChoice(seed, schedule, steps, guidance, guider)
        sampled = sample_av(model, positive, negative, parts.to_latent(latent), choice,
                            StepProgress.over(choice, model))
        cropped = crop_guides(AVParts.of(sampled), positive, negative)[0]
        return io.NodeOutput(cropped.to_latent(sampled))


# ---------------------------------------------------------------------------------------------- retake
class LTX2NRetake(io.ComfyNode):
    """Regenerate a time window of a clip's video and/or audio."""

    DISPLAY_NAME = "Retake (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Regenerates the time window [start_time, end_time) of a video: its picture, its sound or "
                        "both. Everything outside the window keeps exactly its encoded latents.",
            inputs=[*_model_inputs(), *_source_inputs(),
                    *_size_inputs("Use the first N frames of the source (1 + 8k); 0 = all of it (must then be "
                                  "1 + 8k frames)."),
                    io.Float.Input("start_time", default=1.0, min=0.0, max=100000.0, step=0.01,
                                   tooltip="Start of the window in seconds. Drag the window on the timeline."),
                    io.Float.Input("end_time", default=2.0, min=0.0, max=100000.0, step=0.01,
                                   tooltip="End of the window in seconds (exclusive)."),
                    io.Combo.Input("target", options=list(TARGETS), default=TARGETS[0],
                                   tooltip="What to regenerate inside the window; the other stream stays whole."),
                    *_sampling_inputs()],
            outputs=[_latent_output()],
        )

    @classmethod
    def validate_inputs(cls, width: int | None = None, height: int | None = None, frames: int | None = None,
                        start_time: float | None = None, end_time: float | None = None) -> bool | str:
        values = {"width": width, "height": height, "frames": frames, "start_time": start_time, "end_time": end_time}
        if bad := not_a_number(**values):
            return bad
        window = None if None in (start_time, end_time) else window_problem(start_time, end_time)
        return _check(size_problem(width or 0, height or 0, source_size=True),
                      frames_problem(frames) if frames else None, window,
                      number_problem(cls, **values))  # the LTX checks' own messages first, then the schema bounds

    @classmethod
    def execute(cls, model: Any, positive: Any, negative: Any, vae: Any, audio_vae: Any, video: Any, width: int,
                height: int, frames: int, start_time: float, end_time: float, target: str, seed: int,
                schedule: str, steps: int, guidance: str, guider: Any = None) -> io.NodeOutput:
        _check_vaes(cls.DISPLAY_NAME, model, vae, audio_vae)
        clip = conform_clip(clip_from_video(video), width=width, height=height, frames=frames)
        problem = window_problem(start_time, end_time, clip.duration_s)
        if problem:
            raise ValueError(problem)
        if target == TARGETS[2] and clip.waveform is None:
            raise ValueError("an audio retake needs a source video with sound")
        choice = SamplingChoice(seed, schedule, steps, guidance, guider)
        latent = masked_source(vae, audio_vae, clip, start_time, end_time, target)
        return io.NodeOutput(sample_av(model, positive, negative, latent, choice, StepProgress.over(choice, model)))


# ---------------------------------------------------------------------------------------------- long video
def _prompts(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class LTX2NLongVideo(io.ComfyNode):
    """Video + audio longer than one model window: overlapping windows, carried audio, a prompt per window."""

    DISPLAY_NAME = "Long Video (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="modes",
            description="Generates a clip longer than one model window: windows of window_frames overlap by "
                        "overlap_frames; each starts from the end of the previous one (video and audio), uses its "
                        "own prompt (one line of window_prompts each) and seed + window number; the overlaps are "
                        "cross-faded in latent space and the whole clip is decoded once.",
            inputs=[*_model_inputs(),
                    io.Int.Input("width", default=768, min=32, max=8192, step=32, tooltip="Width (multiple of 32)."),
                    io.Int.Input("height", default=512, min=32, max=8192, step=32,
                                 tooltip="Height (multiple of 32)."),
                    io.Int.Input("frames", default=481, min=9, max=100001, step=8,
                                 tooltip="Length of the whole clip in frames (1 + 8k)."),
                    io.Float.Input("fps", default=24.0, min=1.0, max=240.0, step=1.0, tooltip="Frame rate."),
                    io.Int.Input("window_frames", default=121, min=17, max=8193, step=8,
                                 tooltip="Frames per window (1 + 8k): what the model generates at once."),
                    io.Int.Input("overlap_frames", default=24, min=8, max=8192, step=8,
                                 tooltip="Frames shared by consecutive windows (a multiple of 8)."),
                    io.Float.Input("overlap_strength", default=1.0, min=0.0, max=1.0, step=0.01,
                                   tooltip="How strictly a window keeps the carried overlap (1 = exactly)."),
                    *_sampling_inputs(guider=False),
                    TextEncoderType.Input("text_encoder", optional=True,
                                          tooltip="Needed for window_prompts (Gemma Text Encoder Loader)."),
                    io.String.Input("window_prompts", multiline=True, default="", optional=True,
                                    tooltip="One prompt per line, one line per window (empty = the positive prompt "
                                            "for every window; fewer lines: the last one repeats).")],
            outputs=[_latent_output(),
                     io.String.Output(display_name="report", tooltip="Windows and seam differences.")],
        )

    @classmethod
    def validate_inputs(cls, frames: int | None = None, window_frames: int | None = None,
                        overlap_frames: int | None = None, width: int | None = None,
                        height: int | None = None) -> bool | str:
        bad = number_problem(cls, frames=frames, window_frames=window_frames, overlap_frames=overlap_frames,
                             width=width, height=height)
        if bad:
            return bad
        layout = None if None in (frames, window_frames, overlap_frames) else long_video_problem(
            frames, window_frames, overlap_frames)
        size = None if None in (width, height) else size_problem(width, height)
        return _check(size, layout)

    @classmethod
    def execute(cls, model: Any, positive: Any, negative: Any, width: int, height: int, frames: int, fps: float,
                window_frames: int, overlap_frames: int, overlap_strength: float, seed: int, schedule: str,
                steps: int, guidance: str, text_encoder: Any = None, window_prompts: str = "") -> io.NodeOutput:
        problem = long_video_problem(frames, window_frames, overlap_frames) or size_problem(width, height)
        prompts = _prompts(window_prompts or "")
        if problem or (prompts and text_encoder is None):
            raise ValueError(problem or "window_prompts need a text_encoder (Gemma Text Encoder Loader (LTX-2))")
        plan = plan_windows(frames, window_frames, overlap_frames)
        note = window_count_note(len(prompts), len(plan.starts))
        positives = [conditioning(text_encoder.encode(p), fps) for p in prompts[: len(plan.starts)]] or [positive]
        choice = SamplingChoice(seed, schedule, steps, guidance)
        progress = StepProgress.over(choice, model, len(plan.starts))
        empty = empty_window_latent(width, height, fps, plan)
        latent, report = run_long_video(model, positives, negative, plan, empty=empty, fps=fps,
                                        strength=overlap_strength, choice=choice, progress=progress)
        return io.NodeOutput(latent, report + (f"; {note}" if note else ""))


NODES: list[type[io.ComfyNode]] = [LTX2NKeyframes, LTX2NExtend, LTX2NRetake, LTX2NLongVideo]
