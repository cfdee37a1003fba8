"""Text: the Gemma text encoder + the text projection and connectors, and the prompt encode node.

Gemma 3 (LTX-2 / LTX-2.3): the projection and connectors come from the checkpoint. Gemma 4 (LTX-2.5): the text
encoder file (or folder) bundles the projection, whose input widths come from its Gemma config; the connectors
come from the 2.5 transformer file. The loader checks that the Gemma is the one the model needs
(``gemma_version``, headers only) before any weight is read.

The CONDITIONING it produces is what the pack's MODEL (``nodes/diffusion.py``) and core's LTXAV model consume as
"fully processed" context: one tensor ``(B, 1024, D_video + D_audio)`` with the video context first and the audio
context concatenated on the feature axis (the connectors already ran), plus ``frame_rate``. The connectors' output
mask is all ones (padding became learnable registers), so no ``attention_mask`` is attached.

Gemma (24 GB in bf16 for the real 12B model) lives on the CPU between encodes: it is loaded on the text-encoder
device through ComfyUI's model management for one encode and unloaded right after.
"""

from __future__ import annotations

from pathlib import Path, PurePath
from typing import Any

import comfy.model_management
import torch
from comfy_api.latest import io

from ..ltx_model.loading import CheckpointError, Component, load_component, read_header
from ..ltx_model.loading.registry import make_config
from ..ltx_model.text import (
    GemmaTextEncoder,
    GemmaVersionError,
    TextEncoding,
    check_gemma_files,
    check_gemma_fits,
    check_split_text_encoder,
    encode_prompts,
    is_gemma4_config,
    load_split_text_projection,
)
from ..ltx_model.text.encode import gemma_file_config
from ..ltx_model.text.gemma_gguf import GemmaGGUFError
from .progress import HostProgress
from .schema import make_schema, not_listed
from .text_clip import context_of, make_clip
from .text_files import (  # noqa: F401  (NO_GEMMA, gemma_problem, resolve_gemma: also read from this module)
    NO_GEMMA,
    gemma_choices,
    gemma_config_of,
    gemma_problem,
    resolve_gemma,
    resolve_text_checkpoint,
    text_checkpoint_choices,
    tokenizer_for,
)

mm = comfy.model_management

GEMMA_DTYPE = torch.bfloat16  # the reference inference dtype (fp8 files are up-cast to it)
LOADER = "Gemma Text Encoder Loader (LTX-2)"


def check_pair(gemma_path: Path, checkpoint_path: str) -> dict | None:
    """Headers only: the Gemma is the one the model of ``checkpoint_path`` needs (Gemma 3 for LTX-2 / 2.3, the
    checkpoint's ``gemma_version`` of Gemma 4 for LTX-2.5) and, for Gemma 4, its bundled projection fits the
    checkpoint's text config. Returns the Gemma config.

    Raises:
        GemmaVersionError: the wrong Gemma, one message naming the node, both files and the fix.
        GemmaGGUFError / CheckpointError: an unusable GGUF; a Gemma 4 without a fitting projection.
    """
    config = gemma_config_of(gemma_path)
    try:
        check_gemma_files(checkpoint_path, gemma_path, config)
    except GemmaVersionError as exc:
        raise GemmaVersionError(f"{LOADER}: {exc}; pick the text encoder and the model file (ckpt_name) of one "
                                "LTX version") from None
    if is_gemma4_config(config):
        check_split_text_encoder(checkpoint_path, gemma_path)
    return config


def fit_problem(gemma: str, ckpt_name: str) -> str | None:
    """Why Gemma entry ``gemma`` cannot feed the text projection of ``ckpt_name``, from both files' metadata (no
    weight is read): the wrong Gemma for the model (:func:`check_pair`), a GGUF that is not a Gemma 3 language
    model, a Gemma 4 whose projection does not fit, or a Gemma of the wrong size; None otherwise, also when a file
    cannot be read here (loading reports that). ``ckpt_name`` must be a listed choice (checked first by
    ``validate_inputs`` with ``not_listed``)."""
    try:
        checkpoint, gemma_path = resolve_text_checkpoint(ckpt_name), resolve_gemma(gemma)
        if is_gemma4_config(check_pair(gemma_path, checkpoint)):
            return None
        header = read_header(checkpoint)
        text_config = make_config(Component.TEXT_PROJECTION, header.config(), set(header.keys()))
        gemma_config = gemma_file_config(gemma_path)
    except GemmaGGUFError as exc:
        return f"Gemma text encoder {gemma}: {exc}"
    except (GemmaVersionError, CheckpointError) as exc:
        return str(exc)
    except (OSError, KeyError, ValueError):
        return None
    try:
        check_gemma_fits(gemma_config, text_config, name=PurePath(gemma).name)
    except ValueError as exc:
        return str(exc)
    return None


