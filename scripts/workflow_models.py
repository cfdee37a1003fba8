"""The model files and input images a workflow references, and tiny stand-ins written under exactly those names.

One table, :data:`MODEL_INPUTS`, says which node input names a file of which ComfyUI model folder. It drives the
"files needed" Note of every shipped workflow (``scripts/build_workflows.py``), the graph tests (which write demo
files under the referenced names into temporary model folders) and the main job (``scripts/generate.py``, which
falls back to demo files when the real ones are missing).

Demo files come from ``ltx_model.demo`` (random weights in the official formats; nothing is downloaded).
The family of a demo checkpoint / LoRA follows the referenced name (``ltx-2.3`` -> the 2.3 form, else the 19B form).
An LTX-2.5 split file (``scripts/workflow_models_ltx25.py``) is recognised by its published name wherever it is
referenced: its folder (``diffusion_models``, ``text_encoders``, ``vae``...) and its tiny stand-in follow from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from scripts.workflow_models_ltx25 import ltx25_part, write_ltx25_file


class ModelKind(str, Enum):
    """What a referenced file is, i.e. which demo writer stands in for it."""

    CHECKPOINT = "checkpoint"  # single-file LTX-2 / LTX-2.3 checkpoint
    GEMMA = "gemma"  # Gemma 3 text encoder: a Hugging Face folder (or a file inside one)
    UPSAMPLER = "upsampler"  # latent upscaler
    LORA = "lora"  # LoRA for the transformer
    GEMMA_LORA = "gemma_lora"  # LoRA for the Gemma text encoder (core LoraLoader's clip side)
    IMAGE = "image"  # picture in ComfyUI's input folder
    AUDIO = "audio"  # sound file in ComfyUI's input folder (audio-to-video)
    VIDEO = "video"  # video file in ComfyUI's input folder (video-to-audio)
    LTX25 = "ltx25"  # an LTX-2.5 split file: its folder and part follow from its name (workflow_models_ltx25)


@dataclass(frozen=True)
class ModelInput:
    """A node input that names a file: the ComfyUI folder key it is listed from and the kind of file."""

    folder: str
    kind: ModelKind


# (node id, input name) -> folder and kind. Core nodes included where our workflows use them.
MODEL_INPUTS: dict[tuple[str, str], ModelInput] = {
    ("LTX2NCheckpointLoader", "ckpt_name"): ModelInput("checkpoints", ModelKind.CHECKPOINT),
    # The VAE loaders also list models/vae; our workflows point them at the single-file checkpoint.
    ("LTX2NVideoVAELoader", "vae_name"): ModelInput("checkpoints", ModelKind.CHECKPOINT),
    ("LTX2NAudioVAELoader", "vae_name"): ModelInput("checkpoints", ModelKind.CHECKPOINT),
    ("LTX2NTextEncoderLoader", "gemma"): ModelInput("text_encoders", ModelKind.GEMMA),  # "folder/" entries
    ("LTX2NTextEncoderLoader", "ckpt_name"): ModelInput("checkpoints", ModelKind.CHECKPOINT),
    ("LTX2NMultiGPU", "ckpt_name"): ModelInput("checkpoints", ModelKind.CHECKPOINT),
    ("LTX2NUpscalerLoader", "upscaler_name"): ModelInput("latent_upscale_models", ModelKind.UPSAMPLER),
    ("LTX2NLoraLoader", "lora_name"): ModelInput("loras", ModelKind.LORA),
    ("LoraLoaderModelOnly", "lora_name"): ModelInput("loras", ModelKind.LORA),
    ("LoadImage", "image"): ModelInput("input", ModelKind.IMAGE),
    ("LTX2NICLoraLoader", "lora_name"): ModelInput("loras", ModelKind.LORA),
    ("LTX2NCameraLoraLoader", "camera_lora"): ModelInput("loras", ModelKind.LORA),
    ("LTX2NLoraStack", "lora_1"): ModelInput("loras", ModelKind.LORA),  # slots 2-3 stay "None" in our workflows
    ("LoadAudio", "audio"): ModelInput("input", ModelKind.AUDIO),
    ("LoadVideo", "file"): ModelInput("input", ModelKind.VIDEO),
}

FOLDER_HELP: dict[str, str] = {
    "checkpoints": "ComfyUI/models/checkpoints",
    "diffusion_models": "ComfyUI/models/diffusion_models",
    "vae": "ComfyUI/models/vae",
    "model_patches": "ComfyUI/models/model_patches",
    "text_encoders": "ComfyUI/models/text_encoders",
    "latent_upscale_models": "ComfyUI/models/latent_upscale_models",
    "loras": "ComfyUI/models/loras",
    "input": "ComfyUI/input",
}
"""Where each folder key lives in a default ComfyUI install (for the Note nodes)."""


@dataclass(frozen=True)
class ModelRef:
    """One file (or folder) a workflow needs: ComfyUI folder key, the name as referenced, and its kind."""

    folder: str
    name: str
    kind: ModelKind


def register_model_input(node_id: str, input_name: str, folder: str, kind: ModelKind) -> None:
    """Add a row to :data:`MODEL_INPUTS` (for nodes whose ids are only known at run time)."""
    MODEL_INPUTS[(node_id, input_name)] = ModelInput(folder, ModelKind(kind))


def input_spec(node_type: str, input_name: str, value: Any) -> ModelInput | None:
    """Folder and kind of the file ``value`` names through this node input (:data:`MODEL_INPUTS`), or None. An
    LTX-2.5 file name (``workflow_models_ltx25.ltx25_part``) gives its own folder and the kind ``LTX25``."""
    spec = MODEL_INPUTS.get((node_type, input_name))
    if spec is None or not isinstance(value, str) or spec.folder == "input":
        return spec
    part = ltx25_part(value)
    return spec if part is None else ModelInput(part.folder, ModelKind.LTX25)


def model_refs(prompt: dict[str, Any]) -> list[ModelRef]:
    """Every distinct file an API prompt names through :data:`MODEL_INPUTS`, in node order."""
    refs: dict[tuple[str, str], ModelRef] = {}
    for node in prompt.values():
        for input_name, value in node.get("inputs", {}).items():
            spec = input_spec(node["class_type"], input_name, value)
            if spec is not None and isinstance(value, str):
                refs.setdefault((spec.folder, value), ModelRef(spec.folder, value, spec.kind))
    return list(refs.values())


def ui_model_refs(workflow: dict[str, Any], object_info: dict[str, dict]) -> list[ModelRef]:
    """Like :func:`model_refs` for a UI-format workflow (pairs ``widgets_values`` with the schema's widgets)."""
    from comfy_cli.workflow_to_api import convert_ui_to_api

    return model_refs(convert_ui_to_api(workflow, object_info))


def demo_family(name: str) -> Any:
    """``DemoFamily`` matching a referenced file name: ``ltx-2.3`` / ``ltx2.3`` -> 2.3 form, else the 19B form."""
    from ltx_model.demo import DemoFamily

    lowered = name.lower().replace("_", "-")
    return DemoFamily.LTX23 if ("2.3" in lowered or "22b" in lowered) else DemoFamily.LTX2


def write_demo_file(ref: ModelRef, folder: Path, *, family: Any = None, seed: int = 0) -> Path:
    """Write a tiny stand-in for ``ref`` at ``folder / ref.name`` (``folder`` = the directory of ``ref.folder``).

    ``family`` (a ``DemoFamily``) overrides the family guessed from the name (LoRAs must match the checkpoint they
    are applied to). Existing files are kept. Returns the written path.
    """
    from ltx_model import demo

    path = folder / ref.name
    if path.exists():
        return path
    if ref.kind is ModelKind.LTX25:
        return write_ltx25_file(path, seed=seed)
    family = family if family is not None else demo_family(ref.name)
    if ref.kind is ModelKind.CHECKPOINT:
        return demo.write_demo_checkpoint(path, family, seed=seed)
    if ref.kind is ModelKind.UPSAMPLER:
        return write_demo_upscaler(path, seed=seed)
    if ref.kind is ModelKind.GEMMA:
        return _write_gemma(path, seed=seed)
    if ref.kind is ModelKind.LORA:
        return write_demo_lora(path, family, seed=seed)
    if ref.kind is ModelKind.GEMMA_LORA:
        return write_demo_gemma_lora(path, seed=seed)
    if ref.kind is ModelKind.AUDIO:
        return write_example_audio(path)
    if ref.kind is ModelKind.VIDEO:
        return write_example_video(path)
    return write_example_image(path)


def _write_gemma(path: Path, *, seed: int) -> Path:
    """A Gemma folder at ``path``; when ``path`` names a ``.safetensors`` file inside the folder, the weights file
    gets that name (e.g. ``gemma-3-12b-it/model-00001-of-00005.safetensors``)."""
    from ltx_model.demo import write_demo_gemma

    if path.suffix != ".safetensors":
        return write_demo_gemma(path, seed=seed)
    write_demo_gemma(path.parent, seed=seed)
    (path.parent / "model.safetensors").rename(path)
    return path


def write_demo_lora(path: Path, family: Any, *, rank: int = 4, seed: int = 0) -> Path:
    """A tiny LoRA in Lightricks' format (``diffusion_model.<module>.lora_A/B.weight``, no alpha) for the demo
    transformer of ``family``: every 2-D attention / feed-forward weight of the transformer blocks gets rank
    ``rank`` factors with N(0, 0.02) entries."""
    import torch

    from ltx_model.demo import demo_checkpoint_tensors
    from ltx_model.loading import write_safetensors

    prefix = "model.diffusion_model.transformer_blocks."
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for key, weight in demo_checkpoint_tensors(family, seed=seed).items():
        if not (key.startswith(prefix) and key.endswith(".weight") and weight.ndim == 2):
            continue
        module = "diffusion_model." + key.removeprefix("model.diffusion_model.").removesuffix(".weight")
        out_features, in_features = weight.shape
        tensors[module + ".lora_A.weight"] = torch.randn(rank, in_features, generator=generator) * 0.02
        tensors[module + ".lora_B.weight"] = torch.randn(out_features, rank, generator=generator) * 0.02
    path.parent.mkdir(parents=True, exist_ok=True)
    bf16 = {k: v.to(torch.bfloat16) for k, v in sorted(tensors.items())}
    write_safetensors(path, bf16, metadata={"format": "pt", **demo_lora_metadata(path.name)})
    return path


GEMMA_LORA_PREFIX = "text_encoders.transformer.model."
"""Key prefix of Gemma LoRAs for core's LTXAV text encoder (e.g. ``gemma-3-12b-it-abliterated_lora_rank64_bf16``):
core's ``model_lora_keys_clip`` maps ``text_encoders.<key from ".transformer." on>`` onto the encoder's Gemma."""


def write_demo_gemma_lora(path: Path, *, rank: int = 2, seed: int = 0) -> Path:
    """A rank-``rank`` LoRA in the kohya layout core reads (``lora_up`` / ``lora_down`` / ``alpha``) on every linear
    layer of the demo Gemma (:func:`ltx_model.demo.write_demo_gemma`), N(0, 0.25) factors."""
    import torch
    from transformers import Gemma3TextModel

    from ltx_model.demo import DEMO_GEMMA_TEXT_CONFIG
    from ltx_model.loading import write_safetensors
    from ltx_model.text.gemma import gemma_text_config

    with torch.device("meta"):
        gemma = Gemma3TextModel(gemma_text_config({**DEMO_GEMMA_TEXT_CONFIG, "vocab_size": 64}))
    generator = torch.Generator().manual_seed(seed)
    tensors: dict[str, torch.Tensor] = {}
    for name, module in gemma.named_modules():
        if isinstance(module, torch.nn.Linear):
            key = GEMMA_LORA_PREFIX + name
            tensors[key + ".lora_up.weight"] = torch.randn(module.out_features, rank, generator=generator) * 0.5
            tensors[key + ".lora_down.weight"] = torch.randn(rank, module.in_features, generator=generator) * 0.5
            tensors[key + ".alpha"] = torch.tensor(float(rank))
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, dict(sorted(tensors.items())))
    return path


