"""The pack's Gemma text encoder as a core ``comfy.sd.CLIP``: what core's CLIPTextEncode, LoraLoader and
TextGenerate / TextGenerateLTX2Prompt accept.

:func:`make_clip` builds a real ``comfy.sd.CLIP`` (through its public ``target`` constructor) around
:class:`GemmaClipModel` (its ``cond_stage_model``) and :class:`GemmaClipTokenizer`. The Loader (``nodes/text.py``)
uses the CLIP's patcher for its own encodes too, so both sockets share one set of weights and one ModelPatcher.

* Encoding (``encode_token_weights``) runs exactly the pack's path (Gemma hidden states -> the checkpoint's text
  projection -> connectors) and returns the "fully processed" context ``(B, 1024, D_video + D_audio)`` that the
  pack's MODEL and core's LTXAV model take as is (no ``unprocessed_ltxav_embeds`` flag, no pooled output).
* LoRA: Gemma's weights sit under ``gemma3_12b.transformer.model.*`` like core's LTXAV text encoder, so core's
  ``model_lora_keys_clip`` maps Gemma LoRA keys (``text_encoders.gemma3_12b.transformer.model.layers.N...`` and
  ``text_encoders.model.layers.N...``) onto them and ComfyUI's patcher applies them.
* Generation (``generate``) wraps the loaded Gemma language model in a ``Gemma3ForCausalLM`` with the output head
  tied to the embeddings (as the pack's prompt enhancer does) and samples with transformers' ``generate``. The
  LTX-2.5 Gemma 4 text encoder (``gemma4_unified``) encodes only: generating with it is refused.

Token format: ``{"gemma3_12b": [[(id, 1.0), ...]]}`` without padding. Like core's Gemma tokenizer, a call with a
``min_length`` (core's TextGenerate passes one) tokenizes a generation prompt (text as given, optional chat
template); without one (CLIPTextEncode) it tokenizes like the pack's encode path (stripped, BOS, at most 1024).
"""

from __future__ import annotations

import contextlib
from typing import Any

import comfy.model_management
import comfy.sd
import torch
from torch import nn

from ..ltx_model.text import GemmaTextEncoder, TextEncoding, encode_hidden_states
from ..ltx_model.text.gemma import gemma_hidden_states
from ..ltx_model.text.tokenizer import left_pad, pad_id, tokenize_prompt

mm = comfy.model_management

KEY = "gemma3_12b"  # core's LTXAV text-encoder key: token dict key and state-dict prefix
END_OF_TURN = "<end_of_turn>"
CHAT_TEMPLATE = ("<start_of_turn>system\nYou are a helpful assistant.<end_of_turn>\n<start_of_turn>user\n{}"
                 "<end_of_turn>\n<start_of_turn>model\n")  # core's Gemma 3 default template (TextGenerate)


def context_of(encoding: TextEncoding) -> torch.Tensor:
    """``(B, T, Dv + Da)`` float32 on the intermediate device: video context first, audio concatenated."""
    parts = [encoding.video_context] + ([encoding.audio_context] if encoding.audio_context is not None else [])
    return torch.cat(parts, dim=-1).to(device=mm.intermediate_device(), dtype=torch.float32)


