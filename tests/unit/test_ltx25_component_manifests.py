"""Real-size LTX-2.5 split files other than the transformer and the video VAE: audio VAE + vocoder, spatial and
temporal x2 upscalers, duration head and the Gemma 4 text-encoder file (its text projection; the manifest says why
the language-model keys are left out). Each manifest (``tests/data/<name>.json``, every key, shape, storage dtype
and the metadata) is derived from Lightricks' module definitions with the published configs by
``tests/data/golden/ltx25_components_manifest.py`` (ltx-core HEAD, Lightricks/LTX-2 main @400fd31).

A sparse real-size file built from each manifest (exact header, data a hole) is detected (family, ``FilePart``) and
validated from its header with a peak RSS far below its size; a folder of all seven 2.5 parts in the ComfyUI layout
is detected and validated as one LTX-2.5 model by ``python -m ltx_model.inspect``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ltx_model.demo import write_sparse_checkpoint
from ltx_model.duration import load_duration_head
from ltx_model.inspect import current_rss_bytes, peak_rss_bytes, reset_peak_rss
from ltx_model.loading import Family, read_header, write_safetensors
from ltx_model.loading.build import build_component
from ltx_model.loading.detect import FilePart, detect
from ltx_model.text import LTX25_GEMMA_VERSION, TextConfig, check_text_projection, text_config_for_gemma
from ltx_model.text.gemma import read_gemma_config
from ltx_model.text.gemma_version import SOURCE_KEY, VERSION_KEY

DATA = Path(__file__).resolve().parents[1] / "data"
REPO = Path(__file__).resolve().parents[2]
MiB = 2**20


def _manifest(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


def _write(name: str, folder: Path) -> tuple[Path, int]:
    """The sparse real-size file of manifest ``name`` under ``folder`` (named like the published file)."""
    manifest = _manifest(name)
    path = folder / manifest["file_names"][0]
    path.parent.mkdir(parents=True, exist_ok=True)
    return path, write_sparse_checkpoint(manifest, path, extra_metadata=manifest.get("metadata"))


def _check_components(path: Path) -> None:
    """Every component of the file built on meta from the header alone (strict keys and shapes)."""
    for component in detect(read_header(path)).components:
        model = build_component(path, component)
        assert all(p.is_meta for p in model.parameters())


def _check_text_encoder(path: Path) -> None:
    """The bundled projection against the 2.5 transformer's text config with the Gemma 4 widths of the file."""
    gemma = read_gemma_config(path)
    assert gemma["model_type"] == "gemma4_unified" and gemma["gemma_version"] == LTX25_GEMMA_VERSION
    transformer = _manifest("ltx-2.5-22b-transformer")["config"]["transformer"]
    found = check_text_projection(read_header(path), text_config_for_gemma(TextConfig.from_dict(transformer), gemma))
    assert found["video_aggregate_embed.weight"] == (4096, 3840 * 49)


def _check_duration_head(path: Path) -> None:
    """The duration head file is about 4 MB: its strict loader reads it whole (zeros here)."""
    head = load_duration_head(path)
    assert head.config.video_dim == 4096 and head.config.audio_dim == 2048


# manifest -> (part, family of the file on its own, header check, smallest real size in bytes)
CASES: dict[str, tuple[FilePart, Family, Callable[[Path], None], int]] = {
    "ltx-2.5-audio-vae": (FilePart.AUDIO_VAE, Family.LTX25, _check_components, 300 * MiB),
    "ltx-2.5-latent-spatial-upscaler-x2": (FilePart.UPSAMPLER, Family.LTX25, _check_components, 900 * MiB),
    "ltx-2.5-latent-temporal-upscaler-x2": (FilePart.UPSAMPLER, Family.LTX25, _check_components, 240 * MiB),
    "ltx-2.5-duration-head": (FilePart.DURATION_HEAD, Family.LTX25, _check_duration_head, 3 * MiB),
    # Alone, the text encoder is told LTX-2.5 by its Gemma 4 config (metadata gemma_config; its V2 projection
    # module alone is shared with 2.3).
    "gemma4-12b-with-proj-ltx-2.5": (FilePart.TEXT_ENCODER, Family.LTX25, _check_text_encoder, 2000 * MiB),
}


