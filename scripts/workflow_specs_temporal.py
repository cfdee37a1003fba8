"""Compact descriptions of the temporal-mode workflows: keyframes, extend, retake, long video.

Collected and built into ``workflows/*.json`` by ``build_workflows.py``; the shared pieces come from
``workflow_specs``. All use the LTX-2.3 distilled checkpoint, the pack's nodes and core nodes only
(``LoadImage``, ``LoadVideo``, ``CreateVideo``, ``SaveVideo``).
"""

from __future__ import annotations

from scripts.workflow_kit import Node, Ref, Workflow, node
from scripts.workflow_specs import (
    CKPT_DISTILLED,
    DOWNLOAD_TIP,
    FIRST_FRAME,
    FPS,
    LAST_FRAME,
    SEED,
    SIZE_TIP,
    UPSCALER,
    latent_node,
    model_nodes,
    output_nodes,
    sample_and_crop,
)

EXAMPLE_VIDEO = "ltx2_example_video.mp4"  # the same example clip as video-to-audio
KEYFRAME_PROMPT = ("A continuous shot travels from the first picture through the second to the last one, with "
                   "smooth natural motion and steady light. Soft ambient sound that follows the movement.")
EXTEND_PROMPT = ("The scene continues naturally: the same place, light and motion carry on for a few more "
                 "seconds, and the sound continues seamlessly.")
RETAKE_PROMPT = ("The same scene, but in the chosen moment the subject turns toward the camera while a bird calls "
                 "in the distance.")
LONG_PROMPT = ("A slow aerial flight along a winding river through autumn hills at golden hour, soft wind and "
               "distant birdsong.")
WINDOW_PROMPTS = "\n".join([
    "A slow aerial flight along a winding river through autumn hills at golden hour, soft wind and birdsong.",
    "The flight follows the river into a narrow valley with a waterfall; the sound of rushing water grows.",
    "The camera rises above the valley to reveal distant snowy mountains at sunset; wind and quiet strings.",
    "The light fades to dusk over the mountains as the flight slows to a gentle hover; calm evening ambience.",
])

TIMELINE_TIP = ("Timeline: drag the keyframe markers / the time window on the node's strip; the widgets stay the "
                "values that run (frame indices: negative counts from the end, -1 = last frame).")
SOURCE_TIP = ("Load Video: your clip (with its sound). width / height 0 = the clip's size (multiples of 32), or "
              "resize to cover + centre-crop; keep Create Video's fps equal to the clip's frame rate.")


def keyframe_images(column: int = 0) -> list[Node]:
    """The three pictures of the keyframe workflows (first, last, first again)."""
    return [node(f"image_{n}", "LoadImage", column=column, image=name)
            for n, name in enumerate((FIRST_FRAME, LAST_FRAME, FIRST_FRAME), start=1)]


def pin_keyframes(key: str, latent: Ref, positive: Ref, negative: Ref, *, crf: int, column: int = 0) -> Node:
    """Keyframes node pinning :func:`keyframe_images` at frames 0, 60 and the last one."""
    return node(key, "LTX2NKeyframes", column=column, positive=positive, negative=negative, vae=Ref("vae"),
                latent=latent, image_compression=crf, model=Ref("model"), image_1=Ref("image_1"), frame_idx_1=0,
                strength_1=1.0, image_2=Ref("image_2"), frame_idx_2=60, strength_2=1.0, image_3=Ref("image_3"),
                frame_idx_3=-1, strength_3=1.0)


def keyframes() -> Workflow:
    stem = "keyframes-two-stage"
    images = keyframe_images(column=1)

    def pin(key: str, latent: Ref, positive: Ref, negative: Ref) -> Node:
        return pin_keyframes(key, latent, positive, negative, crf=-1, column=2)

    nodes = [
        *model_nodes(CKPT_DISTILLED, KEYFRAME_PROMPT), *images,
        latent_node(width=1536, height=1024, stages="two stages (x2 upscale)"),
        pin("keyframes1", Ref("latent"), Ref("positive"), Ref("negative")),
        *sample_and_crop("stage1", "crop1", "keyframes1", schedule="distilled stage 1", column=2),
        node("upscaler", "LTX2NUpscalerLoader", upscaler_name=UPSCALER),
        node("upscale", "LTX2NUpscaleLatent", column=2, samples=Ref("crop1", "latent"),
             upscale_model=Ref("upscaler"), vae=Ref("vae")),
        pin("keyframes2", Ref("upscale"), Ref("crop1", "positive"), Ref("crop1", "negative")),
        *sample_and_crop("stage2", "crop2", "keyframes2", schedule="distilled stage 2", column=3),
        *output_nodes(Ref("crop2", "latent"), stem),
    ]
    summary = ("Keyframe interpolation, LTX-2.3 distilled model, two stages: three pictures pinned at frames 0, 60 "
               "and the last one (appended keyframe tokens, as Lightricks' keyframe pipeline), 8 steps at half size, "
               "a x2 latent upscale, the keyframes applied again at full size and a 3-step refinement. Connect up "
               "to four pictures at any frames.")
    return Workflow(stem, summary, nodes, [TIMELINE_TIP, SIZE_TIP, DOWNLOAD_TIP])


