"""Prompt tools: the Gemma prompt enhancer, and saved text encodings (so Gemma need not stay in memory).

* Enhance Prompt rewrites a short prompt into the detailed style LTX-2 was trained on, with Gemma 3 or a dense
  Gemma 4 instruct folder (LTX-2.5; greedy, as ltx-core) and the reference's system prompts
  (``ltx_model.pipelines.enhance``: text-to-video, or image-to-video when an image is connected, which needs a
  Gemma folder with its vision tower). Gemma is loaded for the one generation and freed. The LTX-2.5 Gemma 4 text
  encoder (``gemma4_unified``) only encodes and is refused here.
* Save Text Encoding encodes a prompt and a negative prompt once and writes both contexts to
  ``output/text_encodings/<prefix>_NNNNN_.safetensors`` (the library's ``save_text_contexts`` format, readable by
  ``ltx_model.pipelines.load_text_contexts``); Load Text Encoding turns such a file back into CONDITIONING without
  Gemma.

Node ids (inputs -> outputs):

* ``LTX2NEnhancePrompt`` (prompt, enhance, gemma, seed, max_new_tokens, image?) -> prompt
* ``LTX2NSaveTextEncoding`` (text_encoder, text, negative_text, filename_prefix, frame_rate) -> positive, negative
* ``LTX2NLoadTextEncoding`` (encoding, frame_rate) -> positive, negative
"""

from __future__ import annotations

import gc
import logging
import os
from pathlib import Path
from typing import Any

import comfy.model_management
import folder_paths
import torch
from comfy_api.latest import io

from ..ltx_model.pipelines.enhance import (
    CONTEXTS_FORMAT,
    enhance_prompt,
    load_prompt_enhancer,
    load_text_contexts,
    read_saved_prompts,
    save_text_contexts,
)
from ..ltx_model.pipelines.request import TextContexts
from ..ltx_model.text import TextEncoding
from ..ltx_model.text.gemma4 import GEMMA4_UNIFIED
from .progress import HostProgress
from .schema import make_schema
from .text import GEMMA_DTYPE, TextEncoderType, conditioning
from .text_files import gemma_choices, gemma_config_of, gemma_problem, resolve_gemma

mm = comfy.model_management

ENHANCER = "Enhance Prompt (LTX-2)"
ENCODINGS_FOLDER = "text_encodings"
NO_ENCODINGS = f"(no saved encodings in output/{ENCODINGS_FOLDER})"
MEMORY_HEADROOM = 1.2  # Gemma weights x this must fit in free accelerator memory, else it runs on the CPU


# ---------------------------------------------------------------------------------------------- enhancer
def first_frame(image: torch.Tensor | None) -> torch.Tensor | None:
    """IMAGE ``(N, H, W, C)`` in [0, 1] -> its first frame as ``uint8 (H, W, 3)`` (None stays None)."""
    if image is None:
        return None
    return (image[0, ..., :3].float().clamp(0, 1) * 255).round().to(torch.uint8).cpu()


def enhancer_device(path: Path) -> torch.device:
    """The text-encoder device when Gemma's weights fit there (other models are unloaded to make room), else the
    CPU."""
    device = mm.text_encoder_device()
    if device.type == "cpu":
        return device
    files = [path] if path.is_file() else list(path.rglob("*.safetensors"))
    needed = sum(f.stat().st_size for f in files) * MEMORY_HEADROOM
    mm.free_memory(needed, device)
    return device if mm.get_free_memory(device) >= needed else torch.device("cpu")


def enhancer_problem(gemma: str) -> str | None:
    """What keeps Gemma entry ``gemma`` from rewriting prompts (missing files, or the encode-only LTX-2.5 text
    encoder; from its config, no weight read), or None."""
    problem = gemma_problem(gemma)
    if problem is not None:
        return problem
    try:
        config = gemma_config_of(resolve_gemma(gemma)) or {}
    except (OSError, ValueError):
        return None  # loading reports it
    if str(config.get("model_type", "")).startswith(GEMMA4_UNIFIED):
        return (f"{ENHANCER}: {gemma} is the LTX-2.5 Gemma 4 text encoder, which only encodes (no text-generation "
                "head); pick a dense Gemma 4 instruct folder (model_type 'gemma4', e.g. gemma-4-E2B-it) or a Gemma 3 "
                "12B folder in models/text_encoders")
    return None


def run_enhancer(path: Path, prompt: str, *, image: torch.Tensor | None, seed: int, max_new_tokens: int) -> str:
    """Load Gemma from ``path``, rewrite ``prompt`` (image-aware when ``image`` is given), free Gemma."""
    progress = HostProgress()
    progress.check_interrupt()
    enhancer = load_prompt_enhancer(path, dtype=GEMMA_DTYPE, device=enhancer_device(path))
    try:
        progress.check_interrupt()
        return enhance_prompt(enhancer, prompt, image=first_frame(image), seed=seed, max_new_tokens=max_new_tokens)
    finally:
        del enhancer
        gc.collect()
        mm.soft_empty_cache()


