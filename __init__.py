"""LTX-2 Native: a ComfyUI node pack with its own PyTorch implementation of Lightricks' LTX-2 audio+video model.

The node list lives in ``nodes.NODES``; the mappings below are derived from it (no import-time side effects).
Imported outside ComfyUI (pytest imports the repository root as a package), it registers nothing.
"""

import importlib.util

WEB_DIRECTORY = "./js"
if importlib.util.find_spec("comfy_api") is None:
    NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = {}, {}
else:
    from .nodes import comfy_entrypoint, node_display_names, node_mappings  # noqa: F401

    NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS = node_mappings(), node_display_names()
