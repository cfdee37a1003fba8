"""Description of the HDR IC-LoRA workflow as Lightricks' ``HDRICLoraPipeline`` (the official pack's
``LTX-2.3_ICLoRA_HDR_Distilled`` example with ``LTXVHDRDecodePostprocess``): distilled, two stages, VIDEO ONLY.

Built into ``workflows/hdr-iclora.json`` by ``build_workflows.py`` (collected there with the others). HDR Prepare
sizes the run as the reference (the output size rounded up to multiples of 64, a video-only latent at half that
size) and fits the SDR input (Rec.709 codes in [0, 1], what the LoRA was trained on) to each stage by reflection
padding; stage 1 (distilled sigmas) and stage 2 (after the x2 latent upsample: the sigmas 0.909375, 0.725, 0 in
core Manual Sigmas + Sampler Custom Advanced) both carry the IC-LoRA reference. The decoded frames are LogC3 working
codes, which HDR Decode crops back and turns into scene-linear float light for Save EXR Sequence, plus a tonemapped
SDR preview mp4 (no sound: the mode makes none). The HDR IC-LoRA name is Lightricks' release name (the graph tests
write a tiny stand-in under it).
"""

from __future__ import annotations

from ltx_model.modes.hdr import HDR_STAGE2_SIGMAS
from scripts.workflow_kit import Ref, Workflow, node
from scripts.workflow_specs import CKPT_DISTILLED, DOWNLOAD_TIP, FPS, SEED, UPSCALER, sampler_node, text_nodes
from scripts.workflow_specs_control import EXAMPLE_VIDEO, IC_TIP

HDR_LORA = "ltx-2.3-22b-ic-lora-hdr-0.9.safetensors"
HDR_PROMPT = "HDR footage"
HDR_TIP = (
    "HDR IC-LoRA (ltx-2.3-22b-ic-lora-hdr-0.9 from huggingface.co/Lightricks/LTX-2.3-22b-IC-LoRA-HDR in "
    "models/loras): the input video is the IC-LoRA reference as it is; the model regenerates it with the highlights "
    "and shadows an SDR video clipped. HDR Prepare: width / height 0 = the input's (any size: generated at the next "
    "multiples of 64, cropped back by HDR Decode), frames 0 = the input's first 1 + 8k; high_quality generates "
    "2N - 1 frames from each input frame shown twice and keeps every other (about 2x the time). The decoded frames "
    "are LogC3 codes: HDR Decode turns them into scene-linear light (float, above 1.0, up to about 55) and Save EXR "
    "Sequence writes output/LTX-2/hdr-iclora_NNNNN_/frame_00000.exr ... (half or float, ZIP; view them in an "
    "HDR-aware viewer such as DJV). The mp4 is only a tonemapped preview, without sound (the mode makes video only; "
    "HDR Decode's exposure changes the preview, not the EXR). Set Create Video's fps to the input's. The prompt "
    "'HDR footage' is the one the LoRA was trained with. Lightricks decodes HDR in float32: start ComfyUI with "
    "--fp32-vae for the same (finer codes in the highlights). Needs the OpenEXR package (pip install OpenEXR).")
STAGES_TIP = (
    "Two stages as Lightricks' pipeline, the HDR IC-LoRA and its reference in both: stage 1 at half size with the 8 "
    "distilled sigmas, Upscale Latent x2, stage 2 at full size re-noised to 0.909375 and refined in two steps "
    "(Manual Sigmas '0.909375, 0.725, 0'). Lightricks runs stage 2 over a 2x2x2 grid of overlapping tiles to bound "
    "GPU memory; here it runs on the whole latent.")
EXR_IN_TIP = (
    "EXR input instead of a video: replace Load Video + Get Video Components by Load EXR Sequence (LTX-2) (a folder "
    "of .exr frames below ComfyUI's input folder, its colour space: srgb_linear, acescg or acescct) and connect "
    "its 'reference' output (the frames as LogC3 codes) to HDR Prepare's images.")


