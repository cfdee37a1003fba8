"""ComfyUI adapters of the LTX-2 Native pack.

``NODES`` is the single source of truth for what the pack registers: the pack entry derives
``NODE_CLASS_MAPPINGS`` / ``NODE_DISPLAY_NAME_MAPPINGS`` from it and ``comfy_entrypoint`` returns it.
Node modules listed in ``_OPTIONAL_MODULES`` may need extra dependencies: if one fails to import, its nodes are
hidden with a warning instead of taking the whole pack down.
"""

from __future__ import annotations

import importlib
import logging

from comfy_api.latest import ComfyExtension, io

from .ancestral import LTX2NSamplerEulerAncestral
from .audio import LTX2NAudioVAELoader, LTX2NDecodeAudio, LTX2NEncodeAudio
from .audio_modes import LTX2NAudioToVideo, LTX2NEmptyAudioLatent, LTX2NVideoToAudio
from .camera import LTX2NCameraLoraLoader, LTX2NLoraStack
from .conditioning import LTX2NCropGuides, LTX2NFirstLastFrame, LTX2NImageToVideo
from .dfr import LTX2NDFRCanvas, LTX2NDFRDetailStage, LTX2NDFRTemporalRounds
from .dubit import LTX2NDubItPrepare
from .duration import LTX2NPredictDuration
from .editing_modes import LTX2NInpaintPrepare, LTX2NOutpaintPrepare, LTX2NPyramidBlend, LTX2NVideoToVideoPrepare
from .hdr import LTX2NHDRDecode, LTX2NHDRPrepare, LTX2NLoadEXRSequence, LTX2NSaveEXRSequence
from .iclora import LTX2NICLoraGuide, LTX2NICLoraLoader
from .ingredients import LTX2NIngredientsReference
from .latents import LTX2NEmptyAVLatent
from .loaders import LTX2NCheckpointLoader
from .lora import LTX2NLoraLoader
from .motion_tracks import LTX2NMotionTracks
from .multi_gpu import LTX2NMultiGPU
from .multi_gpu_text import LTX2NTextEncoderDevice
from .pixel_upscale import LTX2NPixelUpscalePrepare
from .prompt_tools import LTX2NEnhancePrompt, LTX2NLoadTextEncoding, LTX2NSaveTextEncoding
from .res2s import LTX2NSamplerRes2s
from .sampling import LTX2NMultimodalGuider, LTX2NSampler, LTX2NScheduler
from .temporal_modes import LTX2NExtend, LTX2NKeyframes, LTX2NLongVideo, LTX2NRetake
from .text import LTX2NTextEncode, LTX2NTextEncoderLoader
from .upscale import LTX2NUpscaleLatent, LTX2NUpscaleLatentTemporal, LTX2NUpscaleLatentX15, LTX2NUpscalerLoader
from .vae import LTX2NDecodeVideo, LTX2NVideoVAELoader

_REQUIRED: list[type[io.ComfyNode]] = [LTX2NCheckpointLoader, LTX2NEmptyAVLatent]
_REQUIRED += [LTX2NLoraLoader, LTX2NUpscalerLoader, LTX2NUpscaleLatent]
_REQUIRED += [LTX2NScheduler, LTX2NMultimodalGuider, LTX2NSampler]
_REQUIRED += [LTX2NImageToVideo, LTX2NFirstLastFrame, LTX2NCropGuides]
_REQUIRED += [LTX2NVideoVAELoader, LTX2NDecodeVideo, LTX2NAudioVAELoader, LTX2NDecodeAudio, LTX2NEncodeAudio]
_REQUIRED += [LTX2NTextEncoderLoader, LTX2NTextEncode]
_REQUIRED += [LTX2NICLoraLoader, LTX2NICLoraGuide, LTX2NMotionTracks, LTX2NCameraLoraLoader, LTX2NLoraStack]
_REQUIRED += [LTX2NUpscaleLatentX15, LTX2NUpscaleLatentTemporal]
_REQUIRED += [LTX2NAudioToVideo, LTX2NEmptyAudioLatent, LTX2NVideoToAudio]
_REQUIRED += [LTX2NEnhancePrompt, LTX2NSaveTextEncoding, LTX2NLoadTextEncoding]
_REQUIRED += [LTX2NKeyframes, LTX2NExtend, LTX2NRetake, LTX2NLongVideo]
_REQUIRED += [LTX2NMultiGPU, LTX2NTextEncoderDevice]
_REQUIRED += [LTX2NSamplerEulerAncestral, LTX2NPredictDuration]  # LTX-2.5
_REQUIRED += [LTX2NInpaintPrepare, LTX2NOutpaintPrepare, LTX2NPyramidBlend, LTX2NVideoToVideoPrepare]
_REQUIRED += [LTX2NIngredientsReference, LTX2NPixelUpscalePrepare]  # IC-LoRA modes
_REQUIRED += [LTX2NDubItPrepare]  # Dub-It / LipDub
_REQUIRED += [LTX2NSamplerRes2s]  # HQ two-stage (res_2s)
_REQUIRED += [LTX2NDFRCanvas, LTX2NDFRDetailStage, LTX2NDFRTemporalRounds]  # DFR (LTX-2.5)
_REQUIRED += [LTX2NLoadEXRSequence, LTX2NHDRPrepare, LTX2NHDRDecode, LTX2NSaveEXRSequence]  # HDR IC-LoRA (EXR in / out)

# (module relative to this package, node class names); hidden with a warning when the import fails.
_OPTIONAL_MODULES: list[tuple[str, tuple[str, ...]]] = [
    (".gguf_loader", ("LTX2NGGUFLoader",)),  # reads GGUF itself (no `gguf` package); kept isolated
]


def _optional_nodes() -> list[type[io.ComfyNode]]:
    found: list[type[io.ComfyNode]] = []
    for module_name, class_names in _OPTIONAL_MODULES:
        try:
            module = importlib.import_module(module_name, __name__)
        except ImportError as exc:
            logging.warning("LTX-2 Native: nodes %s hidden (%s)", ", ".join(class_names), exc)
            continue
        found.extend(getattr(module, name) for name in class_names)
    return found


NODES: list[type[io.ComfyNode]] = _REQUIRED + _optional_nodes()


def node_mappings() -> dict[str, type[io.ComfyNode]]:
    """``{node_id: class}`` for every class in ``NODES`` (the id is the class name, see ``schema.make_schema``)."""
    return {cls.__name__: cls for cls in NODES}


def node_display_names() -> dict[str, str]:
    """``{node_id: display name}`` for every class in ``NODES``."""
    return {cls.__name__: cls.DISPLAY_NAME for cls in NODES}


class LTX2NativeExtension(ComfyExtension):
    """V3 extension object; only used by hosts that load the pack through ``comfy_entrypoint``."""

    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return list(NODES)


async def comfy_entrypoint() -> LTX2NativeExtension:
    """V3 entry point (ComfyUI prefers ``NODE_CLASS_MAPPINGS`` when both are exported)."""
    return LTX2NativeExtension()
