"""Temporal mode nodes in the real host (in-process): keyframes, extend, retake, long video.

What each mode promises, checked on tiny demo checkpoints (fp32, CPU, 64x64):

* keyframes: an index beyond the clip is a clear error before any encoding; a run through Keyframes (LTX-2) + the
  pack's sampler + Crop Guides equals the library (``ltx_model``: ``KeyframeAtFrame`` items, Euler loop, the same
  noise and prompt) within atol/rtol 1e-4;
* retake: every latent outside the window (and the whole stream not retaken) is BIT-IDENTICAL to the encoded source;
  the window itself changes; windows outside the clip are clear errors; parity with the library's
  ``TemporalRegionMask`` states + Euler loop (same noise) within atol/rtol 1e-4;
* extend: the source's latent frames are bit-identical to the encoded (padded) source, the output has the new frames,
  a keyframe index beyond the extended clip is an error;
* long video: window plan, carried overlap (seam difference 0 at overlap_strength 1, convex blend otherwise),
  per-window prompts, one progress bar over windows x steps, interrupt.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torch
from node_support import pack_module, prompt

from ltx_model import modes

pytestmark = pytest.mark.comfy

FPS, SIZE = 24.0, 64
PARITY_ATOL = PARITY_RTOL = 1e-4  # 8 Euler steps of the tiny fp32 transformer, host vs library call paths


@pytest.fixture(autouse=True)
def _inference_mode():
    with torch.inference_mode():
        yield


@pytest.fixture(scope="module")
def model(demo_models):
    return demo_models["19b-distilled"]


@pytest.fixture(scope="module")
def vaes(pack_nodes, demo_files):
    name = demo_files.ltx2_distilled
    video = pack_nodes.vae.LTX2NVideoVAELoader.execute(vae_name=name).result[0]
    audio = pack_nodes.audio.LTX2NAudioVAELoader.execute(vae_name=name).result[0]
    return video, audio


def _images(frames: int, seed: int = 0, height: int = SIZE, width: int = SIZE) -> torch.Tensor:
    """Smooth moving pictures (F, H, W, 3) in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(1, 3, 4, 4, generator=g)
    pictures = torch.nn.functional.interpolate(base, size=(height, width), mode="bilinear", align_corners=False)
    shift = torch.linspace(0, 0.3, frames).view(frames, 1, 1, 1)
    return (pictures.permute(0, 2, 3, 1) + shift).clamp(0, 1)


def _video(frames: int, *, audio: bool = True, seed: int = 0, rate: int = 16000):
    from comfy_api.latest import InputImpl, Types

    sound = None
    if audio:
        t = torch.arange(round(frames / FPS * rate)) / rate
        wave = torch.stack([torch.sin(2 * torch.pi * 330 * t), torch.sin(2 * torch.pi * 440 * t)]) * 0.3
        sound = {"waveform": wave[None], "sample_rate": rate}
    components = Types.VideoComponents(images=_images(frames, seed), audio=sound, frame_rate=Fraction(int(FPS)))
    return InputImpl.VideoFromComponents(components)


def _sampling(**kw):
    return {"seed": 5, "schedule": "distilled stage 1", "steps": 0, "guidance": "none", **kw}


class _NoVAE:
    def encode(self, *_):
        raise AssertionError("encoded before validation")


# ---------------------------------------------------------------------------------------------- keyframes
def _av(pack_nodes, frames=17):
    return pack_nodes.latents.LTX2NEmptyAVLatent.execute(SIZE, SIZE, frames, FPS, 1).result[0]


def test_keyframes_index_beyond_clip_is_clear_error_before_encoding(pack_nodes, model):
    node = pack_nodes.temporal_modes.LTX2NKeyframes
    pos = prompt(model, 1)
    kw = {"image_1": _images(1), "frame_idx_1": 0, "strength_1": 1.0, "image_2": _images(1, 1),
          "frame_idx_2": 17, "strength_2": 1.0}
    with pytest.raises(ValueError, match="frame_idx 17 is beyond the clip of 17 frames"):
        node.execute(pos, pos, _NoVAE(), _av(pack_nodes), 0, **kw)
    with pytest.raises(ValueError, match="frame_idx -18 is beyond"):
        node.execute(pos, pos, _NoVAE(), _av(pack_nodes), 0, **{**kw, "frame_idx_2": -18})


