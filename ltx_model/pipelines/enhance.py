"""Prompt enhancement with a local Gemma 3 or dense Gemma 4 instruct model (transformers ``generate``) and saved
text encodings.

Enhancement follows ltx-core's ``enhance_t2v`` / ``enhance_i2v``: a system prompt (``prompts/*.txt``, our wording
of the reference's instructions) and the user prompt in Gemma's chat format, sampling with temperature 0.7, at most
512 new tokens, a fixed seed (pipelines pass the run seed); the image-aware variant adds the first frame (resized to
a long side of 896 px) and needs a Gemma folder with its vision tower. The answer is cleaned as ltx-pipelines'
``clean_response`` (typographic quotes/dashes to ASCII, leading non-letters removed). Differences: no left padding
for attention alignment (a throughput detail of the reference). A dense Gemma 4 instruct folder (``model_type``
``gemma4``, for LTX-2.5; its unified text encoder cannot generate) uses its own system prompts
(``prompts/gemma4_*``, our wording of ltx-core HEAD's) and HEAD's Gemma 4 decoding: greedy, no repeated 5-grams, at
most 600 new tokens.

Text encodings can be saved with :func:`save_text_contexts` and loaded with :func:`load_text_contexts`, so Gemma can
be freed once the prompts of a session are encoded.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .request import GenerationError, TextContexts

PROMPTS_DIR = Path(__file__).parent / "prompts"
IMAGE_LONG_SIDE = 896
CONTEXTS_FORMAT = "ltx2-text-contexts/1"
_REPLACEMENTS = str.maketrans("\u2018\u2019\u201c\u201d\u2014\u2013\u00a0\u2032\u2212", "''\"\"-- '-")


class EnhanceKind(Enum):
    """Which system prompt: text-to-video, or image-to-video (relative to a first frame)."""

    TEXT = "t2v"
    IMAGE = "i2v"


GEMMA4 = "gemma4"
# ltx-core HEAD's decoding per enhancer family (Gemma 4: greedy; Gemma 3: sampled, see enhance_prompt's defaults).
GEMMA4_GENERATION: dict[str, Any] = {"do_sample": False, "no_repeat_ngram_size": 5, "max_new_tokens": 600}


def system_prompt(kind: EnhanceKind, *, gemma4: bool = False) -> str:
    """The system prompt text for ``kind`` (``ltx_model/pipelines/prompts/[gemma4_]<kind>_system_prompt.txt``)."""
    prefix = "gemma4_" if gemma4 else ""
    return (PROMPTS_DIR / f"{prefix}{kind.value}_system_prompt.txt").read_text(encoding="utf-8")


def enhancement_messages(prompt: str, *, with_image: bool, gemma4: bool = False) -> list[dict[str, Any]]:
    """Chat messages as the reference builds them (system + user; the image-aware user turn has an image slot)."""
    if not with_image:
        return [{"role": "system", "content": system_prompt(EnhanceKind.TEXT, gemma4=gemma4)},
                {"role": "user", "content": f"user prompt: {prompt}"}]
    user = [{"type": "image"}, {"type": "text", "text": f"User Raw Input Prompt: {prompt}."}]
    return [{"role": "system", "content": system_prompt(EnhanceKind.IMAGE, gemma4=gemma4)},
            {"role": "user", "content": user}]


def clean_response(text: str) -> str:
    """Typographic quotes/dashes → ASCII, then drop everything before the first letter."""
    text = text.translate(_REPLACEMENTS)
    for index, char in enumerate(text):
        if char.isalpha():
            return text[index:]
    return text


def resize_long_side(image: np.ndarray | torch.Tensor, long_side: int = IMAGE_LONG_SIDE) -> Any:  # noqa: ANN401
    """``uint8 (H, W, 3)`` → PIL image whose longer side is ``long_side`` (aspect kept, bicubic)."""
    from PIL import Image

    array = np.asarray(image.cpu() if isinstance(image, torch.Tensor) else image).astype(np.uint8)
    picture = Image.fromarray(array)
    scale = long_side / max(picture.size)
    return picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.BICUBIC)


def _chat_text(tokenizer: Any, messages: list[dict[str, Any]]) -> str:  # noqa: ANN401
    """Gemma chat format via the tokenizer's template; tokenizers without one get Gemma 3's layout (the system
    prompt is folded into the first user turn)."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    system, user = messages[0]["content"], messages[1]["content"]
    if not isinstance(user, str):
        user = "<start_of_image>" + "".join(part.get("text", "") for part in user)
    bos = getattr(tokenizer, "bos_token", None) or "<bos>"
    return f"{bos}<start_of_turn>user\n{system}\n\n{user}<end_of_turn>\n<start_of_turn>model\n"


@dataclass
class PromptEnhancer:
    """A loaded generator: any transformers model with ``generate``, its tokenizer, and (for images) a processor.
    ``gemma4``: a dense Gemma 4 instruct model (its own system prompts and greedy decoding)."""

    model: Any
    tokenizer: Any
    processor: Any = None
    gemma4: bool = False


