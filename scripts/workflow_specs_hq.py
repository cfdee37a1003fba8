"""The HQ two-stage workflow (``t2v-two-stage-hq``): Lightricks' ``TI2VidTwoStagesHQPipeline`` recipe.

The LTX-2.3 twin of ``t2v-two-stage`` with what HQ changes: the res_2s sampler (``LTX2NSamplerRes2s``) in both
stages, the 'HQ stage 1' schedule (15 LTX-2 steps shifted by the stage-1 latent's token count) with the HQ guidance
(``ltx_model.sampling.LTX_2_3_HQ_PARAMS``: no STG, video rescale 0.45, audio rescale 1), and the distilled LoRA in
both stages (0.25 in stage 1, 0.5 in stage 2, ``ltx_model.pipelines.two_stage_hq``). Stage 1 runs through core
Sampler Custom Advanced, stage 2 through Sample Audio+Video (LTX-2) with the res_2s sampler on its ``sampler`` input.
"""

from __future__ import annotations

from ltx_model.pipelines.two_stage_hq import HQ_STAGE1_LORA_STRENGTH, HQ_STAGE2_LORA_STRENGTH
from ltx_model.sampling import LTX_2_3_HQ_PARAMS, SamplingDefaults
from scripts.workflow_kit import Node, Ref, Workflow, node
from scripts.workflow_specs import (
    CKPT_DEV,
    DISTILLED_LORA,
    DOWNLOAD_TIP,
    PROMPT,
    SEED,
    SIZE_TIP,
    UPSCALER,
    latent_node,
    model_nodes,
    output_nodes,
    sampler_node,
)

STAGE1_LORA, STAGE2_LORA = HQ_STAGE1_LORA_STRENGTH, HQ_STAGE2_LORA_STRENGTH


def guider_widgets(params: SamplingDefaults) -> dict[str, float | str]:
    """``params`` (a library preset) as Multimodal Guider (LTX-2) widgets (STG blocks left on auto)."""
    video, audio = params.video, params.audio
    return {"video_cfg": video.cfg_scale, "audio_cfg": audio.cfg_scale, "video_stg": video.stg_scale,
            "audio_stg": audio.stg_scale, "stg_blocks": "auto", "video_rescale": video.rescale_scale,
            "audio_rescale": audio.rescale_scale, "video_modality": video.modality_scale,
            "audio_modality": audio.modality_scale}


HQ_GUIDANCE = guider_widgets(LTX_2_3_HQ_PARAMS)
"""``LTX_2_3_HQ_PARAMS`` as Multimodal Guider (LTX-2) widgets."""

HQ_TIP = ("HQ recipe (Lightricks' TI2VidTwoStagesHQPipeline): the res_2s sampler is second order (two model passes "
          "per step), so stage 1 needs only 15 steps of the LTX-2 schedule, shifted by the stage-1 latent size "
          "('HQ stage 1' in LTX-2 Scheduler); guidance without STG (video CFG 3 / rescale 0.45, audio CFG 7 / "
          "rescale 1); the distilled LoRA at 0.25 in stage 1 and 0.5 in stage 2; stage 2 = the 3 distilled "
          "stage-2 sigmas, also with res_2s. Lightricks' default size is 1920x1088 (stage 1 at 960x544). The "
          "res_2s step noise uses Lightricks' fixed seed (-1 on the sampler); the noise seed varies the clip.")


def _stage1() -> list[Node]:
    """Distilled LoRA 0.25, HQ sigmas from the stage-1 latent, HQ guider, res_2s, Sampler Custom Advanced."""
    return [
        node("lora_stage1", "LTX2NLoraLoader", column=1, model=Ref("model"), lora_name=DISTILLED_LORA,
             strength=STAGE1_LORA),
        node("scheduler", "LTX2NScheduler", column=2, schedule="HQ stage 1", steps=0, model=Ref("model"),
             latent=Ref("latent")),
        node("guider", "LTX2NMultimodalGuider", column=2, model=Ref("lora_stage1"), positive=Ref("positive"),
             negative=Ref("negative"), **HQ_GUIDANCE),
        node("noise", "RandomNoise", column=2, noise_seed=SEED),
        node("res2s", "LTX2NSamplerRes2s", column=2, eta=0.5, bongmath=True, sde_seed=-1),
        node("stage1", "SamplerCustomAdvanced", column=3, noise=Ref("noise"), guider=Ref("guider"),
             sampler=Ref("res2s"), sigmas=Ref("scheduler"), latent_image=Ref("latent")),
    ]


def t2v_two_stage_hq() -> Workflow:
    stem = "t2v-two-stage-hq"
    stage2 = sampler_node("stage2", Ref("upscale"), model=Ref("lora_stage2"), schedule="distilled stage 2",
                          guidance="none")
    stage2.inputs["sampler"] = Ref("res2s")
    nodes = [
        *model_nodes(CKPT_DEV, PROMPT),
        latent_node(width=1536, height=1024, stages="two stages (x2 upscale)"),
        *_stage1(),
        node("upscaler", "LTX2NUpscalerLoader", upscaler_name=UPSCALER),
        node("upscale", "LTX2NUpscaleLatent", column=3, samples=Ref("stage1", "output"),
             upscale_model=Ref("upscaler"), vae=Ref("vae")),
        node("lora_stage2", "LTX2NLoraLoader", column=1, model=Ref("model"), lora_name=DISTILLED_LORA,
             strength=STAGE2_LORA),
        stage2,
        *output_nodes(Ref("stage2"), stem),
    ]
    summary = ("Text to video + audio with Lightricks' HQ two-stage recipe: the LTX-2.3 dev model with the res_2s "
               "second-order sampler, 15 latent-shifted steps and STG-free guidance at half size (768x512), a x2 "
               "latent upscale, then a 3-step res_2s refinement at full size (1536x1024); the distilled LoRA at "
               "0.25 / 0.5 in the two stages.")
    return Workflow(stem, summary, nodes, [HQ_TIP, SIZE_TIP, DOWNLOAD_TIP])


def hq_workflows() -> list[Workflow]:
    """The HQ two-stage recipe."""
    return [t2v_two_stage_hq()]
