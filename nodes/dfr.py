"""DFR, detail-fidelity rendering (LTX-2.5; Lightricks' ``DFRPipeline``, ltx-pipelines main @400fd31) as three nodes
around the pack's sampler and upscaler loaders:

    Empty Latent (two stages) -> DFR Canvas -> Sample (distilled stage 1) -> DFR Detail Stage
        -> Sample (distilled stage 2, distilled LoRA + detailing IC-LoRA) -> DFR Temporal Rounds -> decode

* ``LTX2NDFRCanvas`` (model, positive, negative, latent) -> positive, negative, latent: the frame count padded to
  the keyframe segment grid (24 or 32 frames, ``ltx_model.modes.dfr.resolve_canvas``) and one generated keyframe
  slot at every segment end.
* ``LTX2NDFRDetailStage`` (positive, negative, latent, upscale_model, vae, reference_downscale_factor) -> positive,
  negative, latent: the stage-1 video AND its slots x2 upsampled in latent space, the slots re-appended seeded with
  their upsampled content, the half-size stage-1 video added as the detailing IC-LoRA reference (factor from Load
  IC-LoRA; 0 = no detailing LoRA), the stage-1 audio kept for the result.
* ``LTX2NDFRTemporalRounds`` (model, positive, negative, latent, vae, rounds, seed, upscale_model?) -> latent, fps,
  frames: 0, 1 or 2 temporal x2 rounds (``2**round`` tiles meeting at anchor keyframes, new mid-segment slots,
  Euler-ancestral eta 0.5; one progress bar over tiles x steps), then the slots dropped, the canvas padding trimmed
  to ``(frames - 1) * 2**rounds + 1`` frames at ``fps * 2**rounds`` and the stage-1 audio cut to that duration.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import node_helpers
import torch
from comfy_api.latest import io

from ..ltx_model.conditioning import ReferenceVideo
from ..ltx_model.modes import LATENTS_PER_SECOND, ClipGeometry, latent_frames, pixel_frames
from ..ltx_model.modes.dfr import (
    TEMPORAL_SIGMAS_FROM,
    audio_latent_frames,
    final_frames,
    kept_latent_frames,
    resolve_canvas,
    rounds_problem,
)
from ..ltx_model.sampling import DISTILLED_SIGMAS
from .appended_tokens import VideoReferences
from .conditioning import AVParts, cond_value
from .dfr_rounds import (
    DFR_KEY,
    DfrRecord,
    append_slots,
    dfr_record,
    plain_prompt,
    require_ltx25,
    run_round,
    split_slots,
    tile_count,
)
from .diffusion import REFERENCES_KEY
from .masked_sampling import StepProgress
from .schema import make_schema
from .upscale import LatentUpscaleModel, require_kind, upscale_video

CANVAS = "DFR Canvas (LTX-2.5)"
DETAIL = "DFR Detail Stage (LTX-2.5)"
ROUNDS = "DFR Temporal Rounds (LTX-2.5)"


def _prompts() -> list[io.Input]:
    return [io.Conditioning.Input("positive", tooltip="Positive prompt (with the DFR slots from the node before)."),
            io.Conditioning.Input("negative", tooltip="Negative prompt (with the DFR slots from the node before).")]


def _prompt_outputs(what: str) -> list[io.Output]:
    return [io.Conditioning.Output(display_name="positive", tooltip=f"Positive prompt with {what}."),
            io.Conditioning.Output(display_name="negative", tooltip=f"Negative prompt with {what}.")]


class LTX2NDFRCanvas(io.ComfyNode):
    """Pad the clip to DFR's keyframe segment grid and add a generated keyframe slot at every segment end."""

    DISPLAY_NAME = CANVAS

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="DFR stage 1 (LTX-2.5): pads the frame count to a multiple of 24 or 32 frames (+1, "
                        "whichever pads least; the result is trimmed back by DFR Temporal Rounds) and adds a "
                        "generated keyframe slot at every segment end. Sample with the distilled stage-1 schedule.",
            inputs=[io.Model.Input("model", tooltip="The LTX-2.5 model (checked: DFR needs its keyframe slots)."),
                    io.Conditioning.Input("positive", tooltip="Positive prompt (its frame rate is the clip's)."),
                    io.Conditioning.Input("negative", tooltip="Negative prompt."),
                    io.Latent.Input("latent", tooltip="Empty audio+video latent at the stage-1 (half) size with "
                                                      "the requested frames (1 + 8k).")],
            outputs=[*_prompt_outputs("the DFR slots"),
                     io.Latent.Output(display_name="latent", tooltip="The padded canvas with the slots appended.")],
        )

    @classmethod
    def execute(cls, model: Any, positive: Any, negative: Any, latent: dict) -> io.NodeOutput:
        require_ltx25(model, CANVAS)
        parts = AVParts.of(latent)
        if parts.audio is None or cond_value(positive, "keyframe_idxs") is not None:
            raise ValueError(f"{CANVAS}: connect an empty audio+video latent (Empty Audio+Video Latent) and prompts "
                             f"without keyframe guides")
        fps = cond_value(positive, "frame_rate")
        if fps is None:
            raise ValueError(f"{CANVAS}: positive has no frame rate; connect Text Encode (LTX-2)")
        b, c, f, h, w = parts.video.shape
        requested = pixel_frames(f)
        canvas = resolve_canvas(requested)
        geometry = ClipGeometry(w * 32, h * 32, canvas.frames, float(fps))
        video = parts.video.new_zeros(b, c, latent_frames(canvas.frames), h, w)
        audio = parts.audio.new_zeros(geometry.audio_shape(b))
        parts, positive, negative = append_slots(AVParts(video, audio, None, None), positive, negative,
                                                 canvas.positions, video.new_zeros(1, c, len(canvas.positions), h, w))
        out = parts.to_latent({k: v for k, v in latent.items() if k != "noise_mask"})
        out[DFR_KEY] = DfrRecord(requested, canvas.positions, float(fps))
        return io.NodeOutput(positive, negative, out)


