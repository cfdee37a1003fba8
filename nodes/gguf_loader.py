"""The GGUF model loader node. The pack reads GGUF files itself (``ltx_model.loading.gguf_header``), so it needs no
``gguf`` package; ``nodes/__init__.py`` still loads it as an optional module (an import failure hides only it).

Files: ``*.gguf`` in ``models/diffusion_models`` (also ``models/unet``), listed under the folder key ``unet_gguf``
that city96's ComfyUI-GGUF uses (registered here when that pack is absent).
"""

from __future__ import annotations

import os

import folder_paths
from comfy_api.latest import io

from ..ltx_model.loading import Family
from .gguf_ops import load_gguf_transformer
from .progress import HostProgress
from .schema import make_schema

FOLDER = "unet_gguf"
FAMILIES = {"auto": None, "19B (LTX-2)": Family.LTX2_19B, "22B (LTX-2.3)": Family.LTX23_22B}


def gguf_files() -> list[str]:
    """``*.gguf`` names in the diffusion-model folders (registers the ``unet_gguf`` key over them if needed)."""
    paths = list(folder_paths.get_folder_paths("diffusion_models"))
    known, extensions = folder_paths.folder_names_and_paths.get(FOLDER, ([], set()))
    folder_paths.folder_names_and_paths[FOLDER] = (list(dict.fromkeys([*known, *paths])), set(extensions) | {".gguf"})
    return [f for f in folder_paths.get_filename_list(FOLDER) if f.lower().endswith(".gguf")]


class LTX2NGGUFLoader(io.ComfyNode):
    """A GGUF-quantised LTX-2 / LTX-2.3 transformer (city96-style files, official key names) as a MODEL.

    Quantised matrices stay in their GGML blocks (Q4_0, Q8_0, Q4_K, Q5_K, Q6_K; F16 / BF16 / F32 as is) and are
    de-quantised per layer while it runs. The config comes from the file's ``ltx2.config`` field, else from
    ``family`` (auto: from the keys). LoRAs apply on the fly (core LoRA loaders).
    """

    DISPLAY_NAME = "Load GGUF Model (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls,
            group="loaders",
            description="Loads a GGUF-quantised LTX-2 / LTX-2.3 diffusion model (models/diffusion_models) with "
                        "this pack's implementation; weights are de-quantised per layer at compute time.",
            inputs=[io.Combo.Input("unet_name", options=gguf_files(),
                                   tooltip="GGUF transformer file (e.g. ltx-2-19b-dev-Q4_K_M.gguf) in "
                                           "models/diffusion_models."),
                    io.Combo.Input("family", options=list(FAMILIES), default="auto", optional=True,
                                   tooltip="Model family, used when the file carries no ltx2.config metadata "
                                           "(auto: detected from the tensor names).")],
            outputs=[io.Model.Output(display_name="model", tooltip="The diffusion model, usable with core "
                                                                  "samplers and LoRA loaders.")],
        )

    @classmethod
    def execute(cls, unet_name: str, family: str = "auto") -> io.NodeOutput:
        path = folder_paths.get_full_path_or_raise(FOLDER, unet_name)
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; choose one of {', '.join(FAMILIES)}")
        try:
            return io.NodeOutput(load_gguf_transformer(path, FAMILIES[family],
                                                       should_abort=HostProgress().check_interrupt))
        except ValueError as exc:  # CheckpointError / ConfigError / shape mismatches: one-line reasons
            raise ValueError(f"{os.path.basename(path)} is not a loadable LTX-2 GGUF model: {exc}") from None
