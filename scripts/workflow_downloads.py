"""Where the files the shipped workflows name come from: official Hugging Face URLs and published sizes.

Used by the workflow builder (``scripts/workflow_kit.py``) for two things:

* the node ``properties.models`` entries ComfyUI's frontend reads for its missing-models dialog (the form of core's
  templates: ``{"name", "url", "directory"}``; a file URL is ``https://huggingface.co/<repo>/resolve/main/<file>``,
  which the dialog offers as a download; a folder, the Gemma text encoder, gets its repository page, which the
  dialog lists as a link to follow, as it downloads only single model files);
* the sizes in each workflow's Note.

Nothing here downloads anything. Sizes are the published byte counts (decimal units) where known, or the size the
key/shape manifests give (``shared/reference/manifests``, marked "about"); an empty size means none was published.
"""

from __future__ import annotations

from dataclasses import dataclass

HF = "https://huggingface.co"


@dataclass(frozen=True)
class Download:
    """One file or folder: its official URL and its size as shown in the Note ("" = not published)."""

    url: str
    size: str = ""


def _file(repo: str, name: str, size: str = "") -> Download:
    return Download(f"{HF}/{repo}/resolve/main/{name}", size)


LTX2 = "Lightricks/LTX-2"
LTX23 = "Lightricks/LTX-2.3"
LTX25 = "Lightricks/LTX-2.5"
GEMMA_REPO = "google/gemma-3-12b-it-qat-q4_0-unquantized"


def _ltx25(folder: str, name: str) -> tuple[str, Download]:
    """A file of the LTX-2.5 repository, which keeps each part in the subfolder named like its ComfyUI folder."""
    return name, _file(LTX25, f"{folder}/{name}")


LTX25_DOWNLOADS: dict[str, Download] = dict([
    # LTX-2.5 (split files, Lightricks/LTX-2 README @400fd31): no sizes published offline
    _ltx25("diffusion_models", "ltx-2.5-22b-dev-transformer-bf16.safetensors"),
    _ltx25("diffusion_models", "ltx-2.5-22b-distilled-transformer-bf16.safetensors"),
    _ltx25("text_encoders", "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors"),
    _ltx25("vae", "ltx-2.5-video-vae-bf16.safetensors"),
    _ltx25("vae", "ltx-2.5-video-vae-conv-bf16.safetensors"),
    _ltx25("vae", "ltx-2.5-audio-vae-bf16.safetensors"),
    _ltx25("latent_upscale_models", "ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0.safetensors"),
    _ltx25("latent_upscale_models", "ltx-2.5-latent-temporal-upscaler-x2-bf16-1.0.safetensors"),
    _ltx25("loras", "ltx-2.5-22b-distilled-lora-450-bf16.safetensors"),
    _ltx25("model_patches", "ltx-2.5-duration-head-bf16.safetensors"),
    ("ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2-1.0.safetensors",
     _file("Lightricks/LTX-2.5-22b-IC-LoRA-Pixel-Spatial-Upscaler",
           "ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2-1.0.safetensors")),
])
"""LTX-2.5 name -> official source (the repository's subfolder is part of the URL)."""

