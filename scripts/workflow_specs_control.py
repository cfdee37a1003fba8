"""Descriptions of the control workflows: IC-LoRA (union control, motion tracks, detailer), camera LoRAs and the
spatial x1.5 / temporal x2 upscalers.

Built into ``workflows/iclora-union-*.json``, ``iclora-motion-*.json``, ``iclora-detailer-*.json``,
``camera-lora-*.json`` and ``upscale-temporal-*.json`` by ``build_workflows.py`` (collected there
with the others). Shared pieces (model, text encoder, prompts, VAEs, sampler, mp4 output) come from
``workflow_specs``. File names are Lightricks' release names.
"""

from __future__ import annotations

from scripts.workflow_kit import Node, Ref, Workflow, node
from scripts.workflow_specs import (
    CKPT_DISTILLED,
    DOWNLOAD_TIP,
    FIRST_FRAME,
    FPS,
    FRAMES,
    PROMPT,
    SIZE_TIP,
    latent_node,
    model_nodes,
    output_nodes,
    sampler_node,
)

UNION_LORA = "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors"
MOTION_LORA = "ltx-2.3-22b-ic-lora-motion-track-control-ref0.5.safetensors"
DETAILER_LORA = "ltx-2-19b-ic-lora-detailer.safetensors"
CKPT_19B_DISTILLED = "ltx-2-19b-distilled.safetensors"
CKPT_19B_DEV = "ltx-2-19b-dev.safetensors"
DISTILLED_LORA_19B = "ltx-2-19b-distilled-lora-384.safetensors"
CAMERA_LORA = "ltx-2-19b-lora-camera-control-dolly-left.safetensors"
UPSCALER_X15 = "ltx-2.3-spatial-upscaler-x1.5-1.0.safetensors"
UPSCALER_TEMPORAL = "ltx-2.3-temporal-upscaler-x2-1.0.safetensors"
EXAMPLE_VIDEO = "ltx2_example_video.mp4"
MOTION_TRACKS = "[[[0.25, 0.6], [0.45, 0.5], [0.7, 0.5], [0.85, 0.55]], [[0.7, 0.3], [0.55, 0.35]], [[0.4, 0.8]]]"

UNION_PROMPT = ("A small red toy car drives across a wooden table past a coffee mug, warm morning light from a "
                "window, shallow depth of field. The soft whir of the toy motor and a quiet kitchen ambience.")
MOTION_PROMPT = ("The objects in the picture move along smooth paths: the subject glides to the right while the "
                 "background stays calm. Gentle ambient sound with a soft whoosh as things move.")
DETAILER_PROMPT = ("A crisp, highly detailed version of the same scene: sharp textures, clean edges, natural "
                   "colours, steady camera. Natural ambient sound.")
CAMERA_PROMPT = ("A lighthouse on a rocky coast at sunset, waves breaking on the rocks, seagulls circling; the "
                 "camera dollies smoothly to the left. Crashing waves, wind and distant gull calls.")

IC_TIP = ("IC-LoRA: Load IC-LoRA reads the reference downscale factor from the LoRA file (ref0.5 LoRAs: 2) and "
          "IC-LoRA Reference Guide encodes the reference at the latent size / factor (another size is resized, "
          "with a note in the log). The reference never enters the latent, so there is nothing to crop after "
          "sampling. Width and height must be multiples of 32 x factor (64 for ref0.5 LoRAs).")
UNION_TIP = ("Control input: any video (Load Video) or a picture (replace Load Video + Get Video Components by "
             "Load Image). Canny makes the edge map; depth or pose maps from other tools work the same way "
             "(connect them to 'reference'). Frames beyond the clip are dropped.")
MOTION_TIP = ("Motion tracks: draw them on Motion Tracks (LTX-2) over the first frame (left-drag = new track, drag a "
              "point to move it, click a point to delete it) or type JSON: a list of tracks, each a list of "
              "[x, y] points as fractions of width and height (0..1). Keep its width/height/frames equal to "
              "Empty Audio+Video Latent.")
