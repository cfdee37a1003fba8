"""The IC-LoRA mode workflows through the real host, each asserting what its mode promises (tiny demo weights, the
tiny Ingredients IC-LoRA the model store writes under its release name, 96x64, 9 frames at 24 fps):

* ingredients-distilled: the reference video the Ingredients Reference node builds is the rule's
  (``ltx_model.modes.ingredients.ingredients_video`` of the loaded pictures: a sheet on black at the latent's size,
  repeated to its 9 frames; two pictures -> two panels); the IC-LoRA factor is 1 and what reached the model's
  prompts is that video encoded at the latent grid (its latent equals the VAE's encoding of the rule's video); the
  saved mp4 has the latent's size, 9 frames at 24 fps and a sound track of the same length;
* pixel-upscale-distilled (LTX-2.3, the x4 pixel-spatial upscaler IC-LoRA of the official pack's workflow, factor
  4 from its file): a 32x32 clip with sound (17 frames at 24 fps) becomes 128x128 (x4), a 40x24 one is rounded to
  the 128-pixel grid (128x128 too); the reference the guide encoded is the input at output / 4 (the 32x32 input bit
  for bit) on the 1x1 latent grid with factor 4; the input's sound is encoded, frozen and returned bit for bit by the
  sampler; the mp4 keeps the frame count, fps and duration; an explicit width off the 128 grid fails in the prepare
  node before sampling. Its LTX-2.5 twin (built in memory from ``pixel_upscale_ltx25``: the 2.5 x2 pixel-spatial
  upscaler IC-LoRA, factor 2) makes a 64x32 clip 128x64 with the same checks on the 2x1 reference grid;
* Ingredients bad input: a second picture with another channel count (RGBA from Join Image with Alpha) fails in
  the reference node, before the guide and the sampler, naming the node, the input and the rule; no picture at all
  is refused when the prompt is validated (image_1 is required).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from graph_support import ExpectedVideo, check_mp4, shrink
from harness import PromptRejected

from ltx_model.modes import conform_images
from ltx_model.modes.ingredients import ingredients_video
from scripts.workflow_api import load_workflow, nodes_of_type, override_inputs, saved_files

pytestmark = pytest.mark.graph

WORKFLOWS = Path(__file__).resolve().parents[2] / "workflows"
REFERENCES_KEY = "ltx2n_video_references"
WIDTH, HEIGHT, FRAMES = 96, 64, 9
SHEET, PROP = "ltx2n_ingredients_sheet.png", "ltx2n_ingredients_prop.png"


def _write_picture(folder: Path, name: str, size: tuple[int, int], seed: int) -> str:
    from PIL import Image

    height, width = size
    y, x = np.mgrid[0:height, 0:width]
    rgb = np.stack([255 * x / width, 255 * y / height, np.full_like(x, 60 + 80 * seed)], -1).astype(np.uint8)
    Image.fromarray(rgb).save(folder / name)
    return name


def _prompt(host, store, *, second: str | None = None) -> tuple[dict, object]:
    """The shipped workflow, shrunk, its picture replaced by a 40x80 one; ``second``: "rgb" adds a 48x32 picture
    as image_2, "rgba" the same picture with an alpha channel (Join Image with Alpha)."""
    prompt = host.ui_to_api(load_workflow(WORKFLOWS / "ingredients-distilled.json"))
    expected = shrink(prompt, {"width": WIDTH, "height": HEIGHT, "frames": FRAMES})
    store.ensure(prompt)
    (load,) = nodes_of_type(prompt, "LoadImage")
    prompt[load]["inputs"]["image"] = _write_picture(store.folder("input"), SHEET, (40, 80), 0)
    if second:
        (reference,) = nodes_of_type(prompt, "LTX2NIngredientsReference")
        prompt["900"] = {"class_type": "LoadImage", "inputs": {
            "image": _write_picture(store.folder("input"), PROP, (48, 32), 1)}}
        image_2 = ["900", 0]
        if second == "rgba":
            prompt["901"] = {"class_type": "JoinImageWithAlpha", "inputs": {"image": ["900", 0], "alpha": ["900", 1]}}
            image_2 = ["901", 0]
        prompt[reference]["inputs"]["image_2"] = image_2
    return prompt, expected


def _run(host, prompt: dict, keep_types: tuple[str, ...], extra: tuple[str, ...] = ()) -> tuple[dict, object]:
    ids = {t: nodes_of_type(prompt, t)[0] for t in keep_types} | {nid: nid for nid in extra}
    result = host.run(prompt, keep=tuple(ids.values()))
    assert result.success, result.error()
    return {t: result.node_outputs[nid] for t, nid in ids.items()}, result


@pytest.mark.parametrize("second", [None, "rgb"])
def test_graph_ingredients_reference_video_reaches_the_model(graph_host, model_store, second):
    prompt, expected = _prompt(graph_host, model_store, second=second)
    keep = ("LoadImage", "LTX2NIngredientsReference", "LTX2NICLoraLoader", "LTX2NICLoraGuide",
            "LTX2NVideoVAELoader", "LTX2NSampler", "LTX2NEmptyAVLatent")
    out, result = _run(graph_host, prompt, keep, ("900",) if second else ())
    pictures = [out["LoadImage"][0]] + ([out["900"][0]] if second else [])
    rule = ingredients_video([p.cpu() for p in pictures], frames=FRAMES, height=HEIGHT, width=WIDTH).clamp(0, 1)
    (reference,) = out["LTX2NIngredientsReference"]
    assert reference.shape == (FRAMES, HEIGHT, WIDTH, 3) and torch.equal(reference.cpu(), rule)
    padded, picture = reference[:, :4, :48], reference[:, 32, :48]  # the 2:1 picture: black bands top and bottom
    assert not padded.any() and picture.amax(-1).gt(0).all()
    assert out["LTX2NICLoraLoader"][1] == 1
    positive, negative = out["LTX2NICLoraGuide"]
    (item,) = positive[0][1][REFERENCES_KEY].items
    assert negative[0][1][REFERENCES_KEY] is positive[0][1][REFERENCES_KEY]
    assert item.downscale_factor == 1 and item.strength == 1.0
    assert tuple(item.latent.shape) == (1, 128, 2, HEIGHT // 32, WIDTH // 32)  # the latent grid, 9 frames
    with torch.inference_mode():
        vae = out["LTX2NVideoVAELoader"][0]
        encoded = vae.encode(rule).float().cpu()
        other = vae.encode(torch.flip(rule, dims=[2])).float().cpu()
    got = item.latent.float().cpu()
    assert torch.allclose(got, encoded, atol=1e-3), (got - encoded).abs().max()
    assert (got - other).abs().max() > 1e-2  # the check above can tell another reference apart
    empty, sampled = (out[t][0]["samples"].unbind()[0] for t in ("LTX2NEmptyAVLatent", "LTX2NSampler"))
    assert sampled.shape == empty.shape  # the reference tokens never enter the latent
    (video,) = saved_files(result.ui_outputs, graph_host.output_dir)
    assert video.name.startswith("ingredients-distilled")
    check_mp4(video, expected)


def test_graph_ingredients_mismatched_channels_fail_before_sampling(graph_host, model_store):
    prompt, _ = _prompt(graph_host, model_store, second="rgba")
    result = graph_host.run(prompt)
    assert not result.success
    message = result.error()
    assert "Ingredients Reference (LTX-2)" in message and "image_2 input has 4 channels" in message, message
    assert "same channel count" in message, message


def test_graph_ingredients_no_picture_rejected(graph_host, model_store):
    prompt, _ = _prompt(graph_host, model_store)
    (reference,) = nodes_of_type(prompt, "LTX2NIngredientsReference")
    del prompt[reference]["inputs"]["image_1"]
    with pytest.raises(PromptRejected) as info:
        graph_host.validate(prompt)
    assert "image_1" in str(info.value.node_errors)


# ------------------------------------------------------------------------------------------------ pixel upscale
UPSCALE_SOURCE, UPSCALE_FRAMES, FPS = "ltx2n_upscale_source.mp4", 17, 24


def _write_clip(folder: Path, size: tuple[int, int]) -> str:
    from ltx_model.media import write_mp4

    height, width = size
    y, x = np.mgrid[0:height, 0:width]
    pictures = [np.stack([255 * x / width, 255 * y / height, np.full_like(x, 40 + 8 * i)], -1).astype(np.uint8)
                for i in range(UPSCALE_FRAMES)]
    t = np.arange(round(UPSCALE_FRAMES / FPS * 48000)) / 48000
    wave = 0.3 * np.stack([np.sin(2 * np.pi * 330 * t), np.sin(2 * np.pi * 495 * t)])
    name = f"{height}x{width}_{UPSCALE_SOURCE}"
    write_mp4(folder / name, np.stack(pictures), fps=FPS, waveform=wave, sample_rate=48000)
    return name


UPSCALE_CASES = {  # variant -> (factor, saved-file stem)
    "x4": (4, "pixel-upscale-distilled"),
    "x2-ltx25": (2, "ltx25-pixel-upscale-distilled"),
}


def _upscale_workflow(variant: str) -> dict:
    """The shipped LTX-2.3 x4 workflow, or its LTX-2.5 x2 twin built from the description (not shipped)."""
    if variant == "x4":
        return load_workflow(WORKFLOWS / "pixel-upscale-distilled.json")
    from scripts.workflow_kit import build
    from scripts.workflow_schemas import load_snapshot
    from scripts.workflow_specs_iclora_modes import pixel_upscale_ltx25

    return build(pixel_upscale_ltx25(), load_snapshot()["nodes"])


def _upscale_prompt(host, store, size: tuple[int, int], variant: str = "x4", **values) -> dict:
    prompt = host.ui_to_api(_upscale_workflow(variant))
    (load,) = nodes_of_type(prompt, "LoadVideo")
    prompt[load]["inputs"]["file"] = _write_clip(store.folder("input"), size)
    override_inputs(prompt, {"steps": 2, "fps": float(FPS), "frame_rate": float(FPS), **values})
    store.ensure(prompt)
    return prompt


@pytest.mark.parametrize(("variant", "size", "output", "ref"), [
    ("x4", (32, 32), (128, 128), (32, 32)),  # on the reference grid: the input untouched
    ("x4", (24, 40), (128, 128), (32, 32)),  # 96x160 rounded to the 128 grid
    ("x2-ltx25", (32, 64), (64, 128), (32, 64)),
])
def test_graph_pixel_upscale_reference_grid_audio_kept(graph_host, model_store, pack_nodes, variant, size, output,
                                                       ref):
    factor, stem = UPSCALE_CASES[variant]
    prompt = _upscale_prompt(graph_host, model_store, size, variant)
    keep = ("LoadVideo", "LTX2NICLoraLoader", "LTX2NPixelUpscalePrepare", "LTX2NICLoraGuide", "LTX2NSampler",
            "LTX2NAudioVAELoader")
    out, result = _run(graph_host, prompt, keep)
    assert out["LTX2NICLoraLoader"][1] == factor
    positive, _, latent, reference = out["LTX2NPixelUpscalePrepare"]
    loaded = out["LoadVideo"][0].get_components().images[:UPSCALE_FRAMES, ..., :3].float()
    assert torch.equal(reference, conform_images(loaded, height=ref[0], width=ref[1]))
    if size == ref:
        assert torch.equal(reference, loaded)  # the input is already the reference grid: untouched
    (item,) = out["LTX2NICLoraGuide"][0][0][1][REFERENCES_KEY].items
    assert item.downscale_factor == factor and tuple(item.latent.shape) == (1, 128, 3, ref[0] // 32, ref[1] // 32)
    video, audio = out["LTX2NSampler"][0]["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 3, output[0] // 32, output[1] // 32)  # the output, 17 frames
    ops = pack_nodes.source_clips
    clip = ops.clip_from_video(out["LoadVideo"][0])
    with torch.inference_mode():
        src_a = ops.encode_audio(out["LTX2NAudioVAELoader"][0], clip.waveform, clip.sample_rate,
                                 frames=UPSCALE_FRAMES, fps=clip.fps)
    assert torch.equal(latent["samples"].unbind()[1].cpu(), src_a.float().cpu())
    assert torch.equal(audio.cpu(), src_a.to(audio).cpu())
    assert "ref_audio" in positive[0][1]
    (saved,) = saved_files(result.ui_outputs, graph_host.output_dir)
    assert saved.name.startswith(stem)
    check_mp4(saved, ExpectedVideo(output[1], output[0], UPSCALE_FRAMES, float(FPS)))


def test_graph_pixel_upscale_width_off_grid_fails_before_sampling(graph_host, model_store):
    prompt = _upscale_prompt(graph_host, model_store, (32, 32), width=192)
    result = graph_host.run(prompt)
    assert not result.success
    message = result.error()
    assert "Pixel Upscale Prepare (LTX-2)" in message and "width 192 must be a multiple of 128" in message, message
