"""Empty audio+video latent node inside the real host, and interop with core's AV latent nodes."""

from __future__ import annotations

import pytest
import torch

pytestmark = pytest.mark.comfy


def _empty(pack_nodes, width=96, height=64, frames=17, fps=24.0, batch_size=1):
    node = pack_nodes.latents.LTX2NEmptyAVLatent
    return node.execute(width=width, height=height, frames=frames, fps=fps, batch_size=batch_size).result[0]


@pytest.mark.parametrize(("size", "video", "audio"), [
    ((96, 64, 17, 24.0, 1), (1, 128, 3, 2, 3), (1, 8, 18, 16)),
    ((768, 512, 121, 24.0, 2), (2, 128, 16, 16, 24), (2, 8, 126, 16)),
    ((32, 32, 1, 25.0, 1), (1, 128, 1, 1, 1), (1, 8, 1, 16)),
    ((64, 64, 97, 25.0, 1), (1, 128, 13, 2, 2), (1, 8, 97, 16)),
])
def test_empty_av_latent_shapes(pack_nodes, size, video, audio):
    latent = _empty(pack_nodes, *size)
    assert latent["samples"].is_nested
    v, a = latent["samples"].unbind()
    assert (tuple(v.shape), tuple(a.shape)) == (video, audio)
    assert v.abs().sum() == 0 and a.abs().sum() == 0
    import comfy.model_management

    assert v.device == comfy.model_management.intermediate_device()


@pytest.mark.parametrize(("size", "message"), [
    ((96, 64, 20, 24.0), "1 + 8k"),
    ((100, 64, 17, 24.0), "multiples of 32"),
    ((96, 0, 17, 24.0), "at least 32"),
    ((96, 64, 17, 0.0), "fps must be > 0"),
])
def test_empty_av_latent_rejects_bad_sizes(pack_nodes, size, message):
    node = pack_nodes.latents.LTX2NEmptyAVLatent
    assert message in node.validate_inputs(*size)
    with pytest.raises(ValueError, match=message.replace("+", r"\+")):
        node.execute(*size, batch_size=1)


def test_empty_av_latent_validation_checks_schema_bounds_and_types(pack_nodes):
    # declaring these inputs in validate_inputs makes ComfyUI skip its own min/max and type checks
    node = pack_nodes.latents.LTX2NEmptyAVLatent
    assert node.validate_inputs(8224, 64, 17, 24.0) == "width must be between 32 and 8192 (got 8224)"
    assert node.validate_inputs(96, 64, 8201, 24.0) == "frames must be between 1 and 8193 (got 8201)"
    assert node.validate_inputs(96, 64, 17, 241.0) == "fps must be between 1.0 and 240.0 (got 241.0)"
    assert node.validate_inputs(96, 64, "not a number", 24.0) == "frames must be a number (got 'not a number')"
    assert node.validate_inputs(96, 64, 17, 240.0) is True


def test_empty_av_latent_validation_defers_linked_inputs(pack_nodes):
    assert pack_nodes.latents.LTX2NEmptyAVLatent.validate_inputs(width=96, height=None, frames=20, fps=24.0) is True


def test_empty_av_latent_interop_with_core_separate_and_concat(comfy_host, pack_nodes):
    import comfy.utils

    latent = _empty(pack_nodes, 96, 64, 17, 24.0, 2)
    video_latent, audio_latent = comfy_host.node_class("LTXVSeparateAVLatent").execute(latent).result
    assert tuple(video_latent["samples"].shape) == (2, 128, 3, 2, 3)
    assert tuple(audio_latent["samples"].shape) == (2, 8, 18, 16)
    joined = comfy_host.node_class("LTXVConcatAVLatent").execute(video_latent, audio_latent).result[0]
    parts = joined["samples"].unbind()
    for before, after in zip(latent["samples"].unbind(), parts, strict=True):
        assert torch.equal(before, after)
    packed, shapes = comfy.utils.pack_latents(parts)
    assert [tuple(s) for s in shapes] == [(2, 128, 3, 2, 3), (2, 8, 18, 16)]
    assert tuple(packed.shape) == (2, 1, 128 * 3 * 2 * 3 + 8 * 18 * 16)