DETAILER_TIP = ("Detailer / pixel upscaler: the input clip (any size) is the reference; the output is generated at "
                "the latent's size, following it closely. For LTX-2.3 use the pixel-spatial-"
                "upscaler-x4 IC-LoRA (factor 4: sizes multiples of 128) with an LTX-2.3 checkpoint.")
CAMERA_TIP = ("Camera LoRAs exist for LTX-2 (19B) only: dolly in/out/left/right, jib up/down, static "
              "(ltx-2-19b-lora-camera-control-<preset>.safetensors in models/loras). On an LTX-2.3 model they are "
              "refused with a clear error. The LoRA stack applies more LoRAs with separate video and audio "
              "strengths (here the distilled LoRA, so the dev checkpoint runs in 8 steps).")
UPSCALE_TIP = ("Upscalers: x1.5 turns 768x512 into 1152x768 (refined with the 3 stage-2 sigmas); temporal x2 "
               "turns N frames at 24 fps into 2N - 1 frames at 48 fps (same duration, the audio is untouched). "
               "Set Create Video's fps to twice the clip's fps (the temporal node also outputs it).")


def _ic_sampler(lora: str, reference: Ref, latent: Ref) -> list[Node]:
    """IC-LoRA loader, reference guide and the distilled sampler (model and prompts from the guide)."""
    return [
        node("ic_lora", "LTX2NICLoraLoader", column=1, model=Ref("model"), lora_name=lora, strength=1.0),
        node("guide", "LTX2NICLoraGuide", column=2, positive=Ref("positive"), negative=Ref("negative"),
             vae=Ref("vae"), latent=latent, reference=reference, reference_downscale_factor=Ref("ic_lora", 1),
             strength=1.0, attention_strength=1.0),
        sampler_node("sampler", latent, model=Ref("ic_lora", 0), positive=Ref("guide", "positive"),
                     negative=Ref("guide", "negative"), schedule="distilled stage 1", guidance="none"),
    ]


def _video_ic_graph(ckpt: str, prompt: str, lora: str, stem: str, *, canny: bool) -> list[Node]:
    """Model, prompts, VAEs, latent, Load Video -> frames (-> Canny) -> IC-LoRA guide -> sampler -> mp4."""
    reference = Ref("canny") if canny else Ref("components", "images")
    edges = [node("canny", "Canny", column=1, image=Ref("components", "images"), low_threshold=0.4,
                  high_threshold=0.8)] if canny else []
    return [
        *model_nodes(ckpt, prompt), latent_node(),
        node("load_video", "LoadVideo", column=1, file=EXAMPLE_VIDEO),
        node("components", "GetVideoComponents", column=1, video=Ref("load_video")), *edges,
        *_ic_sampler(lora, reference, Ref("latent")),
        *output_nodes(Ref("sampler"), stem),
    ]


def iclora_union() -> Workflow:
    stem = "iclora-union-distilled"
    nodes = _video_ic_graph(CKPT_DISTILLED, UNION_PROMPT, UNION_LORA, stem, canny=True)
    summary = ("IC-LoRA union control (canny / depth / pose), LTX-2.3 distilled, one stage: the structure of a "
               "control video guides a new clip with audio. Here the control is the canny edge map of a video.")
    return Workflow(stem, summary, nodes, [IC_TIP, UNION_TIP, SIZE_TIP, DOWNLOAD_TIP])


def iclora_motion() -> Workflow:
    stem = "iclora-motion-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, MOTION_PROMPT), latent_node(),
        node("image", "LoadImage", column=1, image=FIRST_FRAME),
        node("tracks", "LTX2NMotionTracks", column=1, tracks=MOTION_TRACKS, width=768, height=512,
             frames=FRAMES, radius=6.0, trail=8, image=Ref("image")),
        node("image_to_video", "LTX2NImageToVideo", column=2, vae=Ref("vae"), image=Ref("image"),
             latent=Ref("latent"), strength=1.0, image_compression=-1, model=Ref("model")),
        *_ic_sampler(MOTION_LORA, Ref("tracks"), Ref("image_to_video")),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("IC-LoRA motion tracks, LTX-2.3 distilled, one stage: a picture starts the clip and sparse point "
               "tracks (drawn on the Motion Tracks node) say where things move.")
    return Workflow(stem, summary, nodes, [MOTION_TIP, IC_TIP, SIZE_TIP, DOWNLOAD_TIP])


