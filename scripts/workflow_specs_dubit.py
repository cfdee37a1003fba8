"""Description of the Dub-It / LipDub workflow (ltx-pipelines ``DubItPipeline`` with the LipDub IC-LoRA): new
speech on a source clip, the lips re-synced, the rest of the picture kept; LTX-2.3 distilled, one stage.

Built into ``workflows/dubit-distilled.json`` by ``build_workflows.py`` (collected there with the others). Shared
pieces (model, text encoder, prompts, VAEs, sampler) come from ``workflow_specs``; the IC-LoRA name is Lightricks'
release name (the graph tests write a tiny stand-in under it).
"""

from __future__ import annotations

from scripts.workflow_kit import Ref, Workflow, node
from scripts.workflow_specs import CKPT_DISTILLED, DOWNLOAD_TIP, FPS, model_nodes, sampler_node

LIPDUB_LORA = "ltx-2.3-22b-ic-lora-lipdub-0.9.safetensors"
SOURCE_VIDEO = "ltx2_example_video.mp4"
DUB_AUDIO = "ltx2_example_audio.wav"

DUBIT_PROMPT = ("The same person keeps talking to the camera in the same room and light, lips moving in sync with "
                "the new words, head and hands moving naturally.")

DUBIT_TIP = ("LipDub IC-LoRA (ltx-2.3-22b-ic-lora-lipdub-0.9 in models/loras, factor 1): the source clip is the "
             "reference, its sound track gives the speaker's voice (reference audio on both prompts) and "
             "dub_audio - the new speech, not longer than the clip - becomes the sound unchanged while the face is "
             "regenerated to it. Without dub_audio the speech is generated from the prompt (write the new words "
             "there) and Decode Audio gives the sound. frames 0 = the whole source snapped down to 1 + 8k; set "
             "Create Video's fps to the source's. Trim Audio Duration cuts the speech to the clip (5.0 s of a "
             "121-frame clip at 24 fps): a longer dub is refused before sampling.")


def dubit() -> Workflow:
    stem = "dubit-distilled"
    latent = Ref("prepare", "latent")
    nodes = [
        *model_nodes(CKPT_DISTILLED, DUBIT_PROMPT),
        node("load_video", "LoadVideo", file=SOURCE_VIDEO),
        node("load_audio", "LoadAudio", audio=DUB_AUDIO),
        node("trim_audio", "TrimAudioDuration", audio=Ref("load_audio"), start_index=0.0, duration=5.0),
        node("prepare", "LTX2NDubItPrepare", positive=Ref("positive"), negative=Ref("negative"),
             audio_vae=Ref("audio_vae"), video=Ref("load_video"), width=960, height=544, frames=0,
             dub_audio=Ref("trim_audio")),
        node("ic_lora", "LTX2NICLoraLoader", model=Ref("model"), lora_name=LIPDUB_LORA, strength=1.0),
        node("guide", "LTX2NICLoraGuide", positive=Ref("prepare", "positive"), negative=Ref("prepare", "negative"),
             vae=Ref("vae"), latent=latent, reference=Ref("prepare", "reference"),
             reference_downscale_factor=Ref("ic_lora", 1), strength=1.0, attention_strength=1.0),
        sampler_node("sampler", latent, model=Ref("ic_lora", 0), positive=Ref("guide", "positive"),
                     negative=Ref("guide", "negative"), schedule="distilled stage 1", guidance="none"),
        node("decode_video", "LTX2NDecodeVideo", samples=Ref("sampler"), vae=Ref("vae")),
        node("create_video", "CreateVideo", images=Ref("decode_video"), fps=FPS, audio=Ref("prepare", "audio")),
        node("save_video", "SaveVideo", video=Ref("create_video"), filename_prefix=f"LTX-2/{stem}", format="mp4",
             codec="h264"),
    ]
    summary = ("Dub-It / LipDub, LTX-2.3 distilled + the LipDub IC-LoRA, one stage: new speech drives your clip - "
               "the lips follow the new audio in the speaker's voice, the rest of the picture follows the source, "
               "and the new audio is the clip's sound bit for bit.")
    return Workflow(stem, summary, nodes, [DUBIT_TIP, DOWNLOAD_TIP])


def dubit_workflows() -> list[Workflow]:
    """The Dub-It workflows in build order."""
    return [dubit()]
