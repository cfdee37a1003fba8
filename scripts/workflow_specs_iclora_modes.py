"""Descriptions of the IC-LoRA mode workflows of the official pack (example_workflows/2.3 of
Lightricks/ComfyUI-LTXVideo @aceeae96; core's ``template_ltx2_3_ic_lora_ingredients``), distilled, one stage each:
Ingredients (LTX-2.3, the Ingredients IC-LoRA) and the pixel upscaler (LTX-2.3, the x4 pixel-spatial upscaler
IC-LoRA, as ``LTX-2.3_ICLoRA_Pixel_Spatial_Upscaler_Distilled.json``; its LTX-2.5 twin with the 2.5 x2 LoRA is
built by the graph tests only).

Built into ``workflows/ingredients-distilled.json`` and ``pixel-upscale-distilled.json`` by ``build_workflows.py``
(collected there with the others). Shared pieces (models, text encoders, prompts, VAEs, latent, samplers, outputs)
come from ``workflow_specs`` / ``workflow_specs_ltx25``; the IC-LoRA names are Lightricks' release names (the graph
tests write tiny stand-ins under them).
"""

from __future__ import annotations

from scripts import workflow_specs_ltx25 as ltx25
from scripts.workflow_kit import Node, Ref, Workflow, node
from scripts.workflow_specs import (
    CKPT_DISTILLED,
    DOWNLOAD_TIP,
    FPS,
    latent_node,
    model_nodes,
    output_nodes,
    sampler_node,
)
from scripts.workflow_specs_control import IC_TIP

INGREDIENTS_LORA = "ltx-2.3-22b-ic-lora-ingredients-0.9.safetensors"
INGREDIENTS_SHEET = "ltx2_example_ingredients_sheet.png"

INGREDIENTS_PROMPT = (
    "Reference sheet: a red-haired woman in a yellow raincoat shown in close-up and full-body turnaround; a "
    "vintage brass lantern; a foggy harbour pier at dusk.\n\nGenerated video: the woman in the yellow raincoat walks "
    "slowly along the foggy pier holding the brass lantern, its warm light swinging; the camera tracks beside her. "
    "Gulls cry in the distance, waves lap against the wooden posts."
)

INGREDIENTS_TIP = (
    "Ingredients IC-LoRA (ltx-2.3-22b-ic-lora-ingredients in models/loras, factor 1): Ingredients Reference turns "
    "the pictures into the reference video - a reference sheet on black (one panel per picture on a grid; one "
    "picture fills the frame, padded with black) at the latent's size, repeated to its frame count - and IC-LoRA "
    "Reference Guide feeds it to the model. Best: one sheet with clean panels (each character as close-up + "
    "turnaround, each prop, one location) on black, no text. Prompt in two parts: 'Reference sheet: <the panels>' "
    "then 'Generated video: <the action>'. The LoRA was trained at 768x448, 121 frames, 24 fps (its model card "
    "suggests strength 1.4 with the dev model; core's template uses 1.0 with the distilled one). All pictures need "
    "the same channel count (RGB, or RGBA over black)."
)