def test_keyframes_append_guides_with_positions(pack_nodes, model, vaes):
    node = pack_nodes.temporal_modes.LTX2NKeyframes
    pos = prompt(model, 1)
    kw = {"image_1": _images(1), "frame_idx_1": 0, "strength_1": 1.0, "image_3": _images(1, 2),
          "frame_idx_3": -1, "strength_3": 0.5}
    pos2, neg2, latent = node.execute(pos, pos, vaes[0], _av(pack_nodes), 0, **kw).result
    video, _ = latent["samples"].unbind()
    assert video.shape[2] == 3 + 2  # two guide latent frames appended
    idxs = pos2[0][1]["keyframe_idxs"]
    assert idxs.shape[2] == 2 * 2 * 2 and torch.equal(idxs, neg2[0][1]["keyframe_idxs"])
    assert idxs[0, 0, 0].tolist() == [0.0, 1.0]  # frame 0: causal fix -> [0, 1) frames
    assert idxs[0, 0, -1].tolist() == [16.0, 24.0]  # -1 -> frame 16: [16, 24)
    mask = latent["noise_mask"].unbind()[0]
    assert mask[0, 0, 3:, 0, 0].tolist() == [0.0, 0.5]
    cropped = pack_nodes.conditioning.LTX2NCropGuides.execute(pos2, neg2, latent).result[2]
    assert cropped["samples"].unbind()[0].shape[2] == 3


def _library(host, demo_files):
    from ltx_model.loading import Component, load_component

    path = host.model_dir("checkpoints") / demo_files.ltx2_distilled
    return (load_component(path, Component.TRANSFORMER, dtype=torch.float32),
            load_component(path, Component.VIDEO_VAE, dtype=torch.float32))


def _library_loop(host, model, transformer, context, video_state, audio_state, noise):
    """The library's Euler loop (distilled sigmas, positive prompt only) from given states and ComfyUI's noise
    (``noise * mask + latent * (1 - mask)`` per token, as ltx-core's noiser)."""
    import dataclasses

    sampling, pipelines = pack_module(host, "ltx_model.sampling"), pack_module(host, "ltx_model.pipelines")
    states = []
    for state, n, patch in ((video_state, noise[0], sampling.patchify_video),
                            (audio_state, noise[1], sampling.patchify_audio)):
        tokens = patch(n).to(state.latent)
        mask = state.denoise_mask
        states.append(dataclasses.replace(state, latent=tokens * mask + state.latent * (1 - mask)))
    width = model.model.diffusion_model.context_widths()[0]
    contexts = pipelines.TextContexts(context[..., :width], context[..., width:])
    denoise = pipelines.simple_denoiser(transformer, contexts)
    return pipelines.euler_loop(sampling.distilled_sigmas(), states[0], states[1], denoise)


