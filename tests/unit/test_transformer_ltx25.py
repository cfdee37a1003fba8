"""LTX-2.5 transformer deltas: the four config switches, the modules they build, the real-size key set (manifest
derived from Lightricks' module definitions, ``tests/data/ltx-2.5-22b-transformer.json``) and a real-size sparse
file checked from its header with a peak RSS far below the file size."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import torch
from ltx25_transformer_cases import Case, case_inputs, ltx25_config, ltx25_section, random_transformer

from ltx_model.demo import manifest_tensors, write_sparse_checkpoint
from ltx_model.loading import Family, load_component, read_header, write_safetensors
from ltx_model.loading.detect import FilePart, detect
from ltx_model.transformer import LTXTransformer, ModelKind, TransformerConfig

DATA = Path(__file__).resolve().parent.parent / "data"
MANIFEST_25 = DATA / "ltx-2.5-22b-transformer.json"
PREFIX = "model.diffusion_model."
REPO = Path(__file__).resolve().parents[2]


def test_ltx25_config_reads_the_switches_and_old_files_keep_their_defaults(manifests_dir: Path) -> None:
    config = TransformerConfig.from_dict(ltx25_section())
    assert (config.ff_bias, config.audio_ff_bias, config.prompt_adaln, config.keyframes_embedding) == (
        False, True, False, True)
    assert config == TransformerConfig.tiny_25()
    for name in ("ltx-2-19b.json", "ltx-2.3-22b.json"):
        old = TransformerConfig.from_dict(json.loads((manifests_dir / name).read_text())["config"]["transformer"])
        assert (old.ff_bias, old.audio_ff_bias, old.prompt_adaln, old.keyframes_embedding) == (True, True, True, False)


def test_ltx25_modules_differ_from_ltx23_exactly_by_the_switches() -> None:
    keys_25 = set(LTXTransformer(TransformerConfig.tiny_25(), device="meta").state_dict())
    keys_23 = set(LTXTransformer(TransformerConfig.tiny_22b(), device="meta").state_dict())
    assert keys_25 - keys_23 == {"keyframes_abs_pos_embedding"}
    removed = keys_23 - keys_25
    video_ff_biases = {f"transformer_blocks.{i}.ff.net.{n}.bias" for i in range(2) for n in ("0.proj", 2)}
    prompt_mlp = {k for k in keys_23 if k.startswith(("prompt_adaln_single.", "audio_prompt_adaln_single."))}
    assert removed == video_ff_biases | prompt_mlp and prompt_mlp
    assert "transformer_blocks.0.prompt_scale_shift_table" in keys_25  # per-block prompt tables stay
    assert "transformer_blocks.0.audio_ff.net.2.bias" in keys_25  # audio_ff_bias stays true


def test_ltx25_keyframe_embedding_touches_only_flagged_tokens_and_prompt_path_ignores_sigma() -> None:
    config = ltx25_config(ModelKind.VIDEO_ONLY)
    model = random_transformer(config)
    video, _ = case_inputs(config, Case(keyframe_slots=1))
    plain = dataclasses.replace(video, keyframes_mask=None)
    with torch.no_grad():
        marked, _ = model(video, None)
        unmarked, _ = model(plain, None)
        model.keyframes_abs_pos_embedding.zero_()  # a zero embedding is an exact no-op
        zeroed, _ = model(video, None)
    assert torch.equal(zeroed, unmarked)
    assert (marked - unmarked).abs().max() > 1e-3
    # without the prompt AdaLN MLP nothing reads Modality.sigma in a video-only model (K/V are cacheable)
    with torch.no_grad():
        other_sigma, _ = model(dataclasses.replace(plain, sigma=plain.sigma * 0.1), None)
    assert torch.equal(other_sigma, unmarked)


def test_ltx25_audio_only_build_leaves_out_the_keyframe_embedding(tmp_path: Path) -> None:
    config = ltx25_config()
    model = random_transformer(config)
    path = tmp_path / "ltx-2.5-22b-dev-transformer-bf16.safetensors"
    write_safetensors(path, {PREFIX + k: v for k, v in model.state_dict().items()},
                      metadata={"config": json.dumps({"transformer": ltx25_section()}), "model_version": "2.5.0"})
    audio_only = load_component(path, "transformer", kind="AUDIO_ONLY", dtype=torch.float32)
    assert audio_only.config.kind is ModelKind.AUDIO_ONLY
    assert not hasattr(audio_only, "keyframes_abs_pos_embedding")
    assert not audio_only.config.prompt_adaln  # read from the file for every kind
    _, audio = case_inputs(config, Case())
    with torch.no_grad():
        torch.testing.assert_close(audio_only(None, audio)[1], model(None, audio)[1], atol=1e-6, rtol=1e-6)


# --- real size -----------------------------------------------------------------------------------------------------

def _manifest() -> dict:
    return json.loads(MANIFEST_25.read_text())


def test_ltx25_transformer_meta_build_matches_manifest() -> None:
    """Our 2.5 module definitions at the published config give exactly the keys and shapes Lightricks' give."""
    data = _manifest()
    config = TransformerConfig.from_dict(data["config"]["transformer"])
    model = LTXTransformer(config, dtype=torch.bfloat16, device="meta")
    ours = {PREFIX + name: list(t.shape) for name, t in model.state_dict().items()}
    expected = {k: v for k, v in manifest_tensors(data).items() if "embeddings_connector." not in k}
    assert sorted(set(expected) ^ set(ours))[:20] == []
    assert [k for k in ours if ours[k] != expected[k]] == []
    # the 2.3 count minus the video FF biases and the prompt AdaLN MLPs, plus the keyframe embedding
    assert config.num_layers == 48 and len(ours) == 4186 - 2 * 48 - 12 + 1


def _run_inspect(*args: str) -> subprocess.CompletedProcess[str]:
    snippet = ("import sys; from ltx_model.inspect import main, peak_rss_bytes; rc = main(sys.argv[1:]); "
               "print('PEAK_KB', peak_rss_bytes() // 1024); sys.exit(rc)")  # VmHWM: this process only
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", snippet, *args], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=300)


def test_ltx25_real_size_sparse_transformer_file_checks_by_header_with_low_rss(tmp_path: Path) -> None:
    path = tmp_path / "ltx-2.5-22b-distilled-transformer-bf16.safetensors"
    write_sparse_checkpoint(_manifest(), path)
    info = detect(read_header(path))
    assert (info.family, info.part, info.variant.value) == (Family.LTX25, FilePart.TRANSFORMER, "distilled")
    assert info.warnings == ()  # the 2.3 markers a 2.5 file carries are not conflicts
    result = _run_inspect(str(path))
    assert result.returncode == 0, result.stderr
    assert "family: LTX-2.5 (metadata model_version 2.5.0)" in result.stdout
    assert "part: transformer" in result.stdout and "  transformer: ok (4079 tensors" in result.stdout
    peak = int(re.search(r"PEAK_KB (\d+)", result.stdout).group(1)) * 1024
    assert path.stat().st_size > 40e9 and peak < 2e9  # far below the file size
