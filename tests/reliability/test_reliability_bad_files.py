"""Bad model files through every loader node (in-process, the real executor) and through ltx_model.loading
directly: truncated / corrupt safetensors, pickle checkpoints (refused without ever being unpickled), a checkpoint
of another model, a LoRA of another family, Gemma folders with missing files. Each gives one clear error, and
nothing stays loaded half-way (model management holds no new model, no new module stays alive)."""

from __future__ import annotations

import json
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from rel_inprocess import extra_model_folder, host_outcome, live_modules, loaded_models, unclear_outcome

pytestmark = pytest.mark.reliability

GOOD = "rel-good-2.3.safetensors"
GOOD_19B = "rel-good-19b.safetensors"
COMPONENT_PREFIXES = ("model.diffusion_model.", "text_embedding_projection.", "vae.", "audio_vae.", "vocoder.")


class Canary:
    """Unpickling this creates the file named at pickling time: proof that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@dataclass(frozen=True)
class BadFiles:
    root: Path
    marker: Path

    def folder(self, kind: str) -> Path:
        return self.root / kind


def _write_header_only(path: Path, header: dict) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(len(raw).to_bytes(8, "little") + raw)


def _rewrite(source: Path, target: Path, edit) -> None:
    """Copy a safetensors file with its tensors / metadata changed by ``edit(tensors, metadata)``."""
    from safetensors import safe_open

    from ltx_model.loading import write_safetensors

    with safe_open(str(source), framework="pt") as handle:
        tensors = {k: handle.get_tensor(k) for k in handle.keys()}  # noqa: SIM118 (safe_open has no __iter__)
        metadata = dict(handle.metadata())
    edit(tensors, metadata)
    write_safetensors(target, tensors, metadata=metadata)


def _sd_like(path: Path) -> None:
    from ltx_model.loading import write_safetensors

    write_safetensors(path, {
        "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3),
        "model.diffusion_model.out.2.weight": torch.zeros(4, 8, 3, 3),
        "first_stage_model.decoder.conv_in.weight": torch.zeros(8, 4, 3, 3),
        "cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": torch.zeros(16, 8),
    })


def _bad_checkpoints(folder: Path, good: Path, marker: Path) -> None:
    data = good.read_bytes()
    (folder / "truncated.safetensors").write_bytes(data[: len(data) * 3 // 5])
    (folder / "header-garbage.safetensors").write_bytes((64).to_bytes(8, "little") + b"\xff\xfe" * 40)
    _write_header_only(folder / "offsets-out-of-file.safetensors",
                       {"x": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}})
    _rewrite(good, folder / "config-not-json.safetensors", lambda t, m: m.update(config="{not json"))
    keys = _keys(good)  # one tensor of every component (transformer, text projection, both VAEs, vocoder)
    firsts = [next(k for k in keys if k.startswith(prefix)) for prefix in COMPONENT_PREFIXES]
    _rewrite(good, folder / "missing-key.safetensors", lambda t, m: [t.pop(k) for k in firsts])
    _rewrite(good, folder / "wrong-shape.safetensors",
             lambda t, m: t.update({k: torch.zeros(t[k].numel() + 1) for k in firsts}))
    torch.save({"state_dict": {"w": torch.zeros(2)}, "canary": Canary(marker)}, folder / "pickled.ckpt")
    shutil.copy(folder / "pickled.ckpt", folder / "pickled-renamed.safetensors")
    (folder / "raw-pickle.safetensors").write_bytes(pickle.dumps(Canary(marker), protocol=2))
    _sd_like(folder / "sd-like.safetensors")


def _keys(path: Path) -> list[str]:
    from ltx_model.loading import read_header

    return read_header(path).keys()


def _bad_gemma(folder: Path, good: Path) -> None:
    for name, drop in (("gemma-no-tokenizer", ("tokenizer.json", "tokenizer.model")),
                       ("gemma-no-weights", ("model.safetensors",)), ("gemma-no-config", ("config.json",))):
        shutil.copytree(good, folder / name)
        for file in drop:
            (folder / name / file).unlink(missing_ok=True)
    shutil.copytree(good, folder / "gemma-truncated")
    weights = folder / "gemma-truncated" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:4096])


@pytest.fixture(scope="module")
def bad_files(comfy_host, tmp_path_factory):
    """Bad files in extra model folders of the in-process host (removed again after this module)."""
    from ltx_model.demo import DemoFamily, write_demo_checkpoint, write_demo_gemma
    from scripts.workflow_models import write_demo_lora

    root = tmp_path_factory.mktemp("rel_bad_files")
    files = BadFiles(root, root / "PICKLE-WAS-EXECUTED")
    checkpoints, loras, text = (files.folder(k) for k in ("checkpoints", "loras", "text_encoders"))
    for folder in (checkpoints, loras, text):
        folder.mkdir()
    good = write_demo_checkpoint(checkpoints / GOOD, DemoFamily.LTX23, dtype=torch.float32)
    _bad_checkpoints(checkpoints, good, files.marker)
    write_demo_checkpoint(checkpoints / GOOD_19B, DemoFamily.LTX2, dtype=torch.float32)
    write_demo_lora(loras / "lora-2.3.safetensors", DemoFamily.LTX23)  # has 2.3-only gated-attention layers
    from ltx_model.loading import write_safetensors

    write_safetensors(loras / "lora-misfit.safetensors", {  # right names, shapes of a bigger model
        "diffusion_model.transformer_blocks.0.attn1.to_q.lora_A.weight": torch.zeros(4, 64),
        "diffusion_model.transformer_blocks.0.attn1.to_q.lora_B.weight": torch.zeros(64, 4)})
    shutil.copy(checkpoints / "sd-like.safetensors", loras / "sd-like.safetensors")
    shutil.copy(checkpoints / "pickled.ckpt", loras / "pickled.ckpt")
    _bad_gemma(text, write_demo_gemma(root / "gemma-good"))
    with extra_model_folder("checkpoints", checkpoints), extra_model_folder("loras", loras), \
            extra_model_folder("text_encoders", text), extra_model_folder("vae", checkpoints), \
            extra_model_folder("latent_upscale_models", checkpoints):
        yield files
    assert not files.marker.exists(), "a pickle was unpickled (its canary file exists)"


BAD_CHECKPOINTS = ("truncated.safetensors", "header-garbage.safetensors", "offsets-out-of-file.safetensors",
                   "config-not-json.safetensors", "missing-key.safetensors", "wrong-shape.safetensors",
                   "pickled.ckpt", "pickled-renamed.safetensors", "raw-pickle.safetensors", "sd-like.safetensors")
FILE_LOADERS = (("LTX2NCheckpointLoader", "ckpt_name"), ("LTX2NVideoVAELoader", "vae_name"),
                ("LTX2NAudioVAELoader", "vae_name"), ("LTX2NUpscalerLoader", "upscaler_name"))


def _loader_prompt(node: str, inputs: dict) -> dict:
    return {"T": {"class_type": node, "inputs": inputs},
            "out": {"class_type": "PreviewAny", "inputs": {"source": ["T", 0]}}}


def _failures(host, cases: list[tuple[str, dict, tuple[str, ...]]]) -> list[str]:
    """Run ``(label, prompt, mentions)`` cases that must each fail with one clear error; returns what is wrong:
    unclear errors, a model left in model management, modules still alive after all of them failed."""
    modules, problems = live_modules(), []
    for label, prompt, mentions in cases:
        models = loaded_models()
        problem = unclear_outcome(host_outcome(host, prompt), mentions=mentions)
        if problem:
            problems.append(f"{label}: {problem}")
        elif loaded_models() != models:
            problems.append(f"{label}: model management holds a new model after the failure")
    if live_modules() > modules:
        problems.append(f"{live_modules() - modules} module(s) stayed alive after the failures")
    return problems


@pytest.mark.parametrize("name", BAD_CHECKPOINTS)
def test_reliability_bad_checkpoint_files_one_clear_error_per_loader(comfy_host, bad_files, name):
    problems = _failures(comfy_host, [(node, _loader_prompt(node, {key: name}), (name,)) for node, key in FILE_LOADERS])
    assert not problems, "\n".join(problems)


def test_reliability_bad_checkpoint_for_text_projection(comfy_host, bad_files):
    good_gemma = bad_files.root / "gemma-good"
    with extra_model_folder("text_encoders", bad_files.root / "good-te") as folder:
        shutil.copytree(good_gemma, folder / "gemma-ok")
        problems = _failures(comfy_host, [
            (name, _loader_prompt("LTX2NTextEncoderLoader", {"gemma": "gemma-ok/", "ckpt_name": name}), (name,))
            for name in BAD_CHECKPOINTS])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("gemma, says", [
    ("gemma-no-tokenizer/", "tokenizer"), ("gemma-no-weights/", "safetensors"), ("gemma-no-config/", "config"),
    ("gemma-truncated/", "model.safetensors")])
def test_reliability_gemma_folder_missing_files_one_clear_error(comfy_host, bad_files, gemma, says):
    prompt = _loader_prompt("LTX2NTextEncoderLoader", {"gemma": gemma, "ckpt_name": GOOD})
    problems = _failures(comfy_host, [(gemma, prompt, (says,))])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lora, says", [("lora-2.3.safetensors", "LTX-2.3"), ("lora-misfit.safetensors", "fit"),
                                        ("sd-like.safetensors", "LoRA"), ("pickled.ckpt", "pickle")])
def test_reliability_lora_of_another_model_refused(comfy_host, bad_files, lora, says):
    prompt = _loader_prompt("LTX2NLoraLoader", {"lora_name": lora, "strength": 1.0, "model": ["M", 0]})
    prompt["M"] = {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": GOOD_19B}}
    problems = _failures(comfy_host, [(lora, prompt, (says,))])
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", BAD_CHECKPOINTS)
def test_reliability_bad_files_refused_by_ltx_model_loading(bad_files, name):
    from ltx_model.loading import CheckpointError, Component, build_component, detect, load_component, read_header

    path = bad_files.folder("checkpoints") / name
    with pytest.raises(CheckpointError) as caught:
        header = read_header(path)
        assert detect(header).family.name == "UNKNOWN" or name != "sd-like.safetensors"
        for component in (Component.TRANSFORMER, Component.VIDEO_VAE):
            build_component(header, component)
            load_component(header, component)
    message = str(caught.value)
    del caught
    assert name in message and "\n" not in message.strip(), message
