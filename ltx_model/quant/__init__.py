"""Weight storage helpers: streaming single tensors into a module, GGML (GGUF) block de-quantisation, a Q4_K
quantiser and a GGML linear layer, fp8 (e4m3, per-tensor scales) matmul.

Pure PyTorch (the ``gguf`` package is only used by ``ltx_model.loading.gguf`` to read files).
"""

from .fp8 import Fp8Linear, Fp8Path, fp8_linear, fp8_path, quantize_fp8, quantize_linears
from .ggml import GGMLType, dequantize, quantize_q4_k, quantized_nbytes
from .ggml_linear import GGMLBlockLinear, q4_k_or, quantize_linears_ggml
from .streaming import assign_tensor

__all__ = ["Fp8Linear", "Fp8Path", "GGMLBlockLinear", "GGMLType", "assign_tensor", "dequantize", "fp8_linear",
           "fp8_path", "q4_k_or", "quantize_fp8", "quantize_linears", "quantize_linears_ggml", "quantize_q4_k",
           "quantized_nbytes"]
