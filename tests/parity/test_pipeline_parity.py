"""Whole-pipeline parity: our one-stage generation vs ltx-pipelines 1.0.0 / ltx-core 1.0.0 pieces, same file.

Both sides load the SAME demo checkpoint (``ltx_model.demo``; ltx-core through its own ``ModelLedger``,
i.e. its own key filters and configurators) in float32 on CPU, use the same seed (video noise, then audio noise,
from one generator), the same sigmas and the same text contexts (Gemma is bypassed: ltx-core's feature extractor
hard-codes Gemma 3 12B widths, so the contexts are fed to both transformers directly).

Compared: final video / audio latents (atol 1e-4, rtol 1e-4; the Euler loop amplifies fp32 rounding of the
transformer, ~1e-6 per pass), decoded frames (uint8, at most 1 level apart on a few pixels: truncation of values
that differ by ~1e-6) and the waveform (atol 1e-4).

Cases: distilled (8-sigma table, no guidance) T2V+audio for the 19B and 2.3 forms; the dev path with multimodal
guidance (CFG with a negative context, STG on block 1, modality isolation, rescale) for both forms; and the I2V
initial state (image CRF round trip, cover-resize, VAE encode, first-frame replacement, noise) before denoising;
the two-stage distilled structure (half size, spatial x2 upsampler, re-noise, stage-2 sigmas) for both forms.
Full I2V denoising is not compared with 1.0.0: with mixed per-token timesteps ltx-core 1.0.0 and HEAD (which our
transformer follows) feed different cross-modal AdaLN inputs (ltx2-model.md §2.7).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from ltx_core.components.diffusion_steps import EulerDiffusionStep
from ltx_core.components.guiders import MultiModalGuider, MultiModalGuiderParams
from ltx_core.components.noisers import GaussianNoiser
from ltx_core.model.audio_vae import decode_audio as ref_decode_audio
from ltx_core.model.upsampler import upsample_video
from ltx_core.model.video_vae import decode_video as ref_decode_video
from ltx_core.types import VideoPixelShape
from ltx_pipelines.utils.args import ImageConditioningInput
from ltx_pipelines.utils.constants import DISTILLED_SIGMA_VALUES, STAGE_2_DISTILLED_SIGMA_VALUES
from ltx_pipelines.utils.helpers import (
    combined_image_conditionings,
    denoise_audio_video,
    multi_modal_guider_denoising_func,
    noise_video_state,
    simple_denoising_func,
)
from ltx_pipelines.utils.model_ledger import ModelLedger
from ltx_pipelines.utils.samplers import euler_denoising_loop
from ltx_pipelines.utils.types import PipelineComponents
from PIL import Image

from ltx_model.demo import DemoFamily, write_demo_checkpoint, write_demo_upsampler
from ltx_model.pipelines import (
    Callbacks,
    GenerationRequest,
    ImageCondition,
    LatentSetup,
    TextContexts,
    denoise_latents,
    generate,
    generate_two_stage,
    image_conditionings,
    load_pipeline_models,
    noised_states,
)
from ltx_model.sampling import GuiderParams, ltx2_sigmas

pytestmark = pytest.mark.parity
LATENT_ATOL = LATENT_RTOL = 1e-4
AUDIO_ATOL = 1e-4
CPU = torch.device("cpu")
F32 = torch.float32
HEIGHT, WIDTH, FRAMES, FPS, SEED = 64, 96, 17, 24.0, 7
CONTEXT_TOKENS = 32


@pytest.fixture(scope="module", params=list(DemoFamily), ids=lambda f: f.value)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[DemoFamily, Path]:
    family = request.param
    return family, write_demo_checkpoint(tmp_path_factory.mktemp("pp") / "demo-distilled.safetensors", family)


def _contexts(family: DemoFamily, *, negative: bool = False) -> TextContexts:
    gen = torch.Generator().manual_seed(11)
    audio_width = 16 if family is DemoFamily.LTX2 else 8  # 19B: Gemma width (projected in-model); 2.3: Da

    def ctx(width: int) -> torch.Tensor:
        return torch.randn(1, CONTEXT_TOKENS, width, generator=gen)

    video, audio = ctx(16), ctx(audio_width)
    if not negative:
        return TextContexts(video, audio)
    return TextContexts(video, audio, ctx(16), ctx(audio_width))


def _reference_run(path: Path, sigmas: torch.Tensor, denoise_fn_factory: object) -> tuple:
    """ltx-pipelines stage-1 pieces: denoise_audio_video + euler_denoising_loop, then ltx-core decoders."""
    ledger = ModelLedger(dtype=F32, device=CPU, checkpoint_path=str(path))
    transformer = ledger.transformer()
    generator = torch.Generator(device=CPU).manual_seed(SEED)

    def loop(sig: torch.Tensor, video: object, audio: object, stepper: object) -> tuple:
        return euler_denoising_loop(sig, video, audio, stepper, denoise_fn_factory(transformer))

    shape = VideoPixelShape(batch=1, frames=FRAMES, width=WIDTH, height=HEIGHT, fps=FPS)
    with torch.no_grad():
        video, audio = denoise_audio_video(
            output_shape=shape, conditionings=[], noiser=GaussianNoiser(generator=generator), sigmas=sigmas,
            stepper=EulerDiffusionStep(), denoising_loop_fn=loop, components=PipelineComponents(F32, CPU),
            dtype=F32, device=CPU,
        )
        frames = torch.cat(list(ref_decode_video(video.latent, ledger.video_decoder(), None, generator)))
        waveform = ref_decode_audio(audio.latent, ledger.audio_decoder(), ledger.vocoder())
    return video.latent, audio.latent, frames, waveform


def _compare(ours: object, ref: tuple, shape: tuple[int, int, int] = (FRAMES, HEIGHT, WIDTH)) -> None:
    ref_video, ref_audio, ref_frames, ref_wave = ref
    torch.testing.assert_close(ours.video_latent, ref_video, atol=LATENT_ATOL, rtol=LATENT_RTOL)
    torch.testing.assert_close(ours.audio_latent, ref_audio, atol=LATENT_ATOL, rtol=LATENT_RTOL)
    assert ours.frames.shape == ref_frames.shape == (*shape, 3)
    diff = (ours.frames.int() - ref_frames.int()).abs()
    assert diff.max() <= 1 and (diff > 0).float().mean() < 1e-3
    assert ours.sample_rate == ref_wave.sampling_rate
    torch.testing.assert_close(ours.waveform, ref_wave.waveform, atol=AUDIO_ATOL, rtol=0)
    assert ours.video_latent.std() > 0.1 and ours.waveform.abs().max() > 0  # a real signal was compared


def test_pipeline_distilled_t2v_matches_ltx_pipelines(demo: tuple[DemoFamily, Path]) -> None:
    family, path = demo
    contexts = _contexts(family)
    request = GenerationRequest(height=HEIGHT, width=WIDTH, num_frames=FRAMES, fps=FPS, seed=SEED)
    ours = generate(load_pipeline_models(path, dtype=F32, with_text=False), request, contexts)
    sigmas = torch.Tensor(DISTILLED_SIGMA_VALUES)
    ref = _reference_run(path, sigmas, lambda tr: simple_denoising_func(contexts.video, contexts.audio, tr))
    assert request.sigmas == tuple(DISTILLED_SIGMA_VALUES)
    _compare(ours, ref)


def test_pipeline_guided_t2v_matches_ltx_pipelines(demo: tuple[DemoFamily, Path]) -> None:
    family, path = demo
    contexts = _contexts(family, negative=True)
    video_params = GuiderParams(cfg_scale=3.0, stg_scale=1.0, stg_blocks=(1,), rescale_scale=0.7, modality_scale=3.0)
    audio_params = GuiderParams(cfg_scale=7.0, stg_scale=1.0, stg_blocks=(1,), rescale_scale=0.7, modality_scale=3.0)
    sigmas = ltx2_sigmas(4)
    request = GenerationRequest(height=HEIGHT, width=WIDTH, num_frames=FRAMES, fps=FPS, seed=SEED,
                                sigmas=tuple(float(s) for s in sigmas), video_guidance=video_params,
                                audio_guidance=audio_params)
    ours = generate(load_pipeline_models(path, dtype=F32, with_text=False), request, contexts)

    def ref_guider(p: GuiderParams, negative: torch.Tensor) -> MultiModalGuider:
        params = MultiModalGuiderParams(cfg_scale=p.cfg_scale, stg_scale=p.stg_scale, stg_blocks=list(p.stg_blocks),
                                        rescale_scale=p.rescale_scale, modality_scale=p.modality_scale)
        return MultiModalGuider(params=params, negative_context=negative)

    def factory(tr: object) -> object:
        return multi_modal_guider_denoising_func(
            ref_guider(video_params, contexts.negative_video), ref_guider(audio_params, contexts.negative_audio),
            contexts.video, contexts.audio, tr,
        )

    _compare(ours, _reference_run(path, sigmas, factory))


def test_pipeline_i2v_initial_state_matches_ltx_pipelines(demo: tuple[DemoFamily, Path], tmp_path: Path) -> None:
    """Image round trip + resize + encode + first-frame replacement + noise equal the reference's, token for token."""
    family, path = demo
    yy, xx = np.mgrid[0:50, 0:70]
    image = np.stack([xx * 3, yy * 5, (xx + yy) * 2], axis=-1).clip(0, 255).astype(np.uint8)  # smooth, odd-sized
    Image.fromarray(image).save(tmp_path / "cond.png")
    request = GenerationRequest(height=HEIGHT, width=WIDTH, num_frames=FRAMES, fps=FPS, seed=SEED,
                                images=(ImageCondition(image, strength=0.8),))
    models = load_pipeline_models(path, dtype=F32, with_text=False)
    items = image_conditionings(request.images, models.video_vae, height=HEIGHT, width=WIDTH)
    generator = torch.Generator().manual_seed(SEED)
    setup = LatentSetup(models.audio_vae.config, F32, CPU)
    video, audio = noised_states(request, items, setup, generator)

    ledger = ModelLedger(dtype=F32, device=CPU, checkpoint_path=str(path))
    ref_generator = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        ref_items = combined_image_conditionings(
            [ImageConditioningInput(str(tmp_path / "cond.png"), 0, 0.8, 33)], HEIGHT, WIDTH, ledger.video_encoder(),
            F32, CPU,
        )
        shape = VideoPixelShape(batch=1, frames=FRAMES, width=WIDTH, height=HEIGHT, fps=FPS)
        ref_video, _ = noise_video_state(shape, GaussianNoiser(ref_generator), ref_items, PipelineComponents(F32, CPU),
                                         F32, CPU)
    torch.testing.assert_close(items[0].latent, ref_items[0].latent, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(video.latent, ref_video.latent, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(video.clean_latent, ref_video.clean_latent, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(video.denoise_mask, ref_video.denoise_mask.float())
    torch.testing.assert_close(video.positions, ref_video.positions)
    first = HEIGHT // 32 * WIDTH // 32
    assert (
        torch.allclose(video.denoise_mask[:, :first], torch.tensor(0.2)) and (video.denoise_mask[:, first:] == 1).all()
    )
    # the denoising loop itself runs (HEAD cross-modal AdaLN semantics for mixed timesteps; not compared to 1.0.0)
    final_video, _ = denoise_latents(models, request, _contexts(family))
    assert torch.isfinite(final_video.latent).all()


def test_pipeline_two_stage_distilled_matches_ltx_pipelines(demo: tuple[DemoFamily, Path], tmp_path: Path) -> None:
    """DistilledPipeline structure: half-size stage 1, upsample x2, re-noise (0.909375) and 3 refinement steps."""
    family, path = demo
    upsampler = write_demo_upsampler(tmp_path / "up.safetensors")
    contexts, frames, height, width = _contexts(family), 9, 128, 128
    request = GenerationRequest(height=height, width=width, num_frames=frames, fps=FPS, seed=SEED)
    steps: list[tuple[int, int]] = []
    models = load_pipeline_models(path, dtype=F32, with_text=False, upsampler=upsampler)
    ours = generate_two_stage(models, request, contexts, callbacks=Callbacks(lambda d, t: steps.append((d, t))))
    assert steps == [(i, 11) for i in range(1, 12)]

    ledger = ModelLedger(dtype=F32, device=CPU, checkpoint_path=str(path), spatial_upsampler_path=str(upsampler))
    transformer, encoder = ledger.transformer(), ledger.video_encoder()
    noiser = GaussianNoiser(generator=torch.Generator(device=CPU).manual_seed(SEED))

    def loop(sig: torch.Tensor, video: object, audio: object, stepper: object) -> tuple:
        fn = simple_denoising_func(contexts.video, contexts.audio, transformer)
        return euler_denoising_loop(sig, video, audio, stepper, fn)

    def stage(h: int, w: int, sigmas: torch.Tensor, **kw: object) -> tuple:
        return denoise_audio_video(
            output_shape=VideoPixelShape(batch=1, frames=frames, width=w, height=h, fps=FPS), conditionings=[],
            noiser=noiser, sigmas=sigmas, stepper=EulerDiffusionStep(), denoising_loop_fn=loop,
            components=PipelineComponents(F32, CPU), dtype=F32, device=CPU, **kw,
        )

    with torch.no_grad():
        video, audio = stage(height // 2, width // 2, torch.Tensor(DISTILLED_SIGMA_VALUES))
        upscaled = upsample_video(latent=video.latent[:1], video_encoder=encoder, upsampler=ledger.spatial_upsampler())
        sigmas2 = torch.Tensor(STAGE_2_DISTILLED_SIGMA_VALUES)
        video, audio = stage(height, width, sigmas2, noise_scale=sigmas2[0], initial_video_latent=upscaled,
                             initial_audio_latent=audio.latent)
        ref_frames = torch.cat(list(ref_decode_video(video.latent, ledger.video_decoder(), None, None)))
        ref_wave = ref_decode_audio(audio.latent, ledger.audio_decoder(), ledger.vocoder())
    _compare(ours, (video.latent, audio.latent, ref_frames, ref_wave), (frames, height, width))
