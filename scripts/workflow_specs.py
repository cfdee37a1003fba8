"""Compact descriptions of the shipped workflows (built into ``workflows/*.json`` by ``build_workflows.py``).

All five use LTX-2.3 files (the names of Lightricks' releases) and only this pack's nodes plus ComfyUI core nodes
(``LoadImage``, ``RandomNoise``, ``KSamplerSelect``, ``SamplerCustomAdvanced``, ``CreateVideo``, ``SaveVideo``).
Sizes follow Lightricks' defaults (768x512 per stage, 121 frames at 24 fps, seed 10). The positive prompt node is
titled :data:`PROMPT_TITLE` (``scripts/generate.py`` replaces its text). The shared pieces (constants, model / text
encoder / prompts, VAEs, latent, sampler, mp4 output) are used by the other ``workflow_specs_*`` modules too.
"""

from __future__ import annotations

from typing import Any

from scripts.workflow_kit import Node, Ref, Workflow, node

CKPT_DISTILLED = "ltx-2.3-22b-distilled.safetensors"
CKPT_DEV = "ltx-2.3-22b-dev.safetensors"
GEMMA = "gemma-3-12b-it-qat-q4_0-unquantized/"
UPSCALER = "ltx-2.3-spatial-upscaler-x2-1.1.safetensors"
DISTILLED_LORA = "ltx-2.3-22b-distilled-lora-384.safetensors"
FIRST_FRAME = "ltx2_example_first_frame.png"
LAST_FRAME = "ltx2_example_last_frame.png"

PROMPT_TITLE = "Prompt"
FPS, FRAMES, SEED = 24.0, 121, 10
PROMPT = ("A red fox trots through fresh snow in a quiet pine forest at dawn, its breath steaming in the cold air. "
          "The camera follows at a low angle as golden light breaks through the trees. Soft crunch of paws on "
          "snow, a distant crow calls, and a gentle wind moves through the branches.")
I2V_PROMPT = ("The scene comes to life: the camera slowly pushes in while the light shifts warmly across the "
              "frame. Quiet ambient room tone with a soft breeze and faint birdsong outside.")
FLF_PROMPT = ("A smooth, continuous camera move carries the first scene into the last one, with natural motion "
              "and consistent lighting. Calm ambient sound that swells gently toward the end.")
NEGATIVE = ("blurry, out of focus, low contrast, overexposed, flickering, jittery motion, distorted proportions, "
            "deformed faces, extra limbs, watermark, subtitles, text overlay, cartoonish, 3D CGI look, silent or "
            "muted audio, distorted or robotic voice, off-sync audio, background hiss, AI artifacts")

SIZE_TIP = ("Sizes: width and height multiples of 32 (of 64 for two stages), frames = 1 + 8k (121 frames at 24 fps "
            "= 5 s). Keep the fps of Text Encode, Empty Audio+Video Latent and Create Video equal.")
DOWNLOAD_TIP = ("Downloads: the LTX-2.3 files from huggingface.co/Lightricks/LTX-2.3, Gemma from "
                "huggingface.co/google/gemma-3-12b-it-qat-q4_0-unquantized (the whole folder). LTX-2 (19B) files "
                "work too: pick them in the loaders.")


def text_nodes(ckpt: str, prompt: str, **model_inputs: Any) -> list[Node]:
    """Model (``model_inputs``: its optional inputs, e.g. ``streams``), text encoder and the two prompts
    (column 0-1)."""
    return [
        node("model", "LTX2NCheckpointLoader", ckpt_name=ckpt, **model_inputs),
        node("text_encoder", "LTX2NTextEncoderLoader", gemma=GEMMA, ckpt_name=ckpt),
        node("positive", "LTX2NTextEncode", title=PROMPT_TITLE, column=1, text_encoder=Ref("text_encoder"),
             text=prompt, frame_rate=FPS),
        node("negative", "LTX2NTextEncode", title="Negative Prompt", column=1, text_encoder=Ref("text_encoder"),
             text=NEGATIVE, frame_rate=FPS),
    ]


