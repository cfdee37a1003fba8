"""Descriptions of the editing workflows (the official pack's 2026 IC-LoRA recipes): inpaint and outpaint with the
in/outpainting IC-LoRA, video to video with a V2V IC-LoRA; LTX-2.3 distilled, one stage.

Built into ``workflows/inpaint-distilled.json``, ``outpaint-distilled.json`` and ``v2v-distilled.json`` by
``build_workflows.py`` (collected there with the others). Shared pieces (model, text encoder, prompts, VAEs,
sampler) come from ``workflow_specs``; the IC-LoRA names are Lightricks' release names (the graph tests write tiny
stand-ins under them).
"""

from __future__ import annotations

from scripts.workflow_kit import Node, Ref, Workflow, node
from scripts.workflow_specs import CKPT_DISTILLED, DOWNLOAD_TIP, FPS, FRAMES, model_nodes, sampler_node

INOUTPAINT_LORA = "ltx-2.3-22b-ic-lora-in-outpainting-0.9.safetensors"
V2V_LORA = "ltx-2.3-22b-ic-lora-deblur-0.9.safetensors"
SOURCE_VIDEO = "ltx2_example_video.mp4"
MASK_VIDEO = "ltx2_example_inpaint_mask.mp4"

INPAINT_PROMPT = ("A small potted succulent stands on the table in the marked area, lit by the same soft daylight "
                  "as the rest of the scene. The room's sound continues unchanged.")
V2V_PROMPT = ("The same scene, crisp and sharp: clean edges, fine textures and natural colours, the motion and "
              "framing of the original kept. The original sound continues.")
OUTPAINT_PROMPT = ("The same scene continues beyond the frame: more of the room on both sides, consistent light, "
                   "perspective and colours. The room's sound continues unchanged.")

EDIT_TIP = ("In/outpainting IC-LoRA (ltx-2.3-22b-ic-lora-in-outpainting in models/loras): the prepare node covers "
            "the area to generate with a flat green (#66FF00) - that picture is the IC-LoRA reference - and keeps "
            "the source audio (frozen, and as reference audio for the prompts). The factor output of Load IC-LoRA "
            "is 1 for this LoRA. After decoding, Pyramid Blend puts the result back into the source: where its "
            "blend mask is 0 the output is the source, bit for bit. Set Create Video's fps to the source's.")
INPAINT_TIP = ("Mask: a black/white video (white = regenerate) with the source's size and frame count, or one "
               "picture for all frames (Load Image + Image To Mask). spatial_radius grows it (fit it to the object); "
               "blend_radius softens the blend (larger hides seams). width/height: the working size (multiples "
               "of 32; source and mask are resized to it); frames: the first 1 + 8k frames of the source.")
OUTPAINT_TIP = ("Canvas: width x height (multiples of 32) is the output; left/right/top/bottom are the new borders "
                "in pixels, each rounded to a multiple of 32; the whole source is scaled (aspect kept, never "
                "cropped) to fit what is left and stays there unchanged; any rest of that area is generated too. "
                "width/height 0: the canvas is the source plus its borders (the source keeps its pixels). Borders "
                "that leave no source pixels are refused before sampling.")

V2V_TIP = ("Video-to-video IC-LoRAs for LTX-2.3 (models/loras, factor 1): deblur, decompression, colorization, "
           "day-to-night, instant-shave, ... - pick one in Load IC-LoRA and describe the result in the prompt. The "
           "source is resized to width x height (multiples of 32); frames: its first 1 + 8k frames. Set Create "
           "Video's fps to the source's.")


