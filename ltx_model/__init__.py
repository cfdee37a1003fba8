"""Native PyTorch implementation of Lightricks' LTX-2 (19B) and LTX-2.3 (22B) audio+video models.

Pure library: imports torch, safetensors, numpy and transformers only, never ComfyUI. Submodules:
``transformer`` (diffusion transformer), ``text`` (Gemma features, connectors), ``video_vae``, ``audio``
(audio VAE, vocoders), ``upsampler``, ``sampling`` (patchify, schedules, steps, guidance), ``conditioning``,
``loading`` (safetensors header reader, key maps, strict builders), ``lora``, ``inspect`` (CLI).
"""