# ---------------------------------------------------------------------------------------------- the encoder
class LTX2TextEncoder:
    """Prompt encoder of the ``LTX2N_TEXT_ENCODER`` socket: Gemma + the text projection (the checkpoint's, or the one
    bundled with Gemma 4) + the checkpoint's connectors."""

    def __init__(self, gemma_path: Path, checkpoint_path: str) -> None:
        abort = HostProgress().check_interrupt  # Cancel stops the loads between tensors
        self.gemma4 = is_gemma4_config(check_pair(gemma_path, checkpoint_path))  # headers: before any weight
        projection = _projection(gemma_path, checkpoint_path, gemma4=self.gemma4, abort=abort)
        # text_config: a Gemma that does not fit the projection is refused from its metadata, before any weight
        self.gemma = GemmaTextEncoder.from_pretrained(gemma_path, tokenizer_path=tokenizer_for(gemma_path),
                                                      dtype=GEMMA_DTYPE, should_abort=abort,
                                                      text_config=projection.config)
        connectors = load_component(checkpoint_path, Component.CONNECTORS, should_abort=abort)
        device = mm.text_encoder_device()
        size = sum(mm.module_size(m) for m in (self.gemma.model, projection, connectors))
        if size * 1.2 > mm.get_total_memory(device):  # can never fit: encode on the CPU
            device = mm.text_encoder_offload_device()
        self.clip = make_clip(self.gemma, projection, connectors, load_device=device)  # the CLIP socket
        self.stack = self.clip.cond_stage_model  # Gemma, projection and connectors as one module
        self.patcher = self.clip.patcher  # one patcher for both sockets: the weights are shared

    def encode(self, prompt: str) -> TextEncoding:
        """One prompt -> :class:`TextEncoding` ((1, 1024, D) contexts and mask) on the encoder's device.

        Gemma is loaded whole (its layers are not ComfyUI ops, so they cannot be partially offloaded) and unloaded
        again afterwards.
        """
        mm.load_models_gpu([self.patcher], force_full_load=True)
        try:
            with torch.no_grad():
                return encode_prompts([prompt], text_encoder=self.gemma, projection=self.stack.projection,
                                      connectors=self.stack.connectors)
        finally:
            unload(self.patcher)


def _projection(gemma_path: Path, checkpoint_path: str, *, gemma4: bool, abort: Any) -> torch.nn.Module:
    """The text projection: bundled with Gemma 4 (LTX-2.5; input widths from its Gemma config, output widths from
    the transformer's config), else the checkpoint's. Stored dtype; float8 is up-cast to bf16."""
    if not gemma4:
        return load_component(checkpoint_path, Component.TEXT_PROJECTION, should_abort=abort)
    abort()
    projection = load_split_text_projection(checkpoint_path, gemma_path, dtype=None)
    if any(p.dtype.itemsize == 1 for p in projection.parameters()):
        projection = projection.to(GEMMA_DTYPE)
    return projection


def unload(patcher: Any) -> None:
    """Move one model back to its offload device and drop it from ComfyUI's loaded-model list."""
    loaded = getattr(mm, "current_loaded_models", [])
    for index, entry in enumerate(loaded):
        if entry.model is patcher:
            entry.model_unload()
            loaded.pop(index)
            return


def conditioning(encoding: TextEncoding, frame_rate: float) -> list:
    """CONDITIONING ``[[context (B, T, Dv + Da) float32, {"frame_rate": fps}]]`` on the intermediate device."""
    return [[context_of(encoding), {"frame_rate": float(frame_rate)}]]


TextEncoderType = io.Custom("LTX2N_TEXT_ENCODER")


