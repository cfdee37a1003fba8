"""Weight storage helpers: streaming single tensors into a module, GGML (GGUF) block de-quantisation.

Pure PyTorch (the ``gguf`` package is only used by ``ltx_model.loading.gguf`` to read files).
"""

from .ggml import GGMLType, dequantize, quantized_nbytes
from .streaming import assign_tensor

__all__ = ["GGMLType", "assign_tensor", "dequantize", "quantized_nbytes"]
