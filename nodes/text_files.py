"""The Gemma text encoder's files in ComfyUI's model folders: the gemma and ckpt_name dropdowns of Gemma Text
Encoder Loader (LTX-2) (and Enhance Prompt's gemma), resolving a choice to its path, and what a choice lacks.

Listed as Gemma: folders with a config / tokenizer, single files whose header holds no LTX part but the bundled
text projection (ComfyUI's Gemma 3 file, the LTX-2.5 Gemma 4 text encoder), and Gemma 3 GGUFs. Listed as
ckpt_name: files holding the text connectors (LTX-2 / 2.3 checkpoints and standalone text files, LTX-2.5
transformers). A file whose header cannot be read is listed, so validation can explain it.
"""

from __future__ import annotations

from pathlib import Path, PurePath

import folder_paths

from ..ltx_model.loading import Component, read_header
from ..ltx_model.loading.keymaps import present_components
from ..ltx_model.text.gemma import read_gemma_config
from ..ltx_model.text.gemma_gguf import is_gguf, read_gemma_gguf_config
from ..ltx_model.text.tokenizer import TOKENIZER_JSON_KEY
from .model_folders import find_model_path, listed_files, model_files, model_path

WEIGHT_SUFFIXES = (".safetensors", ".sft")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model")
NO_GEMMA = "(no Gemma found in models/text_encoders)"
GEMMA_HELP = ("put the complete google/gemma-3-12b-it folder (config.json, tokenizer.json or tokenizer.model and "
              "the *.safetensors weights) as a sub-folder of models/text_encoders/, or ComfyUI's single-file "
              "gemma_3_12B_it .safetensors (tokenizer embedded) directly in models/text_encoders/, or a llama.cpp "
              "gemma-3-12b-it GGUF (e.g. gemma-3-12b-it-Q4_K_M.gguf) there; for LTX-2.5 the Gemma 4 text encoder "
              "gemma4-12b-with-proj-ltx-2.5-*.safetensors (or its Hugging Face folder)")
EMBEDDED_TOKENIZERS = ("spiece_model", TOKENIZER_JSON_KEY)  # ComfyUI's Gemma 3 file; the LTX-2.5 Gemma 4 file
TEXT_CHECKPOINT_FOLDERS = ("checkpoints", "diffusion_models", "text_encoders")
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


def _components(path: str) -> set[Component] | None:
    """The LTX components a file's header holds (None: the header cannot be read)."""
    try:
        return set(present_components(read_header(path).tensors))
    except (ValueError, OSError):
        return None


def _gemma_listable(path: str) -> bool:
    """A single file for the gemma list: no LTX part but the bundled text projection (a Gemma 3 file, the LTX-2.5
    Gemma 4 text encoder), or a header that cannot be read (validation explains it)."""
    found = _components(path)
    return found is None or found <= {Component.TEXT_PROJECTION}


def _connectors_listable(path: str) -> bool:
    """A file for ckpt_name: it holds the text connectors (or its header cannot be read)."""
    found = _components(path)
    return found is None or Component.CONNECTORS in found


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
    listed = set(listed_files(("text_encoders",), _gemma_listable))
    files = [n for n in files if n in listed]
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


def _embedded_tokenizer(file: Path) -> bool:
    return any(key in read_header(file).tensors for key in EMBEDDED_TOKENIZERS)


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
        missing = [] if _embedded_tokenizer(path) or _tokenizer_next_to(path) else [
            "a tokenizer (no embedded 'spiece_model' / 'tokenizer_json' and no tokenizer.json / tokenizer.model "
            "beside it)"]
    return f"Gemma text encoder {name} lacks {' and '.join(missing)}: {GEMMA_HELP}" if missing else None



def gemma_config_of(gemma_path: Path) -> dict | None:
    """The Gemma's own config (folder ``config.json``, file ``gemma_config`` metadata, a GGUF's ``gemma3`` fields;
    None: a Gemma 3 file without one). Headers only; a GGUF of another architecture (Gemma 4 included) raises
    :class:`GemmaGGUFError` naming it."""
    return read_gemma_gguf_config(gemma_path) if is_gguf(gemma_path) else read_gemma_config(gemma_path)



def text_checkpoint_choices() -> list[str]:
    """Files that hold the text connectors (LTX-2 / 2.3 checkpoints and standalone text files, LTX-2.5
    transformers) in models/checkpoints, diffusion_models and text_encoders (not a Gemma folder's shards); files
    whose header shows another kind are not listed."""
    shards = set(model_files("text_encoders")) - set(_choices()[1])
    return [n for n in listed_files(TEXT_CHECKPOINT_FOLDERS, _connectors_listable) if n not in shards]


def resolve_text_checkpoint(name: str) -> str:
    """Full path of a :func:`text_checkpoint_choices` entry (checkpoints first, then diffusion_models)."""
    path = find_model_path(TEXT_CHECKPOINT_FOLDERS, name)
    if path is None:
        raise FileNotFoundError(f"{name!r} is not a file in models/checkpoints, models/diffusion_models or "
                                "models/text_encoders; put the file there or pick one from the list")
    return path


def tokenizer_for(gemma_path: Path) -> Path | None:
    """Tokenizer folder of a single Gemma file, None when it comes from ``gemma_path`` itself (a folder, a file
    with an embedded ``spiece_model``, or a GGUF file with no tokenizer beside it: its own vocabulary)."""
    if gemma_path.is_dir():
        return None
    if is_gguf(gemma_path):
        return _tokenizer_next_to(gemma_path)
    return None if _embedded_tokenizer(gemma_path) else _tokenizer_next_to(gemma_path)