# ---------------------------------------------------------------------------------------------- nodes
class LTX2NTextEncoderLoader(io.ComfyNode):
    """Gemma 3 + the LTX checkpoint's text projection and connectors, or Gemma 4 + its bundled projection + the
    LTX-2.5 transformer's connectors."""

    DISPLAY_NAME = "Gemma Text Encoder Loader (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="loaders",
            description="Loads the Gemma text encoder and the text projection + connectors. LTX-2 / LTX-2.3: Gemma 3 "
                        "12B (a Hugging Face folder, a single .safetensors file or a llama.cpp GGUF in "
                        "models/text_encoders) with the checkpoint's projection and connectors; GGUF matrices stay "
                        "quantised and are de-quantised per layer. LTX-2.5: the Gemma 4 text encoder "
                        "(gemma4-12b-with-proj-ltx-2.5 .safetensors, or its folder), whose projection is bundled, "
                        "with the 2.5 transformer's connectors. A Gemma that does not match the model is refused.",
            inputs=[
                io.Combo.Input("gemma", options=gemma_choices(),
                               tooltip="LTX-2 / 2.3: Gemma 3 12B (it): a folder (name/) with config.json, tokenizer "
                                       "and weights, ComfyUI's single-file gemma_3_12B_it .safetensors, or a GGUF "
                                       "such as gemma-3-12b-it-Q4_K_M.gguf (its tokenizer: tokenizer.json / "
                                       "tokenizer.model beside it, else the GGUF's own vocabulary). LTX-2.5: the "
                                       "Gemma 4 text encoder gemma4-12b-with-proj-ltx-2.5-*.safetensors (or its "
                                       "folder; no GGUF). In models/text_encoders."),
                io.Combo.Input("ckpt_name", options=text_checkpoint_choices(),
                               tooltip="The model file whose text connectors (and, for LTX-2 / 2.3, projection) to "
                                       "use: an LTX-2 / LTX-2.3 checkpoint (or standalone text projection + "
                                       "connectors file), or the LTX-2.5 transformer in models/diffusion_models; "
                                       "must be the model you sample with."),
            ],
            outputs=[TextEncoderType.Output(display_name="text_encoder",
                                            tooltip="Prompt encoder for Text Encode (LTX-2)."),
                     io.Clip.Output(display_name="clip",
                                    tooltip="The same encoder as a CLIP, for core nodes: CLIP Text Encode (same "
                                            "conditioning as Text Encode (LTX-2), without frame_rate), Load LoRA "
                                            "(Gemma LoRAs) and Generate Text / Generate LTX2 Prompt.")],
        )

    @classmethod
    def validate_inputs(cls, gemma: str | None = None, ckpt_name: str | None = None) -> bool | str:
        # not checked against the listed choices by the host (both are named here): gemma_problem says what an
        # unlisted folder lacks, not_listed checks ckpt_name, fit_problem that the Gemma fits its projection (metadata)
        problem = not_listed("ckpt_name", ckpt_name, text_checkpoint_choices(),
                             "models/checkpoints or models/text_encoders")
        if gemma is None:
            return problem or True
        problem = problem or gemma_problem(gemma)
        if problem is None and ckpt_name is not None:
            problem = fit_problem(gemma, ckpt_name)
        return problem or True

    @classmethod
    def execute(cls, gemma: str, ckpt_name: str) -> io.NodeOutput:
        problem = gemma_problem(gemma)
        if problem is not None:
            raise FileNotFoundError(problem)
        try:
            encoder = LTX2TextEncoder(resolve_gemma(gemma), resolve_text_checkpoint(ckpt_name))
        except GemmaVersionError as exc:  # already names the node, both files and the fix
            raise ValueError(str(exc)) from None
        except (ValueError, RuntimeError) as exc:  # CheckpointError / ConfigError; Gemma state-dict mismatches
            raise ValueError(f"cannot load the text encoder ({gemma} + {ckpt_name}): {exc}") from None
        return io.NodeOutput(encoder, encoder.clip)


class LTX2NTextEncode(io.ComfyNode):
    """One prompt -> CONDITIONING (use a second node for the negative prompt)."""

    DISPLAY_NAME = "Text Encode (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="conditioning",
            description="Encodes a prompt with Gemma and the checkpoint's connectors into video + audio "
                        "conditioning. Use one node for the positive and one for the negative prompt.",
            inputs=[
                TextEncoderType.Input("text_encoder", tooltip="From Gemma Text Encoder Loader (LTX-2)."),
                io.String.Input("text", multiline=True, dynamic_prompts=True,
                                tooltip="The prompt: describe the scene, motion and sound."),
                io.Float.Input("frame_rate", default=25.0, min=1.0, max=240.0, step=0.01,
                               tooltip="Frame rate of the video in frames per second (the model's time scale); "
                                       "must match the latent's fps."),
            ],
            outputs=[io.Conditioning.Output(display_name="conditioning",
                                            tooltip="Video + audio text context with the frame rate.")],
        )

    @classmethod
    def execute(cls, text_encoder: LTX2TextEncoder, text: str, frame_rate: float) -> io.NodeOutput:
        return io.NodeOutput(conditioning(text_encoder.encode(text), frame_rate))
