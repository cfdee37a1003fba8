"""Sampling previews inside the real host: latent2rgb previews of the video part of audio+video latents (our sampler
node and core's SamplerCustomAdvanced), the frame they show, and the decode node's waveform summary."""

from __future__ import annotations

import pytest
import torch
from node_support import pack_module, prompt
from test_vae import CKPTS, _inference_mode, write_demo_ckpts  # noqa: F401  (autouse fixture)

from ltx_model.demo import DemoFamily

pytestmark = pytest.mark.comfy


@pytest.fixture()
def latent2rgb_previews():
    """Preview method latent2rgb (restored afterwards) and a progress-bar hook collecting the sent previews."""
    import comfy.utils
    from comfy.cli_args import LatentPreviewMethod, args

    previews: list = []
    old_method, old_hook = args.preview_method, comfy.utils.PROGRESS_BAR_HOOK
    args.preview_method = LatentPreviewMethod.Latent2RGB
    comfy.utils.set_progress_bar_global_hook(lambda value, total, preview, node_id=None: previews.append(preview))
    try:
        yield previews
    finally:
        args.preview_method = old_method
        comfy.utils.set_progress_bar_global_hook(old_hook)


def _av_latent(pack_nodes, width=96, height=64, frames=17):
    return pack_nodes.latents.LTX2NEmptyAVLatent.execute(width, height, frames, 24.0, 1).result[0]


def _images(previews):
    return [p[1] for p in previews if p is not None]


def test_previews_sampler_node_sends_video_frame_previews(pack_nodes, demo_models, latent2rgb_previews):
    model = demo_models["19b-distilled"]
    pack_nodes.sampling.LTX2NSampler.execute(model, prompt(model, 1), prompt(model, 2), _av_latent(pack_nodes), 5,
                                             "distilled stage 2", 0, "none")
    images = _images(latent2rgb_previews)
    assert len(images) == 3  # one per step of the 3-step stage-2 schedule
    assert {(im.width, im.height) for im in images} == {(3, 2)}  # 96 x 64 pixels -> 3 x 2 latent cells
    assert len({im.tobytes() for im in images}) > 1  # x0 changes between steps, so does the preview


def test_previews_core_sampler_custom_advanced_av_latent(comfy_host, demo_models, pack_nodes, latent2rgb_previews):
    node = comfy_host.node_class
    model = demo_models["2.3-dev"]
    guider = node("CFGGuider").execute(model, prompt(model, 3), prompt(model, 4), 1.0).result[0]
    noise, sampler = node("RandomNoise").execute(7).result[0], node("KSamplerSelect").execute("euler").result[0]
    latent = _av_latent(pack_nodes, width=128, height=64, frames=9)
    node("SamplerCustomAdvanced").execute(noise, guider, sampler, torch.tensor([1.0, 0.5, 0.0]), latent)
    images = _images(latent2rgb_previews)
    assert [(im.width, im.height) for im in images] == [(4, 2), (4, 2)]


def test_previews_frame_is_middle_video_frame_of_packed_latent(comfy_host, pack_nodes, latent2rgb_previews):
    import comfy.utils
    import numpy
    from PIL import Image

    previews = pack_module(comfy_host, "nodes.previews")
    g = torch.Generator().manual_seed(0)
    video, audio = torch.randn(1, 128, 3, 2, 4, generator=g), torch.randn(1, 8, 7, 16, generator=g)
    packed, shapes = comfy.utils.pack_latents([video, audio])
    torch.testing.assert_close(previews.preview_frame(packed, shapes), video[:, :, 1], atol=0, rtol=0)
    torch.testing.assert_close(previews.preview_frame(video, None), video[:, :, 1], atol=0, rtol=0)
    assert previews.preview_frame(packed, None).shape == (1, 128, 1, 1)  # unknown layout: blank, no failure

    import latent_preview

    fmt = pack_nodes.latent_formats.LTX2VideoLatentFormat()
    fmt.latent_shapes = shapes
    image = latent_preview.get_previewer("cpu", fmt).decode_latent_to_preview(packed)
    factors, bias = torch.tensor(previews.VIDEO_RGB_FACTORS), torch.tensor(previews.VIDEO_RGB_BIAS)
    rgb = video[0, :, 1].movedim(0, -1) @ factors + bias  # (H, W, 3) in -1..1
    expected = ((rgb + 1) / 2).clamp(0, 1).mul(255).to(torch.uint8).numpy()
    assert isinstance(image, Image.Image) and image.size == (4, 2)
    shown = torch.from_numpy(numpy.array(image)).int()  # (H, W, 3)
    assert (shown - torch.from_numpy(expected).int()).abs().max() <= 1


def test_previews_waveform_summary_of_audio(comfy_host):
    previews = pack_module(comfy_host, "nodes.previews")
    rate = 1000
    wave = torch.zeros(1, 2, 2 * rate)
    wave[0, 1, 500] = -0.8  # a click in the right channel at 0.5 s
    wave[0, 0, 1500:] = 0.25  # a constant tone in the second half of the left channel
    summary = previews.waveform_ui({"waveform": wave, "sample_rate": rate})[previews.WAVEFORM_UI_KEY][0]
    peaks = summary["peaks"]
    assert summary["seconds"] == 2.0 and summary["sample_rate"] == rate and len(peaks) == previews.WAVEFORM_POINTS
    assert max(peaks) == pytest.approx(0.8) and peaks.index(max(peaks)) == previews.WAVEFORM_POINTS // 4
    assert peaks[-1] == pytest.approx(0.25) and peaks[10] == 0.0
    short = previews.waveform_summary({"waveform": torch.full((1, 1, 5), 2.0), "sample_rate": 10})
    assert short == {"peaks": [1.0] * 5, "seconds": 0.5, "sample_rate": 10}


def test_previews_decode_audio_node_sends_waveform_ui(comfy_host, pack_nodes):
    write_demo_ckpts(comfy_host)
    vae = pack_nodes.audio.LTX2NAudioVAELoader.execute(vae_name=CKPTS[DemoFamily.LTX2]).result[0]
    latent = torch.randn(1, 8, 6, 16, generator=torch.Generator().manual_seed(2))
    out = pack_nodes.audio.LTX2NDecodeAudio.execute(samples={"samples": latent}, audio_vae=vae)
    audio = out.result[0]
    previews = pack_module(comfy_host, "nodes.previews")
    assert out.ui == {previews.WAVEFORM_UI_KEY: [previews.waveform_summary(audio)]}
    summary = out.ui[previews.WAVEFORM_UI_KEY][0]
    assert summary["seconds"] == audio["waveform"].shape[-1] / 24000 and len(summary["peaks"]) == 240
    assert max(summary["peaks"]) > 0
