"""Mixed LTX generations refused before any heavy work, with one message naming the node, the file and the fix:

* a VAE of the other generation than the MODEL in every node that sees both (Image to Video, First-Last Frame,
  Keyframes, Extend Clip, Retake: video and audio VAE), checked before anything is encoded;
* a VAE of the other generation than the latent's version tag where no MODEL is connected (Audio to Video, the
  IC-LoRA guide, the upscalers); Image to Video tags its latent with the connected model's version, so a later
  node sees it;
* a latent upscaler of the other generation than the latent's tag (or, untagged, the VAE): its header's
  ``model_version``, else its file name;
* the LoRA loaders' messages name the node.

Real tiny files through the real loaders: the 2.3 dev demo checkpoint (model, video and audio VAE), LTX-2.5 split
VAEs (``ltx_model.demo.ltx25_vae`` / ``ltx25``) and upscalers (``write_demo_ltx25_upscaler``), the demo upscaler
copied under an LTX-2.3 name."""

from __future__ import annotations

import shutil

import pytest
import torch
from node_support import prompt

from ltx_model.demo.ltx25 import write_demo_ltx25_audio_vae, write_demo_ltx25_upscaler
from ltx_model.demo.ltx25_vae import write_demo_ltx25_video_vae

pytestmark = pytest.mark.comfy

VAE25 = "ltx-2.5-video-vae-conv-family.safetensors"
AUDIO25 = "ltx-2.5-audio-vae-family.safetensors"
UP25 = "ltx-2.5-latent-spatial-upscaler-x2-family.safetensors"
UP23 = "ltx-2.3-spatial-upscaler-x2-family.safetensors"
SIZE, FRAMES, FPS = 64, 9, 24.0
OLD = "LTX-2 / LTX-2.3"


@pytest.fixture(scope="module")
def parts(comfy_host, pack_nodes, demo_files, demo_models):
    """``{"model": 2.3 MODEL, "vae23", "audio23", "vae25", "audio25": VAEs}`` loaded by the pack's loaders."""
    folder = comfy_host.model_dir("vae")
    write_demo_ltx25_video_vae(folder / VAE25, seed=21, conv=True)
    write_demo_ltx25_audio_vae(folder / AUDIO25, seed=22, dtype=torch.float32)
    video, audio = pack_nodes.vae.LTX2NVideoVAELoader.execute, pack_nodes.audio.LTX2NAudioVAELoader.execute
    return {"model": demo_models["2.3-dev"], "vae23": video(vae_name=demo_files.ltx23_dev).result[0],
            "audio23": audio(vae_name=demo_files.ltx23_dev).result[0], "vae25": video(vae_name=VAE25).result[0],
            "audio25": audio(vae_name=AUDIO25).result[0]}


def _image(seed: int = 0) -> torch.Tensor:
    return torch.rand(1, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(seed))


def _av(pack_nodes) -> dict:
    return pack_nodes.latents.LTX2NEmptyAVLatent.execute(SIZE, SIZE, FRAMES, FPS, 1).result[0]


def _never(what: str):
    def fail(*_a, **_k):
        pytest.fail(f"{what} ran despite the generation mismatch")
    return fail


def _vae_message(node: str, file: str, kind: str = "video", what: str = "the model") -> str:
    return (rf"^{node} \(LTX-2\): the {kind} VAE {file} is an LTX-2.5 VAE, but {what} is LTX-2 / LTX-2.3 "
            rf"\(model_version 2\.3[.0-9]*\).*Load the {kind} VAE of the LTX-2 / LTX-2.3 checkpoint")


