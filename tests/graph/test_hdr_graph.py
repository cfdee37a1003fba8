"""The hdr-iclora workflow through the real host (tiny demo weights, the tiny HDR IC-LoRA stand-in the model store
writes under Lightricks' release name, 64x64, 9 frames at 24 fps), checking what the mode promises:

* two stages, VIDEO ONLY: HDR Prepare's latent and both samplers' outputs are plain video latents (no audio part),
  stage 1 at half size, stage 2 at full size after the x2 upsample;
* the IC-LoRA reference in BOTH stages, one item each (stage 2's guide is not chained on stage 1's): the SDR input
  frames as they are (the reference's ``compress_ldr``: no curve), reflect-padded to each stage's size;
* Save EXR Sequence writes one EXR per frame (``frame_00000.exr`` ...) under output/LTX-2/hdr-iclora_NNNNN_/, each
  64x64 with 3 channels, half precision, tagged sRGB / Rec.709;
* the EXR values are the LogC3 decode of the decoded frames (``ltx_model.modes.hdr.logc3_decode``), so they differ
  from a plain SDR decode by that curve, and values above 1.0 survive (not clipped);
* the preview mp4 keeps the frame count, size and fps;
* EXR input (Load EXR Sequence instead of the video): its reference output (LogC3 codes of the files' linear
  values) reaches the guide; a frame with two channels fails in the loader, naming the node, the input, the file and
  the rule, before the sampler runs (no EXR or mp4 written).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from graph_support import ExpectedVideo, check_mp4, shrink

from ltx_model import exr
from ltx_model.modes import hdr
from scripts.workflow_api import load_workflow, nodes_of_type, saved_files

pytestmark = pytest.mark.graph

WORKFLOW = Path(__file__).resolve().parents[2] / "workflows" / "hdr-iclora.json"
SIZE, FRAMES = 64, 9
REFERENCES_KEY = "ltx2n_video_references"
EXR_INPUT = "ltx2n_hdr_graph_exr"


def _prompt(host, store) -> tuple[dict, ExpectedVideo]:
    prompt = host.ui_to_api(load_workflow(WORKFLOW))
    expected = shrink(prompt, {"width": SIZE, "height": SIZE, "frames": FRAMES})
    store.ensure(prompt)
    return prompt, expected


def _exr_folder(ui_outputs: dict, output_dir: Path) -> Path:
    texts = [t for out in ui_outputs.values() for t in out.get("text", []) if "EXR frames" in str(t)]
    assert len(texts) == 1, ui_outputs
    return Path(output_dir) / texts[0].split("output/", 1)[1]


def _run(host, prompt: dict, keep: tuple[str, ...], extra: tuple[str, ...] = ()) -> tuple[dict, object]:
    """Run ``prompt`` keeping the outputs of the first node of each type in ``keep`` (by type) and of the node ids
    ``extra`` (in ``result.node_outputs``)."""
    ids = {t: nodes_of_type(prompt, t)[0] for t in keep}
    result = host.run(prompt, keep=(*ids.values(), *extra))
    assert result.success, result.error()
    return {t: result.node_outputs[nid] for t, nid in ids.items()}, result


def _items(output) -> tuple:
    """The IC-LoRA reference items of a guide's positive output."""
    return output[0][0][1][REFERENCES_KEY].items