def _stage2(latent: Ref, positive: Ref) -> list:
    """Stage 2: the reference's two-step schedule through core Sampler Custom Advanced (positive prompt only)."""
    sigmas = ", ".join(f"{s:g}" for s in HDR_STAGE2_SIGMAS)
    return [
        node("stage2_sigmas", "ManualSigmas", column=3, sigmas=sigmas),
        node("stage2_guider", "BasicGuider", column=3, model=Ref("ic_lora", 0), conditioning=positive),
        node("stage2_noise", "RandomNoise", column=3, noise_seed=SEED),
        node("stage2_sampler_select", "KSamplerSelect", column=3, sampler_name="euler"),
        node("stage2", "SamplerCustomAdvanced", column=3, noise=Ref("stage2_noise"), guider=Ref("stage2_guider"),
             sampler=Ref("stage2_sampler_select"), sigmas=Ref("stage2_sigmas"), latent_image=latent),
    ]


def hdr_iclora() -> Workflow:
    stem = "hdr-iclora"
    prepare = "prepare"
    factor = Ref("ic_lora", 1)
    nodes = [
        *text_nodes(CKPT_DISTILLED, HDR_PROMPT),
        node("vae", "LTX2NVideoVAELoader", vae_name=CKPT_DISTILLED),
        node("load_video", "LoadVideo", column=1, file=EXAMPLE_VIDEO),
        node("components", "GetVideoComponents", column=1, video=Ref("load_video")),
        node("ic_lora", "LTX2NICLoraLoader", column=1, model=Ref("model"), lora_name=HDR_LORA, strength=1.0),
        node(prepare, "LTX2NHDRPrepare", column=2, images=Ref("components", "images"),
             reference_downscale_factor=factor, width=0, height=0, frames=0, high_quality=False),
        node("guide1", "LTX2NICLoraGuide", column=2, positive=Ref("positive"), negative=Ref("negative"),
             vae=Ref("vae"), latent=Ref(prepare, "latent"), reference=Ref(prepare, "reference_stage1"),
             reference_downscale_factor=factor, strength=1.0, attention_strength=1.0),
        sampler_node("stage1", Ref(prepare, "latent"), model=Ref("ic_lora", 0), positive=Ref("guide1", "positive"),
                     negative=Ref("guide1", "negative"), schedule="distilled stage 1", guidance="none"),
        node("upscaler", "LTX2NUpscalerLoader", column=1, upscaler_name=UPSCALER),
        node("upscale", "LTX2NUpscaleLatent", column=3, samples=Ref("stage1"), upscale_model=Ref("upscaler"),
             vae=Ref("vae")),
        node("guide2", "LTX2NICLoraGuide", column=3, positive=Ref("positive"), negative=Ref("negative"),
             vae=Ref("vae"), latent=Ref("upscale"), reference=Ref(prepare, "reference_stage2"),
             reference_downscale_factor=factor, strength=1.0, attention_strength=1.0),
        *_stage2(Ref("upscale"), Ref("guide2", "positive")),
        node("decode_video", "LTX2NDecodeVideo", column=4, samples=Ref("stage2", "output"), vae=Ref("vae")),
        node("hdr_decode", "LTX2NHDRDecode", column=4, images=Ref("decode_video"), transfer="logc3",
             colour_space="srgb_linear", exposure=0.0, width=Ref(prepare, "width"), height=Ref(prepare, "height"),
             high_quality=Ref(prepare, "high_quality")),
        node("save_exr", "LTX2NSaveEXRSequence", column=5, images=Ref("hdr_decode", "linear"),
             filename_prefix=f"LTX-2/{stem}", colour_space="srgb_linear", precision="half"),
        node("create_video", "CreateVideo", column=5, images=Ref("hdr_decode", "preview"), fps=FPS),
        node("save_video", "SaveVideo", column=5, video=Ref("create_video"), filename_prefix=f"LTX-2/{stem}-preview",
             format="mp4", codec="h264"),
    ]
    summary = ("HDR IC-LoRA, LTX-2.3 distilled, two stages with the reference in both, video only (as Lightricks' "
               "pipeline): an SDR clip becomes scene-linear HDR (LogC3 decoded to float light), saved as an EXR "
               "sequence, with a tonemapped mp4 preview (no sound).")
    return Workflow(stem, summary, nodes, [HDR_TIP, STAGES_TIP, EXR_IN_TIP, IC_TIP, DOWNLOAD_TIP])


def hdr_workflows() -> list[Workflow]:
    """The HDR workflows in build order."""
    return [hdr_iclora()]
