"""Compact description of the multi-GPU workflow (``t2v-multi-gpu``; the slug is a contract).

Collected and built into ``workflows/*.json`` by ``build_workflows.py``; the shared pieces come from
``workflow_specs``. The LTX-2.3 dev model with the multimodal guider (4 transformer passes per step, sent to the
workers as one batch) driven by core Sampler Custom Advanced, its transformer run on the machine's GPUs by
Multi-GPU (LTX-2).
"""

from __future__ import annotations

from dataclasses import replace

from scripts.workflow_kit import Node, Ref, Workflow, node
from scripts.workflow_specs import (
    CKPT_DEV,
    DOWNLOAD_TIP,
    PROMPT,
    SEED,
    SIZE_TIP,
    latent_node,
    model_nodes,
    output_nodes,
)

MGPU_TIP = ("Multi-GPU: devices 'auto' uses this machine's GPUs (or list them: cuda:1,cuda:2); the multimodal "
            "guider sends the 4 passes of each step (cond, uncond, STG, modality) together and strategy 'auto' runs "
            "them on separate GPUs (up to 4), splitting the video tokens over GPUs left over. With one GPU the model "
            "runs as usual. ckpt_name must be the file Load LTX-2 Model loaded (the workers read their weights from "
            "it). Decode Video's devices 'auto' spreads the decode tiles over the same GPUs.")


def t2v_multi_gpu() -> Workflow:
    stem = "t2v-multi-gpu"
    nodes = [
        *model_nodes(CKPT_DEV, PROMPT), latent_node(),
        node("multi_gpu", "LTX2NMultiGPU", column=1, model=Ref("model"), ckpt_name=CKPT_DEV, devices="auto",
             strategy="auto"),
        node("scheduler", "LTX2NScheduler", column=2, schedule="LTX-2 schedule", steps=30, model=Ref("multi_gpu")),
        node("guider", "LTX2NMultimodalGuider", column=2, model=Ref("multi_gpu"), positive=Ref("positive"),
             negative=Ref("negative")),
        node("noise", "RandomNoise", column=2, noise_seed=SEED),
        node("sampler_select", "KSamplerSelect", column=2, sampler_name="euler"),
        node("sampler", "SamplerCustomAdvanced", column=3, noise=Ref("noise"), guider=Ref("guider"),
             sampler=Ref("sampler_select"), sigmas=Ref("scheduler"), latent_image=Ref("latent")),
        *_decode_on_the_gpus(output_nodes(Ref("sampler", "output"), stem)),
    ]
    summary = ("Text to video + audio with the LTX-2.3 dev model on several GPUs: Multi-GPU (LTX-2) runs the "
               "transformer passes on one worker per GPU (the 4 guided passes of each step on separate GPUs, up to "
               "4; video tokens split over GPUs left over), core Sampler Custom Advanced and the multimodal guider "
               "unchanged; same result as one GPU.")
    return Workflow(stem, summary, nodes, [MGPU_TIP, SIZE_TIP, DOWNLOAD_TIP])


def _decode_on_the_gpus(outputs: list[Node]) -> list[Node]:
    """``outputs`` with Decode Video's tiles spread over the same GPUs (``devices`` "auto"; one GPU: unchanged)."""
    return [replace(n, inputs={**n.inputs, "devices": "auto"}) if n.type == "LTX2NDecodeVideo" else n
            for n in outputs]


def mgpu_workflows() -> list[Workflow]:
    """The multi-GPU workflows."""
    return [t2v_multi_gpu()]
