"""Parity of the whole graph: workflows/t2v-distilled through the real host equals ltx-pipelines' pieces.

Our side: the shipped UI workflow, converted against the live schemas, on tiny demo files (both checkpoint forms),
96x64, 17 frames at 24 fps, run by ComfyUI's executor. Kept from that run: the positive prompt's CONDITIONING, the
sampled audio+video latent, the decoded frames (IMAGE) and the AUDIO.

Reference: ltx-pipelines 1.0.0 / ltx-core 1.0.0 on the SAME checkpoint file (its own ``ModelLedger`` loading,
float32, CPU): ``denoise_audio_video`` + ``euler_denoising_loop`` with ``simple_denoising_func`` (distilled: no
guidance) over the distilled sigmas, fed the same prompt embeddings (our CONDITIONING split into its video and audio
contexts; Gemma itself is compared in the text parity tests) and the same noise (ComfyUI's ``prepare_noise`` for the
sampler's seed, patchified to ltx-core's token layout); then ltx-core's video decoder and audio decoder + vocoder.

Tolerances: latents atol 1e-4 / rtol 1e-4 (8 Euler steps amplify float32 rounding of the transformer); frames
truncated to uint8 like the reference: at most 1 level apart on under 0.1% of the values; waveform atol 1e-4.
"""

from __future__ import annotations

import pytest
import torch
from einops import rearrange
from harness import REPO_ROOT
from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.model.audio_vae import decode_audio as ref_decode_audio
from ltx_core.model.video_vae import decode_video as ref_decode_video
from ltx_core.types import VideoPixelShape
from ltx_pipelines.utils.constants import DISTILLED_SIGMA_VALUES
from ltx_pipelines.utils.helpers import denoise_audio_video, simple_denoising_func
from ltx_pipelines.utils.model_ledger import ModelLedger
from ltx_pipelines.utils.samplers import euler_denoising_loop
from ltx_pipelines.utils.types import PipelineComponents

from scripts.workflow_api import load_workflow, nodes_of_type, nodes_titled, override_inputs
from scripts.workflow_models import ModelKind, model_refs
from scripts.workflow_specs import CKPT_DISTILLED, PROMPT_TITLE

pytestmark = [pytest.mark.graph, pytest.mark.parity]

LATENT_ATOL = LATENT_RTOL = 1e-4
FRAME_ATOL, FRAME_DIFF_FRACTION = 1, 1e-3  # uint8 levels; share of values that may differ (truncation at k.0)
AUDIO_ATOL = 1e-4
WIDTH, HEIGHT, FRAMES, FPS = 96, 64, 17, 24.0
DEMO_VIDEO_CONTEXT_WIDTH = 16  # demo checkpoints: video context width 16 in both forms (audio: 8 for 2.3, 16 for 19B)
CHECKPOINTS = {"ltx-2.3": CKPT_DISTILLED, "ltx-2-19b": "ltx-2-19b-distilled.safetensors"}
CPU, F32 = torch.device("cpu"), torch.float32
T2V = sorted((REPO_ROOT / "workflows").glob("t2v-distilled*.json"))[0]


class FixedNoiser:
    """ltx-core ``Noiser`` that hands out given noise (video first, then audio), mixed like ``GaussianNoiser``."""

    def __init__(self, *noises: torch.Tensor):
        self.noises = list(noises)

    def __call__(self, latent_state, noise_scale: float = 1.0):  # noqa: ANN001, ANN204 (ltx-core protocol)
        from dataclasses import replace

        noise = self.noises.pop(0)
        assert noise.shape == latent_state.latent.shape
        mask = latent_state.denoise_mask * noise_scale
        return replace(latent_state, latent=noise * mask + latent_state.latent * (1 - mask))


