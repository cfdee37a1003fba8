"""Descriptions of the IC-LoRA mode workflows of the official pack (example_workflows of
Lightricks/ComfyUI-LTXVideo; core's ``template_ltx2_3_ic_lora_ingredients``), distilled, one stage each:
Ingredients (LTX-2.3, the Ingredients IC-LoRA) and the pixel upscaler (LTX-2.5, the x2 pixel-spatial upscaler
IC-LoRA, the one Lightricks publishes).

Built into ``workflows/ingredients-distilled.json`` and ``pixel-upscale-distilled.json`` by ``build_workflows.py``
(collected there with the others). Shared pieces (models, text encoders, prompts, VAEs, latent, samplers, outputs)
come from ``workflow_specs`` / ``workflow_specs_ltx25``; the IC-LoRA names are Lightricks' release names (the graph
tests write tiny stand-ins under them).
"""

from __future__ import annotations

from scripts import workflow_specs_ltx25 as ltx25
from scripts.workflow_kit import Ref, Workflow, node
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
UPSCALE_PROMPT = ("The same scene in high resolution: crisp detail, sharp textures, clean edges and natural colours, "
                  "the motion and framing of the original kept. The original sound continues.")
UPSCALE_TIP = (
    "Pixel upscale: Load IC-LoRA reads the factor of the pixel-spatial upscaler IC-LoRA (x2 LoRA: 2); Pixel "
    "Upscale Prepare makes the output the input's size x factor, each side rounded to a multiple of 32 x factor "
    "(64 for x2: a 384x256 input gives 768x512), and passes the input at output / factor as the IC-LoRA reference "
    "(unchanged when it is already that size). width / height 0 = automatic; frames 0 = the input's first 1 + 8k. "
    "The input's sound is kept. Set Text Encode's and Create Video's fps to the input's."
)


def pixel_upscale() -> Workflow:
    stem = "pixel-upscale-distilled"
    prepare = "prepare"
    nodes = [
        *ltx25.model_nodes(ltx25.TRANSFORMER_DISTILLED, UPSCALE_PROMPT),
        node("load_video", "LoadVideo", column=1, file=UPSCALE_VIDEO),
        node("ic_lora", "LTX2NICLoraLoader", column=1, model=Ref("model"), lora_name=ltx25.IC_LORA, strength=1.0),
        node(prepare, "LTX2NPixelUpscalePrepare", column=2, positive=Ref("positive"), negative=Ref("negative"),
             audio_vae=Ref("audio_vae"), video=Ref("load_video"), reference_downscale_factor=Ref("ic_lora", 1),
             width=0, height=0, frames=0),
        node("guide", "LTX2NICLoraGuide", column=2, positive=Ref(prepare, "positive"),
             negative=Ref(prepare, "negative"), vae=Ref("vae"), latent=Ref(prepare, "latent"),
             reference=Ref(prepare, "reference"), reference_downscale_factor=Ref("ic_lora", 1), strength=1.0,
             attention_strength=1.0),
        *ltx25.distilled("sampler", Ref(prepare, "latent"), model=Ref("ic_lora", 0),
                         positive=Ref("guide", "positive"), negative=Ref("guide", "negative")),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("Pixel upscale, LTX-2.5 distilled + the x2 pixel-spatial upscaler IC-LoRA, one stage: a "
               f"low-resolution clip is regenerated at twice its size, following it closely; its length, fps "
               f"({FPS:g} here) and sound stay.")
    return Workflow(stem, summary, nodes, [UPSCALE_TIP, IC_TIP, ltx25.DEFAULTS_TIP, ltx25.DOWNLOAD_TIP])


def iclora_mode_workflows() -> list[Workflow]:
    """The IC-LoRA mode workflows in build order."""
    return [ingredients(), pixel_upscale()]
