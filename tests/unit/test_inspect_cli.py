"""Inspector CLI: accepts real-size sparse checkpoints with low RSS, rejects bad files with exit 1 and one line."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from loading_fixtures import available_components, tiny_config, tiny_state

from ltx_model.demo import write_sparse_checkpoint
from ltx_model.inspect import main
from ltx_model.loading.safetensors_io import write_safetensors

REPO = Path(__file__).resolve().parents[2]
AVAILABLE = ",".join(c.value for c in available_components())
PEAK_SNIPPET = (
    "import sys; from ltx_model.inspect import main, peak_rss_bytes; rc = main(sys.argv[1:]); "
    "print('PEAK_KB', peak_rss_bytes() // 1024); sys.exit(rc)"  # VmHWM: this process only
)


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, "-c", PEAK_SNIPPET, *args]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)


@pytest.fixture(scope="module")
def sparse_22b(tmp_path_factory: pytest.TempPathFactory, manifests_dir: Path) -> Path:
    path = tmp_path_factory.mktemp("sparse") / "ltx-2.3-22b-dev.safetensors"
    write_sparse_checkpoint(json.loads((manifests_dir / "ltx-2.3-22b.json").read_text()), path)
    return path


def test_inspect_accepts_real_size_sparse_checkpoint_and_loads_with_low_rss(sparse_22b: Path) -> None:
    """Validates every available component from the header; --load vocoder reads 0.26 GB: peak <= 1.2x its size."""
    result = _run(str(sparse_22b), "--components", AVAILABLE, "--load", "vocoder")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in ("kind: model checkpoint", "family: LTX-2.3 (22B)", "variant: dev", "storage dtype: bf16"):
        assert line in out
    assert "components: transformer, connectors, text_projection, video_vae, audio_vae, vocoder" in out
    for component in available_components():
        assert f"  {component.value}: ok (" in out
    process_peak = int(re.search(r"PEAK_KB (\d+)", out).group(1)) * 1024
    assert process_peak < 2e9 < sparse_22b.stat().st_size / 20  # far below the 46 GB file
    match = re.search(r"loaded vocoder: 0\.129 B parameters, ([\d.]+) GB on cpu", out)
    assert match, out
    above = float(re.search(r"peak above that ([\d.]+) GB", out).group(1))
    assert above <= 1.2 * float(match.group(1))


def test_inspect_load_tiny_checkpoint_in_process(
    tmp_path: Path, manifests_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tiny_config(manifests_dir)
    path = tmp_path / "tiny.safetensors"
    write_safetensors(path, tiny_state(config), metadata={"config": json.dumps(config)})
    for component in available_components():
        assert main([str(path), "--load", component.value, "--dtype", "fp32"]) == 0
        out = capsys.readouterr().out
        assert (
            f"loaded {component.value}: " in out
            and "peak RSS while loading: " in out
            and out.rstrip().endswith("valid")
        )


def _bad_files(tmp: Path, manifests_dir: Path) -> dict[str, Path]:
    manifest = json.loads((manifests_dir / "ltx-2.3-22b.json").read_text())
    key = "model.diffusion_model.video_embeddings_connector.learnable_registers"
    files = {name: tmp / f"{name}.safetensors" for name in ("renamed", "prefix", "truncated", "corrupt", "garbage")}
    write_sparse_checkpoint(manifest, files["renamed"], rename={key: key + "_old"})
    write_sparse_checkpoint(
        manifest, files["prefix"], rename={"vocoder.vocoder.conv_pre.weight": "voc.conv_pre.weight"}
    )
    size = write_sparse_checkpoint(manifest, files["truncated"])
    os.truncate(files["truncated"], size - 1)
    write_sparse_checkpoint(manifest, files["corrupt"])
    with open(files["corrupt"], "r+b") as f:
        f.seek(40)
        f.write(b"\x00\xff}{")
    files["garbage"].write_bytes(os.urandom(4096))
    files["pickle"] = tmp / "model.ckpt"
    files["pickle"].write_bytes(pickle.dumps({"state_dict": {}}))
    files["zip"] = tmp / "model.safetensors"
    torch.save({"w": torch.ones(2)}, files["zip"])
    return files


EXPECTED_ERRORS = {
    "renamed": "missing key(s): model.diffusion_model.video_embeddings_connector.learnable_registers",
    "prefix": "belong to no component: voc.conv_pre.weight",
    "truncated": "truncated file",
    "corrupt": "corrupt safetensors header",
    "garbage": "not a safetensors file",
    "pickle": "safetensors only",
    "zip": "safetensors only",
}


def test_inspect_rejects_bad_files_with_one_line(
    tmp_path: Path, manifests_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, path in _bad_files(tmp_path, manifests_dir).items():
        assert main([str(path), "--components", "connectors"]) == 1, name
        captured = capsys.readouterr()
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, captured.err)
        assert EXPECTED_ERRORS[name] in lines[0], (name, lines[0])
        assert captured.out == ""


def test_inspect_missing_path_is_one_clean_usage_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "does-not-exist.safetensors"
    assert main([str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: no such file or folder: {missing}\n" and captured.out == ""


def test_inspect_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "python -m ltx_model.inspect" in out and "--load" in out
    assert "``" not in out and ":func:" not in out


def test_inspect_tiny_model_parameter_counts_are_not_zero(
    tmp_path: Path, manifests_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tiny_config(manifests_dir)
    path = tmp_path / "tiny.safetensors"
    write_safetensors(path, tiny_state(config), metadata={"config": json.dumps(config)})
    assert main([str(path)]) == 0
    counts = re.findall(r"ok \(\d+ tensors, (.+?) parameters", capsys.readouterr().out)
    assert counts and not [c for c in counts if re.fullmatch(r"0\.0+ [BM]", c)], counts


def test_inspect_subprocess_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00" + b"not json at all!")
    result = _run(str(path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")


def test_inspect_lora_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ic.safetensors"
    tensors = {
        "diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(8, 4096),
        "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(4096, 8),
    }
    write_safetensors(path, tensors, metadata={"reference_downscale_factor": "2"})
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "kind: LoRA" in out and "lora: IC-LoRA, rank 8, 1 layers" in out
    assert "reference_downscale_factor: 2" in out
    tensors["diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight"] = torch.zeros(4096, 4)
    write_safetensors(path, tensors)
    assert main([str(path)]) == 1
    assert "do not pair up" in capsys.readouterr().err


UPSAMPLERS = {
    "latent-upscaler-spatial-x2.json": "spatial x2",
    "latent-upscaler-spatial-x1.5.json": "spatial x1.5",
    "latent-upscaler-temporal-x2-ltx2.5.json": "temporal x2",
}


@pytest.mark.parametrize("manifest", sorted(UPSAMPLERS))
def test_inspect_accepts_real_size_upsampler_files(
    tmp_path: Path, manifests_dir: Path, manifest: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "upsampler.safetensors"
    write_sparse_checkpoint(json.loads((manifests_dir / manifest).read_text()), path)
    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "kind: latent upsampler" in out and f"upsampler: {UPSAMPLERS[manifest]}" in out
    assert "  upsampler: ok (" in out
