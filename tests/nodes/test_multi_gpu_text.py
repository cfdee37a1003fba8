"""Text Encoder Device (LTX-2) in the real host: the Gemma text encoder encodes on the chosen device (here the CPU,
the only device of the test machine) with the same result, sharing the input's weights; device names follow the
Multi-GPU rules and bad ones are refused naming the node."""

from __future__ import annotations

import importlib

import pytest
import torch

from ltx_model.demo import DemoFamily, write_demo_checkpoint, write_demo_gemma

pytestmark = pytest.mark.comfy

CKPT = "ltx2n_mgpu_text_23.safetensors"
GEMMA = "ltx2n_mgpu_gemma_demo"


@pytest.fixture(scope="module")
def encoder(comfy_host, pack_nodes):
    write_demo_checkpoint(comfy_host.model_dir("checkpoints") / CKPT, DemoFamily.LTX23, dtype=torch.float32)
    write_demo_gemma(comfy_host.model_dir("text_encoders") / GEMMA)
    return pack_nodes.text.LTX2NTextEncoderLoader.execute(gemma=GEMMA + "/", ckpt_name=CKPT).result[0]


def _encode(pack_nodes, encoder) -> torch.Tensor:
    encode = pack_nodes.text.LTX2NTextEncode
    return encode.execute(text_encoder=encoder, text="a red kite", frame_rate=24.0).result[0][0][0]


def test_multi_gpu_text_encoder_on_a_chosen_device(pack_nodes, encoder) -> None:
    node = importlib.import_module(pack_nodes.__name__ + ".multi_gpu_text").LTX2NTextEncoderDevice
    placed, clip = node.execute(encoder, " cpu ").result
    assert placed is not encoder and clip is placed.clip and placed.patcher is clip.patcher is not encoder.patcher
    assert placed.patcher.load_device == torch.device("cpu") and placed.gemma is encoder.gemma  # weights shared
    seen: list[torch.device] = []
    hook = placed.stack.projection.register_forward_pre_hook(
        lambda module, args: seen.append(next(module.parameters()).device))
    try:
        got = _encode(pack_nodes, placed)
    finally:
        hook.remove()
    assert seen == [torch.device("cpu")]  # the encode ran on the chosen device
    assert torch.equal(got, _encode(pack_nodes, encoder))
    assert node.execute(encoder, "default").result[0] is encoder  # ComfyUI's text-encoder device, unchanged


@pytest.mark.parametrize(("device", "message"), [
    ("cuda:3", r"Text Encoder Device \(LTX-2\): device 'cuda:3' does not exist here"),
    ("gpu0", r"Text Encoder Device \(LTX-2\): 'gpu0' is not a device name"),
])
def test_multi_gpu_text_encoder_device_refuses_bad_names(pack_nodes, encoder, device, message) -> None:
    node = importlib.import_module(pack_nodes.__name__ + ".multi_gpu_text").LTX2NTextEncoderDevice
    with pytest.raises(ValueError, match=message):
        node.execute(encoder, device)