def load_prompt_enhancer(
    folder: str | os.PathLike[str], *, dtype: torch.dtype = torch.bfloat16, device: str | torch.device = "cpu"
) -> PromptEnhancer:
    """Load a local Gemma 3 or dense Gemma 4 instruct folder for text generation (never downloads).

    A Gemma 4 folder (``model_type`` ``gemma4``) loads through :func:`ltx_model.text.gemma4.load_gemma4_enhancer`
    (with its processor when the folder has one: image-aware enhancement). For Gemma 3, a folder with a vision
    tower and ``preprocessor_config.json`` loads ``Gemma3ForConditionalGeneration`` and its processor (image-aware
    enhancement); otherwise the language model alone (``Gemma3ForCausalLM`` with the output
    head tied to the embeddings, as ltx-core does for enhancement).
    """
    from transformers import AutoProcessor, Gemma3ForCausalLM, Gemma3ForConditionalGeneration

    from ..text import load_tokenizer
    from ..text.gemma import load_gemma_text_model, read_gemma_config
    from ..text.gemma4 import load_gemma4_enhancer

    folder = Path(folder)
    if (read_gemma_config(folder) or {}).get("model_type") == GEMMA4:
        model, processor = load_gemma4_enhancer(folder, dtype=dtype, device=device)
        tokenizer = processor.tokenizer if processor is not None else _hf_tokenizer(folder)
        return PromptEnhancer(model, tokenizer, processor, gemma4=True)
    if (folder / "preprocessor_config.json").exists() and _has_vision(folder):
        model = Gemma3ForConditionalGeneration.from_pretrained(str(folder), torch_dtype=dtype, local_files_only=True)
        processor = AutoProcessor.from_pretrained(str(folder), local_files_only=True)
        return PromptEnhancer(model.to(device).eval(), processor.tokenizer, processor)
    text_model = load_gemma_text_model(folder, dtype=dtype, device=device)
    with torch.device("meta"):
        model = Gemma3ForCausalLM(text_model.config)
    model.model = text_model
    model.lm_head.weight = text_model.embed_tokens.weight
    return PromptEnhancer(model.to(device).eval(), load_tokenizer(folder))


def _hf_tokenizer(folder: Path) -> Any:  # noqa: ANN401
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True)


def _has_vision(folder: Path) -> bool:
    from safetensors import safe_open

    for file in folder.glob("*.safetensors"):
        with safe_open(str(file), framework="pt") as handle:
            if any("vision_tower" in key for key in handle.keys()):  # noqa: SIM118
                return True
    return False


def enhance_prompt(
    enhancer: PromptEnhancer,
    prompt: str,
    *,
    image: np.ndarray | torch.Tensor | None = None,
    seed: int = 10,
    max_new_tokens: int = 512,
    temperature: float = 0.7,
) -> str:
    """Rewrite ``prompt`` with Gemma (image-aware when ``image``, ``uint8 (H, W, 3)``, is given). Deterministic per
    seed; the global RNG state is restored afterwards. Returns the cleaned text. A Gemma 4 enhancer decodes greedily
    (:data:`GEMMA4_GENERATION`; ``max_new_tokens`` / ``temperature`` apply to Gemma 3 only)."""
    messages = enhancement_messages(prompt, with_image=image is not None, gemma4=enhancer.gemma4)
    text = _chat_text(enhancer.tokenizer, messages)
    device = next(enhancer.model.parameters()).device
    if image is not None:
        if enhancer.processor is None:
            raise GenerationError("image-aware enhancement needs a Gemma folder with its vision tower and processor")
        inputs = enhancer.processor(text=text, images=resize_long_side(image), return_tensors="pt")
    else:
        inputs = enhancer.tokenizer(text, return_tensors="pt", add_special_tokens=False)
    inputs = {k: v.to(device) for k, v in dict(inputs).items()}
    devices = [device] if device.type == "cuda" else []
    with torch.inference_mode(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        sampling = {"max_new_tokens": max_new_tokens, "do_sample": True, "temperature": temperature}
        output = enhancer.model.generate(**inputs, **(GEMMA4_GENERATION if enhancer.gemma4 else sampling))
    new_tokens = output[0][inputs["input_ids"].shape[1] :]
    return clean_response(enhancer.tokenizer.decode(new_tokens, skip_special_tokens=True))


_CONTEXT_FIELDS = ("video", "audio", "negative_video", "negative_audio")


def save_text_contexts(
    path: str | os.PathLike[str], contexts: TextContexts, *, prompt: str = "", negative_prompt: str = ""
) -> Path:
    """Write text contexts to a ``.safetensors`` file (float tensors as they are; prompts in the metadata)."""
    from safetensors.torch import save_file

    tensors = {name: getattr(contexts, name).detach().cpu().contiguous() for name in _CONTEXT_FIELDS
               if getattr(contexts, name) is not None}
    metadata = {"format": CONTEXTS_FORMAT, "prompts": json.dumps({"prompt": prompt, "negative": negative_prompt})}
    path = Path(path)
    save_file(tensors, str(path), metadata=metadata)
    return path


def load_text_contexts(
    path: str | os.PathLike[str], *, device: str | torch.device = "cpu", dtype: torch.dtype | None = None
) -> TextContexts:
    """Read contexts written by :func:`save_text_contexts` (optionally cast to ``dtype`` on ``device``)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        if (handle.metadata() or {}).get("format") != CONTEXTS_FORMAT:
            raise GenerationError(f"{path} is not a saved text encoding ({CONTEXTS_FORMAT})")
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    missing = {"video", "audio"} - tensors.keys()
    if missing:
        raise GenerationError(f"{path} lacks the {sorted(missing)} context(s)")
    moved = {k: v.to(device=device, dtype=dtype or v.dtype) for k, v in tensors.items()}
    return TextContexts(**{name: moved.get(name) for name in _CONTEXT_FIELDS})


def read_saved_prompts(path: str | os.PathLike[str]) -> dict[str, str]:
    """The prompts stored with :func:`save_text_contexts` (``{"prompt": ..., "negative": ...}``)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return json.loads((handle.metadata() or {}).get("prompts", "{}"))
