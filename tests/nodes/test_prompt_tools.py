"""Prompt enhancer and saved text encodings inside the real host, on the demo Gemma folder and demo checkpoint."""

from __future__ import annotations

import pytest
import torch

from ltx_model.demo import write_demo_gemma
from ltx_model.loading import write_safetensors
from ltx_model.pipelines import (
    TextContexts,
    enhance_prompt,
    load_prompt_enhancer,
    load_text_contexts,
    save_text_contexts,
)

pytestmark = pytest.mark.comfy

GEMMA = "ltx2n_gemma_prompt_tools"
PROMPT = "a dog runs on the beach"
NEGATIVE = "blurry, silent"


@pytest.fixture(scope="module")
def gemma(comfy_host):
    return write_demo_gemma(comfy_host.model_dir("text_encoders") / GEMMA)


@pytest.fixture(scope="module")
def text_encoder(pack_nodes, demo_files, gemma):
    loader = pack_nodes.text.LTX2NTextEncoderLoader
    return loader.execute(gemma=GEMMA + "/", ckpt_name=demo_files.ltx23_dev).result[0]


def _encode(pack_nodes, encoder, text: str, fps: float = 24.0) -> list:
    return pack_nodes.text.LTX2NTextEncode.execute(text_encoder=encoder, text=text, frame_rate=fps).result[0]


def _same_conditioning(a: list, b: list) -> bool:
    return torch.equal(a[0][0], b[0][0]) and a[0][1] == b[0][1]


def test_prompt_enhancer_node_equals_library_generation(pack_nodes, gemma, monkeypatch):
    node = pack_nodes.prompt_tools.LTX2NEnhancePrompt
    out = node.execute(PROMPT, True, GEMMA + "/", 1, 6)
    text = out.result[0]
    library = enhance_prompt(load_prompt_enhancer(gemma, dtype=torch.bfloat16), PROMPT, seed=1, max_new_tokens=6)
    assert isinstance(text, str) and text and text == library and out.ui["text"] == [text]
    with pytest.raises(ValueError, match="vision tower"):  # the demo folder has no vision tower
        node.execute(PROMPT, True, GEMMA + "/", 1, 6, image=torch.rand(1, 32, 48, 3))

    def no_gemma(*args, **kwargs):
        raise AssertionError("Gemma must not be loaded when enhance is off")

    monkeypatch.setattr(pack_nodes.prompt_tools, "load_prompt_enhancer", no_gemma)
    assert node.execute(PROMPT, False, "anything", 1, 16).result[0] == PROMPT  # off: passes through


def test_prompt_enhancer_validation_and_image_frame(pack_nodes, comfy_host):
    node = pack_nodes.prompt_tools.LTX2NEnhancePrompt
    assert isinstance(node.validate_inputs(enhance=True, gemma=pack_nodes.text.NO_GEMMA), str)  # a message
    assert "not in models/text_encoders" in node.validate_inputs(enhance=True, gemma="../../x/")
    assert "not in models/text_encoders" in node.validate_inputs(enhance=True, gemma=12345)
    assert node.validate_inputs(enhance=False, gemma=pack_nodes.text.NO_GEMMA) is True
    image = torch.zeros(2, 4, 6, 4)
    image[0, ..., 0] = 1.0
    frame = pack_nodes.prompt_tools.first_frame(image)
    assert frame.dtype == torch.uint8 and tuple(frame.shape) == (4, 6, 3)
    assert frame[..., 0].eq(255).all() and frame[..., 1:].eq(0).all()


def test_text_encoding_save_then_load_without_gemma(comfy_host, pack_nodes, text_encoder):
    tools = pack_nodes.prompt_tools
    saved = tools.LTX2NSaveTextEncoding.execute(text_encoder, PROMPT, NEGATIVE, "ltx2n-test/round", 24.0)
    positive, negative = saved.result
    assert _same_conditioning(positive, _encode(pack_nodes, text_encoder, PROMPT))  # == Text Encode (LTX-2)
    assert not torch.equal(negative[0][0], positive[0][0])
    name = saved.ui["text"][0].removeprefix("saved ")
    assert name.startswith("ltx2n-test/round_") and name in tools.encoding_choices()

    library = load_text_contexts(tools.encodings_dir() / name)  # the library's format: readable by plain scripts
    for cond, video, audio in ((positive, library.video, library.audio),
                               (negative, library.negative_video, library.negative_audio)):
        assert torch.equal(cond[0][0], torch.cat([video, audio], dim=-1).float())

    assert tools.LTX2NLoadTextEncoding.validate_inputs(encoding=name) is True
    loaded = tools.LTX2NLoadTextEncoding.execute(name, 30.0)
    assert loaded.ui["text"] == [PROMPT]
    for ours, reference in zip(loaded.result, (positive, negative), strict=True):
        assert torch.equal(ours[0][0], reference[0][0]) and ours[0][1] == {"frame_rate": 30.0}
    second = tools.LTX2NSaveTextEncoding.execute(text_encoder, PROMPT, NEGATIVE, "ltx2n-test/round", 24.0)
    assert second.ui["text"][0] != saved.ui["text"][0]  # a new file, never overwritten


def test_text_encoding_bad_files_and_missing_negative(comfy_host, pack_nodes):
    tools = pack_nodes.prompt_tools
    node = tools.LTX2NLoadTextEncoding
    folder = tools.encodings_dir() / "ltx2n-test"
    folder.mkdir(parents=True, exist_ok=True)
    write_safetensors(folder / "other.safetensors", {"w": torch.zeros(2)})
    assert "not a saved LTX-2 text encoding" in node.validate_inputs(encoding="ltx2n-test/other.safetensors")
    assert "not a saved text encoding" in node.validate_inputs(encoding="ltx2n-test/missing.safetensors")
    outside = comfy_host.output_dir / "outside.safetensors"
    save_text_contexts(outside, TextContexts(torch.zeros(1, 2, 4), torch.zeros(1, 2, 4)))
    assert "not a saved text encoding" in node.validate_inputs(encoding="../outside.safetensors")  # no traversal
    assert "not a saved text encoding" in node.validate_inputs(encoding=12345)
    with pytest.raises(FileNotFoundError, match="no saved text encoding"):
        node.execute("../outside.safetensors", 24.0)
    assert node.validate_inputs(encoding=tools.NO_ENCODINGS) != True  # noqa: E712 (a message, not True)

    video, audio = torch.randn(1, 5, 16), torch.randn(1, 5, 8)
    save_text_contexts(folder / "positive_only.safetensors", TextContexts(video, audio))
    out = node.execute("ltx2n-test/positive_only.safetensors", 24.0)
    positive, negative = out.result
    assert negative is positive and "no negative prompt" in out.ui["text"][0]
    assert torch.equal(positive[0][0], torch.cat([video, audio], dim=-1)) and positive[0][1] == {"frame_rate": 24.0}