def test_family_conditioning_nodes_refuse_the_vae_before_encoding(pack_nodes, parts, monkeypatch):
    cond = pack_nodes.conditioning
    monkeypatch.setattr(cond, "encode_frame", _never("the image encode"))
    pos, model, vae25 = prompt(parts["model"], 1), parts["model"], parts["vae25"]
    with pytest.raises(ValueError, match=_vae_message("Image to Video", VAE25)):
        cond.LTX2NImageToVideo.execute(vae25, _image(), _av(pack_nodes), 1.0, -1, model=model)
    with pytest.raises(ValueError, match=_vae_message("First-Last Frame", VAE25)):
        cond.LTX2NFirstLastFrame.execute(pos, pos, vae25, _av(pack_nodes), _image(), _image(1), 1.0, 1.0, -1,
                                         model=model)
    with pytest.raises(ValueError, match=_vae_message("Keyframes", VAE25)):
        pack_nodes.temporal_modes.LTX2NKeyframes.execute(pos, pos, vae25, _av(pack_nodes), -1, model=model,
                                                         image_1=_image(), frame_idx_1=0, strength_1=1.0)
    tagged = pack_nodes.latent_formats.tag_latent(_av(pack_nodes), "2.3.0")  # no model: the latent's tag decides
    with pytest.raises(ValueError, match=_vae_message("Image to Video", VAE25, what="the latent")):
        cond.LTX2NImageToVideo.execute(vae25, _image(), tagged, 1.0, -1)


def test_family_same_generation_encodes_and_tags_the_latent(pack_nodes, parts):
    cond, key = pack_nodes.conditioning, pack_nodes.latent_formats.LATENT_VERSION_KEY
    version = pack_nodes.sampling.model_version(parts["model"])
    assert version.startswith("2.3")
    out = cond.LTX2NImageToVideo.execute(parts["vae23"], _image(), _av(pack_nodes), 1.0, 0,
                                         model=parts["model"]).result[0]
    assert out[key] == version and out["samples"].unbind()[0][:, :, :1].abs().max() > 0  # encoded, tagged
    assert cond.check_vae_family("X", parts["vae25"], latent=_av(pack_nodes)) is None  # nothing tells: no refusal
    assert cond.check_vae_family("X", parts["vae23"], model=parts["model"], latent=out) is None


def test_family_temporal_modes_refuse_video_and_audio_vae_before_the_source(pack_nodes, parts, monkeypatch):
    temporal = pack_nodes.temporal_modes
    monkeypatch.setattr(temporal, "clip_from_video", _never("reading the source"))
    model, pos = parts["model"], prompt(parts["model"], 2)
    sampling = {"seed": 5, "schedule": "distilled stage 1", "steps": 0, "guidance": "none"}
    extend = {"width": 0, "height": 0, "frames": 25, "direction": "forward", "frame_idx": -1, "strength": 1.0}
    with pytest.raises(ValueError, match=_vae_message("Extend Clip", VAE25)):
        temporal.LTX2NExtend.execute(model, pos, pos, parts["vae25"], parts["audio23"], None, **extend, **sampling)
    retake = {"width": 0, "height": 0, "frames": 0, "start_time": 0.1, "end_time": 0.2, "target": "video and audio"}
    with pytest.raises(ValueError, match=_vae_message("Retake", AUDIO25, kind="audio")):
        temporal.LTX2NRetake.execute(model, pos, pos, parts["vae23"], parts["audio25"], None, **retake, **sampling)


def test_family_audio_to_video_and_iclora_guide_read_the_latent_tag(pack_nodes, parts, monkeypatch):
    monkeypatch.setattr(pack_nodes.audio_modes, "encode_clip_audio", _never("the audio encode"))
    monkeypatch.setattr(pack_nodes.iclora, "reference_conditionings", _never("the reference encode"))
    conditioned = pack_nodes.conditioning.LTX2NImageToVideo.execute(  # tags the latent with the 2.3 model
        parts["vae23"], _image(), _av(pack_nodes), 1.0, 0, model=parts["model"]).result[0]
    sound = {"waveform": torch.zeros(1, 2, 16000), "sample_rate": 16000}
    with pytest.raises(ValueError, match=_vae_message("Audio to Video", AUDIO25, kind="audio", what="the latent")):
        pack_nodes.audio_modes.LTX2NAudioToVideo.execute(parts["audio25"], sound, conditioned, FPS)
    pos = prompt(parts["model"], 3)
    reference = torch.rand(FRAMES, SIZE, SIZE, 3, generator=torch.Generator().manual_seed(4))
    with pytest.raises(ValueError, match=_vae_message("IC-LoRA Reference Guide", VAE25, what="the latent")):
        pack_nodes.iclora.LTX2NICLoraGuide.execute(pos, pos, parts["vae25"], conditioned, reference, 1, 1.0, 1.0)