def test_keyframes_match_library_keyframe_conditioning(comfy_host, pack_nodes, model, vaes, demo_files):
    """Keyframes node + sampler + crop == ltx_model KeyframeAtFrame states through the library Euler loop."""
    import comfy.sample

    lib_sampling, lib_cond = (pack_module(comfy_host, f"ltx_model.{n}") for n in ("sampling", "conditioning"))
    transformer, lib_vae = _library(comfy_host, demo_files)
    pos = prompt(model, 3)
    pictures = {0: _images(1, 4), 8: _images(1, 5), 16: _images(1, 6)}
    kw = {}
    for n, (frame, picture) in enumerate(pictures.items(), start=1):
        kw |= {f"image_{n}": picture, f"frame_idx_{n}": frame, f"strength_{n}": 1.0}
    p2, n2, latent = pack_nodes.temporal_modes.LTX2NKeyframes.execute(pos, pos, vaes[0], _av(pack_nodes), 0,
                                                                     **kw).result
    sampled = pack_nodes.sampling.LTX2NSampler.execute(model, p2, n2, latent, 7, "distilled stage 1", 0,
                                                       "none").result[0]
    ours = pack_nodes.conditioning.LTX2NCropGuides.execute(p2, n2, sampled).result[2]["samples"].unbind()

    video_grid = lib_sampling.VideoGrid.from_pixels(frames=17, height=SIZE, width=SIZE, fps=FPS)
    video = lib_sampling.initial_state(video_grid, dtype=torch.float32, device=torch.device("cpu"))
    for frame, picture in pictures.items():
        encoded = lib_vae.encode(picture.permute(3, 0, 1, 2)[None] * 2 - 1)
        video = lib_cond.KeyframeAtFrame(latent=encoded, frame_index=frame, strength=1.0).apply_to(video)
    audio_grid = lib_sampling.AudioGrid(frames=ours[1].shape[2])
    audio = lib_sampling.initial_state(audio_grid, dtype=torch.float32, device=torch.device("cpu"))
    noise = comfy.sample.prepare_noise(latent["samples"], 7).unbind()
    ref_video, ref_audio = _library_loop(comfy_host, model, transformer, pos[0][0], video, audio, noise)

    ref_v = lib_sampling.unpatchify_video(ref_video.latent[:, : video_grid.token_count], frames=3, height=2, width=2)
    torch.testing.assert_close(ours[0], ref_v, atol=PARITY_ATOL, rtol=PARITY_RTOL)
    torch.testing.assert_close(ours[1], lib_sampling.unpatchify_audio(ref_audio.latent, channels=8, mel_bins=16),
                               atol=PARITY_ATOL, rtol=PARITY_RTOL)
    assert ours[0].std() > 0.1


# ---------------------------------------------------------------------------------------------- retake
def _retake(pack_nodes, model, vaes, video, **kw):
    args = {"width": 0, "height": 0, "frames": 0, "start_time": 0.2, "end_time": 0.45,
            "target": "video and audio", **_sampling(), **kw}
    pos = prompt(model, 2)
    return pack_nodes.temporal_modes.LTX2NRetake.execute(model, pos, pos, vaes[0], vaes[1], video, **args).result[0]


def _source(pack_nodes, vaes, video):
    """The encoded source exactly as the node encodes it."""
    ops = pack_nodes.source_clips
    clip = ops.clip_from_video(video)
    return (ops.encode_video(vaes[0], clip.images),
            ops.encode_audio(vaes[1], clip.waveform, clip.sample_rate, frames=clip.frames, fps=clip.fps))


@pytest.mark.parametrize("target", ["video and audio", "video", "audio"])
def test_retake_outside_window_bit_identical(pack_nodes, model, vaes, target):
    video = _video(17)
    out_v, out_a = _retake(pack_nodes, model, vaes, video, target=target)["samples"].unbind()
    src_v, src_a = _source(pack_nodes, vaes, video)
    v_in = modes.video_window_mask(src_v.shape, FPS, 0.2, 0.45)[0, 0, :, 0, 0].bool()  # latent frames 1..2 of 3
    a_in = modes.audio_window_mask(src_a.shape, 0.2, 0.45)[0, 0, :, 0].bool()
    assert v_in.tolist() == [False, True, True] and 0 < int(a_in.sum()) < a_in.numel()
    if target == "audio":
        v_in[:] = False
    if target == "video":
        a_in[:] = False
    assert torch.equal(out_v[:, :, ~v_in], src_v[:, :, ~v_in])  # bit-identical outside the window
    assert torch.equal(out_a[:, :, ~a_in], src_a.to(out_a)[:, :, ~a_in])
    if v_in.any():
        assert (out_v[:, :, v_in] - src_v[:, :, v_in]).abs().max() > 0.1
    if a_in.any():
        assert (out_a[:, :, a_in] - src_a[:, :, a_in]).abs().max() > 0.1


