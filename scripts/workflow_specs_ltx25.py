"""Descriptions of the LTX-2.5 workflows (``workflows/ltx25-*.json``): the 2.5 twins of the 2.3 ones.

Each is the graph of its LTX-2.3 twin (``t2v-distilled``, ``t2v-two-stage``, ``t2v-full``, ``i2v-distilled``,
``keyframes-two-stage``, ``a2v-distilled``, ``t2a-dev``, ``extend-distilled``, ``iclora-detailer-distilled``) with the
2.5 split files (Lightricks/LTX-2.5: transformer in ``models/diffusion_models``, the Gemma 4 text encoder with its
bundled projection, the video VAE with the diffusion decoder and the audio VAE in ``models/vae``, the 2.5 x2
upscaler, the 2.5 distilled LoRA and IC-LoRA) and the 2.5 defaults of Lightricks' ltx-pipelines (main @400fd31,
``ltx_model.pipelines.presets``): 768x512 per stage, 121 frames at 24 fps, seed 10; distilled stage 1 with the
Euler-ancestral sampler (eta 1, s_noise 1; ``DistilledPipeline``), every other stage with plain Euler; image
conditioning at the version's CRF, 18 (``default_image_crf`` from 2.4 on; image_compression -1 = auto with the
MODEL connected); dev runs with 30 steps and STG block 28 (the loader's
per-version defaults). The shared pieces of the 2.3 descriptions (prompts, latent, mp4 output) come from
``workflow_specs*``.
"""

from __future__ import annotations

from typing import Any

from scripts.workflow_kit import Node, Ref, Workflow, node
from scripts.workflow_specs import (
    FIRST_FRAME,
    FPS,
    I2V_PROMPT,
    NEGATIVE,
    PROMPT,
    PROMPT_TITLE,
    SEED,
    SIZE_TIP,
    latent_node,
    output_nodes,
)
from scripts.workflow_specs_audio import A2V_PROMPT, A2V_TIP, EXAMPLE_AUDIO, T2A_PROMPT, T2A_SECONDS
from scripts.workflow_specs_control import DETAILER_PROMPT, EXAMPLE_VIDEO, IC_TIP
from scripts.workflow_specs_temporal import (
    EXTEND_PROMPT,
    KEYFRAME_PROMPT,
    SOURCE_TIP,
    TIMELINE_TIP,
    keyframe_images,
    pin_keyframes,
)

TRANSFORMER_DISTILLED = "ltx-2.5-22b-distilled-transformer-bf16.safetensors"
TRANSFORMER_DEV = "ltx-2.5-22b-dev-transformer-bf16.safetensors"
TEXT_ENCODER = "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors"
VIDEO_VAE = "ltx-2.5-video-vae-bf16.safetensors"
AUDIO_VAE = "ltx-2.5-audio-vae-bf16.safetensors"
UPSCALER = "ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0.safetensors"
DISTILLED_LORA = "ltx-2.5-22b-distilled-lora-450-bf16.safetensors"
IC_LORA = "ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2-1.0.safetensors"

AUTO_CRF = -1
"""``image_compression`` = the connected model version's CRF (``ltx_model.modes.default_image_crf``: 18 for
LTX-2.5, from model version 2.4 on); the image-conditioning nodes get the MODEL for it."""
ANCESTRAL = {"eta": 1.0, "s_noise": 1.0}
"""Lightricks' distilled stage-1 sampler for 2.5: fully ancestral Euler (``DistilledPipeline``, eta 1)."""

DOWNLOAD_TIP = ("Downloads: huggingface.co/Lightricks/LTX-2.5 keeps each file in the subfolder named like its ComfyUI "
                "folder (diffusion_models, text_encoders, vae, latent_upscale_models, loras). The text encoder is "
                "Gemma 4 fine-tuned for LTX with the text projection bundled (one file): Google's Gemma 4 and the "
                "Gemma 3 of LTX-2.3 do not fit. LTX-2.3 files and LoRAs do not mix with 2.5 files.")