def demo_lora_metadata(name: str) -> dict[str, str]:
    """Metadata a LoRA of this name carries in Lightricks' releases: IC-LoRAs store ``reference_downscale_factor``
    ("ref0.5" files: 2, "pixel-spatial-upscaler-x2" / "-x4": 2 / 4, other IC-LoRAs: 1)."""
    lowered = name.lower()
    if "ic-lora" not in lowered and "iclora" not in lowered:
        return {}
    factor = 2 if "ref0.5" in lowered or "upscaler-x2" in lowered else 4 if "upscaler-x4" in lowered else 1
    return {"reference_downscale_factor": str(factor)}


DEMO_UPSCALER_KINDS: dict[str, dict[str, Any]] = {
    "temporal": {"spatial_upsample": False, "temporal_upsample": True, "spatial_scale": 1.0,
                 "rational_resampler": True},
    "x1.5": {"spatial_upsample": True, "temporal_upsample": False, "spatial_scale": 1.5, "rational_resampler": True},
}
"""Name fragment -> config flags of the demo upscaler written for it (others: spatial x2)."""


def write_demo_upscaler(path: Path, *, seed: int = 0) -> Path:
    """A tiny latent upscaler whose kind follows the name (``temporal`` -> temporal x2, ``x1.5`` -> spatial x1.5,
    else the spatial x2 of ``ltx_model.demo``): real 128 latent channels, width 32, one block per stage,
    random weights, flat ``config`` metadata, bf16 like the released files."""
    import json

    import torch

    from ltx_model.demo import UPSAMPLER_CONFIG, write_demo_upsampler
    from ltx_model.loading import write_safetensors
    from ltx_model.upsampler import LatentUpsampler, UpsamplerConfig

    flags = next((v for k, v in DEMO_UPSCALER_KINDS.items() if k in path.name.lower()), None)
    if flags is None:
        return write_demo_upsampler(path, seed=seed)
    config = {**UPSAMPLER_CONFIG, **flags}
    module = LatentUpsampler(UpsamplerConfig.from_dict(config))
    generator = torch.Generator().manual_seed(seed)
    params = dict(module.named_parameters())
    tensors = {}
    for name, value in module.state_dict().items():
        if name in params and value.dim() >= 2:
            value = torch.randn(value.shape, generator=generator) / value[0].numel() ** 0.5
        elif name in params:
            value = (1.0 if name.endswith("weight") else 0.0) + 0.02 * torch.randn(value.shape, generator=generator)
        tensors[name] = value.to(torch.bfloat16)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_safetensors(path, tensors, metadata={"config": json.dumps(config)})
    return path