def _generate(prepare: str, stem: str, blend_radius: int | None, lora: str = INOUTPAINT_LORA) -> list[Node]:
    """IC-LoRA loader + guide on the prepare node's reference, the distilled sampler, decode, pyramid blend (None:
    no blend, the decoded frames go out as they are), mp4."""
    latent = Ref(prepare, "latent")
    blend = [] if blend_radius is None else [
        node("blend", "LTX2NPyramidBlend", generated=Ref("decode_video"), source=Ref(prepare, "source"),
             mask=Ref(prepare, "mask"), blend_radius=blend_radius)]
    return [
        node("ic_lora", "LTX2NICLoraLoader", model=Ref("model"), lora_name=lora, strength=1.0),
        node("guide", "LTX2NICLoraGuide", positive=Ref(prepare, "positive"), negative=Ref(prepare, "negative"),
             vae=Ref("vae"), latent=latent, reference=Ref(prepare, "reference"),
             reference_downscale_factor=Ref("ic_lora", 1), strength=1.0, attention_strength=1.0),
        sampler_node("sampler", latent, model=Ref("ic_lora", 0), positive=Ref("guide", "positive"),
                     negative=Ref("guide", "negative"), schedule="distilled stage 1", guidance="none"),
        node("decode_video", "LTX2NDecodeVideo", samples=Ref("sampler"), vae=Ref("vae")),
        node("decode_audio", "LTX2NDecodeAudio", samples=Ref("sampler"), audio_vae=Ref("audio_vae")),
        *blend,
        node("create_video", "CreateVideo", images=Ref("blend" if blend else "decode_video"), fps=FPS,
             audio=Ref("decode_audio")),
        node("save_video", "SaveVideo", video=Ref("create_video"), filename_prefix=f"LTX-2/{stem}", format="mp4",
             codec="h264"),
    ]


def _prompts() -> dict[str, Ref]:
    return {"positive": Ref("positive"), "negative": Ref("negative"), "audio_vae": Ref("audio_vae"),
            "video": Ref("load_video")}


def inpaint() -> Workflow:
    stem = "inpaint-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, INPAINT_PROMPT),
        node("load_video", "LoadVideo", file=SOURCE_VIDEO),
        node("load_mask", "LoadVideo", file=MASK_VIDEO),
        node("mask_frames", "GetVideoComponents", video=Ref("load_mask")),
        node("mask", "ImageToMask", image=Ref("mask_frames", "images"), channel="red"),
        node("prepare", "LTX2NInpaintPrepare", **_prompts(), mask=Ref("mask"), width=960, height=544,
             frames=FRAMES, spatial_radius=5, temporal_radius=0),
        *_generate("prepare", stem, blend_radius=5),
    ]
    summary = ("Inpaint a video, LTX-2.3 distilled + the in/outpainting IC-LoRA, one stage: the white part of a "
               "mask video is regenerated to follow the prompt, the rest of the picture and the sound stay as they "
               "are (the official pack's recipe: dilate, flat-colour reference, frozen reference audio, pyramid "
               "blend).")
    return Workflow(stem, summary, nodes, [EDIT_TIP, INPAINT_TIP, DOWNLOAD_TIP])


def outpaint() -> Workflow:
    stem = "outpaint-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, OUTPAINT_PROMPT),
        node("load_video", "LoadVideo", file=SOURCE_VIDEO),
        node("prepare", "LTX2NOutpaintPrepare", **_prompts(), width=1024, height=576, frames=FRAMES,
             left=128, right=128, top=32, bottom=32),
        *_generate("prepare", stem, blend_radius=2),
    ]
    summary = ("Outpaint a video, LTX-2.3 distilled + the in/outpainting IC-LoRA, one stage: the canvas grows "
               "by the given borders (rounded to the 32-pixel grid), the new area is generated around the whole "
               "source (fitted, never cropped), which stays in place unchanged with its sound.")
    return Workflow(stem, summary, nodes, [EDIT_TIP, OUTPAINT_TIP, DOWNLOAD_TIP])


def v2v() -> Workflow:
    stem = "v2v-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, V2V_PROMPT),
        node("load_video", "LoadVideo", file=SOURCE_VIDEO),
        node("prepare", "LTX2NVideoToVideoPrepare", **_prompts(), width=960, height=544, frames=FRAMES,
             audio="keep"),
        *_generate("prepare", stem, blend_radius=None, lora=V2V_LORA),
    ]
    summary = ("Video to video, LTX-2.3 distilled + a video-to-video IC-LoRA (here deblur: adds detail), one "
               "stage: your clip is the reference and is regenerated following it; its sound is kept ('audio': "
               "keep) or generated anew (regenerate).")
    return Workflow(stem, summary, nodes, [V2V_TIP, DOWNLOAD_TIP])


def edit_workflows() -> list[Workflow]:
    """The editing workflows in build order."""
    return [inpaint(), outpaint(), v2v()]