class LTX2NEnhancePrompt(io.ComfyNode):
    """Rewrite a prompt with Gemma 3 or a dense Gemma 4 in the style LTX-2 expects (optional)."""

    DISPLAY_NAME = "Enhance Prompt (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Rewrites a short prompt into a detailed one (scene, motion, camera, sound) with Gemma 3 "
                        "or a dense Gemma 4 instruct folder (LTX-2.5: greedy, at most 600 new tokens, as "
                        "Lightricks') and Lightricks' system prompts; with an image connected it describes what "
                        "happens after that first frame. Gemma is loaded for this and freed afterwards. Connect the "
                        "output to Text Encode's text.",
            inputs=[io.String.Input("prompt", multiline=True, tooltip="Your prompt."),
                    io.Boolean.Input("enhance", default=True,
                                     tooltip="Off: the prompt passes through unchanged and Gemma is not loaded."),
                    io.Combo.Input("gemma", options=gemma_choices(),
                                   tooltip="Gemma 3 12B (it), or a dense Gemma 4 instruct folder (e.g. "
                                           "gemma-4-E2B-it) for LTX-2.5, in models/text_encoders; the image-aware "
                                           "rewrite needs the full folder with its vision tower. The LTX-2.5 Gemma 4 "
                                           "text encoder only encodes and cannot rewrite."),
                    io.Int.Input("seed", default=10, min=0, max=0xFFFFFFFFFFFFFFFF,
                                 tooltip="Sampling seed of the rewrite (same seed, same text; Gemma 4 decodes "
                                         "greedily)."),
                    io.Int.Input("max_new_tokens", default=512, min=16, max=2048,
                                 tooltip="Longest rewrite in tokens (Lightricks: 512; Gemma 4: always 600)."),
                    io.Image.Input("image", optional=True, tooltip="First frame, for an image-to-video prompt.")],
            outputs=[io.String.Output(display_name="prompt", tooltip="The rewritten (or unchanged) prompt.")],
        )

    @classmethod
    def validate_inputs(cls, enhance: bool | None = None, gemma: str | None = None) -> bool | str:
        if enhance is False or gemma is None:
            return True
        if gemma not in gemma_choices():  # declaring 'gemma' here skips ComfyUI's own list check
            return f"gemma {gemma!r} is not in models/text_encoders; pick one of the listed Gemma folders or files"
        return enhancer_problem(gemma) or True

    @classmethod
    def execute(cls, prompt: str, enhance: bool, gemma: str, seed: int, max_new_tokens: int,
                image: torch.Tensor | None = None) -> io.NodeOutput:
        if not enhance:
            return io.NodeOutput(prompt)
        problem = enhancer_problem(gemma)
        if problem is not None:
            raise (ValueError if problem.startswith(ENHANCER) else FileNotFoundError)(problem)
        text = run_enhancer(resolve_gemma(gemma), prompt, image=image, seed=seed, max_new_tokens=max_new_tokens)
        logging.info("LTX-2 Native: enhanced prompt: %s", text)
        return io.NodeOutput(text, ui={"text": [text]})


# ---------------------------------------------------------------------------------------------- saved encodings
def encodings_dir() -> Path:
    """``<ComfyUI output>/text_encodings``: where encodings are saved and listed from."""
    return Path(folder_paths.get_output_directory()) / ENCODINGS_FOLDER


def encoding_choices() -> list[str]:
    """Saved encodings (``.safetensors`` below :func:`encodings_dir`, relative POSIX paths), or a placeholder."""
    root = encodings_dir()
    names = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.safetensors")) if root.is_dir() else []
    return names or [NO_ENCODINGS]


def encoding_path(name: str) -> Path:
    """Full path of a listed encoding; an error for anything outside the folder or not there."""
    root = encodings_dir().resolve()
    path = (root / name).resolve()
    if name == NO_ENCODINGS or root not in path.parents or not path.is_file():
        raise FileNotFoundError(f"no saved text encoding {name!r} in output/{ENCODINGS_FOLDER}: save one first "
                                f"with Save Text Encoding (LTX-2)")
    return path


def encoding_problem(name: str) -> str | None:
    """Why ``name`` cannot be loaded (missing, or not a saved text encoding), else None."""
    from safetensors import safe_open

    try:
        with safe_open(str(encoding_path(name)), framework="pt") as handle:
            kind = (handle.metadata() or {}).get("format")
    except (OSError, ValueError) as exc:  # FileNotFoundError, or not a safetensors file
        return str(exc)
    return None if kind == CONTEXTS_FORMAT else f"{name} is not a saved LTX-2 text encoding ({CONTEXTS_FORMAT})"