def _encode(vae, frames: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return vae.encode(frames[:FRAMES]).float().cpu()


def test_graph_hdr_iclora_writes_unclipped_linear_exr(graph_host, model_store):
    prompt, expected = _prompt(graph_host, model_store)
    keep = ("GetVideoComponents", "LTX2NHDRPrepare", "LTX2NSampler", "SamplerCustomAdvanced", "LTX2NVideoVAELoader",
            "LTX2NDecodeVideo", "LTX2NHDRDecode")
    guides = nodes_of_type(prompt, "LTX2NICLoraGuide")
    out, result = _run(graph_host, prompt, keep, extra=tuple(guides))
    plan = hdr.plan_hdr(SIZE, SIZE, FRAMES)
    sdr = out["GetVideoComponents"][0][..., :3].float().cpu()
    latent, first, second, width, height, quality = out["LTX2NHDRPrepare"]
    assert (width, height, quality) == (SIZE, SIZE, False)
    stage1, stage2 = out["LTX2NSampler"][0]["samples"], out["SamplerCustomAdvanced"][0]["samples"]
    for video in (latent["samples"], stage1, stage2):
        assert not getattr(video, "is_nested", False), "an audio part: the HDR mode is video only"
    assert tuple(stage1.shape) == (1, 128, 2, 1, 1) and tuple(stage2.shape) == (1, 128, 2, 2, 2)
    (sigmas,) = nodes_of_type(prompt, "ManualSigmas")  # stage 2: the reference's [S2[0], S2[1], 0]
    assert tuple(float(v) for v in prompt[sigmas]["inputs"]["sigmas"].split(",")) == hdr.HDR_STAGE2_SIGMAS
    vae = out["LTX2NVideoVAELoader"][0]
    for stage, fitted, guide in ((1, first, guides[0]), (2, second, guides[1])):
        torch.testing.assert_close(fitted, hdr.stage_reference_frames(sdr, plan, 1, stage))  # SDR as it is
        (item,) = _items(result.node_outputs[guide])  # one reference each, in both stages
        assert torch.allclose(item.latent.float().cpu(), _encode(vae, fitted), atol=1e-3)
    decoded = out["LTX2NDecodeVideo"][0].float().cpu()
    assert decoded.shape == (FRAMES, SIZE, SIZE, 3) and decoded.min() >= 0.0 and decoded.max() <= 1.0
    assert (decoded > 0.6).any(), "no bright codes decoded: the not-clipped check below would prove nothing"
    folder = _exr_folder(result.ui_outputs, graph_host.output_dir)
    assert folder.parent.name == "LTX-2" and folder.name.startswith("hdr-iclora_")
    assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:05d}.exr" for i in range(FRAMES)]
    header = exr.openexr().File(str(folder / "frame_00000.exr"), header_only=True).header()
    assert header["colorSpace"] == "sRGB" and header["chromaticities"][0] == pytest.approx(0.64, abs=1e-6)
    channels = exr.openexr().File(str(folder / "frame_00000.exr"), separate_channels=True).channels()
    assert sorted(channels) == ["B", "G", "R"] and channels["R"].pixels.dtype == np.float16  # half, 3 channels
    frames = exr.read_exr_sequence(exr.exr_frames(folder))
    assert frames.shape == (FRAMES, SIZE, SIZE, 3)
    linear = hdr.logc3_decode(decoded).clamp(min=0.0)
    torch.testing.assert_close(frames, linear, rtol=1e-3, atol=1e-4)  # half precision of the LogC3 decode
    torch.testing.assert_close(out["LTX2NHDRDecode"][0].float().cpu(), linear)
    assert frames.max() > 1.0  # highlights survive to the file
    assert (frames - decoded).abs().max() > 0.1  # not the SDR decode: the curve was applied
    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    assert video.name.startswith("hdr-iclora-preview")
    check_mp4(video, expected, video_only=True)  # no audio stream


def test_graph_hdr_high_quality_and_crop(graph_host, model_store):
    prompt, _ = _prompt(graph_host, model_store)
    (prepare,) = nodes_of_type(prompt, "LTX2NHDRPrepare")
    prompt[prepare]["inputs"].update(width=48, high_quality=True)  # 48 wide: generated 64 wide, cropped back
    out, result = _run(graph_host, prompt, ("LTX2NHDRPrepare", "SamplerCustomAdvanced", "LTX2NDecodeVideo"))
    latent, first, second, width, _, quality = out["LTX2NHDRPrepare"]
    assert width == 48 and quality is True
    assert first.shape[0] == second.shape[0] == 2 * FRAMES - 1 and torch.equal(second[0], second[1])
    assert out["SamplerCustomAdvanced"][0]["samples"].shape[2] == 3  # 17 frames generated
    decoded = out["LTX2NDecodeVideo"][0].float().cpu()
    assert decoded.shape == (2 * FRAMES - 1, SIZE, SIZE, 3)
    frames = exr.read_exr_sequence(exr.exr_frames(_exr_folder(result.ui_outputs, graph_host.output_dir)))
    assert frames.shape == (FRAMES, SIZE, 48, 3)  # every other frame, cropped back
    torch.testing.assert_close(frames, hdr.logc3_decode(decoded[::2, :, :48]).clamp(min=0.0), rtol=1e-3,
                               atol=1e-4)


