"""js/ltx2_geometry.js, run in the browser, against the pack's Python rules.

Audio latent frames are compared with ``ltx_model.audio.geometry`` itself (Python's round: halves to even); the
video latent grid with the VAE's 32x spatial / 8x temporal compression; the snap rules with their documentation.
"""

from __future__ import annotations

import itertools
import math

import pytest
from browser_harness import PACK_NAME

from ltx_model.audio import AudioVAEConfig
from ltx_model.audio.geometry import audio_latent_frames_for_video

pytestmark = pytest.mark.browser

GEOMETRY = f"/extensions/{PACK_NAME}/ltx2_geometry.js"


def run_geometry(page, body: str, arg):
    return page.evaluate(f"async (arg) => {{ const g = await import('{GEOMETRY}'); {body} }}", arg)


def test_browser_geometry_audio_latent_frames_match_python(page):
    config = AudioVAEConfig()
    cases = list(itertools.product([1, 9, 97, 100, 121, 161, 257, 1001], [8.0, 23.976, 24.0, 25.0, 30.0, 50.0, 60.0]))
    js = run_geometry(page, "return arg.map(([f, fps]) => g.audioLatentFrames(f, fps));", cases)
    assert js == [audio_latent_frames_for_video(f, fps, config) for f, fps in cases]
    assert (121, 50.0) in cases and js[cases.index((121, 50.0))] == 60  # 60.5: half to even, as Python


def test_browser_geometry_video_latent_grid(page):
    cases = [(768, 512, 121, 25.0), (1920, 1088, 257, 24.0), (32, 32, 1, 25.0), (640, 384, 97, 24.0)]
    body = "return arg.map(([w, h, f, fps]) => g.latentGeometry({width: w, height: h, frames: f, fps}));"
    js = run_geometry(page, body, cases)
    for (w, h, f, _), got in zip(cases, js, strict=True):
        assert (got["latentFrames"], got["latentHeight"], got["latentWidth"]) == (1 + (f - 1) // 8, h // 32, w // 32)
        assert got["videoTokens"] == got["latentFrames"] * got["latentHeight"] * got["latentWidth"]


def test_browser_geometry_snap_rules(page):
    values = list(range(-3, 300))
    js = run_geometry(page, "return [arg.map((v) => g.snapFrames(v)), arg.map((v) => g.snapMultiple(v, 32))];", values)
    # Documented rules: nearest 1 + 8k and nearest multiple of 32, ties rounding up, never below 1 / 32.
    assert js[0] == [1 + 8 * max(0, math.floor((v - 1) / 8 + 0.5)) for v in values]
    assert js[1] == [max(32, 32 * math.floor(v / 32 + 0.5)) for v in values]
    body = "return [g.snapFrames(2000, {max: 1001}), g.snapMultiple(9000, 32, {max: 8192})];"
    assert run_geometry(page, body, None) == [1001, 8192]
