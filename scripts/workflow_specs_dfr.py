"""Description of the DFR workflow (``workflows/dfr-distilled.json``): Lightricks' detail-fidelity rendering
(ltx-pipelines main @400fd31 ``DFRPipeline``) on LTX-2.5 as one graph.

The dev (SFT) transformer with the 2.5 distilled LoRA, as the reference runs it: DFR Canvas pads the clip to the
keyframe segment grid and adds generated keyframe slots; stage 1 samples at half size with the distilled stage-1
sigmas (plain Euler, the reference's default step); DFR Detail Stage upsamples video and slots x2 and adds the
half-size video as the reference of the x2 detailing IC-LoRA (Lightricks' pixel-spatial upscaler IC-LoRA, factor
from its metadata); stage 2 refines at full size with the distilled stage-2 sigmas; DFR Temporal Rounds doubles the
frame rate once (2 tiles, Euler-ancestral eta 0.5) with the 2.5 temporal x2 upscaler, trims the canvas padding and
cuts the stage-1 audio to the video. File names are Lightricks' release names (the graph tests write tiny
stand-ins under them).
"""

from __future__ import annotations

from scripts import workflow_specs_ltx25 as ltx25
from scripts.workflow_kit import Ref, Workflow, node
from scripts.workflow_specs import FPS, PROMPT, SEED, latent_node

TEMPORAL_UPSCALER = "ltx-2.5-latent-temporal-upscaler-x2-bf16-1.0.safetensors"
DFR_ROUNDS = 1

DFR_TIP = ("DFR: the frame count is padded to a multiple of 24 or 32 frames (+1) for the generated keyframes and "
           "trimmed back at the end: you get (frames - 1) x 2^rounds + 1 frames at fps x 2^rounds (rounds 0 / 1 / "
           "2 in DFR Temporal Rounds; set Create Video's fps to match: 48 for one round at 24 fps). Without the "
           "detailing IC-LoRA, bypass Load IC-LoRA and set reference_downscale_factor to 0.")
DFR_SIZE_TIP = ("Sizes: the final width and height (Empty Audio+Video Latent, two stages) multiples of 64, frames = "
                "1 + 8k at the fps of Text Encode. Both stages sample with plain Euler and no guidance, as "
                "Lightricks' DFR pipeline (distilled stage-1 and stage-2 sigmas); the temporal rounds use "
                "Euler-ancestral (eta 0.5) inside DFR Temporal Rounds.")


def dfr() -> Workflow:
    stem = "dfr-distilled"
    slots = {"positive": Ref("canvas", "positive"), "negative": Ref("canvas", "negative")}
    detail = {"positive": Ref("detail", "positive"), "negative": Ref("detail", "negative")}
    nodes = [
        *ltx25.model_nodes(ltx25.TRANSFORMER_DEV, PROMPT),
        node("distilled_lora", "LTX2NLoraLoader", model=Ref("model"), lora_name=ltx25.DISTILLED_LORA, strength=1.0),
        latent_node(width=1536, height=1024, stages="two stages (x2 upscale)"),
        node("canvas", "LTX2NDFRCanvas", model=Ref("distilled_lora"), positive=Ref("positive"),
             negative=Ref("negative"), latent=Ref("latent")),
        *ltx25.sampler("stage1", Ref("canvas", "latent"), model=Ref("distilled_lora"), schedule="distilled stage 1",
                       guidance="none", ancestral=False, **slots),
        node("upscaler", "LTX2NUpscalerLoader", upscaler_name=ltx25.UPSCALER),
        node("detailing_lora", "LTX2NICLoraLoader", model=Ref("distilled_lora"), lora_name=ltx25.IC_LORA,
             strength=1.0),
        node("detail", "LTX2NDFRDetailStage", latent=Ref("stage1"), upscale_model=Ref("upscaler"), vae=Ref("vae"),
             reference_downscale_factor=Ref("detailing_lora", "reference_downscale_factor"), **slots),
        *ltx25.sampler("stage2", Ref("detail", "latent"), model=Ref("detailing_lora", "model"),
                       schedule="distilled stage 2", guidance="none", ancestral=False, **detail),
        node("temporal_upscaler", "LTX2NUpscalerLoader", upscaler_name=TEMPORAL_UPSCALER),
        node("rounds", "LTX2NDFRTemporalRounds", model=Ref("distilled_lora"), latent=Ref("stage2"), vae=Ref("vae"),
             rounds=DFR_ROUNDS, seed=SEED, upscale_model=Ref("temporal_upscaler"), **detail),
        node("decode_video", "LTX2NDecodeVideo", column=3, samples=Ref("rounds", "latent"), vae=Ref("vae")),
        node("decode_audio", "LTX2NDecodeAudio", column=3, samples=Ref("rounds", "latent"),
             audio_vae=Ref("audio_vae")),
        node("create_video", "CreateVideo", column=4, images=Ref("decode_video"), fps=FPS * 2 ** DFR_ROUNDS,
             audio=Ref("decode_audio")),
        node("save_video", "SaveVideo", column=4, video=Ref("create_video"), filename_prefix=f"LTX-2/{stem}",
             format="mp4", codec="h264"),
    ]
    summary = ("Detail-fidelity rendering (Lightricks' DFR pipeline), LTX-2.5: the dev model with the distilled "
               "LoRA generates the clip at half size together with extra keyframes it invents (one every 24 or 32 "
               "frames), re-renders it at full size (1536x1024) with the x2 detailing IC-LoRA following the "
               "half-size result, then doubles the frame rate (48 fps) in two tiles anchored on those keyframes. "
               "The audio is the first stage's, cut to the video.")
    return Workflow(stem, summary, nodes, [DFR_TIP, DFR_SIZE_TIP, ltx25.DOWNLOAD_TIP])


def dfr_workflows() -> list[Workflow]:
    """The DFR description."""
    return [dfr()]