def iclora_detailer() -> Workflow:
    stem = "iclora-detailer-distilled"
    nodes = _video_ic_graph(CKPT_19B_DISTILLED, DETAILER_PROMPT, DETAILER_LORA, stem, canny=False)
    summary = ("IC-LoRA detailer / pixel upscaler, LTX-2 (19B) distilled, one stage: a low-resolution or soft clip "
               "is regenerated sharp at the latent's size, following the input closely.")
    return Workflow(stem, summary, nodes, [DETAILER_TIP, IC_TIP, SIZE_TIP, DOWNLOAD_TIP])


def camera_lora() -> Workflow:
    stem = "camera-lora-19b"
    nodes = [
        *model_nodes(CKPT_19B_DEV, CAMERA_PROMPT), latent_node(),
        node("camera", "LTX2NCameraLoraLoader", column=1, model=Ref("model"), camera_lora=CAMERA_LORA, strength=1.0),
        node("stack", "LTX2NLoraStack", column=1, model=Ref("camera"), lora_1=DISTILLED_LORA_19B,
             video_strength_1=1.0, audio_strength_1=1.0),
        sampler_node("sampler", Ref("latent"), model=Ref("stack"), schedule="distilled stage 1", guidance="none"),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("Camera-control LoRA (dolly left) on LTX-2 (19B): the dev model with the camera LoRA and, through "
               "the LoRA stack, the distilled LoRA, sampled with the 8 distilled steps.")
    return Workflow(stem, summary, nodes, [CAMERA_TIP, SIZE_TIP, DOWNLOAD_TIP])


def upscale_temporal() -> Workflow:
    stem = "upscale-temporal-distilled"
    fps2 = 2 * FPS
    nodes = [
        *model_nodes(CKPT_DISTILLED, PROMPT), latent_node(),
        sampler_node("stage1", Ref("latent"), schedule="distilled stage 1", guidance="none"),
        node("upscaler_x15", "LTX2NUpscalerLoader", column=1, upscaler_name=UPSCALER_X15),
        node("upscale_x15", "LTX2NUpscaleLatentX15", column=2, samples=Ref("stage1"),
             upscale_model=Ref("upscaler_x15"), vae=Ref("vae")),
        sampler_node("stage2", Ref("upscale_x15"), schedule="distilled stage 2", guidance="none"),
        node("upscaler_temporal", "LTX2NUpscalerLoader", column=1, upscaler_name=UPSCALER_TEMPORAL),
        node("upscale_temporal", "LTX2NUpscaleLatentTemporal", column=3, samples=Ref("stage2"),
             upscale_model=Ref("upscaler_temporal"), vae=Ref("vae"), fps=FPS),
        node("decode_video", "LTX2NDecodeVideo", column=3, samples=Ref("upscale_temporal", "latent"), vae=Ref("vae")),
        node("decode_audio", "LTX2NDecodeAudio", column=3, samples=Ref("upscale_temporal", "latent"),
             audio_vae=Ref("audio_vae")),
        node("create_video", "CreateVideo", column=4, images=Ref("decode_video"), fps=fps2, audio=Ref("decode_audio")),
        node("save_video", "SaveVideo", column=4, video=Ref("create_video"), filename_prefix=f"LTX-2/{stem}",
             format="mp4", codec="h264"),
    ]
    summary = ("Upscalers, LTX-2.3 distilled: a clip made at 768x512 / 24 fps is upscaled x1.5 in latent space "
               "(1152x768) and refined, then doubled in frame rate by the temporal x2 upscaler (48 fps, same "
               "duration; the audio is kept as generated).")
    return Workflow(stem, summary, nodes, [UPSCALE_TIP, SIZE_TIP, DOWNLOAD_TIP])


def control_workflows() -> list[Workflow]:
    """The control workflows in build order."""
    return [iclora_union(), iclora_motion(), iclora_detailer(), camera_lora(), upscale_temporal()]
