"""Spatial x1.5 and temporal x2 latent upscale nodes in the real host: shapes, frame-count / fps bookkeeping, the
audio part passed through untouched, equality with core LTXVLatentUpsampler (atol 1e-5), and kind checks."""

from __future__ import annotations

import pytest
import torch
from node_support import StandInVAE

from scripts.workflow_models import write_demo_upscaler

pytestmark = pytest.mark.comfy

TEMPORAL = "ltx2n-nodes-temporal-upscaler-x2.safetensors"
X15 = "ltx2n-nodes-spatial-upscaler-x1.5.safetensors"


@pytest.fixture(scope="module")
def upscalers(comfy_host, pack_nodes, demo_files):
    folder = comfy_host.model_dir("latent_upscale_models")
    load = pack_nodes.upscale.LTX2NUpscalerLoader.execute
    out = {}
    for name in (TEMPORAL, X15):
        write_demo_upscaler(folder / name)
        out[name] = load(name).result[0]
    out["x2"] = load(demo_files.upscaler).result[0]
    return out


def _av_latent(host, frames: int, h: int, w: int) -> dict:
    g = torch.Generator().manual_seed(0)
    return host.node_class("LTXVConcatAVLatent").execute(
        {"samples": torch.randn(1, 128, frames, h, w, generator=g), "noise_mask": torch.zeros(1, 1, frames, 1, 1)},
        {"samples": torch.randn(1, 8, 9, 16, generator=g)}).result[0]


def _core(host, av: dict, upscaler, vae) -> torch.Tensor:
    video = host.node_class("LTXVSeparateAVLatent").execute(av).result[0]
    return host.node_class("LTXVLatentUpsampler")().upsample_latent(video, upscaler, vae)[0]["samples"]


def test_upsampler_temporal_x2_doubles_frames_and_fps_keeps_audio(comfy_host, pack_nodes, upscalers):
    av, vae = _av_latent(comfy_host, 3, 2, 2), StandInVAE()
    out, fps, frames = pack_nodes.upscale.LTX2NUpscaleLatentTemporal.execute(av, upscalers[TEMPORAL], vae,
                                                                            24.0).result
    video, audio = out["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 5, 2, 2) and "noise_mask" not in out
    assert (fps, frames) == (48.0, 33)  # 17 frames at 24 fps -> 2 * 17 - 1 at 48 fps: the same duration +- 1 frame
    assert torch.equal(audio, av["samples"].unbind()[1])
    torch.testing.assert_close(video, _core(comfy_host, av, upscalers[TEMPORAL], vae), atol=1e-5, rtol=1e-5)


def test_upsampler_spatial_x15_shapes_and_core_equality(comfy_host, pack_nodes, upscalers):
    av, vae = _av_latent(comfy_host, 2, 2, 4), StandInVAE()
    out = pack_nodes.upscale.LTX2NUpscaleLatentX15.execute(av, upscalers[X15], vae).result[0]
    video, audio = out["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 2, 3, 6)  # 64x128 px -> 96x192 px
    assert torch.equal(audio, av["samples"].unbind()[1])
    torch.testing.assert_close(video, _core(comfy_host, av, upscalers[X15], vae), atol=1e-5, rtol=1e-5)


def test_upsampler_kind_mismatch_is_a_clear_error(comfy_host, pack_nodes, upscalers):
    av, vae = _av_latent(comfy_host, 2, 2, 2), StandInVAE()
    upscale = pack_nodes.upscale
    with pytest.raises(ValueError, match="needs a spatial x2 latent upscaler, but this one is temporal x2"):
        upscale.LTX2NUpscaleLatent.execute(av, upscalers[TEMPORAL], vae)
    with pytest.raises(ValueError, match="needs a temporal x2 latent upscaler, but this one is spatial x2"):
        upscale.LTX2NUpscaleLatentTemporal.execute(av, upscalers["x2"], vae, 24.0)
    with pytest.raises(ValueError, match="needs a spatial x1.5 latent upscaler, but this one is temporal x2"):
        upscale.LTX2NUpscaleLatentX15.execute(av, upscalers[TEMPORAL], vae)