class LTX2NDFRDetailStage(io.ComfyNode):
    """Upsample the stage-1 video and slots x2 and set up the full-size detailing stage."""

    DISPLAY_NAME = DETAIL

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="latent",
            description="DFR stage 2 (LTX-2.5): upsamples the stage-1 video and its generated keyframes x2 in "
                        "latent space, seeds the full-size slots with the upsampled keyframes and adds the half-"
                        "size stage-1 video as the detailing IC-LoRA's reference. Sample with the distilled "
                        "stage-2 schedule and the model with the distilled LoRA and the detailing IC-LoRA.",
            inputs=[*_prompts(),
                    io.Latent.Input("latent", tooltip="The sampled stage-1 latent (slots still appended)."),
                    LatentUpscaleModel.Input("upscale_model", tooltip="The spatial x2 latent upscaler."),
                    io.Vae.Input("vae", tooltip="The LTX-2.5 video VAE (its latent statistics are used)."),
                    io.Int.Input("reference_downscale_factor", default=2, min=0, max=8,
                                 tooltip="From Load IC-LoRA (the detailing IC-LoRA): the reference is the stage-1 "
                                         "video at 1/factor of the full size (2). 0 = no detailing IC-LoRA.")],
            outputs=[*_prompt_outputs("the seeded slots and the reference"),
                     io.Latent.Output(display_name="latent", tooltip="Full-size latent with the seeded slots.")],
        )

    @classmethod
    def execute(cls, positive: Any, negative: Any, latent: dict, upscale_model: Any, vae: Any,
                reference_downscale_factor: int) -> io.NodeOutput:
        record = dfr_record(latent, DETAIL)
        require_kind(upscale_model, "spatial x2", DETAIL)
        parts, slots = split_slots(latent, record, positive, DETAIL)
        video = upscale_video(parts.video, upscale_model, vae)
        up_slots = upscale_video(slots, upscale_model, vae)
        prompts = [plain_prompt(c) for c in (positive, negative)]
        if reference_downscale_factor:  # the detailing IC-LoRA's reference: the half-size stage-1 video
            refs = VideoReferences((ReferenceVideo(latent=parts.video, downscale_factor=reference_downscale_factor),))
            prompts = [node_helpers.conditioning_set_values(c, {REFERENCES_KEY: refs}) for c in prompts]
        full, positive, negative = append_slots(replace(parts, video=video), *prompts, record.positions, up_slots)
        out = full.to_latent({k: v for k, v in latent.items() if k != "noise_mask"})
        out[DFR_KEY] = replace(record, audio=parts.audio)
        return io.NodeOutput(positive, negative, out)