def vae_nodes(ckpt: str) -> list[Node]:
    return [node("vae", "LTX2NVideoVAELoader", vae_name=ckpt),
            node("audio_vae", "LTX2NAudioVAELoader", vae_name=ckpt)]


def model_nodes(ckpt: str, prompt: str) -> list[Node]:
    """Model, text encoder, both prompts and both VAEs of one checkpoint (columns 0-1)."""
    return [*text_nodes(ckpt, prompt), *vae_nodes(ckpt)]


def latent_node(*, width: int = 768, height: int = 512, stages: str = "one stage") -> Node:
    return node("latent", "LTX2NEmptyAVLatent", column=1, width=width, height=height, frames=FRAMES, fps=FPS,
                batch_size=1, stages=stages)


def sampler_node(key: str, latent: Ref, *, schedule: str, guidance: str, model: Ref | None = None,
                 positive: Ref | None = None, negative: Ref | None = None, steps: int = 0) -> Node:
    return node(key, "LTX2NSampler", column=2, model=model or Ref("model"), positive=positive or Ref("positive"),
                negative=negative or Ref("negative"), latent=latent, seed=SEED, schedule=schedule, steps=steps,
                guidance=guidance)


def sample_and_crop(sampler: str, crop: str, guided: str, *, schedule: str, column: int) -> list[Node]:
    """A distilled sampler on the latent and prompts of ``guided`` (a node that appends keyframe guides), then Crop
    Guides on its result."""
    positive, negative = Ref(guided, "positive"), Ref(guided, "negative")
    return [sampler_node(sampler, Ref(guided, "latent"), positive=positive, negative=negative, schedule=schedule,
                         guidance="none"),
            node(crop, "LTX2NCropGuides", column=column, positive=positive, negative=negative, latent=Ref(sampler))]


def output_nodes(samples: Ref, stem: str) -> list[Node]:
    """Decode video and audio, mux into an mp4 (h264 + aac)."""
    return [
        node("decode_video", "LTX2NDecodeVideo", column=3, samples=samples, vae=Ref("vae")),
        node("decode_audio", "LTX2NDecodeAudio", column=3, samples=samples, audio_vae=Ref("audio_vae")),
        node("create_video", "CreateVideo", column=4, images=Ref("decode_video"), fps=FPS,
             audio=Ref("decode_audio")),
        node("save_video", "SaveVideo", column=4, video=Ref("create_video"), filename_prefix=f"LTX-2/{stem}",
             format="mp4", codec="h264"),
    ]


def t2v_distilled() -> Workflow:
    stem = "t2v-distilled"
    nodes = [*model_nodes(CKPT_DISTILLED, PROMPT), latent_node(),
             sampler_node("sampler", Ref("latent"), schedule="distilled stage 1", guidance="none"),
             *output_nodes(Ref("sampler"), stem)]
    summary = ("Text to video + audio, LTX-2.3 distilled model, one stage: 8 fixed distilled steps, no guidance "
               "(the fastest way to a clip).")
    return Workflow(stem, summary, nodes, [SIZE_TIP, DOWNLOAD_TIP])


def t2v_two_stage() -> Workflow:
    stem = "t2v-two-stage"
    nodes = [
        *model_nodes(CKPT_DEV, PROMPT),
        latent_node(width=1536, height=1024, stages="two stages (x2 upscale)"),
        sampler_node("stage1", Ref("latent"), schedule="LTX-2 schedule", guidance="multimodal"),
        node("upscaler", "LTX2NUpscalerLoader", upscaler_name=UPSCALER),
        node("upscale", "LTX2NUpscaleLatent", column=2, samples=Ref("stage1"), upscale_model=Ref("upscaler"),
             vae=Ref("vae")),
        node("distilled_lora", "LTX2NLoraLoader", column=1, model=Ref("model"), lora_name=DISTILLED_LORA,
             strength=1.0),
        sampler_node("stage2", Ref("upscale"), model=Ref("distilled_lora"), schedule="distilled stage 2",
                     guidance="none"),
        *output_nodes(Ref("stage2"), stem),
    ]
    summary = ("Text to video + audio in two stages (Lightricks' two-stage recipe): the LTX-2.3 dev model with "
               "multimodal guidance at half size (768x512), a x2 latent upscale, then a 3-step refinement at full "
               "size (1536x1024) with the distilled LoRA and the distilled stage-2 sigmas.")
    return Workflow(stem, summary, nodes, [SIZE_TIP, DOWNLOAD_TIP])


