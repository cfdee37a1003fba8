"""pipelines prompt enhancer: system prompt files, chat messages, cleaning, demo-Gemma generation, image path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ltx_model.demo import write_demo_gemma
from ltx_model.pipelines import EnhanceKind, GenerationError, PromptEnhancer, enhance_prompt, load_prompt_enhancer
from ltx_model.pipelines import system_prompt as read_system_prompt
from ltx_model.pipelines.enhance import clean_response, enhancement_messages, resize_long_side


def test_pipeline_enhance_system_prompts_and_messages() -> None:
    t2v, i2v = read_system_prompt(EnhanceKind.TEXT), read_system_prompt(EnhanceKind.IMAGE)
    assert "soundscape" in t2v and "present progressive" in t2v and "Style:" in t2v
    assert "first frame" in i2v and "changes" in i2v
    messages = enhancement_messages("a cat", with_image=False)
    assert messages == [{"role": "system", "content": t2v}, {"role": "user", "content": "user prompt: a cat"}]
    image_messages = enhancement_messages("a cat", with_image=True)
    assert image_messages[1]["content"][0] == {"type": "image"}
    assert image_messages[1]["content"][1]["text"] == "User Raw Input Prompt: a cat."


def test_pipeline_enhance_clean_response_and_resize() -> None:
    assert clean_response("\n- \u201cHello\u201d \u2014 it\u2019s") == "Hello\" - it's"
    assert clean_response("123") == "123"
    picture = resize_long_side(np.zeros((100, 50, 3), np.uint8))
    assert picture.size == (448, 896)  # (width, height), long side 896


def test_pipeline_enhance_generates_with_demo_gemma(tmp_path: Path) -> None:
    enhancer = load_prompt_enhancer(write_demo_gemma(tmp_path / "gemma"), dtype=torch.float32)
    state = torch.random.get_rng_state()
    a = enhance_prompt(enhancer, "a dog runs on the beach", seed=1, max_new_tokens=8)
    b = enhance_prompt(enhancer, "a dog runs on the beach", seed=1, max_new_tokens=8)
    c = enhance_prompt(enhancer, "a dog runs on the beach", seed=2, max_new_tokens=8)
    assert isinstance(a, str) and a and a == b and a != c
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG is left alone
    with pytest.raises(GenerationError, match="vision tower"):
        enhance_prompt(enhancer, "a dog", image=np.zeros((8, 8, 3), np.uint8), max_new_tokens=2)


class _Tokens(dict):
    def to(self, device: torch.device) -> _Tokens:
        return self


class _FakeTokenizer:
    chat_template = None
    bos_token = "<bos>"

    def decode(self, ids: torch.Tensor, skip_special_tokens: bool = True) -> str:
        return "\u201cA cat\u201d walks" if ids.tolist() == [7, 8] else "?"


class _FakeProcessor:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def __call__(self, *, text: str, images: object, return_tensors: str) -> _Tokens:
        self.calls.append((text, images))
        return _Tokens(input_ids=torch.tensor([[1, 2, 3]]), pixel_values=torch.zeros(1, 3, 4, 4))


class _FakeModel(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.kwargs: dict = {}

    def generate(self, **kwargs: object) -> torch.Tensor:
        self.kwargs = kwargs
        return torch.tensor([[1, 2, 3, 7, 8]])


def test_pipeline_enhance_image_aware_wiring() -> None:
    """The image variant: i2v system prompt + image slot in the chat text, the image resized to 896, sampling args."""
    processor, model = _FakeProcessor(), _FakeModel()
    enhancer = PromptEnhancer(model, _FakeTokenizer(), processor)
    out = enhance_prompt(enhancer, "a cat", image=np.zeros((20, 40, 3), np.uint8), seed=3)
    assert out == 'A cat" walks'  # only the new tokens, cleaned
    text, image = processor.calls[0]
    assert read_system_prompt(EnhanceKind.IMAGE) in text and "<start_of_image>User Raw Input Prompt: a cat." in text
    assert image.size == (896, 448)
    assert model.kwargs["do_sample"] is True and model.kwargs["temperature"] == 0.7
    assert model.kwargs["max_new_tokens"] == 512 and "pixel_values" in model.kwargs


def test_pipeline_enhance_gemma4_prompts_and_greedy_decoding() -> None:
    """A Gemma 4 enhancer: its own system prompt (our wording, not the Gemma 3 one) and ltx-core HEAD's greedy
    decoding (no repeated 5-grams, at most 600 new tokens), whatever the Gemma 3 sampling arguments say."""
    t2v4, i2v4 = read_system_prompt(EnhanceKind.TEXT, gemma4=True), read_system_prompt(EnhanceKind.IMAGE, gemma4=True)
    assert t2v4 != read_system_prompt(EnhanceKind.TEXT) and i2v4 != read_system_prompt(EnhanceKind.IMAGE)
    assert "REFERENCE IMAGE" in i2v4 and "caption" in t2v4
    processor, model = _FakeProcessor(), _FakeModel()
    enhancer = PromptEnhancer(model, _FakeTokenizer(), processor, gemma4=True)
    out = enhance_prompt(enhancer, "a cat", image=np.zeros((20, 40, 3), np.uint8), seed=3, temperature=0.9)
    assert out == 'A cat" walks'
    assert i2v4 in processor.calls[0][0]
    assert model.kwargs["do_sample"] is False and "temperature" not in model.kwargs
    assert model.kwargs["no_repeat_ngram_size"] == 5 and model.kwargs["max_new_tokens"] == 600
