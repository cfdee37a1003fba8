"""The LTX-2.5 side of the workflow model table (scripts/workflow_models_ltx25.py, scripts/workflow_models.py):
a published 2.5 name gives its own ComfyUI folder and part, whatever node input names it, and its tiny stand-in is
detected from its header as that part of LTX-2.5 (so the real loaders take it)."""

from __future__ import annotations

import pytest
from safetensors import safe_open

from ltx_model.loading import FilePart, detect, read_header
from scripts.workflow_models import ModelKind, ModelRef, input_spec, model_refs, write_demo_file
from scripts.workflow_models_ltx25 import ltx25_part

PUBLISHED = {  # Lightricks/LTX-2 README @400fd31 -> (ComfyUI folder, header part)
    "ltx-2.5-22b-distilled-transformer-bf16.safetensors": ("diffusion_models", FilePart.TRANSFORMER),
    "ltx-2.5-22b-dev-transformer-bf16.safetensors": ("diffusion_models", FilePart.TRANSFORMER),
    "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors": ("text_encoders", FilePart.TEXT_ENCODER),
    "ltx-2.5-video-vae-bf16.safetensors": ("vae", FilePart.VIDEO_VAE),
    "ltx-2.5-audio-vae-bf16.safetensors": ("vae", FilePart.AUDIO_VAE),
    "ltx-2.5-latent-spatial-upscaler-x2-bf16-1.0.safetensors": ("latent_upscale_models", FilePart.UPSAMPLER),
    "ltx-2.5-22b-distilled-lora-450-bf16.safetensors": ("loras", FilePart.LORA),
    "ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2-1.0.safetensors": ("loras", FilePart.LORA),
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_ltx25_published_name_gives_its_folder(name):
    folder = PUBLISHED[name][0]
    assert ltx25_part(name).folder == folder
    assert ltx25_part("ltx2n-demo-" + name).folder == folder  # a prefixed demo copy is the same part


@pytest.mark.parametrize("name", ["ltx-2.3-22b-distilled.safetensors", "gemma-3-12b-it-qat-q4_0-unquantized/",
                                  "ltx-2.3-22b-distilled-lora-384.safetensors", "ltx2_example_first_frame.png"])
def test_ltx25_other_names_are_not_25_parts(name):
    assert ltx25_part(name) is None


def test_ltx25_model_refs_take_the_folder_from_the_name():
    prompt = {"1": {"class_type": "LTX2NCheckpointLoader",
                    "inputs": {"ckpt_name": "ltx-2.5-22b-distilled-transformer-bf16.safetensors"}},
              "2": {"class_type": "LTX2NTextEncoderLoader",
                    "inputs": {"gemma": "gemma4-12b-with-proj-ltx-2.5-bf16.safetensors",
                               "ckpt_name": "ltx-2.5-22b-distilled-transformer-bf16.safetensors"}},
              "3": {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": "ltx-2.3-22b-dev.safetensors"}}}
    refs = model_refs(prompt)
    assert [(r.folder, r.kind) for r in refs] == [("diffusion_models", ModelKind.LTX25),
                                                  ("text_encoders", ModelKind.LTX25),
                                                  ("checkpoints", ModelKind.CHECKPOINT)]
    assert input_spec("LoadImage", "image", "ltx-2.5-video-vae-bf16.safetensors").folder == "input"


def test_ltx25_demo_files_are_the_named_parts(tmp_path):
    for name, (folder, part) in PUBLISHED.items():
        path = write_demo_file(ModelRef(folder, name, ModelKind.LTX25), tmp_path / folder)
        assert path == tmp_path / folder / name
        info = detect(read_header(path))
        assert (info.part, info.family.value) == (part, "LTX-2.5"), (name, info)
    with safe_open(str(tmp_path / "loras" / "ltx-2.5-22b-ic-lora-pixel-spatial-upscaler-x2-1.0.safetensors"),
                   framework="pt") as handle:
        assert handle.metadata()["reference_downscale_factor"] == "2"
