"""The spatial editing workflows through the real host, each asserting what its mode promises (a 64x64 source clip
with sound at 24 fps, tiny demo weights, the tiny in/outpainting IC-LoRA the model store writes):

* inpaint-distilled: where the softened blend mask is 0 the output frames equal the source BIT-IDENTICALLY, inside
  the mask they change; the prepared latent holds the encoded source audio bit for bit with noise mask 0 (frozen),
  both prompts carry it as reference audio tokens, and the sampler returns it bit for bit (LTX2NSampler puts
  every element of noise mask 0 back from its input after core's sampler, whose masked blend alone is not exact);
* outpaint-distilled: a border that is not on the grid (20 px) is rounded to 32; the canvas has the requested size
  (128x64 around the 64x64 source: the region the border leaves, 96x64, has another aspect), the WHOLE source is on
  it pixel for pixel (fitted, never cropped: the region's spare 32 columns go to the bordered left side and are
  generated), bit-identical in the output outside the blend band, the new area is generated; the audio is kept as
  for inpaint;
* v2v-distilled: the IC-LoRA reference is the source clip itself and the decoded video differs from it; audio
  "keep" as above, "regenerate" makes new audio (no reference audio tokens);
* bad input: a mask of another size or frame count fails in the prepare node (before the sampler) naming the mask
  and the rule; an outpaint whose borders leave no source pixels is refused before anything runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from harness import PromptRejected

from ltx_model.modes.masks import outpaint_canvas
from ltx_model.modes.pyramid import soften_mask
from ltx_model.sampling import patchify_audio
from scripts.workflow_api import load_workflow, nodes_of_type, override_inputs
from scripts.workflow_specs_edit import MASK_VIDEO

pytestmark = pytest.mark.graph

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
FPS, SIZE, FRAMES = 24, 64, 17
SOURCE = "ltx2n_edit_source.mp4"
KEEP = ("LoadVideo", "LTX2NAudioVAELoader", "LTX2NSampler", "LTX2NPyramidBlend")


def _write_clip(folder: Path, name: str, frames: int, size: tuple[int, int], *, mask: bool = False) -> str:
    from ltx_model.media import write_mp4

    height, width = size
    y, x = np.mgrid[0:height, 0:width]
    if mask:  # a white 16x16 square in the middle, black elsewhere
        square = (abs(y - height // 2) < 8) & (abs(x - width // 2) < 8)
        pictures = [np.repeat((255 * square)[..., None], 3, -1).astype(np.uint8)] * frames
        write_mp4(folder / name, np.stack(pictures), fps=FPS)
        return name
    pictures = [np.stack([255 * x / width, 255 * y / height, np.full_like(x, 40 + 8 * i)], -1).astype(np.uint8)
                for i in range(frames)]
    t = np.arange(round(frames / FPS * 48000)) / 48000
    wave = 0.3 * np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 495 * t)])
    write_mp4(folder / name, np.stack(pictures), fps=FPS, waveform=wave, sample_rate=48000)
    return name


def _prompt(host, store, stem: str, values: dict, *, mask_file: str | None = None) -> dict:
    prompt = host.ui_to_api(load_workflow(WORKFLOWS / f"{stem}.json"))
    source = _write_clip(store.folder("input"), SOURCE, FRAMES, (SIZE, SIZE))
    for nid in nodes_of_type(prompt, "LoadVideo"):
        is_mask = prompt[nid]["inputs"]["file"] == MASK_VIDEO
        prompt[nid]["inputs"]["file"] = mask_file if is_mask else source
    override_inputs(prompt, {"steps": 2, "fps": float(FPS), **values})
    store.ensure(prompt)
    return prompt


def _run(host, prompt: dict, prepare: str, keep: tuple[str, ...] = KEEP) -> dict:
    ids = {t: nodes_of_type(prompt, t)[0] for t in (*keep, prepare)}
    ids["LoadVideo"] = next(n for n in nodes_of_type(prompt, "LoadVideo") if prompt[n]["inputs"]["file"] == SOURCE)
    result = host.run(prompt, keep=tuple(ids.values()))
    assert result.success, result.error()
    return {t: result.node_outputs[nid] for t, nid in ids.items()}


def _assert_audio_kept(out: dict, prepare: str, pack_nodes) -> None:
    ops = pack_nodes.source_clips
    clip = ops.clip_from_video(out["LoadVideo"][0])
    with torch.inference_mode():
        src_a = ops.encode_audio(out["LTX2NAudioVAELoader"][0], clip.waveform, clip.sample_rate, frames=FRAMES,
                                 fps=clip.fps)
    latent = out[prepare][2]
    assert torch.equal(latent["samples"].unbind()[1].cpu(), src_a.float().cpu())  # frozen: mask 0 on every element
    assert not latent["noise_mask"].unbind()[1].any() and latent["noise_mask"].unbind()[0].all()
    _, got_a = out["LTX2NSampler"][0]["samples"].unbind()
    assert torch.equal(got_a.cpu(), src_a.to(got_a).cpu())
    tokens = out[prepare][0][0][1]["ref_audio"]["tokens"]
    assert torch.equal(tokens.cpu(), patchify_audio(src_a.float().cpu()))


def test_graph_inpaint_outside_mask_bit_identical(graph_host, model_store, pack_nodes):
    mask = _write_clip(model_store.folder("input"), "ltx2n_edit_mask.mp4", FRAMES, (SIZE, SIZE), mask=True)
    prompt = _prompt(graph_host, model_store, "inpaint-distilled",
                     {"width": 0, "height": 0, "frames": FRAMES, "spatial_radius": 2}, mask_file=mask)
    out = _run(graph_host, prompt, "LTX2NInpaintPrepare")
    _, _, _, _, source, grown = out["LTX2NInpaintPrepare"]
    blended = out["LTX2NPyramidBlend"][0]
    loaded = out["LoadVideo"][0].get_components().images[:FRAMES, ..., :3].float()
    assert torch.equal(source, loaded)
    assert blended.shape == (FRAMES, SIZE, SIZE, 3)
    blend_radius = prompt[nodes_of_type(prompt, "LTX2NPyramidBlend")[0]]["inputs"]["blend_radius"]
    outside = soften_mask(grown, blend_radius) == 0
    assert 0.2 < float(outside.float().mean()) < 0.9 and float(grown.mean()) > 0.05
    assert torch.equal(blended[outside], source[outside])
    inside = grown > 0
    assert (blended[inside] - source[inside]).abs().max() > 0.1
    _assert_audio_kept(out, "LTX2NInpaintPrepare", pack_nodes)


def test_graph_outpaint_source_kept_in_place(graph_host, model_store, pack_nodes):
    sides = {"left": 20, "right": 0, "top": 0, "bottom": 0}
    prompt = _prompt(graph_host, model_store, "outpaint-distilled", {"width": 128, "height": SIZE, "frames": FRAMES,
                                                                      **sides})
    out = _run(graph_host, prompt, "LTX2NOutpaintPrepare")
    _, _, _, _, source, new_area = out["LTX2NOutpaintPrepare"]
    canvas = outpaint_canvas(128, SIZE, source_width=SIZE, source_height=SIZE, **sides)
    # 20 px rounds to 32; the 96x64 region holds the 64x64 source unscaled, its spare 32 columns on the left
    assert (canvas.left, canvas.top, canvas.source_width, canvas.source_height) == (64, 0, SIZE, SIZE)
    loaded = out["LoadVideo"][0].get_components().images[:FRAMES, ..., :3].float()
    assert source.shape == (FRAMES, SIZE, 128, 3) and torch.equal(canvas.crop(source), loaded)  # whole, uncropped
    assert torch.equal(new_area, canvas.mask(FRAMES)) and float(new_area.mean()) == 0.5
    blended = out["LTX2NPyramidBlend"][0]
    assert blended.shape == (FRAMES, SIZE, 128, 3)
    blend_radius = prompt[nodes_of_type(prompt, "LTX2NPyramidBlend")[0]]["inputs"]["blend_radius"]
    outside = soften_mask(new_area, blend_radius) == 0
    assert float(outside.float().mean()) > 0.3
    assert torch.equal(blended[outside], source[outside])
    border = blended[:, :, :64]
    assert (border - source[:, :, :64]).abs().max() > 0.1 and float(border.std()) > 0.01
    _assert_audio_kept(out, "LTX2NOutpaintPrepare", pack_nodes)


@pytest.mark.parametrize(("size", "frames", "rule"), [((48, SIZE), FRAMES, "size"), ((SIZE, SIZE), 9, "frames")])
def test_graph_inpaint_bad_mask_fails_before_sampling(graph_host, model_store, size, frames, rule):
    mask = _write_clip(model_store.folder("input"), f"ltx2n_bad_mask_{rule}.mp4", frames, size, mask=True)
    prompt = _prompt(graph_host, model_store, "inpaint-distilled", {"width": 0, "height": 0, "frames": FRAMES},
                     mask_file=mask)
    result = graph_host.run(prompt)
    assert not result.success
    message = result.error()
    assert "Inpaint Prepare (LTX-2)" in message and "mask input" in message and rule in message, message


def test_graph_outpaint_no_source_pixels_rejected(graph_host, model_store):
    prompt = _prompt(graph_host, model_store, "outpaint-distilled", {"width": SIZE, "height": SIZE, "frames": FRAMES,
                                                                      "left": 32, "right": 32, "top": 0, "bottom": 0})
    with pytest.raises(PromptRejected) as info:
        graph_host.validate(prompt)
    assert "leave no source pixels" in json.dumps(info.value.node_errors)


@pytest.mark.parametrize("audio", ["keep", "regenerate"])
def test_graph_v2v_source_is_reference_audio_kept_or_new(graph_host, model_store, pack_nodes, audio):
    prompt = _prompt(graph_host, model_store, "v2v-distilled", {"width": 0, "height": 0, "frames": FRAMES,
                                                                 "audio": audio})
    keep = ("LoadVideo", "LTX2NAudioVAELoader", "LTX2NSampler", "LTX2NICLoraGuide", "LTX2NDecodeVideo")
    out = _run(graph_host, prompt, "LTX2NVideoToVideoPrepare", keep)
    loaded = out["LoadVideo"][0].get_components().images[:FRAMES, ..., :3].float()
    assert torch.equal(out["LTX2NVideoToVideoPrepare"][3], loaded)  # the IC-LoRA reference: the source itself
    assert out["LTX2NICLoraGuide"][0][0][1]["ltx2n_video_references"].items
    decoded = out["LTX2NDecodeVideo"][0]
    assert decoded.shape == (FRAMES, SIZE, SIZE, 3)
    assert (decoded.float().cpu() - loaded).abs().mean() > 0.05  # the video is regenerated, not the source passed on
    if audio == "keep":
        _assert_audio_kept(out, "LTX2NVideoToVideoPrepare", pack_nodes)
        return
    ops = pack_nodes.source_clips
    clip = ops.clip_from_video(out["LoadVideo"][0])
    with torch.inference_mode():
        src_a = ops.encode_audio(out["LTX2NAudioVAELoader"][0], clip.waveform, clip.sample_rate, frames=FRAMES,
                                 fps=clip.fps)
    _, got_a = out["LTX2NSampler"][0]["samples"].unbind()
    assert got_a.shape == src_a.shape and (got_a.cpu() - src_a.to(got_a).cpu()).abs().max() > 0.1
    assert "ref_audio" not in out["LTX2NVideoToVideoPrepare"][0][0][1]