def test_retake_bad_windows_are_clear_errors(pack_nodes, model, vaes):
    node = pack_nodes.temporal_modes.LTX2NRetake
    assert "start_time < end_time" in node.validate_inputs(start_time=1.0, end_time=1.0)
    assert "outside the clip" in node.validate_inputs(start_time=-0.5, end_time=1.0)
    assert node.validate_inputs(start_time=0.1, end_time=0.2, width=64, height=64, frames=17) is True
    assert "multiples of 32" in node.validate_inputs(width=70, height=64)
    with pytest.raises(ValueError, match=r"outside the clip \[0, 0.708\) s"):
        _retake(pack_nodes, model, (_NoVAE(), _NoVAE()), _video(17), start_time=0.5, end_time=1.0)
    with pytest.raises(ValueError, match="needs a source video with sound"):
        _retake(pack_nodes, model, (_NoVAE(), _NoVAE()), _video(17, audio=False), target="audio")
    with pytest.raises(ValueError, match="must be 1 \\+ 8k"):
        _retake(pack_nodes, model, (_NoVAE(), _NoVAE()), _video(12))


def test_retake_first_frames_and_size(pack_nodes, model, vaes):
    out_v, out_a = _retake(pack_nodes, model, vaes, _video(25, seed=3), width=96, height=32, frames=9,
                           start_time=0.1, end_time=0.3)["samples"].unbind()
    assert tuple(out_v.shape) == (1, 128, 2, 1, 3)
    assert out_a.shape[2] == round(9 / FPS * 25)


def test_retake_matches_library_region_masks(comfy_host, pack_nodes, model, vaes, demo_files):
    """Retake node == ltx_model TemporalRegionMask states (same encoded source, noise, prompt) through the library
    Euler loop."""
    import comfy.sample

    lib_sampling, lib_cond = (pack_module(comfy_host, f"ltx_model.{n}") for n in ("sampling", "conditioning"))
    transformer, _ = _library(comfy_host, demo_files)
    video = _video(17, seed=1)
    ours = _retake(pack_nodes, model, vaes, video, seed=9)["samples"].unbind()
    src_v, src_a = _source(pack_nodes, vaes, video)
    region = lib_cond.TemporalRegionMask(0.2, 0.45)
    cpu = {"dtype": torch.float32, "device": torch.device("cpu")}
    v_state = region.apply_to(lib_sampling.initial_state(
        lib_sampling.VideoGrid.from_pixels(frames=17, height=SIZE, width=SIZE, fps=FPS), latent=src_v, **cpu))
    a_state = region.apply_to(lib_sampling.initial_state(lib_sampling.AudioGrid(frames=src_a.shape[2]),
                                                         latent=src_a.float(), **cpu))
    noise = comfy.sample.prepare_noise(pack_nodes.source_clips.av_latent(src_v, src_a)["samples"], 9).unbind()
    ref_v, ref_a = _library_loop(comfy_host, model, transformer, prompt(model, 2)[0][0], v_state, a_state, noise)
    torch.testing.assert_close(ours[0], lib_sampling.unpatchify_video(ref_v.latent, frames=3, height=2, width=2),
                               atol=PARITY_ATOL, rtol=PARITY_RTOL)
    torch.testing.assert_close(ours[1], lib_sampling.unpatchify_audio(ref_a.latent, channels=8, mel_bins=16),
                               atol=PARITY_ATOL, rtol=PARITY_RTOL)