def write_example_image(path: Path, *, width: int = 96, height: int = 64) -> Path:
    """A small RGB PNG (colour gradient with a bright square) for image-conditioned workflows; names containing
    "last" get the mirrored picture, so first and last frames differ."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:height, 0:width]
    picture = np.stack([255 * x / max(1, width - 1), 255 * y / max(1, height - 1), np.full_like(x, 96)], axis=-1)
    picture[height // 4: height // 2, width // 4: width // 2] = 240
    if "last" in path.stem:
        picture = picture[::-1, ::-1]
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(picture.astype(np.uint8)).save(path)
    return path


EXAMPLE_AUDIO_RATE, EXAMPLE_AUDIO_SECONDS = 22050, 6.0
"""The example sound: stereo at 22.05 kHz (any rate, mono or stereo, is accepted), longer than the default clip."""
EXAMPLE_VIDEO_SIZE, EXAMPLE_VIDEO_FRAMES, EXAMPLE_VIDEO_FPS = (64, 64), 129, 24.0
"""The example video: (width, height) = the graph tests' tiny size (its frames are the output frames of
video-to-audio), 129 frames (more than the default 121) at the workflows' 24 fps."""


def write_example_audio(path: Path) -> Path:
    """A stereo 16-bit WAV: a tone sliding from 220 to 660 Hz with a 2 Hz amplitude pulse, a fifth higher on the
    right channel."""
    import wave

    import numpy as np

    t = np.arange(round(EXAMPLE_AUDIO_SECONDS * EXAMPLE_AUDIO_RATE)) / EXAMPLE_AUDIO_RATE
    phase = 2 * np.pi * (220 * t + 220 * t**2 / (2 * EXAMPLE_AUDIO_SECONDS))
    pulse = 0.6 + 0.4 * np.cos(2 * np.pi * 2 * t)
    samples = 0.4 * np.stack([np.sin(phase), np.sin(1.5 * phase)], axis=-1) * pulse[:, None]  # (S, 2) interleaved
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(2)
        handle.setsampwidth(2)
        handle.setframerate(EXAMPLE_AUDIO_RATE)
        handle.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


def write_example_video(path: Path) -> Path:
    """A silent H.264 mp4: a colour gradient with a bright square moving across it."""
    import numpy as np

    from ltx_model.media import write_mp4

    width, height = EXAMPLE_VIDEO_SIZE
    y, x = np.mgrid[0:height, 0:width]
    frames = []
    for index in range(EXAMPLE_VIDEO_FRAMES):
        frame = np.stack([255 * x / (width - 1), 255 * y / (height - 1), np.full_like(x, 96.0)], axis=-1)
        left = index * (width - 16) // (EXAMPLE_VIDEO_FRAMES - 1)
        frame[height // 3: height // 3 + 16, left: left + 16] = 240
        frames.append(frame.astype(np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    return Path(write_mp4(path, np.stack(frames), fps=EXAMPLE_VIDEO_FPS))