@pytest.fixture
def exr_input(graph_host):
    import folder_paths

    folder = Path(folder_paths.get_input_directory()) / EXR_INPUT
    shutil.rmtree(folder, ignore_errors=True)
    y, x = torch.meshgrid(torch.linspace(0, 1, 48), torch.linspace(0, 1, 80), indexing="ij")
    frames = torch.stack([torch.stack([x * 12.0, y * 3.0, torch.full_like(x, 0.05 * i)], -1) for i in range(FRAMES)])
    exr.write_exr_sequence(folder, frames, half=False)
    yield folder, frames
    shutil.rmtree(folder, ignore_errors=True)


def _exr_prompt(host, store) -> dict:
    """The workflow with Load EXR Sequence's reference as HDR Prepare's images (the EXR_IN_TIP rewiring)."""
    prompt, _ = _prompt(host, store)
    (prepare,) = nodes_of_type(prompt, "LTX2NHDRPrepare")
    prompt["900"] = {"class_type": "LTX2NLoadEXRSequence", "inputs": {
        "folder": EXR_INPUT, "colour_space": "srgb_linear", "transfer": "logc3", "frame_start": 0, "frame_cap": 0,
        "fps": 24.0}}
    prompt[prepare]["inputs"]["images"] = ["900", 1]
    for drop in nodes_of_type(prompt, "LoadVideo") + nodes_of_type(prompt, "GetVideoComponents"):
        del prompt[drop]
    return prompt


def test_graph_hdr_exr_input_reaches_the_guide(graph_host, model_store, exr_input):
    _, frames = exr_input
    prompt = _exr_prompt(graph_host, model_store)
    guides = nodes_of_type(prompt, "LTX2NICLoraGuide")
    ids = {"load": "900", "prepare": nodes_of_type(prompt, "LTX2NHDRPrepare")[0]}
    result = graph_host.run(prompt, keep=(*ids.values(), *guides))
    assert result.success, result.error()
    images, reference, _, count = result.node_outputs["900"]
    assert count == FRAMES and torch.equal(images, frames) and images.max() > 1.0
    torch.testing.assert_close(reference, hdr.logc3_encode(frames))
    second = result.node_outputs[ids["prepare"]][2]  # 48x80 shrunk to 38x64, reflect-padded to 64x64
    torch.testing.assert_close(second, hdr.stage_reference_frames(reference, hdr.plan_hdr(SIZE, SIZE, FRAMES), 1, 2))
    for guide, size in zip(guides, (SIZE // 64, SIZE // 32), strict=True):
        (item,) = _items(result.node_outputs[guide])
        assert tuple(item.latent.shape) == (1, 128, 2, size, size)


def test_graph_hdr_exr_two_channels_fail_before_sampling(graph_host, model_store, exr_input):
    folder, _ = exr_input
    module = exr.openexr()
    plane = np.ones((48, 80), dtype=np.float32)
    module.File({"compression": module.ZIP_COMPRESSION, "type": module.scanlineimage},
                {"R": plane, "G": plane}).write(str(folder / "frame_00004.exr"))
    prompt = _exr_prompt(graph_host, model_store)
    before = set(Path(graph_host.output_dir).rglob("*"))
    result = graph_host.run(prompt)
    assert not result.success
    message = result.error()
    assert "Load EXR Sequence (LTX-2): folder input" in message and "frame_00004.exr has 2 channel(s)" in message
    assert "needs R, G and B channels" in message, message
    assert set(Path(graph_host.output_dir).rglob("*")) == before  # nothing sampled, decoded or saved