DOWNLOADS: dict[str, Download] = {
    # LTX-2.3 (22B): published sizes 46,149,344,974 / 46,149,345,038 bytes
    "ltx-2.3-22b-dev.safetensors": _file(LTX23, "ltx-2.3-22b-dev.safetensors", "46.1 GB"),
    "ltx-2.3-22b-distilled.safetensors": _file(LTX23, "ltx-2.3-22b-distilled.safetensors", "46.1 GB"),
    "ltx-2.3-22b-distilled-lora-384.safetensors": _file(LTX23, "ltx-2.3-22b-distilled-lora-384.safetensors"),
    "ltx-2.3-spatial-upscaler-x2-1.1.safetensors": _file(LTX23, "ltx-2.3-spatial-upscaler-x2-1.1.safetensors",
                                                         "996 MB"),
    "ltx-2.3-spatial-upscaler-x1.5-1.0.safetensors": _file(LTX23, "ltx-2.3-spatial-upscaler-x1.5-1.0.safetensors",
                                                           "1.09 GB"),
    "ltx-2.3-temporal-upscaler-x2-1.0.safetensors": _file(LTX23, "ltx-2.3-temporal-upscaler-x2-1.0.safetensors"),
    "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors": _file(
        "Lightricks/LTX-2.3-22b-IC-LoRA-Union-Control", "ltx-2.3-22b-ic-lora-union-control-ref0.5.safetensors"),
    "ltx-2.3-22b-ic-lora-motion-track-control-ref0.5.safetensors": _file(
        "Lightricks/LTX-2.3-22b-IC-LoRA-Motion-Track-Control",
        "ltx-2.3-22b-ic-lora-motion-track-control-ref0.5.safetensors"),
    "ltx-2.3-22b-ic-lora-in-outpainting-0.9.safetensors": _file(  # official pack README (ComfyUI-LTXVideo @aceeae96)
        "Lightricks/LTX-2.3-22b-IC-LoRA-In-Outpainting", "ltx-2.3-22b-ic-lora-in-outpainting-0.9.safetensors"),
    "ltx-2.3-22b-ic-lora-deblur-0.9.safetensors": _file(
        "Lightricks/LTX-2.3-22b-IC-LoRA-Deblur", "ltx-2.3-22b-ic-lora-deblur-0.9.safetensors"),
    "ltx-2.3-22b-ic-lora-ingredients-0.9.safetensors": _file(  # model card linked by core's Ingredients template
        "Lightricks/LTX-2.3-22b-IC-LoRA-Ingredients", "ltx-2.3-22b-ic-lora-ingredients-0.9.safetensors"),
    "ltx-2.3-22b-ic-lora-lipdub-0.9.safetensors": _file(  # Lightricks/LTX-2 README (IC-LoRA: LipDub)
        "Lightricks/LTX-2.3-22b-IC-LoRA-LipDub", "ltx-2.3-22b-ic-lora-lipdub-0.9.safetensors"),
    "ltx-2.3-22b-ic-lora-hdr-0.9.safetensors": _file(  # MODELS-LTX-2.3.md; name as the official HDR workflow
        "Lightricks/LTX-2.3-22b-IC-LoRA-HDR", "ltx-2.3-22b-ic-lora-hdr-0.9.safetensors"),
    "ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x4-0.9.safetensors": _file(  # official pack README @aceeae96
        "Lightricks/LTX-2.3-22b-IC-LoRA-Pixel-Spatial-Upscaler",
        "ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x4-0.9.safetensors"),
    "ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x2-0.9.safetensors": _file(  # same README and repository
        "Lightricks/LTX-2.3-22b-IC-LoRA-Pixel-Spatial-Upscaler",
        "ltx-2.3-22b-ic-lora-pixel-spatial-upscaler-x2-0.9.safetensors"),
    # LTX-2 (19B): no published size; the manifest's tensors give about 43.3 GB
    "ltx-2-19b-dev.safetensors": _file(LTX2, "ltx-2-19b-dev.safetensors", "about 43.3 GB"),
    "ltx-2-19b-distilled.safetensors": _file(LTX2, "ltx-2-19b-distilled.safetensors", "about 43.3 GB"),
    "ltx-2-19b-distilled-lora-384.safetensors": _file(LTX2, "ltx-2-19b-distilled-lora-384.safetensors"),
    "ltx-2-19b-ic-lora-detailer.safetensors": _file(
        "Lightricks/LTX-2-19b-IC-LoRA-Detailer", "ltx-2-19b-ic-lora-detailer.safetensors"),
    "ltx-2-19b-lora-camera-control-dolly-left.safetensors": _file(
        "Lightricks/LTX-2-19b-LoRA-Camera-Control-Dolly-Left", "ltx-2-19b-lora-camera-control-dolly-left.safetensors"),
    # Gemma 3 12B (it, QAT q4_0 unquantized, bf16): the whole folder, about 24 GB of weights
    "gemma-3-12b-it-qat-q4_0-unquantized/": Download(f"{HF}/{GEMMA_REPO}", "about 24 GB"),
    **LTX25_DOWNLOADS,
}
"""Referenced name (as the workflows spell it) -> official source."""


def download_for(name: str) -> Download | None:
    """The official source of a referenced model file or folder, or None (inputs such as example pictures)."""
    return DOWNLOADS.get(name)


def model_entry(name: str, directory: str) -> dict[str, str] | None:
    """The ``properties.models`` entry of one referenced model (None when it has no official source)."""
    source = download_for(name)
    return None if source is None else {"name": name, "url": source.url, "directory": directory}