def _source_workflow(stem: str, summary: str, prompt: str, mode: Node) -> Workflow:
    """A mode node on a loaded source video, decoded and saved, with the source and timeline tips."""
    nodes = [*model_nodes(CKPT_DISTILLED, prompt), node("load_video", "LoadVideo", column=1, file=EXAMPLE_VIDEO),
             mode, *output_nodes(Ref(mode.key), stem)]
    return Workflow(stem, summary, nodes, [SOURCE_TIP, TIMELINE_TIP, DOWNLOAD_TIP])


def _mode_refs() -> dict[str, Ref]:
    return {"model": Ref("model"), "positive": Ref("positive"), "negative": Ref("negative"), "vae": Ref("vae"),
            "audio_vae": Ref("audio_vae"), "video": Ref("load_video")}


def extend() -> Workflow:
    stem = "extend-distilled"
    mode = node("extend", "LTX2NExtend", column=2, **_mode_refs(), width=0, height=0, frames=241,
                direction="forward", seed=SEED, schedule="distilled stage 1", steps=0, guidance="none",
                frame_idx=-1, strength=1.0)
    summary = ("Extend a clip, LTX-2.3 distilled model: your video (with its sound) continues forwards (or "
               "backwards) to 'frames' frames; the new frames and their audio are generated to continue it while "
               "the source's latents stay exactly as encoded. Optionally connect a picture the new part should "
               "reach at frame_idx.")
    return _source_workflow(stem, summary, EXTEND_PROMPT, mode)


def retake() -> Workflow:
    stem = "retake-distilled"
    mode = node("retake", "LTX2NRetake", column=2, **_mode_refs(), width=0, height=0, frames=0, start_time=1.0,
                end_time=2.5, target="video and audio", seed=SEED, schedule="distilled stage 1", steps=0,
                guidance="none")
    summary = ("Retake, LTX-2.3 distilled model: the time window [start_time, end_time) of your clip is "
               "regenerated (picture, sound or both: 'target'); everything outside the window keeps exactly its "
               "encoded latents. frames = how many frames of the clip to use (1 + 8k; 0 = all of it).")
    return _source_workflow(stem, summary, RETAKE_PROMPT, mode)


def long_video() -> Workflow:
    stem = "long-video-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, LONG_PROMPT),
        node("long_video", "LTX2NLongVideo", column=2, model=Ref("model"), positive=Ref("positive"),
             negative=Ref("negative"), width=768, height=512, frames=481, fps=FPS, window_frames=121,
             overlap_frames=24, overlap_strength=1.0, seed=SEED, schedule="distilled stage 1", steps=0,
             guidance="none", text_encoder=Ref("text_encoder"), window_prompts=WINDOW_PROMPTS),
        *output_nodes(Ref("long_video", "latent"), stem),
    ]
    summary = ("Long video + audio, LTX-2.3 distilled model: 481 frames (20 s at 24 fps) made of 121-frame windows "
               "overlapping by 24 frames; each window continues the previous one's picture and sound, has its own "
               "prompt (one line of window_prompts per window) and is cross-faded into the clip, decoded once.")
    tip = ("Windows: frames, window_frames (1 + 8k) and overlap_frames (a multiple of 8) set how many windows run "
           "(shown in the report output); fewer prompt lines than windows repeat the last line.")
    return Workflow(stem, summary, nodes, [tip, SIZE_TIP, DOWNLOAD_TIP])


def temporal_workflows() -> list[Workflow]:
    """The descriptions of this module, in file order."""
    return [keyframes(), extend(), retake(), long_video()]