DEFAULTS_TIP = ("LTX-2.5 defaults (Lightricks' ltx-pipelines): the distilled first stage samples with Euler "
                "Ancestral (LTX-2) (eta 1), refinement stages and guided runs with plain Euler; pictures are "
                "conditioned at the model's CRF (image_compression -1 = auto: 18 for LTX-2.5); the video VAE's "
                "diffusion decoder decodes in 2 seeded steps (Decode Video: decode_steps 0 = the file's). The "
                "conv-decoder VAE (ltx-2.5-video-vae-conv-bf16) decodes faster with less memory.")
TIPS = [SIZE_TIP, DEFAULTS_TIP, DOWNLOAD_TIP]


def text_nodes(transformer: str, prompt: str, **model_inputs: Any) -> list[Node]:
    """Transformer, Gemma 4 text encoder (with the transformer file for its connectors) and both prompts."""
    return [
        node("model", "LTX2NCheckpointLoader", ckpt_name=transformer, **model_inputs),
        node("text_encoder", "LTX2NTextEncoderLoader", gemma=TEXT_ENCODER, ckpt_name=transformer),
        node("positive", "LTX2NTextEncode", title=PROMPT_TITLE, text_encoder=Ref("text_encoder"), text=prompt,
             frame_rate=FPS),
        node("negative", "LTX2NTextEncode", title="Negative Prompt", text_encoder=Ref("text_encoder"),
             text=NEGATIVE, frame_rate=FPS),
    ]


def model_nodes(transformer: str, prompt: str) -> list[Node]:
    """Transformer, text encoder, prompts and the two 2.5 VAE files (keys ``vae`` / ``audio_vae``)."""
    return [*text_nodes(transformer, prompt), node("vae", "LTX2NVideoVAELoader", vae_name=VIDEO_VAE),
            node("audio_vae", "LTX2NAudioVAELoader", vae_name=AUDIO_VAE)]


def sampler(key: str, latent: Ref, *, schedule: str, guidance: str, ancestral: bool, model: Ref | None = None,
            positive: Ref | None = None, negative: Ref | None = None) -> list[Node]:
    """Sample Audio+Video (LTX-2) with its sampler made explicit: Euler Ancestral (LTX-2) for a distilled stage 1,
    core KSamplerSelect ``euler`` otherwise (``<key>_sampler``)."""
    step = (node(f"{key}_sampler", "LTX2NSamplerEulerAncestral", **ANCESTRAL) if ancestral
            else node(f"{key}_sampler", "KSamplerSelect", sampler_name="euler"))
    return [step, node(key, "LTX2NSampler", model=model or Ref("model"), positive=positive or Ref("positive"),
                       negative=negative or Ref("negative"), latent=latent, seed=SEED, schedule=schedule, steps=0,
                       guidance=guidance, sampler=Ref(step.key))]


def distilled(key: str, latent: Ref, **refs: Ref) -> list[Node]:
    """The distilled first stage: 8 fixed sigmas, no guidance, Euler-ancestral."""
    return sampler(key, latent, schedule="distilled stage 1", guidance="none", ancestral=True, **refs)


def t2v_distilled() -> Workflow:
    stem = "ltx25-t2v-distilled"
    nodes = [*model_nodes(TRANSFORMER_DISTILLED, PROMPT), latent_node(), *distilled("sampler", Ref("latent")),
             *output_nodes(Ref("sampler"), stem)]
    summary = ("Text to video + audio, LTX-2.5 distilled model, one stage: 8 fixed distilled steps with the "
               "Euler-ancestral sampler, no guidance (the fastest way to a clip).")
    return Workflow(stem, summary, nodes, TIPS)


def upscale_refine(source: Ref, latent_key: str = "upscale") -> list[Node]:
    """x2 latent upscale of ``source`` with the 2.5 upscaler (node ``latent_key``)."""
    return [node("upscaler", "LTX2NUpscalerLoader", upscaler_name=UPSCALER),
            node(latent_key, "LTX2NUpscaleLatent", samples=source, upscale_model=Ref("upscaler"), vae=Ref("vae"))]