# ---------------------------------------------------------------------------------------------- tokenizer
class GemmaClipTokenizer:
    """The ``CLIP.tokenizer`` part: the Gemma tokenizer in core's token-dict format."""

    clip_name = KEY  # read by TextGenerateLTX2Prompt (a "gemma4" name would switch its chat format)

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer

    def tokenize_with_weights(self, text: str, return_word_ids: bool = False, min_length: int | None = None,
                              skip_template: bool = True, image: Any = None, video: Any = None, audio: Any = None,
                              **kwargs: Any) -> dict[str, list]:
        if image is not None or video is not None or audio is not None:
            raise ValueError("the LTX-2 Gemma text encoder reads text only (no vision tower): disconnect the "
                             "image / video / audio, or use Enhance Prompt (LTX-2) with a full Gemma folder")
        if min_length is None:  # an encode prompt: exactly the pack's encode tokens
            ids = tokenize_prompt(self.tokenizer, text)
        else:
            ids = self.generation_ids(text if skip_template or text.startswith("<start_of_turn>")
                                      else CHAT_TEMPLATE.format(text))
        return {KEY: [[(i, 1.0, n) if return_word_ids else (i, 1.0) for n, i in enumerate(ids)]]}

    def generation_ids(self, text: str) -> list[int]:
        """Ids of a generation prompt as written (not stripped), with one leading BOS."""
        ids = list(self.tokenizer(text, padding=False, truncation=False)["input_ids"])
        bos = self.tokenizer.bos_token_id
        return ids if bos is None or (ids and ids[0] == bos) else [bos, *ids]

    def stop_ids(self) -> list[int]:
        """``<end_of_turn>`` (when the vocabulary has it) and EOS: where a generated answer ends."""
        ids = [self.tokenizer.eos_token_id]
        if hasattr(self.tokenizer, "convert_tokens_to_ids"):
            turn = self.tokenizer.convert_tokens_to_ids(END_OF_TURN)
            ids.append(None if turn == getattr(self.tokenizer, "unk_token_id", None) else turn)
        elif hasattr(self.tokenizer, "sp"):  # the pack's SentencePieceTokenizer (single-file Gemma)
            turn = self.tokenizer.sp.piece_to_id(END_OF_TURN)
            ids.append(None if turn == self.tokenizer.sp.unk_id() else turn)
        return [i for i in ids if i is not None]

    def decode(self, token_ids: list[int], skip_special_tokens: bool = True) -> str:
        if hasattr(self.tokenizer, "decode"):
            return self.tokenizer.decode(token_ids, skip_special_tokens=skip_special_tokens)
        return self.tokenizer.sp.decode(list(token_ids))  # SentencePiece drops control tokens itself

    def state_dict(self) -> dict:
        return {}  # the tokenizer stays with the Gemma files


# ---------------------------------------------------------------------------------------------- model
class PresencePenalty:
    """transformers logits processor: subtract ``penalty`` from every token generated so far (core's presence
    penalty; transformers' own repetition penalty also counts the prompt's tokens, core's does not)."""

    def __init__(self, penalty: float, prompt_length: int) -> None:
        self.penalty = penalty
        self.prompt_length = prompt_length

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        generated = input_ids[:, self.prompt_length:]
        seen = torch.zeros_like(scores, dtype=torch.bool).scatter_(1, generated, True)
        return scores - seen.to(scores.dtype) * self.penalty


def causal_lm(text_model: nn.Module) -> nn.Module:
    """``Gemma3ForCausalLM`` around a loaded ``Gemma3TextModel``, output head tied to the embeddings (no copy)."""
    from transformers import Gemma3ForCausalLM

    with torch.device("meta"):
        model = Gemma3ForCausalLM(text_model.config)
    model.model = text_model
    model.lm_head.weight = text_model.embed_tokens.weight
    return model.eval()


def sampling_kwargs(do_sample: bool, temperature: float, top_k: int, top_p: float, min_p: float,
                    repetition_penalty: float) -> dict[str, Any]:
    """transformers ``generate`` options of core's TextGenerate sampling settings (greedy when off)."""
    if not do_sample:
        return {"do_sample": False}
    return {"do_sample": True, "temperature": temperature, "top_k": top_k, "top_p": top_p, "min_p": min_p,
            "repetition_penalty": repetition_penalty}