# ---------------------------------------------------------------------------------------------- extend
def _extend(pack_nodes, model, vaes, video, **kw):
    args = {"width": 0, "height": 0, "frames": 25, "direction": "forward", **_sampling(), "frame_idx": -1,
            "strength": 1.0, **kw}
    pos = prompt(model, 4)
    return pack_nodes.temporal_modes.LTX2NExtend.execute(model, pos, pos, vaes[0], vaes[1], video, **args).result[0]


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_extend_keeps_source_latents(pack_nodes, model, vaes, direction):
    ops = pack_nodes.source_clips
    video = _video(9, seed=2)
    out_v, out_a = _extend(pack_nodes, model, vaes, video, direction=direction)["samples"].unbind()
    assert tuple(out_v.shape) == (1, 128, 4, 2, 2) and out_a.shape[2] == round(25 / FPS * 25)
    clip = ops.clip_from_video(video)
    padded = pack_nodes.source_clips.padded_clip(clip, 16, direction == "forward")
    src_v = ops.encode_video(vaes[0], padded.images)
    src_a = ops.encode_audio(vaes[1], padded.waveform, padded.sample_rate, frames=25, fps=FPS)
    kept_v = slice(0, 2) if direction == "forward" else slice(3, 4)  # backward: frame 0's latent is regenerated
    assert torch.equal(out_v[:, :, kept_v], src_v[:, :, kept_v])
    a_new = modes.audio_window_mask(src_a.shape, *((9 / FPS, 25 / FPS) if direction == "forward" else (0, 16 / FPS)))
    kept_a = ~a_new[0, 0, :, 0].bool()
    assert torch.equal(out_a[:, :, kept_a], src_a.to(out_a)[:, :, kept_a]) and kept_a.sum() >= 8
    new_v = slice(2, 4) if direction == "forward" else slice(0, 3)
    assert (out_v[:, :, new_v] - src_v[:, :, new_v]).abs().max() > 0.1


def test_extend_bad_lengths_and_keyframe(pack_nodes, model, vaes):
    none = (_NoVAE(), _NoVAE())
    with pytest.raises(ValueError, match="exceed the source's 1 frames by a multiple of 8"):
        _extend(pack_nodes, model, none, _video(9), frames=13)
    with pytest.raises(ValueError, match="frame_idx 25 is beyond the clip of 25 frames"):
        _extend(pack_nodes, model, none, _video(9), image=_images(1), frame_idx=25)
    assert "1 + 8k" in pack_nodes.temporal_modes.LTX2NExtend.validate_inputs(frames=30)


def test_extend_long_source_keeps_frames_nearest_the_seam(pack_nodes, model, vaes):
    video = _video(25, seed=4)
    out_v, _ = _extend(pack_nodes, model, vaes, video, frames=17)["samples"].unbind()  # keeps the last 9 frames
    ops = pack_nodes.source_clips
    clip = ops.clip_from_video(video)
    tail = pack_nodes.source_clips.padded_clip(ops.Clip(clip.images[-9:], FPS), 8, True)
    assert tuple(out_v.shape) == (1, 128, 3, 2, 2)
    assert torch.equal(out_v[:, :, :2], ops.encode_video(vaes[0], tail.images)[:, :, :2])


def test_extend_with_keyframe_and_without_audio(pack_nodes, model, vaes):
    out = _extend(pack_nodes, model, vaes, _video(9, audio=False), image=_images(1, 7), frame_idx=-1)
    out_v, out_a = out["samples"].unbind()
    assert tuple(out_v.shape) == (1, 128, 4, 2, 2)  # keyframe guide cropped
    assert out_a.shape[2] == round(25 / FPS * 25) and out_a.abs().max() > 0
    assert "noise_mask" not in out


# ---------------------------------------------------------------------------------------------- long video
def test_long_video_window_plan(pack_nodes):
    plan = modes.plan_windows(481, 121, 24)  # 61 latent frames, windows of 16 sharing 3
    assert plan.starts == (0, 13, 26, 39, 52) and plan.lengths == (16, 16, 16, 16, 9) and plan.overlap == 3
    assert plan.starts[-1] + plan.lengths[-1] == 61
    assert modes.plan_windows(97, 121, 24).lengths == (13,)  # shorter than a window: one window
    assert plan.audio_span(4, 24.0)[1] == round(481 / 24 * 25)  # the last window ends with the clip
    assert "overlap_frames" in modes.long_video_problem(121, 121, 12)
    assert "window_frames" in modes.long_video_problem(121, 100, 8)