def t2v_two_stage() -> Workflow:
    stem = "ltx25-t2v-two-stage"
    nodes = [
        *model_nodes(TRANSFORMER_DEV, PROMPT),
        latent_node(width=1536, height=1024, stages="two stages (x2 upscale)"),
        *sampler("stage1", Ref("latent"), schedule="LTX-2 schedule", guidance="multimodal", ancestral=False),
        *upscale_refine(Ref("stage1")),
        node("distilled_lora", "LTX2NLoraLoader", model=Ref("model"), lora_name=DISTILLED_LORA, strength=1.0),
        *sampler("stage2", Ref("upscale"), model=Ref("distilled_lora"), schedule="distilled stage 2",
                 guidance="none", ancestral=False),
        *output_nodes(Ref("stage2"), stem),
    ]
    summary = ("Text to video + audio in two stages (Lightricks' two-stage recipe): the LTX-2.5 dev model with "
               "multimodal guidance at half size (768x512, 30 steps), a x2 latent upscale, then a 3-step "
               "refinement at full size (1536x1024) with the 2.5 distilled LoRA and the distilled stage-2 sigmas.")
    return Workflow(stem, summary, nodes, TIPS)


def t2v_full() -> Workflow:
    stem = "ltx25-t2v-full"
    nodes = [
        *model_nodes(TRANSFORMER_DEV, PROMPT), latent_node(),
        node("scheduler", "LTX2NScheduler", schedule="LTX-2 schedule", steps=30, model=Ref("model")),
        node("guider", "LTX2NMultimodalGuider", model=Ref("model"), positive=Ref("positive"),
             negative=Ref("negative")),
        node("noise", "RandomNoise", noise_seed=SEED),
        node("sampler_select", "KSamplerSelect", sampler_name="euler"),
        node("sampler", "SamplerCustomAdvanced", noise=Ref("noise"), guider=Ref("guider"),
             sampler=Ref("sampler_select"), sigmas=Ref("scheduler"), latent_image=Ref("latent")),
        *output_nodes(Ref("sampler", "output"), stem),
    ]
    summary = ("Text to video + audio with the LTX-2.5 dev (full) model: the LTX-2 schedule (30 steps) and the "
               "multimodal guider (per-modality CFG, STG on block 28, audio<->video guidance, rescale; Lightricks' "
               "defaults) driven by core Sampler Custom Advanced with Euler. Slower than distilled (4 model passes "
               "per step), the highest fidelity to the prompt.")
    return Workflow(stem, summary, nodes, TIPS)


