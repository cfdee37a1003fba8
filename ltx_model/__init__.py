"""Native PyTorch implementation of Lightricks' LTX-2 (19B) and LTX-2.3 (22B) audio+video models.

Pure library: imports torch, safetensors, numpy and transformers only, never ComfyUI. Submodules:
``transformer`` (diffusion transformer), ``text`` (Gemma features, connectors), ``video_vae``, ``audio``
(audio VAE, vocoders), ``upsampler``, ``sampling`` (patchify, schedules, steps, guidance), ``conditioning``,
``loading`` (safetensors header reader, key maps, released configs, strict builders), ``lora``, ``modes`` (the
rules of every generation mode: frame counts, sizes, conforming, time windows, keyframes, IC-LoRA references),
``pipelines`` (plain-script generation), ``inspect`` (CLI). ``demo`` writes tiny random-weight files in the official
formats for the demo and the tests; no runtime module imports it.
"""
