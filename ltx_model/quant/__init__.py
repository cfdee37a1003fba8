"""Weight storage helpers: streaming single tensors into a module, GGML (GGUF) block de-quantisation, fp8 (e4m3,
per-tensor scales) matmul.

Pure PyTorch (the ``gguf`` package is only used by ``ltx_model.loading.gguf`` to read files).
"""

from .fp8 import Fp8Linear, Fp8Path, fp8_linear, fp8_path, quantize_fp8, quantize_linears
from .ggml import GGMLType, dequantize, quantized_nbytes
from .streaming import assign_tensor

__all__ = ["Fp8Linear", "Fp8Path", "GGMLType", "assign_tensor", "dequantize", "fp8_linear", "fp8_path",
           "quantize_fp8", "quantize_linears", "quantized_nbytes"]
