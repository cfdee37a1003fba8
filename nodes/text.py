"""Text: the Gemma 3 text encoder + the checkpoint's text projection and connectors, and the prompt encode node.

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
import folder_paths
import torch
from comfy_api.latest import io

from ..ltx_model.loading import Component, load_component, read_header
from ..ltx_model.loading.registry import make_config
from ..ltx_model.text import GemmaTextEncoder, TextEncoding, check_gemma_fits, encode_prompts
from ..ltx_model.text.encode import gemma_file_config
from ..ltx_model.text.gemma_gguf import GemmaGGUFError, is_gguf
from .model_folders import model_files, model_path
from .progress import HostProgress
from .schema import make_schema, not_listed
from .text_clip import context_of, make_clip

mm = comfy.model_management

GEMMA_DTYPE = torch.bfloat16  # the reference inference dtype (fp8 files are up-cast to it)
WEIGHT_SUFFIXES = (".safetensors", ".sft")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
NO_GEMMA = "(no Gemma found in models/text_encoders)"
GEMMA_HELP = ("put the complete google/gemma-3-12b-it folder (config.json, tokenizer.json or tokenizer.model and "
              "the *.safetensors weights) as a sub-folder of models/text_encoders/, or ComfyUI's single-file "
              "gemma_3_12B_it .safetensors (tokenizer embedded) directly in models/text_encoders/, or a llama.cpp "
              "gemma-3-12b-it GGUF (e.g. gemma-3-12b-it-Q4_K_M.gguf) there")
GGUF_FOLDER = "clip_gguf"  # city96's ComfyUI-GGUF key for text-encoder GGUFs (registered here when absent)


# ---------------------------------------------------------------------------------------------- Gemma files
def _is_gemma_folder(folder: Path) -> bool:
    return (folder / "config.json").is_file() or any((folder / name).is_file() for name in TOKENIZER_FILES)


def _folder_of(name: str) -> str | None:
    """The top sub-folder (``"gemma-3-12b-it/"``) of a file listed in text_encoders, if it is a Gemma folder."""
    parts = PurePath(name).parts
    if len(parts) < 2:
        return None
    tail = PurePath(*parts[1:])
    root = Path(str(model_path("text_encoders", name))[: -len(str(tail))])
    return parts[0] + "/" if _is_gemma_folder(root) else None


def _choices() -> tuple[list[str], list[str]]:
    """(Gemma folders ``"name/"``, single weight files) in models/text_encoders."""
    names = [n for n in model_files("text_encoders") if n.endswith(WEIGHT_SUFFIXES)]
    folders = {n: _folder_of(n) for n in names}
    return sorted({f for f in folders.values() if f}), sorted(n for n, f in folders.items() if not f)


def gguf_gemma_files() -> list[str]:
    """``*.gguf`` names in models/text_encoders (and models/clip), listed under the ``clip_gguf`` folder key
    (registered over those folders here; the pack reads GGUF headers itself, no ``gguf`` package needed)."""
    paths = list(folder_paths.get_folder_paths("text_encoders"))
    known, extensions = folder_paths.folder_names_and_paths.get(GGUF_FOLDER, ([], set()))
    folder_paths.folder_names_and_paths[GGUF_FOLDER] = (list(dict.fromkeys([*known, *paths])),
                                                        set(extensions) | {".gguf"})
    return [f for f in folder_paths.get_filename_list(GGUF_FOLDER) if is_gguf(f)]


def gemma_choices() -> list[str]:
    """Gemma folders, then single files (safetensors, then GGUF), in models/text_encoders (a placeholder when
    there is none)."""
    folders, files = _choices()
    return folders + files + sorted(gguf_gemma_files()) or [NO_GEMMA]


def resolve_gemma(name: str) -> Path:
    """Full path of a :func:`gemma_choices` entry (a folder entry resolves to the folder)."""
    if is_gguf(name):
        gguf_gemma_files()  # registers the folder key
        return Path(model_path(GGUF_FOLDER, name))
    if not name.endswith("/"):
        return Path(model_path("text_encoders", name))
    member = next((n for n in model_files("text_encoders") if PurePath(n).parts[0] + "/" == name), None)
    if member is None:
        raise FileNotFoundError(f"Gemma folder {name} is not in models/text_encoders; {GEMMA_HELP}")
    tail = PurePath(*PurePath(member).parts[1:])
    return Path(str(model_path("text_encoders", member))[: -len(str(tail))])


def _tokenizer_next_to(file: Path) -> Path | None:
    return file.parent if any((file.parent / n).is_file() for n in TOKENIZER_FILES) else None


def gemma_problem(name: str) -> str | None:
    """What is missing for Gemma entry ``name`` (one message naming it and where to put it), or None."""
    if name == NO_GEMMA:
        return f"no Gemma text encoder was found: {GEMMA_HELP}"
    if not isinstance(name, str):
        return f"gemma {name!r} is not in models/text_encoders (not a folder or file name): {GEMMA_HELP}"
    try:
        path = resolve_gemma(name)
    except (FileNotFoundError, OSError) as exc:
        return str(exc)
    if is_gguf(path):  # its vocabulary (or a tokenizer beside it) and contents are checked when it loads
        return None
    if path.is_dir():
        missing = [] if any(path.rglob("*.safetensors")) else ["the *.safetensors weights"]
        missing += [] if any(p for n in TOKENIZER_FILES for p in path.rglob(n)) else ["tokenizer.json or "
                                                                                      "tokenizer.model"]
    else:
        embedded = "spiece_model" in read_header(path).tensors
        missing = [] if embedded or _tokenizer_next_to(path) else ["a tokenizer (no embedded 'spiece_model' and no "
                                                                   "tokenizer.json / tokenizer.model beside it)"]
    return f"Gemma text encoder {name} lacks {' and '.join(missing)}: {GEMMA_HELP}" if missing else None


def fit_problem(gemma: str, ckpt_name: str) -> str | None:
    """Why Gemma entry ``gemma`` cannot feed the text projection of ``ckpt_name``, from both files' metadata (no
    weight is read): a GGUF that is not a Gemma 3 language model, or a Gemma of the wrong size; None otherwise,
    also when a file cannot be read here (loading reports that). ``ckpt_name`` must be a listed choice (checked
    first by ``validate_inputs`` with ``not_listed``)."""
    try:
        header = read_header(resolve_text_checkpoint(ckpt_name))
        text_config = make_config(Component.TEXT_PROJECTION, header.config(), set(header.keys()))
        gemma_config = gemma_file_config(resolve_gemma(gemma))
    except GemmaGGUFError as exc:
        return f"Gemma text encoder {gemma}: {exc}"
    except (OSError, KeyError, ValueError):
        return None
    try:
        check_gemma_fits(gemma_config, text_config, name=PurePath(gemma).name)
    except ValueError as exc:
        return str(exc)
    return None


def text_checkpoint_choices() -> list[str]:
    """Files that may hold the text projection + connectors: checkpoints, and single files in text_encoders."""
    return sorted(set(model_files("checkpoints")) | set(_choices()[1]))


def resolve_text_checkpoint(name: str) -> str:
    """Full path of a :func:`text_checkpoint_choices` entry (checkpoints first)."""
    kind = "checkpoints" if name in model_files("checkpoints") else "text_encoders"
    return model_path(kind, name)


# ---------------------------------------------------------------------------------------------- the encoder
def _tokenizer_for(gemma_path: Path) -> Path | None:
    """Tokenizer folder of a single Gemma file, None when it comes from ``gemma_path`` itself (a folder, a file
    with an embedded ``spiece_model``, or a GGUF file with no tokenizer beside it: its own vocabulary)."""
    if gemma_path.is_dir():
        return None
    if is_gguf(gemma_path):
        return _tokenizer_next_to(gemma_path)
    return None if "spiece_model" in read_header(gemma_path).tensors else _tokenizer_next_to(gemma_path)


class LTX2TextEncoder:
    """Prompt encoder of the ``LTX2N_TEXT_ENCODER`` socket: Gemma + the checkpoint's projection and connectors."""

    def __init__(self, gemma_path: Path, checkpoint_path: str) -> None:
        abort = HostProgress().check_interrupt  # Cancel stops the loads between tensors
        projection = load_component(checkpoint_path, Component.TEXT_PROJECTION, should_abort=abort)
        # text_config: a Gemma that does not fit the projection is refused from its metadata, before any weight
        self.gemma = GemmaTextEncoder.from_pretrained(gemma_path, tokenizer_path=_tokenizer_for(gemma_path),
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
    """Gemma 3 + the LTX checkpoint's text projection and connectors."""

    DISPLAY_NAME = "Gemma Text Encoder Loader (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="loaders",
            description="Loads the Gemma 3 12B text encoder (a Hugging Face folder, a single .safetensors file "
                        "or a llama.cpp GGUF in models/text_encoders) and the text projection + connectors of an "
                        "LTX-2 / LTX-2.3 checkpoint. GGUF matrices stay quantised and are de-quantised per layer.",
            inputs=[
                io.Combo.Input("gemma", options=gemma_choices(),
                               tooltip="Gemma 3 12B (it): a folder (name/) with config.json, tokenizer and weights, "
                                       "ComfyUI's single-file gemma_3_12B_it .safetensors, or a GGUF such as "
                                       "gemma-3-12b-it-Q4_K_M.gguf (its tokenizer: tokenizer.json / "
                                       "tokenizer.model beside it, else the GGUF's own vocabulary), in "
                                       "models/text_encoders."),
                io.Combo.Input("ckpt_name", options=text_checkpoint_choices(),
                               tooltip="LTX-2 / LTX-2.3 checkpoint (or standalone text projection + connectors "
                                       "file) whose text projection and connectors to use; must match the model."),
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