class GemmaClipModel(nn.Module):
    """The ``CLIP.cond_stage_model``: Gemma (``gemma3_12b.transformer.model``), the checkpoint's text projection
    (``projection``) and connectors (``connectors``)."""

    def __init__(self, gemma: GemmaTextEncoder, projection: nn.Module, connectors: nn.Module) -> None:
        super().__init__()
        self.gemma3_12b = nn.Module()
        self.gemma3_12b.transformer = nn.Module()
        self.gemma3_12b.transformer.model = gemma.model
        self.projection = projection
        self.connectors = connectors
        self.clip_tokenizer = GemmaClipTokenizer(gemma.tokenizer)
        self.dtypes = {p.dtype for p in self.parameters() if p.is_floating_point()}
        self.execution_device = None

    @property
    def gemma(self) -> nn.Module:
        """The Gemma 3 language model (``Gemma3TextModel``)."""
        return self.gemma3_12b.transformer.model

    def set_clip_options(self, options: dict) -> None:
        self.execution_device = options.get("execution_device", self.execution_device)

    def reset_clip_options(self) -> None:
        self.execution_device = None

    def check_placement(self) -> torch.device:
        """The one device of all weights; an error when a partial load (core's CLIP loads without forcing a full
        load) left part of Gemma, whose layers are not ComfyUI ops, on another device."""
        devices = {p.device for p in self.parameters()}
        if len(devices) > 1:
            raise RuntimeError(f"Gemma is only partly loaded ({sorted(map(str, devices))}): free memory, or encode "
                               f"with Text Encode (LTX-2), which loads it whole")
        return devices.pop()

    def encode_ids(self, input_ids: torch.Tensor, mask: torch.Tensor) -> TextEncoding:
        """Left-padded ``(B, T)`` ids and mask -> :class:`TextEncoding` (Gemma -> projection -> connectors)."""
        with torch.no_grad():
            hidden = gemma_hidden_states(self.gemma, input_ids, mask)
            return encode_hidden_states(hidden, mask.to(hidden[0].device), projection=self.projection,
                                        connectors=self.connectors)

    def encode_token_weights(self, token_weight_pairs: dict) -> tuple[torch.Tensor, None, dict]:
        self.check_placement()
        rows = [[pair[0] for pair in row] for row in token_weight_pairs[KEY]]
        tokens = left_pad(rows, pad_id(self.clip_tokenizer.tokenizer))  # as the pack's tokenize_prompts
        return context_of(self.encode_ids(tokens.input_ids, tokens.attention_mask)), None, {}

    def generate(self, tokens: dict, do_sample: bool, max_length: int, temperature: float, top_k: int,
                 top_p: float, min_p: float, repetition_penalty: float, seed: int | None,
                 presence_penalty: float = 0.0) -> list[int]:
        """New token ids for the prompt in ``tokens`` (core's ``CLIP.generate`` contract), seeded when ``seed``
        is given (the global RNG state is restored)."""
        from transformers import LogitsProcessorList

        if str(getattr(self.gemma.config, "model_type", "")).startswith("gemma4"):
            raise ValueError("the LTX-2.5 Gemma 4 text encoder only encodes (it has no text-generation head): "
                             "rewrite prompts with Enhance Prompt (LTX-2) and a dense Gemma 4 instruct folder "
                             "(e.g. gemma-4-E2B-it) or Gemma 3")
        device = self.check_placement()
        ids = torch.tensor([[pair[0] for pair in tokens[KEY][0]]], dtype=torch.int64, device=device)
        processors = LogitsProcessorList([PresencePenalty(presence_penalty, ids.shape[1])] if presence_penalty else [])
        options = sampling_kwargs(do_sample, temperature, top_k, top_p, min_p, repetition_penalty)
        rng = torch.random.fork_rng(devices=[device] if device.type == "cuda" else [])
        with torch.inference_mode(), rng if seed is not None else contextlib.nullcontext():
            if seed is not None:
                torch.manual_seed(seed)
            out = causal_lm(self.gemma).generate(input_ids=ids, attention_mask=torch.ones_like(ids),
                                                 max_new_tokens=max_length, logits_processor=processors,
                                                 eos_token_id=self.clip_tokenizer.stop_ids(), **options)
        return out[0, ids.shape[1]:].tolist()


class _ClipTarget:
    """What ``comfy.sd.CLIP(target=...)`` reads: ``params``, the model factory ``clip`` and the ``tokenizer``
    factory; both hand back the already loaded parts."""

    def __init__(self, model: GemmaClipModel) -> None:
        self.params: dict[str, Any] = {}
        self.clip = lambda **kwargs: model
        self.tokenizer = lambda **kwargs: model.clip_tokenizer


def make_clip(gemma: GemmaTextEncoder, projection: nn.Module, connectors: nn.Module, *,
              load_device: torch.device) -> comfy.sd.CLIP:
    """A core ``CLIP`` (plain, non-dynamic ModelPatcher: Gemma's layers are not ComfyUI ops) over the loaded
    parts, on the text-encoder offload device until it is used."""
    offload = mm.text_encoder_offload_device()
    model = GemmaClipModel(gemma, projection, connectors)
    options = {"load_device": load_device, "offload_device": offload, "initial_device": offload}
    return comfy.sd.CLIP(target=_ClipTarget(model), model_options=options, disable_dynamic=True)