def i2v() -> Workflow:
    stem = "ltx25-i2v-distilled"
    nodes = [
        *model_nodes(TRANSFORMER_DISTILLED, I2V_PROMPT), latent_node(),
        node("image", "LoadImage", image=FIRST_FRAME),
        node("image_to_video", "LTX2NImageToVideo", vae=Ref("vae"), image=Ref("image"), latent=Ref("latent"),
             strength=1.0, image_compression=AUTO_CRF, model=Ref("model")),
        *distilled("sampler", Ref("image_to_video")),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("Image to video + audio, LTX-2.5 distilled model, one stage: the picture (conditioned at the model's "
               "CRF, 18 for LTX-2.5) becomes the first frame (resized to cover the video size and centre-cropped); "
               "the prompt describes motion and sound.")
    return Workflow(stem, summary, nodes, TIPS)


def keyframes() -> Workflow:
    stem = "ltx25-keyframes-distilled"
    images = keyframe_images()

    def pin(key: str, latent: Ref, positive: Ref, negative: Ref) -> Node:
        return pin_keyframes(key, latent, positive, negative, crf=AUTO_CRF)

    def crop(key: str, guided: str, sampled: str) -> Node:
        return node(key, "LTX2NCropGuides", positive=Ref(guided, "positive"), negative=Ref(guided, "negative"),
                    latent=Ref(sampled))

    guides1 = {"positive": Ref("keyframes1", "positive"), "negative": Ref("keyframes1", "negative")}
    guides2 = {"positive": Ref("keyframes2", "positive"), "negative": Ref("keyframes2", "negative")}
    nodes = [
        *model_nodes(TRANSFORMER_DISTILLED, KEYFRAME_PROMPT), *images,
        latent_node(width=1536, height=1024, stages="two stages (x2 upscale)"),
        pin("keyframes1", Ref("latent"), Ref("positive"), Ref("negative")),
        *distilled("stage1", Ref("keyframes1", "latent"), **guides1), crop("crop1", "keyframes1", "stage1"),
        *upscale_refine(Ref("crop1", "latent")),
        pin("keyframes2", Ref("upscale"), Ref("crop1", "positive"), Ref("crop1", "negative")),
        *sampler("stage2", Ref("keyframes2", "latent"), schedule="distilled stage 2", guidance="none",
                 ancestral=False, **guides2),
        crop("crop2", "keyframes2", "stage2"),
        *output_nodes(Ref("crop2", "latent"), stem),
    ]
    summary = ("Keyframe interpolation, LTX-2.5 distilled model, two stages: three pictures pinned at frames 0, 60 "
               "and the last one (appended keyframe tokens, CRF 18), 8 Euler-ancestral steps at half size, a x2 "
               "latent upscale with the 2.5 upscaler, the keyframes applied again at full size and a 3-step Euler "
               "refinement. Connect up to four pictures at any frames.")
    tip = ("LTX-2.5 can also generate keyframes itself: list pixel frames in Keyframes' generated_frames (e.g. '40' "
           "or '24, 72'); each adds one latent frame of keyframe tokens the model fills, removed by Crop Guides.")
    return Workflow(stem, summary, nodes, [TIMELINE_TIP, tip, *TIPS])


def a2v() -> Workflow:
    stem = "ltx25-a2v-distilled"
    nodes = [
        *model_nodes(TRANSFORMER_DISTILLED, A2V_PROMPT), latent_node(),
        node("load_audio", "LoadAudio", audio=EXAMPLE_AUDIO),
        node("audio_to_video", "LTX2NAudioToVideo", audio_vae=Ref("audio_vae"), audio=Ref("load_audio"),
             av_latent=Ref("latent"), fps=FPS),
        *distilled("sampler", Ref("audio_to_video", "av_latent")),
        node("decode_video", "LTX2NDecodeVideo", samples=Ref("sampler"), vae=Ref("vae")),
        node("create_video", "CreateVideo", images=Ref("decode_video"), fps=FPS, audio=Ref("audio_to_video", "audio")),
        node("save_video", "SaveVideo", video=Ref("create_video"), filename_prefix=f"LTX-2/{stem}", format="mp4",
             codec="h264"),
    ]
    summary = ("Audio to video, LTX-2.5 distilled model, one stage: the video is generated to your sound track, "
               "which stays frozen (encoded into the latent with the 2.5 audio VAE) and is saved unchanged with "
               "the video.")
    return Workflow(stem, summary, nodes, [A2V_TIP, *TIPS])


def t2a() -> Workflow:
    stem = "ltx25-t2a"
    nodes = [
        *text_nodes(TRANSFORMER_DEV, T2A_PROMPT, streams="audio only (text-to-audio)"),
        node("audio_vae", "LTX2NAudioVAELoader", vae_name=AUDIO_VAE),
        node("latent", "LTX2NEmptyAudioLatent", seconds=T2A_SECONDS, batch_size=1),
        # HEAD ltx-pipelines T2A: audio guidance only (CFG, STG, rescale; modality guidance off: there is no video)
        node("guider", "LTX2NMultimodalGuider", model=Ref("model"), positive=Ref("positive"),
             negative=Ref("negative"), video_cfg=1.0, audio_cfg=7.0, video_stg=0.0, audio_stg=1.0,
             video_modality=1.0, audio_modality=1.0),
        node("sampler_select", "KSamplerSelect", sampler_name="euler"),
        node("sampler", "LTX2NSampler", model=Ref("model"), positive=Ref("positive"), negative=Ref("negative"),
             latent=Ref("latent"), seed=SEED, schedule="LTX-2 schedule", steps=0, guidance="auto",
             guider=Ref("guider"), sampler=Ref("sampler_select")),
        node("decode_audio", "LTX2NDecodeAudio", samples=Ref("sampler"), audio_vae=Ref("audio_vae")),
        node("save_audio", "SaveAudio", audio=Ref("decode_audio"), filename_prefix=f"LTX-2/{stem}"),
    ]
    summary = ("Text to audio, LTX-2.5 dev model: a sound from the prompt alone, the audio stream only (no video "
               "tokens exist or are computed), the LTX-2 schedule (30 steps) with audio guidance and Euler; saved "
               "as FLAC.")
    tip = ("Only the audio stream of the model is loaded (Load LTX-2 Model: streams = audio only) and runs, so this "
           "is fast and lean. Set the length in Empty Audio Latent (seconds).")
    return Workflow(stem, summary, nodes, [tip, DEFAULTS_TIP, DOWNLOAD_TIP])


def extend() -> Workflow:
    stem = "ltx25-extend-distilled"
    mode = node("extend", "LTX2NExtend", model=Ref("model"), positive=Ref("positive"), negative=Ref("negative"),
                vae=Ref("vae"), audio_vae=Ref("audio_vae"), video=Ref("load_video"), width=0, height=0,
                frames=241, direction="forward", seed=SEED, schedule="distilled stage 1", steps=0,
                guidance="none", frame_idx=-1, strength=1.0)
    nodes = [*model_nodes(TRANSFORMER_DISTILLED, EXTEND_PROMPT), node("load_video", "LoadVideo", file=EXAMPLE_VIDEO),
             mode, *output_nodes(Ref("extend"), stem)]
    summary = ("Extend a clip, LTX-2.5 distilled model: your video (with its sound) continues forwards (or "
               "backwards) to 'frames' frames; the new frames and their audio are generated to continue it while "
               "the source's latents stay exactly as encoded. Optionally connect a picture the new part should "
               "reach at frame_idx.")
    return Workflow(stem, summary, nodes, [SOURCE_TIP, TIMELINE_TIP, DEFAULTS_TIP, DOWNLOAD_TIP])


def iclora() -> Workflow:
    stem = "ltx25-iclora-distilled"
    nodes = [
        *model_nodes(TRANSFORMER_DISTILLED, DETAILER_PROMPT), latent_node(),
        node("load_video", "LoadVideo", file=EXAMPLE_VIDEO),
        node("components", "GetVideoComponents", video=Ref("load_video")),
        node("ic_lora", "LTX2NICLoraLoader", model=Ref("model"), lora_name=IC_LORA, strength=1.0),
        node("guide", "LTX2NICLoraGuide", positive=Ref("positive"), negative=Ref("negative"), vae=Ref("vae"),
             latent=Ref("latent"), reference=Ref("components", "images"),
             reference_downscale_factor=Ref("ic_lora", 1), strength=1.0, attention_strength=1.0),
        *distilled("sampler", Ref("latent"), model=Ref("ic_lora", 0), positive=Ref("guide", "positive"),
                   negative=Ref("guide", "negative")),
        *output_nodes(Ref("sampler"), stem),
    ]
    summary = ("IC-LoRA detailer / pixel upscaler, LTX-2.5 distilled, one stage: the 2.5 x2 pixel-spatial IC-LoRA "
               "regenerates a low-resolution or soft clip sharp at the latent's size, following the input closely.")
    tip = ("Detailer: the input clip (any size) is the reference, encoded at half the latent's size (the LoRA's "
           "reference downscale factor 2: width and height multiples of 64); the output is generated at the "
           "latent's size.")
    return Workflow(stem, summary, nodes, [tip, IC_TIP, *TIPS])


def ltx25_workflows() -> list[Workflow]:
    """The LTX-2.5 descriptions, in file order."""
    return [t2v_distilled(), t2v_two_stage(), t2v_full(), i2v(), keyframes(), a2v(), t2a(), extend(), iclora()]