def _our_run(host, store, checkpoint: str) -> tuple[dict, dict]:
    prompt = host.ui_to_api(load_workflow(T2V))
    for node in prompt.values():
        for name, value in node["inputs"].items():
            if value == CKPT_DISTILLED:
                node["inputs"][name] = checkpoint
    override_inputs(prompt, {"width": WIDTH, "height": HEIGHT, "frames": FRAMES})
    store.ensure(prompt)
    ids = {"positive": nodes_titled(prompt, PROMPT_TITLE)[0], "latent": nodes_of_type(prompt, "LTX2NEmptyAVLatent")[0],
           "sampler": nodes_of_type(prompt, "LTX2NSampler")[0], "images": nodes_of_type(prompt, "LTX2NDecodeVideo")[0],
           "audio": nodes_of_type(prompt, "LTX2NDecodeAudio")[0]}
    result = host.run(prompt, keep=tuple(ids.values()))
    assert result.success, result.error()
    outputs = {key: result.node_outputs[nid][0] for key, nid in ids.items()}
    return prompt, outputs


def _reference(path: str, contexts: tuple[torch.Tensor, torch.Tensor], noise: tuple[torch.Tensor, torch.Tensor]):
    ledger = ModelLedger(dtype=F32, device=CPU, checkpoint_path=path)
    transformer = ledger.transformer()

    def loop(sigmas: torch.Tensor, video: object, audio: object, stepper: object) -> tuple:
        return euler_denoising_loop(sigmas, video, audio, stepper, simple_denoising_func(*contexts, transformer))

    video_noise = rearrange(noise[0], "b c f h w -> b (f h w) c")
    audio_noise = rearrange(noise[1], "b c t m -> b t (c m)")
    with torch.no_grad():
        video, audio = denoise_audio_video(
            output_shape=VideoPixelShape(batch=1, frames=FRAMES, width=WIDTH, height=HEIGHT, fps=FPS),
            conditionings=[], noiser=FixedNoiser(video_noise, audio_noise), sigmas=torch.Tensor(DISTILLED_SIGMA_VALUES),
            stepper=EulerDiffusionStep(), denoising_loop_fn=loop, components=PipelineComponents(F32, CPU), dtype=F32,
            device=CPU,
        )
        frames = torch.cat(list(ref_decode_video(video.latent, ledger.video_decoder(), None, None)))
        waveform = ref_decode_audio(audio.latent, ledger.audio_decoder(), ledger.vocoder())
    return video.latent, audio.latent, frames, waveform


@pytest.mark.parametrize("family", list(CHECKPOINTS))
def test_graph_t2v_distilled_matches_ltx_pipelines(graph_host, model_store, family):
    import comfy.sample

    prompt, ours = _our_run(graph_host, model_store, CHECKPOINTS[family])
    (checkpoint,) = {r.name for r in model_refs(prompt) if r.kind is ModelKind.CHECKPOINT}
    path = str(model_store.folder("checkpoints") / checkpoint)

    context = ours["positive"][0][0].float()  # (1, T, Dv + Da)
    contexts = (context[..., :DEMO_VIDEO_CONTEXT_WIDTH], context[..., DEMO_VIDEO_CONTEXT_WIDTH:])
    seed = prompt[nodes_of_type(prompt, "LTX2NSampler")[0]]["inputs"]["seed"]
    noise = comfy.sample.prepare_noise(ours["latent"]["samples"], seed).unbind()  # what the sampler node drew
    ref_video, ref_audio, ref_frames, ref_wave = _reference(path, contexts, noise)

    our_video, our_audio = ours["sampler"]["samples"].unbind()
    torch.testing.assert_close(our_video.float(), ref_video, atol=LATENT_ATOL, rtol=LATENT_RTOL)
    torch.testing.assert_close(our_audio.float(), ref_audio, atol=LATENT_ATOL, rtol=LATENT_RTOL)
    assert our_video.std() > 0.1, "a real signal was compared"

    images = (ours["images"].float() * 255.0).to(torch.uint8)  # IMAGE (F, H, W, 3) in [0, 1], truncated as ltx-core
    assert images.shape == ref_frames.shape == (FRAMES, HEIGHT, WIDTH, 3)
    diff = (images.int() - ref_frames.int()).abs()
    assert diff.max() <= FRAME_ATOL and (diff > 0).float().mean() < FRAME_DIFF_FRACTION

    assert ours["audio"]["sample_rate"] == ref_wave.sampling_rate
    waveform = ours["audio"]["waveform"].float()
    torch.testing.assert_close(waveform.reshape(ref_wave.waveform.shape), ref_wave.waveform, atol=AUDIO_ATOL, rtol=0)
    assert waveform.abs().max() > 0