def next_encoding_path(prefix: str) -> Path:
    """A new file ``<prefix>_NNNNN_.safetensors`` below :func:`encodings_dir` (ComfyUI's save-name counter)."""
    root = encodings_dir()
    root.mkdir(parents=True, exist_ok=True)
    folder, name, counter, _, _ = folder_paths.get_save_image_path(prefix, str(root))
    os.makedirs(folder, exist_ok=True)
    return Path(folder) / f"{name}_{counter:05}_.safetensors"


def _cond(video: torch.Tensor, audio: torch.Tensor | None, frame_rate: float) -> list:
    return conditioning(TextEncoding(video, audio, torch.ones(video.shape[:2], dtype=torch.int64)), frame_rate)


class LTX2NSaveTextEncoding(io.ComfyNode):
    """Encode a prompt and a negative prompt once and save them, for later runs without Gemma."""

    DISPLAY_NAME = "Save Text Encoding (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Encodes the prompt and the negative prompt and saves both to output/text_encodings, so "
                        "later runs can use Load Text Encoding (LTX-2) without loading Gemma. Also outputs the "
                        "conditioning, like two Text Encode nodes.",
            inputs=[TextEncoderType.Input("text_encoder", tooltip="From Gemma Text Encoder Loader (LTX-2)."),
                    io.String.Input("text", multiline=True, tooltip="The prompt."),
                    io.String.Input("negative_text", multiline=True, default="", tooltip="The negative prompt."),
                    io.String.Input("filename_prefix", default="ltx2",
                                    tooltip="File name (and optional sub-folder) below output/text_encodings."),
                    io.Float.Input("frame_rate", default=25.0, min=1.0, max=240.0, step=0.01,
                                   tooltip="Frame rate of the video (for the conditioning outputs; not saved).")],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="The prompt's conditioning."),
                     io.Conditioning.Output(display_name="negative", tooltip="The negative prompt's conditioning.")],
            is_output_node=True,
        )

    @classmethod
    def execute(cls, text_encoder: Any, text: str, negative_text: str, filename_prefix: str,
                frame_rate: float) -> io.NodeOutput:
        positive = text_encoder.encode(text)
        HostProgress().check_interrupt()
        negative = text_encoder.encode(negative_text)
        contexts = TextContexts(positive.video_context, positive.audio_context, negative.video_context,
                                negative.audio_context)
        path = save_text_contexts(next_encoding_path(filename_prefix), contexts, prompt=text,
                                  negative_prompt=negative_text)
        name = path.relative_to(encodings_dir()).as_posix()
        return io.NodeOutput(conditioning(positive, frame_rate), conditioning(negative, frame_rate),
                             ui={"text": [f"saved {name}"]})


class LTX2NLoadTextEncoding(io.ComfyNode):
    """Load a saved prompt + negative prompt encoding as CONDITIONING (no Gemma needed)."""

    DISPLAY_NAME = "Load Text Encoding (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Loads a prompt + negative prompt encoding saved by Save Text Encoding (LTX-2) from "
                        "output/text_encodings: the same conditioning as Text Encode, without Gemma. It only fits "
                        "the model family it was encoded for.",
            inputs=[io.Combo.Input("encoding", options=encoding_choices(),
                                   tooltip="A saved encoding in output/text_encodings."),
                    io.Float.Input("frame_rate", default=25.0, min=1.0, max=240.0, step=0.01,
                                   tooltip="Frame rate of the video in frames per second; must match the latent.")],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="The saved prompt's conditioning."),
                     io.Conditioning.Output(display_name="negative",
                                            tooltip="The saved negative prompt's conditioning (the positive one "
                                                    "when the file has none).")],
        )

    @classmethod
    def validate_inputs(cls, encoding: str | None = None) -> bool | str:
        if encoding is None:
            return True
        if encoding not in encoding_choices():  # declaring 'encoding' here skips ComfyUI's own list check
            return f"encoding {encoding!r} is not a saved text encoding in output/{ENCODINGS_FOLDER}"
        return encoding_problem(encoding) or True

    @classmethod
    def fingerprint_inputs(cls, encoding: str, frame_rate: float) -> Any:
        path = encodings_dir() / encoding
        return path.stat().st_mtime_ns if path.is_file() else encoding

    @classmethod
    def execute(cls, encoding: str, frame_rate: float) -> io.NodeOutput:
        problem = encoding_problem(encoding)
        if problem is not None:
            raise FileNotFoundError(problem)
        path = encoding_path(encoding)
        contexts = load_text_contexts(path, dtype=torch.float32)
        positive = _cond(contexts.video, contexts.audio, frame_rate)
        if contexts.negative_video is None:
            note = f"{encoding} has no negative prompt: the negative output is the positive prompt"
            logging.warning("LTX-2 Native: %s", note)
            return io.NodeOutput(positive, positive, ui={"text": [note]})
        negative = _cond(contexts.negative_video, contexts.negative_audio, frame_rate)
        prompts = read_saved_prompts(path)
        return io.NodeOutput(positive, negative, ui={"text": [prompts.get("prompt", "")]})
