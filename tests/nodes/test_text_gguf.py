"""A llama.cpp Gemma 3 GGUF as the text encoder in the real host: listed by the loader, loaded with its matrices
kept quantised, encodes a prompt exactly like the library, and clear errors for wrong files.

The GGUF is the demo Gemma (48 layers of width 16, the demo checkpoints' projection input) written in llama.cpp's
layout as "Q8_0": matrices whose rows fill Q8_0 blocks (down_proj, 32 wide) are Q8_0, the 16-wide ones F16, as
llama.cpp falls back. Its tokenizer is the demo tokenizer.json beside it.
"""

from __future__ import annotations

import re
import shutil
import sys

import pytest
import torch
from test_vae import CKPTS, _inference_mode, write_demo_ckpts  # noqa: F401  (autouse fixture)

from ltx_model.demo import DemoFamily, random_gemma_text_model, write_demo_gemma, write_gemma_gguf
from ltx_model.loading import load_component
from ltx_model.quant import GGMLType
from ltx_model.text import GemmaTextEncoder, encode_prompts, load_gemma_text_model
from ltx_model.text.gemma_gguf import GGMLLinear

pytestmark = pytest.mark.comfy

FOLDER = "ltx2n_gguf"
NAME = FOLDER + "/gemma-demo-Q8_0.gguf"
PROMPT = "a cat walks on the beach"


@pytest.fixture(scope="module")
def demo_ckpts(comfy_host):
    return write_demo_ckpts(comfy_host)


@pytest.fixture(scope="module")
def gguf_gemma(comfy_host, tmp_path_factory):
    """The demo Gemma as a Q8_0 GGUF in models/text_encoders/ltx2n_gguf/ with tokenizer.json beside it."""
    source = write_demo_gemma(tmp_path_factory.mktemp("demo_gemma"))
    folder = comfy_host.model_dir("text_encoders") / FOLDER
    folder.mkdir(exist_ok=True)
    for item in source.iterdir():
        if item.name.startswith(("tokenizer", "special_tokens")):
            shutil.copy(item, folder / item.name)
    model = load_gemma_text_model(source, dtype=torch.float32)
    return write_gemma_gguf(folder / "gemma-demo-Q8_0.gguf", model, qtype=GGMLType.Q8_0)


def _encode(pack_nodes, encoder, text=PROMPT):
    return pack_nodes.text.LTX2NTextEncode.execute(text_encoder=encoder, text=text, frame_rate=24.0).result[0]


def test_text_gguf_gemma_node_encodes_like_library(pack_nodes, demo_ckpts, gguf_gemma):
    text = pack_nodes.text
    assert NAME in text.gemma_choices() and NAME not in text.text_checkpoint_choices()
    assert text.LTX2NTextEncoderLoader.validate_inputs(gemma=NAME) is True
    encoder = text.LTX2NTextEncoderLoader.execute(gemma=NAME, ckpt_name=CKPTS[DemoFamily.LTX23]).result[0]
    gemma = encoder.stack.gemma
    down = gemma.layers[0].mlp.down_proj
    # the host imports the pack as its own package: compare class / enum names
    assert type(down).__name__ == GGMLLinear.__name__ and down.qtype.name == "Q8_0"
    assert down.weight.dtype == torch.uint8 and type(gemma.layers[0].mlp.up_proj).__name__ == "Linear"  # F16
    context = _encode(pack_nodes, encoder)[0][0]
    assert tuple(context.shape) == (1, 1024, 24) and torch.isfinite(context).all()
    library = GemmaTextEncoder.from_pretrained(gguf_gemma, tokenizer_path=gguf_gemma.parent, dtype=torch.bfloat16)
    ckpt = demo_ckpts[DemoFamily.LTX23]
    ref = encode_prompts([PROMPT], text_encoder=library, projection=load_component(ckpt, "text_projection"),
                         connectors=load_component(ckpt, "connectors"))
    torch.testing.assert_close(context, torch.cat([ref.video_context, ref.audio_context], -1).float(), atol=0,
                               rtol=0)
    import comfy.model_management as mm

    assert {p.device for p in encoder.stack.parameters()} == {mm.text_encoder_offload_device()}
    assert down.weight.dtype == torch.uint8  # still the GGML blocks after the encode


def test_text_gguf_gemma_wrong_files_clear_errors(comfy_host, pack_nodes, demo_ckpts, gguf_gemma, monkeypatch):
    text = pack_nodes.text
    folder = gguf_gemma.parent
    small = random_gemma_text_model(seed=5)  # 2 layers of width 16: 3 hidden states, the projection takes 49
    write_gemma_gguf(folder / "gemma-small.gguf", small)
    with pytest.raises(ValueError, match=r"gemma-small.gguf is a Gemma \(2 layers of width 16.*takes 49 x 16"):
        text.LTX2NTextEncoderLoader.execute(gemma=FOLDER + "/gemma-small.gguf", ckpt_name=CKPTS[DemoFamily.LTX2])
    write_gemma_gguf(folder / "mmproj-gemma.gguf", small, architecture="clip")
    with pytest.raises(ValueError, match="mmproj-gemma.gguf is a vision projector \\(mmproj\\) file"):
        text.LTX2NTextEncoderLoader.execute(gemma=FOLDER + "/mmproj-gemma.gguf", ckpt_name=CKPTS[DemoFamily.LTX2])
    assert "absent.gguf" in text.LTX2NTextEncoderLoader.validate_inputs(gemma=FOLDER + "/absent.gguf")
    monkeypatch.setitem(sys.modules, "gguf", None)  # the pack reads GGUF itself: listed and valid without it
    assert NAME in text.gemma_choices() and text.LTX2NTextEncoderLoader.validate_inputs(gemma=NAME) is True


def test_text_gguf_gemma_wrong_size_refused_at_validation_from_metadata(comfy_host, pack_nodes, demo_ckpts,
                                                                       gguf_gemma, monkeypatch):
    """validate_inputs checks the Gemma against the checkpoint's projection from both headers: a wrong-size GGUF
    whose tensor data are cut short gives the size message (no tensor read), at validation and at execution."""
    text = pack_nodes.text
    small = random_gemma_text_model(seed=6)
    path = write_gemma_gguf(gguf_gemma.parent / "gemma-cut.gguf", small)
    write_gemma_gguf(gguf_gemma.parent / "mmproj-cut.gguf", small, architecture="clip")
    path.write_bytes(path.read_bytes()[:-64])
    name, ckpt = FOLDER + "/gemma-cut.gguf", CKPTS[DemoFamily.LTX2]
    size = r"gemma-cut.gguf is a Gemma \(2 layers of width 16.*takes 49 x 16"
    loader = text.LTX2NTextEncoderLoader
    assert loader.validate_inputs(gemma=NAME, ckpt_name=ckpt) is True
    problem = loader.validate_inputs(gemma=name, ckpt_name=ckpt)
    assert isinstance(problem, str) and re.search(size, problem)
    assert "is not a file in" in loader.validate_inputs(gemma=NAME, ckpt_name="absent.safetensors")
    mmproj = loader.validate_inputs(gemma=FOLDER + "/mmproj-cut.gguf", ckpt_name=ckpt)
    assert "vision projector (mmproj)" in mmproj
    # the host imports the pack as its own package: patch the pack's GGUFFile
    monkeypatch.setattr(pack_nodes.gguf_ops.GGUFFile, "read", lambda *a, **k: pytest.fail("a tensor was read"))
    with pytest.raises(ValueError, match=size):
        loader.execute(gemma=name, ckpt_name=ckpt)