def _long(pack_nodes, model, **kw):
    args = {"width": SIZE, "height": SIZE, "frames": 41, "fps": FPS, "window_frames": 17, "overlap_frames": 8,
            "overlap_strength": 1.0, **_sampling(), **kw}
    pos = prompt(model, 6)
    return pack_nodes.temporal_modes.LTX2NLongVideo.execute(model, pos, pos, **args).result


class _StubTextEncoder:
    """``encode(prompt)`` -> a text encoding whose context is derived from the prompt (records the prompts)."""

    def __init__(self, model):
        self.widths, self.prompts = model.model.diffusion_model.context_widths(), []

    def encode(self, text):
        from types import SimpleNamespace

        self.prompts.append(text)
        g = torch.Generator().manual_seed(len(text))
        return SimpleNamespace(video_context=torch.randn(1, 5, self.widths[0], generator=g),
                               audio_context=torch.randn(1, 5, self.widths[1], generator=g))


def test_long_video_windows_carry_overlap_and_prompts(pack_nodes, model, monkeypatch):
    sampling = pack_nodes.masked_sampling
    windows, real = [], sampling.sample_av

    def spy(model_, positive, negative, latent, choice, progress):
        out = real(model_, positive, negative, latent, choice, progress)
        windows.append((positive, latent, out, choice.seed))
        return out

    monkeypatch.setattr(sampling, "sample_av", spy)
    encoder = _StubTextEncoder(model)
    latent, report = _long(pack_nodes, model, text_encoder=encoder, window_prompts="first\n\nsecond window\n")
    video, audio = latent["samples"].unbind()
    assert tuple(video.shape) == (1, 128, 6, 2, 2) and audio.shape[2] == round(41 / FPS * 25)
    assert [w[3] for w in windows] == [5, 6, 7] and encoder.prompts == ["first", "second window"]
    assert windows[2][0] is windows[1][0] and windows[1][0] is not windows[0][0]  # last prompt repeats
    assert report.startswith("3 window(s)") and "video [0, 0]" in report and "audio [0, 0]" in report
    first_v, first_a = windows[0][2]["samples"].unbind()
    second_in = windows[1][1]["samples"].unbind()
    assert torch.equal(second_in[0][:, :, :1], first_v[:, :, -1:])  # carried overlap (latent frame 1 of window 0)
    plan = modes.plan_windows(41, 17, 8)
    assert plan.starts == (0, 2, 4) and plan.lengths == (3, 3, 2)
    shared = first_a.shape[2] - plan.audio_span(1, FPS)[0]
    assert torch.equal(windows[1][2]["samples"].unbind()[1][:, :, :shared], first_a[:, :, -shared:])
    assert torch.equal(video[:, :, :3], first_v) and torch.equal(audio[:, :, : first_a.shape[2]], first_a)


def test_long_video_soft_overlap_blends_and_progress(pack_nodes, model, progress_calls):
    latent, report = _long(pack_nodes, model, overlap_strength=0.5)
    calls = progress_calls
    assert calls[-1] == (3 * 8, 3 * 8) and len(calls) == 24  # one bar: 3 windows x 8 distilled steps
    assert "video [0, 0]" not in report
    assert torch.isfinite(latent["samples"].unbind()[0]).all()


def test_long_video_errors_and_interrupt(pack_nodes, model):
    import comfy.model_management

    node = pack_nodes.temporal_modes.LTX2NLongVideo
    assert "overlap_frames" in node.validate_inputs(frames=33, window_frames=17, overlap_frames=16)
    with pytest.raises(ValueError, match="need a text_encoder"):
        _long(pack_nodes, model, window_prompts="a\nb")
    comfy.model_management.interrupt_current_processing(True)
    try:
        with pytest.raises(comfy.model_management.InterruptProcessingException):
            _long(pack_nodes, model)
    finally:
        comfy.model_management.interrupt_current_processing(False)
