"""The HDR IC-LoRA pipeline entry (``ltx_model.pipelines.hdr``) on the tiny LTX-2.3 demo checkpoint (+ the demo
upsampler) and the LTX-2.5 demo set (its own upsampler; Lightricks' ``hdr_ic_lora`` takes 2.5 checkpoints and reads
the curve from the LoRA's ``hdr_transform`` metadata: ``acescct`` for the 2.5 SDR-to-HDR IC-LoRA
``ltx-2.5-22b-ic-lora-sdr-to-hdr-1.0``, ``logc3`` for 2.3's): the reference signal (SDR as it is, EXR through the
curve), the two video-only stages with the reference in both (a recording transformer), the 64-aligned generation
size cropped back, high quality (2N - 1 frames, every other kept), the float decode (no 8-bit rounding), the LogC3 /
ACEScct decode to unclipped linear light, and the LoRA metadata."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from pipeline_models import FAMILIES, load_demo_models, random_contexts

from ltx_model.demo import DemoFamily, write_demo_checkpoint, write_demo_upsampler
from ltx_model.lora import lora_from_state_dict
from ltx_model.modes import GenerationError
from ltx_model.modes import hdr as rules
from ltx_model.pipelines.hdr import decode_codes, generate_hdr_ic_lora, hdr_lora_settings, reference_codes
from ltx_model.pipelines.models import load_pipeline_models
from ltx_model.pipelines.request import GenerationRequest

# Output 96x64: generated at 128x64 (64-aligned), stage 1 at 64x32, cropped back to 96 wide.
REQ = GenerationRequest(height=64, width=96, num_frames=9, fps=24.0, seed=3, sigmas=(1.0, 0.6, 0.0))


class RecordingTransformer:
    """Delegates to the real transformer and records each pass: (video tokens, audio given)."""

    def __init__(self, inner):
        self.inner, self.passes = inner, []

    def __call__(self, video, audio, perturbations=None):
        self.passes.append((video.latent.shape[1], audio is not None))
        return self.inner(video, audio, perturbations)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture(scope="module", params=FAMILIES)
def models(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"hdr_pipeline_{request.param}")
    if request.param == "ltx25":
        return load_demo_models(folder, request.param)
    checkpoint = write_demo_checkpoint(folder / "ltx-2.3-demo.safetensors", DemoFamily.LTX23)
    upsampler = write_demo_upsampler(folder / "up.safetensors")
    return load_pipeline_models(checkpoint, dtype=torch.float32, upsampler=upsampler)


def _decoder_noise() -> torch.Generator:
    """The LTX-2.5 diffusion decoder's noise as the pipeline draws it (the request's seed; unused by 2.3's VAE)."""
    return torch.Generator().manual_seed(REQ.seed)


def _frames(count: int = 9) -> torch.Tensor:
    yy, xx = np.mgrid[0:64, 0:96]
    base = np.stack([xx * 4, yy * 4, (xx + yy) * 2], -1)
    return torch.from_numpy(np.stack([(base + 7 * i) % 256 for i in range(count)]).astype(np.uint8))


def test_hdr_pipeline_reference_codes():
    sdr = _frames(2)
    assert torch.equal(reference_codes(sdr, rules.find_transfer("logc3")), sdr.float())  # no curve on SDR
    linear = torch.rand(2, 4, 4, 3) * 30
    codes = reference_codes(linear, rules.find_transfer("logc3"), rules.find_colour_space("srgb_linear"))
    torch.testing.assert_close(codes, rules.logc3_encode(linear) * 255.0)
    aces = reference_codes(linear, rules.find_transfer("acescct"), rules.find_colour_space("acescg"))
    torch.testing.assert_close(aces, rules.acescct_encode(linear) * 255.0)  # AP1 linear: the curve only
    with pytest.raises(GenerationError, match=r"EXR frames must be \(F, H, W, 3\)"):
        reference_codes(linear[..., :2], rules.find_transfer("logc3"), rules.find_colour_space("acescg"))


