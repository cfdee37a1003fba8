"""Descriptions of the audio-driven and audio-only workflows: audio-to-video, text-to-audio, video-to-audio.

Built into ``workflows/a2v-*.json``, ``t2a-*.json`` and ``v2a-*.json`` by ``build_workflows.py`` (collected there
with the others). The shared pieces (model, text encoder, prompts, VAEs, sampler) come from ``workflow_specs``.
"""

from __future__ import annotations

from scripts.workflow_kit import Node, Ref, Workflow, node
from scripts.workflow_specs import (
    CKPT_DEV,
    CKPT_DISTILLED,
    DISTILLED_LORA,
    DOWNLOAD_TIP,
    FPS,
    FRAMES,
    SEED,
    SIZE_TIP,
    UPSCALER,
    latent_node,
    model_nodes,
    sampler_node,
    text_nodes,
)

EXAMPLE_AUDIO = "ltx2_example_audio.wav"
EXAMPLE_VIDEO = "ltx2_example_video.mp4"
T2A_SECONDS = 5.0

A2V_PROMPT = ("A street musician plays an acoustic guitar on a sunny city sidewalk, strumming in time with the "
              "music; passers-by slow down to listen, the camera slowly circles the musician. Warm afternoon light.")
T2A_PROMPT = ("Heavy rain on a tin roof, distant rolling thunder, water gurgling through a gutter, and a dog "
              "barking twice far away.")
V2A_PROMPT = ("Natural sound for the scene: footsteps, movement and the ambient room tone that match what happens "
              "on screen, in sync with the picture.")

A2V_TIP = ("Load Audio: any sound file, any sample rate, mono or stereo. It is trimmed to the clip (frames / fps "
           "seconds) or padded with silence (a note is shown), kept frozen while the video is generated, and the "
           "saved mp4 carries the input sound itself. For a first image, put Image to Video (LTX-2) between Audio "
           "to Video and the sampler. Keep the fps of Text Encode, Empty Audio+Video Latent, Audio to Video and "
           "Create Video equal.")
T2A_TIP = ("Only the audio stream of the model is loaded (Load LTX-2 Model: streams = audio only, about a sixth of "
           "the weights) and runs (no video is computed), so this is fast and lean. Set the length in "
           "Empty Audio Latent (seconds). Distilled models work too: pick one in the loaders and set the sampler's "
           "schedule to auto and remove the guider.")
V2A_TIP = ("Load Video: your clip. Set fps in Video to Audio, Text Encode and Create Video to the clip's frame rate "
           "(the node stops with a clear message when they differ); 'frames' = how many frames from the start "
           "(1 + 8k; 0 = the whole clip). The frames are encoded at width x height (resized to cover, centre-"
           "cropped) but the mp4 keeps the original frames; only the sound is generated.")


def _mp4(images: Ref, audio: Ref, stem: str, fps: float) -> list[Node]:
    return [
        node("create_video", "CreateVideo", column=4, images=images, fps=fps, audio=audio),
        node("save_video", "SaveVideo", column=4, video=Ref("create_video"), filename_prefix=f"LTX-2/{stem}",
             format="mp4", codec="h264"),
    ]


def a2v() -> Workflow:
    stem = "a2v-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, A2V_PROMPT), latent_node(),
        node("load_audio", "LoadAudio", column=1, audio=EXAMPLE_AUDIO),
        node("audio_to_video", "LTX2NAudioToVideo", column=2, audio_vae=Ref("audio_vae"), audio=Ref("load_audio"),
             av_latent=Ref("latent"), fps=FPS),
        sampler_node("sampler", Ref("audio_to_video", "av_latent"), schedule="distilled stage 1", guidance="none"),
        node("decode_video", "LTX2NDecodeVideo", column=3, samples=Ref("sampler"), vae=Ref("vae")),
        *_mp4(Ref("decode_video"), Ref("audio_to_video", "audio"), stem, FPS),
    ]
    summary = ("Audio to video, LTX-2.3 distilled model, one stage: the video is generated to your sound track, "
               "which stays frozen (encoded into the latent) and is saved unchanged with the video.")
    return Workflow(stem, summary, nodes, [A2V_TIP, SIZE_TIP, DOWNLOAD_TIP])