def t2v_full() -> Workflow:
    stem = "t2v-full"
    nodes = [
        *model_nodes(CKPT_DEV, PROMPT), latent_node(),
        node("scheduler", "LTX2NScheduler", column=2, schedule="LTX-2 schedule", steps=30, model=Ref("model")),
        node("guider", "LTX2NMultimodalGuider", column=2, model=Ref("model"), positive=Ref("positive"),
             negative=Ref("negative")),
        node("noise", "RandomNoise", column=2, noise_seed=SEED),
        node("sampler_select", "KSamplerSelect", column=2, sampler_name="euler"),
        node("sampler", "SamplerCustomAdvanced", column=3, noise=Ref("noise"), guider=Ref("guider"),
             sampler=Ref("sampler_select"), sigmas=Ref("scheduler"), latent_image=Ref("latent")),
        *output_nodes(Ref("sampler", "output"), stem),
    ]
    summary = ("Text to video + audio with the LTX-2.3 dev (full) model: the LTX-2 schedule (30 steps) and the "
               "multimodal guider (per-modality CFG, STG, audio<->video guidance, rescale; Lightricks' defaults) "
               "driven by core Sampler Custom Advanced. Slower than distilled (4 model passes per step), the "
               "highest fidelity to the prompt.")
    return Workflow(stem, summary, nodes, [SIZE_TIP, DOWNLOAD_TIP])


def i2v() -> Workflow:
    stem = "i2v-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, I2V_PROMPT), latent_node(),
        node("image", "LoadImage", column=1, image=FIRST_FRAME),
        node("image_to_video", "LTX2NImageToVideo", column=2, vae=Ref("vae"), image=Ref("image"),
             latent=Ref("latent"), strength=1.0, image_compression=-1, model=Ref("model")),
        sampler_node("sampler", Ref("image_to_video"), schedule="distilled stage 1", guidance="none"),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("Image to video + audio, LTX-2.3 distilled model, one stage: the picture becomes the first frame "
               "(resized to cover the video size and centre-cropped); the prompt describes motion and sound.")
    return Workflow(stem, summary, nodes, [SIZE_TIP, DOWNLOAD_TIP])


def flf() -> Workflow:
    stem = "flf-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, FLF_PROMPT), latent_node(),
        node("first_image", "LoadImage", column=1, image=FIRST_FRAME),
        node("last_image", "LoadImage", column=1, image=LAST_FRAME),
        node("first_last", "LTX2NFirstLastFrame", column=2, positive=Ref("positive"), negative=Ref("negative"),
             vae=Ref("vae"), latent=Ref("latent"), first_image=Ref("first_image"), last_image=Ref("last_image"),
             first_strength=1.0, last_strength=1.0, image_compression=-1, model=Ref("model")),
        *sample_and_crop("sampler", "crop_guides", "first_last", schedule="distilled stage 1", column=3),
        *output_nodes(Ref("crop_guides", "latent"), stem),
    ]
    summary = ("First and last frame to video + audio, LTX-2.3 distilled model, one stage: the first picture "
               "starts the clip, the last one is a keyframe guide at the final frame (removed by Crop Guides "
               "before decoding).")
    return Workflow(stem, summary, nodes, [SIZE_TIP, DOWNLOAD_TIP])


def core_workflows() -> list[Workflow]:
    """Text / image to video + audio (the other modes: ``workflow_specs_audio``, ``_temporal``, ``_control``)."""
    return [t2v_distilled(), t2v_two_stage(), t2v_full(), i2v(), flf()]
