"""Generate ``tests/data/ltx25_text_golden.json``: outputs of Lightricks' latest ltx-core / ltx-pipelines for the
LTX-2.5 text path (Gemma 4 + V2 features + connectors), the duration head and the Euler-ancestral step (our code;
Lightricks' code is only imported from a local checkout, never committed).

Run from the repository root with HEAD (github Lightricks/LTX-2 main @400fd31, ltx-core 1.2.x) first on the path::

    PYTHONPATH=/path/to/LTX-2/packages/ltx-core/src:/path/to/LTX-2/packages/ltx-pipelines/src:.:tests \\
        python tests/data/golden/ltx25_text_golden.py

(ltx-pipelines imports ``OpenImageIO`` at package import; it is only used for EXR output, so an empty stand-in
module is installed when it is missing.) Inputs are rebuilt from seeds by our demo writers
(``ltx_model.demo.ltx25_text``): the tiny Gemma 4 text-encoder file (``random_gemma4_model(seed=0)``, bundled
projection seed 1), the connector file (seed 0) and the duration head (seed 0). HEAD builds each model with its own
loaders (``get_gemma_ops`` + ``GemmaTextEncoderConfigurator``, ``EmbeddingsProcessorConfigurator`` over (connector
file, text-encoder file), ``DurationHeadConfigurator``), encodes ``PROMPTS`` at ``MAX_TOKENS`` tokens and runs the
heads in fp32. The Euler-ancestral cases run ``EulerAncestralDiffusionStep`` and ``euler_ancestral_denoising_loop``
(noise seed 1234, model dtype fp32 and bf16) on the seeded inputs of ``tests/ltx25_text_cases.py``. Floats are stored
rounded to 8 significant digits.

HEAD pins ``transformers<5.15`` (5.15+ breaks its Gemma 4 buffer population); the values were produced with
transformers 5.14.1 (+ tokenizers 0.22.2, huggingface-hub 1.x) installed with ``pip install --no-deps --target`` into
a throw-away folder put first on PYTHONPATH.
"""

from __future__ import annotations

import json
import sys
import tempfile
import types
from dataclasses import replace
from pathlib import Path

import torch

OUT = Path(__file__).resolve().parent.parent / "ltx25_text_golden.json"
PROMPTS = ["a red fox jumps over the lazy dog", "  snow in the snow  "]
MAX_TOKENS = 128  # a multiple of the 128 connector registers
ETA_CASES = [(1.0, 1.0), (0.5, 1.0), (1.0, 0.0), (0.0, 1.0)]
FRAME_CASES = [  # (seconds, fps, min_seconds, max_seconds)
    (5.0, 24.0, 1.0, 20.0), (0.2, 24.0, 1.0, 20.0), (42.0, 24.0, 1.0, 20.0), (3.3, 25.0, 1.0, 20.0),
    (1.01, 24.0, 1.0, 1.02), (7.77, 30.0, 2.0, 10.0), (1.0, 24.0, 1.0, 20.0),
]


def _floats(t: torch.Tensor) -> list[float]:
    return [float(f"{v:.8g}") for v in t.detach().float().reshape(-1).tolist()]


def files(folder: Path) -> tuple[Path, Path, Path]:
    """(text-encoder file, connector file, duration-head file) built by our demo writers."""
    from ltx_model.demo.ltx25_text import write_connector_file, write_duration_head, write_gemma4_text_encoder

    return (write_gemma4_text_encoder(folder / "te.safetensors", seed=0),
            write_connector_file(folder / "conn.safetensors", seed=0),
            write_duration_head(folder / "dh.safetensors", seed=0))


def reference_text(te: Path, conn: Path) -> dict:
    """HEAD: Gemma 4 hidden states -> EmbeddingsProcessor (FeatureExtractorV2 + connectors), per prompt."""
    from ltx_core.loader.single_gpu_model_builder import SingleGPUModelBuilder
    from ltx_core.text_encoders.gemma.encoders import encoder_configurator as ec
    from ltx_core.text_encoders.gemma.gemma_assets import (
        GemmaAssets,
        build_gemma_hf_tokenizer,
        resolve_gemma_weight_paths,
    )
    from ltx_core.text_encoders.gemma.tokenizer import LTXGemmaTokenizer

    sd_ops, module_ops = ec.get_gemma_ops(str(te))
    module_ops = tuple(op for op in module_ops if op.name != "ProcessorLoad")  # enhancement only
    encoder = SingleGPUModelBuilder(
        model_path=resolve_gemma_weight_paths(str(te)),
        model_class_configurator=ec.GemmaTextEncoderConfigurator.with_gemma_model_path(str(te)),
        model_sd_ops=sd_ops, module_ops=module_ops,
    ).build(device=torch.device("cpu"), dtype=torch.float32).eval()
    encoder.tokenizer = LTXGemmaTokenizer(build_gemma_hf_tokenizer(GemmaAssets.load(str(te))), MAX_TOKENS)
    processor = SingleGPUModelBuilder(
        model_path=(str(conn), str(te)),
        model_class_configurator=ec.EmbeddingsProcessorConfigurator.with_gemma_model_path(str(te)),
        model_sd_ops=ec.EMBEDDINGS_PROCESSOR_KEY_OPS,
    ).build(device=torch.device("cpu"), dtype=torch.float32).eval()
    out: dict = {"input_ids": [], "video": [], "audio": [], "mask": []}
    with torch.no_grad():
        for prompt in PROMPTS:
            ids = [t for t, _ in encoder.tokenizer.tokenize_with_weights(prompt)["gemma"]]
            (hidden, mask), = encoder.encode([prompt])
            result = processor.process_hidden_states(hidden, mask)
            out["input_ids"].append([int(i) for i in ids])
            out["video"].append(_floats(result.video_encoding))
            out["audio"].append(_floats(result.audio_encoding))
            out["mask"].append([int(v) for v in result.attention_mask.reshape(-1).tolist()])
    return out