def a2v_two_stage() -> Workflow:
    """ltx-pipelines' ``A2VidPipelineTwoStage``: dev model with guidance at half size, x2 upscale, distilled-LoRA
    refine; the audio frozen in both stages (the upscaler drops noise masks, so Audio to Video runs again)."""
    stem = "a2v-two-stage"
    nodes = [
        *model_nodes(CKPT_DEV, A2V_PROMPT),
        latent_node(width=1536, height=1024, stages="two stages (x2 upscale)"),
        node("load_audio", "LoadAudio", column=1, audio=EXAMPLE_AUDIO),
        node("audio_to_video", "LTX2NAudioToVideo", column=2, audio_vae=Ref("audio_vae"), audio=Ref("load_audio"),
             av_latent=Ref("latent"), fps=FPS),
        sampler_node("stage1", Ref("audio_to_video", "av_latent"), schedule="LTX-2 schedule", guidance="multimodal"),
        node("upscaler", "LTX2NUpscalerLoader", upscaler_name=UPSCALER),
        node("upscale", "LTX2NUpscaleLatent", column=2, samples=Ref("stage1"), upscale_model=Ref("upscaler"),
             vae=Ref("vae")),
        node("refreeze_audio", "LTX2NAudioToVideo", column=2, audio_vae=Ref("audio_vae"), audio=Ref("load_audio"),
             av_latent=Ref("upscale"), fps=FPS),
        node("distilled_lora", "LTX2NLoraLoader", column=1, model=Ref("model"), lora_name=DISTILLED_LORA,
             strength=1.0),
        sampler_node("stage2", Ref("refreeze_audio", "av_latent"), model=Ref("distilled_lora"),
                     schedule="distilled stage 2", guidance="none"),
        node("decode_video", "LTX2NDecodeVideo", column=3, samples=Ref("stage2"), vae=Ref("vae")),
        *_mp4(Ref("decode_video"), Ref("audio_to_video", "audio"), stem, FPS),
    ]
    summary = ("Audio to video in two stages (Lightricks' A2V recipe): the LTX-2.3 dev model with multimodal "
               "guidance at half size, a x2 latent upscale, then a 3-step refinement at full size with the "
               "distilled LoRA; your sound track stays frozen in both stages and is saved unchanged.")
    return Workflow(stem, summary, nodes, [A2V_TIP, SIZE_TIP, DOWNLOAD_TIP])


def t2a() -> Workflow:
    stem = "t2a-dev"
    nodes = [
        # audio only: the video blocks and the audio<->video cross-attention (~83% of the weights) are not loaded
        *text_nodes(CKPT_DEV, T2A_PROMPT, streams="audio only (text-to-audio)"),
        node("audio_vae", "LTX2NAudioVAELoader", vae_name=CKPT_DEV),
        node("latent", "LTX2NEmptyAudioLatent", column=1, seconds=T2A_SECONDS, batch_size=1),
        # HEAD ltx-pipelines T2A: audio guidance only (CFG, STG, rescale; modality guidance off: there is no video)
        node("guider", "LTX2NMultimodalGuider", column=2, model=Ref("model"), positive=Ref("positive"),
             negative=Ref("negative"), video_cfg=1.0, audio_cfg=7.0, video_stg=0.0, audio_stg=1.0,
             video_modality=1.0, audio_modality=1.0),
        node("sampler", "LTX2NSampler", column=2, model=Ref("model"), positive=Ref("positive"),
             negative=Ref("negative"), latent=Ref("latent"), seed=SEED, schedule="LTX-2 schedule", steps=0,
             guidance="auto", guider=Ref("guider")),
        node("decode_audio", "LTX2NDecodeAudio", column=3, samples=Ref("sampler"), audio_vae=Ref("audio_vae")),
        node("save_audio", "SaveAudio", column=4, audio=Ref("decode_audio"), filename_prefix=f"LTX-2/{stem}"),
    ]
    summary = ("Text to audio, LTX-2.3 dev model: a sound from the prompt alone, the audio stream only (no video "
               "tokens exist or are computed), the LTX-2 schedule with audio guidance; saved as FLAC.")
    return Workflow(stem, summary, nodes, [T2A_TIP, DOWNLOAD_TIP])


def v2a() -> Workflow:
    stem = "v2a-distilled"
    nodes = [
        *model_nodes(CKPT_DISTILLED, V2A_PROMPT), node("load_video", "LoadVideo", column=1, file=EXAMPLE_VIDEO),
        node("video_to_audio", "LTX2NVideoToAudio", column=2, vae=Ref("vae"), width=768, height=512,
             frames=FRAMES, fps=FPS, video=Ref("load_video")),
        sampler_node("sampler", Ref("video_to_audio", "av_latent"), schedule="distilled stage 1", guidance="none"),
        node("decode_audio", "LTX2NDecodeAudio", column=3, samples=Ref("sampler"), audio_vae=Ref("audio_vae")),
        *_mp4(Ref("video_to_audio", "images"), Ref("decode_audio"), stem, FPS),
    ]
    summary = ("Video to audio (Foley), LTX-2.3 distilled model, one stage: your clip is encoded and kept frozen "
               "while a matching sound track is generated; the mp4 holds your original frames with the new sound.")
    return Workflow(stem, summary, nodes, [V2A_TIP, DOWNLOAD_TIP])


def audio_workflows() -> list[Workflow]:
    """The descriptions of this module, in file order."""
    return [a2v(), a2v_two_stage(), t2a(), v2a()]