class LTX2NDFRTemporalRounds(io.ComfyNode):
    """0-2 temporal x2 rounds in keyframe-anchored tiles, then the DFR result trimmed, with the stage-1 audio."""

    DISPLAY_NAME = ROUNDS

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="sampling",
            description="DFR finish (LTX-2.5): each round doubles the frame rate with the temporal x2 upscaler "
                        "and re-denoises the clip in 2^round tiles that meet at the carried keyframes (anchors, "
                        "strength 0.95) with new mid-segment keyframe slots (Euler-ancestral, eta 0.5). Then the "
                        "slots are dropped, the canvas padding trimmed ((frames - 1) x 2^rounds + 1 frames) and "
                        "the stage-1 audio cut to the video's duration. Use the fps output for Create Video.",
            inputs=[io.Model.Input("model", tooltip="The LTX-2.5 model with the distilled LoRA (no IC-LoRA)."),
                    *_prompts(),
                    io.Latent.Input("latent", tooltip="The sampled stage-2 latent (slots still appended)."),
                    io.Vae.Input("vae", tooltip="The LTX-2.5 video VAE (its latent statistics are used)."),
                    io.Int.Input("rounds", default=1, min=0, max=2,
                                 tooltip="Temporal x2 rounds: 0 = the base fps, 1 = x2 (2 tiles), 2 = x4 (4 tiles)."),
                    io.Int.Input("seed", default=10, min=0, max=0xFFFFFFFFFFFFFFFF, control_after_generate=True,
                                 tooltip="Noise seed; tile t of round r uses seed + 1000 r + t."),
                    LatentUpscaleModel.Input("upscale_model", optional=True,
                                             tooltip="The temporal x2 latent upscaler (needed when rounds > 0).")],
            outputs=[io.Latent.Output(display_name="latent", tooltip="The final audio+video latent."),
                     io.Float.Output(display_name="fps", tooltip="Frame rate of the result (fps x 2^rounds)."),
                     io.Int.Output(display_name="frames", tooltip="Video frames of the result.")],
        )

    @classmethod
    def validate_inputs(cls, rounds: int | None = None) -> bool | str:
        problem = None if rounds is None else rounds_problem(rounds, True)
        return f"{ROUNDS}: rounds: {problem}" if problem else True

    @classmethod
    def execute(cls, model: Any, positive: Any, negative: Any, latent: dict, vae: Any, rounds: int, seed: int,
                upscale_model: Any = None) -> io.NodeOutput:
        require_ltx25(model, ROUNDS)
        problem = rounds_problem(rounds, upscale_model is not None)
        if problem:
            raise ValueError(f"{ROUNDS}: rounds / upscale_model: {problem}; load it with Load Latent Upscaler")
        record = dfr_record(latent, ROUNDS)
        parts, bag = split_slots(latent, record, positive, ROUNDS)
        canvas = resolve_canvas(record.requested)
        sigmas = torch.tensor(DISTILLED_SIGMAS[TEMPORAL_SIGMAS_FROM:], dtype=torch.float32)
        progress = StepProgress(tile_count(canvas.positions, canvas.frames, rounds) * (len(sigmas) - 1))
        state = (parts.video, canvas.frames, record.fps, canvas.positions, bag)
        for number in range(1, rounds + 1):
            state = run_round(model, positive, negative, state, number=number, upscaler=upscale_model, vae=vae,
                              seed=seed, sigmas=sigmas, progress=progress)
        frames, fps = final_frames(record.requested, rounds), record.fps * 2 ** rounds
        video = state[0][:, :, : kept_latent_frames(record.requested, rounds)]
        audio = record.audio if record.audio is not None else parts.audio
        audio = audio[:, :, : audio_latent_frames(frames, fps, LATENTS_PER_SECOND, audio.shape[2])]
        out = AVParts(video, audio, None, None).to_latent(
            {k: v for k, v in latent.items() if k not in ("noise_mask", DFR_KEY)})
        return io.NodeOutput(out, float(fps), frames)