def test_hdr_pipeline_two_video_only_stages_with_the_reference(models):
    spy = RecordingTransformer(models.transformer)
    out = generate_hdr_ic_lora(dataclasses.replace(models, transformer=spy), REQ, random_contexts(models), _frames())
    # Stage 1 at 64x32 (2 latent frames x 1 x 2 cells), stage 2 at 128x64 (2 x 2 x 4): two passes each (2 stage-1
    # sigmas steps, then the two-step stage-2 schedule), the reference's tokens doubling each pass, never audio.
    assert spy.passes == [(8, False)] * 2 + [(32, False)] * 2
    assert out.video_latent.shape == (1, 128, 2, 2, 4)
    assert out.codes.shape == (9, 64, 96, 3) and out.linear.dtype == torch.float32
    assert out.notes[0] == "generated at 128x64, cropped to 96x64" and out.notes[-1] == "HDR decode: LogC3"
    # The float decode of the final latent, cropped back: fractions kept (no 8-bit rounding).
    again = decode_codes(models.video_vae, out.video_latent, generator=_decoder_noise()).cpu()
    torch.testing.assert_close(again[:, :64, :96], out.codes)
    assert not torch.equal(out.codes * 255.0, out.codes.mul(255.0).floor())
    torch.testing.assert_close(out.linear, rules.logc3_decode(out.codes).clamp(min=0.0))
    assert out.linear.max() > 1.0 and out.primaries == "rec709"


def test_hdr_pipeline_acescct_lora_decodes_acescct(models):
    """The 2.5 SDR-to-HDR IC-LoRA's metadata (``hdr_transform`` acescct): the reference is the SDR as it is, the
    decode is ACEScct to AP1 (ACEScg) linear light, unclipped."""
    weights = {"diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 8),
               "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(8, 2)}
    lora = lora_from_state_dict(weights, name="ltx-2.5-22b-ic-lora-sdr-to-hdr-1.0",
                                metadata={"hdr_transform": "acescct"})
    config = hdr_lora_settings([lora])
    assert config == rules.HdrLoraConfig("acescct", 1)
    out = generate_hdr_ic_lora(models, REQ, random_contexts(models), _frames(), config=config, out_primaries="acescg")
    assert out.codes.shape == (9, 64, 96, 3) and out.notes[-1] == "HDR decode: ACEScct"
    torch.testing.assert_close(out.linear, rules.acescct_decode(out.codes).clamp(min=0.0))
    assert out.primaries == "acescg" and out.linear.max() > 1.0
    logc3 = generate_hdr_ic_lora(models, REQ, random_contexts(models), _frames(), out_primaries="acescg")
    torch.testing.assert_close(logc3.codes, out.codes)  # same sampling: only the decode curve differs
    assert (logc3.linear - out.linear).abs().max() > 0.1


def test_hdr_pipeline_high_quality_frames(models):
    spy = RecordingTransformer(models.transformer)
    request = dataclasses.replace(REQ, num_frames=9)
    out = generate_hdr_ic_lora(dataclasses.replace(models, transformer=spy), request, random_contexts(models),
                               _frames(12), high_quality=True)
    # 2 x 9 - 1 = 17 frames generated (3 latent frames) from the first 9 input frames each twice; 9 kept.
    assert spy.passes == [(12, False)] * 2 + [(48, False)] * 2
    assert out.video_latent.shape[2] == 3 and out.codes.shape == (9, 64, 96, 3)
    again = decode_codes(models.video_vae, out.video_latent, generator=_decoder_noise()).cpu()
    assert again.shape[0] == 17
    torch.testing.assert_close(again[::2, :64, :96], out.codes)


def test_hdr_pipeline_refuses_a_size_its_reference_cannot_use(models):
    config = rules.HdrLoraConfig("logc3", 2)  # stage 1 at 64x32 / 2: not a 32-pixel grid
    with pytest.raises(GenerationError, match="multiples of 32"):
        generate_hdr_ic_lora(models, REQ, random_contexts(models), _frames(), config=config)


def test_hdr_pipeline_lora_settings_from_metadata():
    weights = {"diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(2, 8),
               "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(8, 2)}
    plain = lora_from_state_dict(weights, name="plain")
    tagged = lora_from_state_dict(weights, name="hdr", metadata={"hdr_transform": "logc3",
                                                                 "reference_downscale_factor": "2"})
    assert hdr_lora_settings([plain]) == rules.HdrLoraConfig("logc3", 1)
    assert hdr_lora_settings([plain, tagged]) == rules.HdrLoraConfig("logc3", 2)