def reference_duration(dh: Path, text: dict) -> dict:
    """HEAD DurationHead on prompt 0's contexts (both / video / audio), and the seconds -> frames rule."""
    from ltx_core.duration_head import DURATION_HEAD_KEY_OPS, DurationHeadConfigurator
    from ltx_core.loader.single_gpu_model_builder import SingleGPUModelBuilder
    from ltx_pipelines.utils.helpers import seconds_to_clamped_num_frames

    head = SingleGPUModelBuilder(model_path=str(dh), model_class_configurator=DurationHeadConfigurator,
                                 model_sd_ops=DURATION_HEAD_KEY_OPS).build(device=torch.device("cpu"),
                                                                            dtype=torch.float32).eval()
    video = torch.tensor(text["video"][0]).view(1, MAX_TOKENS, -1)
    audio = torch.tensor(text["audio"][0]).view(1, MAX_TOKENS, -1)
    with torch.no_grad():
        seconds = {"both": _floats(head(video, audio)), "video": _floats(head(video, None)),
                   "audio": _floats(head(None, audio))}
    frames = [seconds_to_clamped_num_frames(s, frame_rate=fps, min_frames=round(lo * fps), max_frames=round(hi * fps))
              for s, fps, lo, hi in FRAME_CASES]
    return {"seconds": seconds, "frame_cases": FRAME_CASES, "frames": frames}


def reference_ancestral() -> dict:
    """HEAD ``EulerAncestralDiffusionStep`` on fixed tensors and ``euler_ancestral_denoising_loop`` on two states."""
    from ltx25_text_cases import ancestral_step_inputs, loop_sigmas, loop_states, stand_in_x0
    from ltx_core.components.diffusion_steps import EulerAncestralDiffusionStep
    from ltx_core.types import LatentState as RefState
    from ltx_pipelines.utils.samplers import euler_ancestral_denoising_loop
    from ltx_pipelines.utils.types import DenoisedLatentResult

    sample, denoised, noise, sigmas = ancestral_step_inputs()
    steps = {}
    for eta, s_noise in ETA_CASES:
        stepper = EulerAncestralDiffusionStep(eta=eta, s_noise=s_noise)
        steps[f"{eta}_{s_noise}"] = [_floats(stepper.step(sample, denoised, sigmas, i, noise=noise))
                                     for i in range(len(sigmas) - 1)]

    def denoiser(_transformer: object, video: RefState, audio: RefState, sigmas: torch.Tensor, i: int) -> tuple:
        return (DenoisedLatentResult(stand_in_x0(video.latent, sigmas[i])),
                DenoisedLatentResult(stand_in_x0(audio.latent, sigmas[i])))

    loops = {}
    for dtype_name in ("float32", "bfloat16"):
        dtype = getattr(torch, dtype_name)
        video, audio = (RefState(latent=s.latent.clone(), denoise_mask=s.denoise_mask.clone(),
                                 positions=s.positions.clone(), clean_latent=s.clean_latent.clone())
                        for s in loop_states(dtype))
        for eta in (1.0, 0.5):
            v, a = euler_ancestral_denoising_loop(loop_sigmas(), replace(video), replace(audio),
                                                  EulerAncestralDiffusionStep(eta=eta), None, denoiser,
                                                  noise_seed=1234, model_dtype=dtype)
            loops[f"{dtype_name}_{eta}"] = {"video": _floats(v.latent), "audio": _floats(a.latent)}
    return {"steps": steps, "loops": loops}


def main() -> None:
    if "OpenImageIO" not in sys.modules:
        try:
            import OpenImageIO  # noqa: F401
        except ImportError:
            sys.modules["OpenImageIO"] = types.ModuleType("OpenImageIO")
    import ltx_core

    if "ltx-core/src" not in ltx_core.__file__:
        raise SystemExit(f"ltx_core from {ltx_core.__file__}: put HEAD's packages/ltx-core/src first on PYTHONPATH")
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        te, conn, dh = files(Path(tmp))
        text = reference_text(te, conn)
        duration = reference_duration(dh, text)
    golden = {"source": "Lightricks/LTX-2 main @400fd31 (ltx-core 1.2.x)", "prompts": PROMPTS,
              "max_tokens": MAX_TOKENS, "text": text, "duration": duration, "ancestral": reference_ancestral()}
    OUT.write_text(json.dumps(golden, separators=(",", ":")))
    sys.stdout.write(f"wrote {OUT} ({OUT.stat().st_size} bytes)\n")


if __name__ == "__main__":
    main()