@pytest.fixture(scope="module")
def upscalers(comfy_host, pack_nodes, demo_files):
    """``{"2.5": header model_version 2.5.0, "2.3": the demo upscaler (no version) under an LTX-2.3 name}``."""
    folder = comfy_host.model_dir("latent_upscale_models")
    write_demo_ltx25_upscaler(folder / UP25, dtype=torch.float32)
    shutil.copy(folder / demo_files.upscaler, folder / UP23)
    load = pack_nodes.upscale.LTX2NUpscalerLoader.execute
    return {"2.5": load(UP25).result[0], "2.3": load(UP23).result[0], "unknown": load(demo_files.upscaler).result[0]}


def test_family_upscaler_origin_from_header_then_file_name(comfy_host, pack_nodes, upscalers, demo_files):
    folder, origin = comfy_host.model_dir("latent_upscale_models"), pack_nodes.upscale.upscaler_origin
    assert origin(str(folder / UP25)).model_version == "2.5.0"
    assert origin(str(folder / UP23)).model_version == "2.3"
    assert origin(str(folder / demo_files.upscaler)).model_version is None


def test_family_upscale_nodes_refuse_vae_and_upscaler_of_the_other_generation(pack_nodes, parts, upscalers,
                                                                              monkeypatch):
    up = pack_nodes.upscale
    monkeypatch.setattr(up, "upscale_video", _never("the upscale"))
    tagged = pack_nodes.latent_formats.tag_latent(_av(pack_nodes), "2.3.0")
    with pytest.raises(ValueError, match=_vae_message("Upscale Latent x2", VAE25, what="the latent")):
        up.LTX2NUpscaleLatent.execute(tagged, upscalers["unknown"], parts["vae25"])
    with pytest.raises(ValueError, match=rf"^Upscale Latent x2 \(LTX-2\): the latent upscaler {UP25} is an LTX-2.5 "
                                         rf"upscaler, but the latent is {OLD} \(model_version 2.3.0\).*"
                                         r"Load the LTX-2 / LTX-2.3 upscaler \(models/latent_upscale_models\)"):
        up.LTX2NUpscaleLatent.execute(tagged, upscalers["2.5"], parts["vae23"])
    untagged = _av(pack_nodes)  # no tag: the upscaler is compared with the VAE
    with pytest.raises(ValueError, match=rf"the latent upscaler {UP23} is an {OLD} upscaler, but the VAE {VAE25} is "
                                         r"LTX-2.5 \(model_version 2\.5[.0-9]*\).*Load the LTX-2.5 upscaler"):
        up.LTX2NUpscaleLatent.execute(untagged, upscalers["2.3"], parts["vae25"])
    monkeypatch.undo()
    out = up.LTX2NUpscaleLatent.execute(tagged, upscalers["2.3"], parts["vae23"]).result[0]  # same generation
    assert out["samples"].unbind()[0].shape[-2:] == (2 * (SIZE // 32), 2 * (SIZE // 32))


def test_family_lora_loader_messages_name_the_node(comfy_host, pack_nodes, parts):
    from ltx_model.demo.ltx25 import write_demo_ltx25_lora

    loras = comfy_host.model_dir("loras")
    write_demo_ltx25_lora(loras / "ltx-2.5-family-lora.safetensors", dtype=torch.float32)
    with pytest.raises(ValueError, match=r"^Load LoRA \(LTX-2\): ltx-2.5-family-lora.safetensors is a LoRA for "
                                         r"LTX-2.5 .*but the model is LTX-2.3 \(22B\)"):
        pack_nodes.lora.LTX2NLoraLoader.execute(parts["model"], "ltx-2.5-family-lora.safetensors", 1.0)
    shutil.copy(comfy_host.model_dir("vae") / VAE25, loras / "family-not-a-lora.safetensors")
    for node in (pack_nodes.lora.LTX2NLoraLoader, pack_nodes.iclora.LTX2NICLoraLoader):
        message = node.validate_inputs("family-not-a-lora.safetensors")
        assert message.startswith(f"{node.DISPLAY_NAME}: family-not-a-lora.safetensors is not a LoRA"), message
        with pytest.raises(ValueError, match=rf"^{node.DISPLAY_NAME.replace('(', '.').replace(')', '.')}: "
                                             r"family-not-a-lora.safetensors is not a LoRA"):
            node.execute(parts["model"], "family-not-a-lora.safetensors", 1.0)
