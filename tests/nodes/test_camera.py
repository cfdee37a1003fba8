"""Camera-control LoRA loader (preset listing, 19B-only incompatibility error) and the LoRA stack with separate
video / audio strengths, in the real host."""

from __future__ import annotations

import pytest

from ltx_model.demo import DemoFamily
from scripts.workflow_models import write_demo_lora

pytestmark = pytest.mark.comfy


@pytest.fixture(scope="module")
def camera_lora(comfy_host, pack_nodes):
    name = pack_nodes.camera.preset_file("dolly-left")
    write_demo_lora(comfy_host.model_dir("loras") / "ltxv" / name, DemoFamily.LTX2, seed=3)
    return f"ltxv/{name}"


def test_lora_camera_presets_listed_when_present(pack_nodes, camera_lora, monkeypatch):
    camera = pack_nodes.camera
    options = camera.camera_options()
    assert camera_lora in options
    # Only preset files are listed, in preset order (other tests may have put more presets in the shared folder).
    order = [camera.preset_file(p) for p in camera.CAMERA_PRESETS]
    ranks = [order.index(option.rsplit("/", 1)[-1]) for option in options]
    assert ranks == sorted(ranks)
    monkeypatch.setattr(camera, "model_files", lambda folder: ["other.safetensors"])
    assert camera.camera_options() == [camera.preset_file(p) for p in camera.CAMERA_PRESETS]
    assert "download it from" in camera.camera_problem(camera.preset_file("jib-up"))


def test_lora_camera_applies_on_19b(pack_nodes, demo_models, camera_lora):
    model = demo_models["19b-distilled"]
    patched = pack_nodes.camera.LTX2NCameraLoraLoader.execute(model, camera_lora, 1.0).result[0]
    assert patched.patches and model.patches == {}


def test_lora_camera_19b_on_22b_is_incompatible(pack_nodes, demo_models, camera_lora):
    with pytest.raises(ValueError, match=r"camera-control LoRA for LTX-2 \(19B\).*model is LTX-2.3 \(22B\)"):
        pack_nodes.camera.LTX2NCameraLoraLoader.execute(demo_models["2.3-dev"], camera_lora, 1.0)


def test_lora_stack_video_and_audio_strengths_by_key(comfy_host, pack_nodes, demo_models):
    model = demo_models["2.3-dev"]
    write_demo_lora(comfy_host.model_dir("loras") / "ltx2n-stack-2.3.safetensors", DemoFamily.LTX23, seed=4)
    slots = {"lora_1": "ltx2n-stack-2.3.safetensors", "video_strength_1": 0.8, "audio_strength_1": 0.3,
             "lora_2": "None", "video_strength_2": 1.0, "audio_strength_2": 1.0,
             "lora_3": "None", "video_strength_3": 1.0, "audio_strength_3": 1.0}
    patched = pack_nodes.camera.LTX2NLoraStack.execute(model, **slots).result[0]
    strengths = {key.removeprefix("diffusion_model.transformer_blocks.0."): patches[0][0]
                 for key, patches in patched.patches.items() if ".0." in key}
    assert strengths["attn1.to_q.weight"] == 0.8 and strengths["ff.net.2.weight"] == 0.8
    assert strengths["audio_to_video_attn.to_q.weight"] == 0.8  # writes into the video stream
    assert strengths["audio_attn1.to_q.weight"] == 0.3 and strengths["audio_ff.net.2.weight"] == 0.3
    assert strengths["video_to_audio_attn.to_q.weight"] == 0.3  # writes into the audio stream
    assert model.patches == {}
    with pytest.raises(ValueError, match=r"but the model is LTX-2 \(19B\)"):
        pack_nodes.camera.LTX2NLoraStack.execute(demo_models["19b-distilled"], **slots)