@pytest.mark.parametrize("name", list(CASES))
def test_ltx25_component_manifest_loads_by_header(tmp_path: Path, name: str) -> None:
    part, family, check, min_size = CASES[name]
    path, size = _write(name, tmp_path)
    assert size == path.stat().st_size > min_size
    info = detect(read_header(path))
    assert (info.part, info.family, info.warnings) == (part, family, ())
    assert reset_peak_rss()  # Linux: the peak below covers the check alone
    before = current_rss_bytes()
    check(path)
    growth = peak_rss_bytes() - before
    assert growth < max(size // 10, 32 * MiB), f"peak RSS +{growth / MiB:.0f} MiB for a {size / MiB:.0f} MiB file"


def test_ltx25_upscaler_manifests_are_the_published_x2_pair() -> None:
    spatial = _manifest("ltx-2.5-latent-spatial-upscaler-x2")
    temporal = _manifest("ltx-2.5-latent-temporal-upscaler-x2")
    assert (spatial["config"]["mid_channels"], spatial["config"]["spatial_scale"]) == (1024, 2.0)
    assert (temporal["config"]["mid_channels"], temporal["config"]["temporal_upsample"]) == (512, True)
    assert spatial["tensors"]["upsampler.0.weight"] == [4096, 1024, 3, 3]
    assert temporal["tensors"]["upsampler.0.weight"] == [1024, 512, 3, 3, 3]


def _write_folder(folder: Path) -> int:
    """All seven 2.5 parts, sparse and real-size, in ComfyUI's folder layout; returns their total size."""
    source = {SOURCE_KEY: json.dumps({VERSION_KEY: LTX25_GEMMA_VERSION})}
    transformer = _manifest("ltx-2.5-22b-transformer")
    (folder / "diffusion_models").mkdir()
    total = write_sparse_checkpoint(transformer, folder / "diffusion_models" / transformer["file_names"][1],
                                    extra_metadata=source)
    vae = _manifest("ltx-2.5-video-vae")
    (folder / "vae").mkdir()
    total += write_safetensors(folder / "vae" / vae["file_names"][0],
                               {k: (dtype, tuple(shape)) for k, (dtype, shape) in vae["tensors"].items()},
                               metadata={"config": json.dumps(vae["config"]), "model_version": vae["model_version"]})
    subfolders = {"ltx-2.5-audio-vae": "vae", "gemma4-12b-with-proj-ltx-2.5": "text_encoders",
                  "ltx-2.5-latent-spatial-upscaler-x2": "latent_upscale_models",
                  "ltx-2.5-latent-temporal-upscaler-x2": "latent_upscale_models", "ltx-2.5-duration-head": "."}
    return total + sum(_write(name, folder / sub)[1] for name, sub in subfolders.items())


def test_ltx25_real_size_split_folder_checks_by_header_with_low_rss(tmp_path: Path) -> None:
    total = _write_folder(tmp_path)
    snippet = ("import sys; from ltx_model.inspect import main, peak_rss_bytes; rc = main(sys.argv[1:]); "
               "print('PEAK_KB', peak_rss_bytes() // 1024); sys.exit(rc)")  # VmHWM: this process only
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", snippet, str(tmp_path)], capture_output=True, text=True, cwd=REPO,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "family: LTX-2.5 (from the transformer file)" in out and out.rstrip().splitlines()[-2] == "valid"
    listed = [line for line in out.splitlines() if line.startswith("  ") and ".safetensors (" in line]
    assert len(listed) == 7 and all(".safetensors (LTX-2.5;" in line for line in listed), listed
    for expected in ("  text encoder: ok (gemma_version and text projection checked", "  audio_vae: ok (102 tensors",
                     "  vocoder: ok (1227 tensors", "  duration head: ok", "  transformer: ok (4079 tensors"):
        assert expected in out, out
    assert out.count("  upsampler: ok (72 tensors") == 2
    peak = int(re.search(r"PEAK_KB (\d+)", out).group(1)) * 1024
    assert total > 45e9 and peak < 2e9  # far below the files' size