def ingredients() -> Workflow:
    stem = "ingredients-distilled"
    latent = Ref("latent")
    nodes = [
        *model_nodes(CKPT_DISTILLED, INGREDIENTS_PROMPT),
        latent_node(width=768, height=448),
        node("sheet", "LoadImage", column=1, image=INGREDIENTS_SHEET),
        node("reference", "LTX2NIngredientsReference", column=2, latent=latent, image_1=Ref("sheet", 0)),
        node("ic_lora", "LTX2NICLoraLoader", column=2, model=Ref("model"), lora_name=INGREDIENTS_LORA, strength=1.0),
        node("guide", "LTX2NICLoraGuide", column=2, positive=Ref("positive"), negative=Ref("negative"),
             vae=Ref("vae"), latent=latent, reference=Ref("reference"), reference_downscale_factor=Ref("ic_lora", 1),
             strength=1.0, attention_strength=1.0),
        sampler_node("sampler", latent, model=Ref("ic_lora", 0), positive=Ref("guide", "positive"),
                     negative=Ref("guide", "negative"), schedule="distilled stage 1", guidance="none"),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("Ingredients, LTX-2.3 distilled + the Ingredients IC-LoRA, one stage: reference pictures "
               "(characters, props, a location - or one reference sheet) are composed into a new clip with sound; "
               "the prompt drives the scene, the pictures say what things look like.")
    return Workflow(stem, summary, nodes, [INGREDIENTS_TIP, DOWNLOAD_TIP])


UPSCALE_VIDEO = "ltx2_example_low_res_video.mp4"
UPSCALE_LORA = "ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x4-0.9.safetensors"
UPSCALE_LORA_X2 = "ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x2-0.9.safetensors"
"""Lightricks/LTX-2.3-22b-IC-LoRA-Pixel-Spatial-Upscaler (listed in the official pack's README @aceeae96; its
``LTX-2.3_ICLoRA_Pixel_Spatial_Upscaler_Distilled.json`` loads the x4 file)."""
UPSCALE_PROMPT = ("The same scene in high resolution: crisp detail, sharp textures, clean edges and natural colours, "
                  "the motion and framing of the original kept. The original sound continues.")
UPSCALE_TIP = (
    "Pixel upscale (the official pack's pixel spatial upscaler recipe): Load IC-LoRA reads the factor of the "
    "pixel-spatial upscaler IC-LoRA from the file (x4 LoRA: 4, x2 LoRA: 2); Pixel Upscale Prepare makes the "
    "output the input's size x factor, each side rounded to a multiple of 32 x factor (128 for x4: a 192x128 "
    "input gives 768x512), and passes the input at output / factor as the IC-LoRA reference (unchanged when it "
    "is already that size). Draft small (e.g. ~280p for x4), upscale last. width / height 0 = automatic; frames "
    f"0 = the input's first 1 + 8k. The input's sound is kept. For x2 load {UPSCALE_LORA_X2} instead. For "
    "LTX-2.5: its model nodes with ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2-1.0 (factor 2). Set Text "
    "Encode's and Create Video's fps to the input's. To stay closer to the input, lower the IC-LoRA strength."
)


def upscale_nodes(lora: str) -> list[Node]:
    """Load Video, the upscaler IC-LoRA on ``model``, Pixel Upscale Prepare and the guide (keys ``prepare`` /
    ``guide``), shared by the LTX-2.3 workflow and its LTX-2.5 twin."""
    prepare = "prepare"
    return [
        node("load_video", "LoadVideo", column=1, file=UPSCALE_VIDEO),
        node("ic_lora", "LTX2NICLoraLoader", column=1, model=Ref("model"), lora_name=lora, strength=1.0),
        node(prepare, "LTX2NPixelUpscalePrepare", column=2, positive=Ref("positive"), negative=Ref("negative"),
             audio_vae=Ref("audio_vae"), video=Ref("load_video"), reference_downscale_factor=Ref("ic_lora", 1),
             width=0, height=0, frames=0),
        node("guide", "LTX2NICLoraGuide", column=2, positive=Ref(prepare, "positive"),
             negative=Ref(prepare, "negative"), vae=Ref("vae"), latent=Ref(prepare, "latent"),
             reference=Ref(prepare, "reference"), reference_downscale_factor=Ref("ic_lora", 1), strength=1.0,
             attention_strength=1.0),
    ]


def pixel_upscale() -> Workflow:
    """LTX-2.3 distilled + the x4 pixel-spatial upscaler IC-LoRA, one stage (the official pack's recipe: 8
    distilled sigmas, no guidance; the official file pairs the dev model with the distilled LoRA at 0.5, this pack's
    distilled IC-LoRA workflows use the distilled checkpoint)."""
    stem = "pixel-upscale-distilled"
    guided = {"positive": Ref("guide", "positive"), "negative": Ref("guide", "negative")}
    nodes = [
        *model_nodes(CKPT_DISTILLED, UPSCALE_PROMPT),
        *upscale_nodes(UPSCALE_LORA),
        sampler_node("sampler", Ref("prepare", "latent"), model=Ref("ic_lora", 0), schedule="distilled stage 1",
                     guidance="none", **guided),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("Pixel upscale, LTX-2.3 distilled + the x4 pixel-spatial upscaler IC-LoRA, one stage: a "
               "low-resolution clip is regenerated at four times its size with new detail, following it closely; "
               f"its length, fps ({FPS:g} here) and sound stay.")
    return Workflow(stem, summary, nodes, [UPSCALE_TIP, IC_TIP, DOWNLOAD_TIP])


def pixel_upscale_ltx25() -> Workflow:
    """The LTX-2.5 twin of :func:`pixel_upscale` (2.5 distilled + its x2 pixel-spatial upscaler IC-LoRA). Not
    shipped (the shipped 2.5 IC-LoRA workflow is ``ltx25-iclora-distilled``); the graph tests build it to run the
    same mode on the 2.5 x2 LoRA."""
    stem = "ltx25-pixel-upscale-distilled"
    nodes = [
        *ltx25.model_nodes(ltx25.TRANSFORMER_DISTILLED, UPSCALE_PROMPT),
        *upscale_nodes(ltx25.IC_LORA),
        *ltx25.distilled("sampler", Ref("prepare", "latent"), model=Ref("ic_lora", 0),
                         positive=Ref("guide", "positive"), negative=Ref("guide", "negative")),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("Pixel upscale, LTX-2.5 distilled + the x2 pixel-spatial upscaler IC-LoRA, one stage: a "
               "low-resolution clip is regenerated at twice its size; its length, fps and sound stay.")
    return Workflow(stem, summary, nodes, [UPSCALE_TIP, IC_TIP, ltx25.DEFAULTS_TIP, ltx25.DOWNLOAD_TIP])


def iclora_mode_workflows() -> list[Workflow]:
    """The IC-LoRA mode workflows in build order."""
    return [ingredients(), pixel_upscale()]
