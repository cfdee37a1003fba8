"""The front end knows each model family's clip limits (js/ltx2_model_limits.js), as Load LTX-2 Model serves them
(nodes/clip_limits.py): the served table is the library's rules, the graph's model family comes from the chosen
file's header (its name only for files the server has not listed), and the size/duration helper (js/size_helper.js)
and the timeline (js/timeline.js) warn about and mark a clip longer than LTX-2.5's 20 s maximum.

Model files are tiny official-format demo files written into the test server's model folders."""

from __future__ import annotations

import pytest
import torch
from browser_harness import PACK_NAME, save_screenshot
from browser_page import APP, add_node, connect, set_widget, timeline_call, widget_values

from ltx_model.duration import DEFAULT_MAX_SECONDS, DEFAULT_MIN_SECONDS, seconds_to_frame_count
from ltx_model.modes.geometry import SCALE
from ltx_model.sampling import defaults_for_version

pytestmark = pytest.mark.browser

LIMITS = f"/extensions/{PACK_NAME}/ltx2_model_limits.js"
LOADER = "LTX2NCheckpointLoader"
LATENT = "LTX2NEmptyAVLatent"
HEADER_25 = "model-a-ltx2n-browser.safetensors"  # an LTX-2.5 transformer whose name does not say so
HEADER_23 = "ltx-2.5-mislabelled-ltx2n-browser.safetensors"  # an LTX-2.3 checkpoint whose name says 2.5
NAMED_25 = "ltx-2.5-22b-distilled-transformer-bf16.safetensors"  # not on the server: known by its name only
WARNING_481 = "! longer than LTX-2.5's 20 s maximum (473 frames at 24 fps)"


@pytest.fixture(scope="module")
def model_files(comfy_server):
    """The two demo files in the server's model folders."""
    from ltx_model.demo import DemoFamily, write_demo_checkpoint
    from ltx_model.demo.ltx25 import write_demo_ltx25_transformer

    models = comfy_server.workdir / "models"
    write_demo_ltx25_transformer(models / "diffusion_models" / HEADER_25, dtype=torch.float32)
    write_demo_checkpoint(models / "checkpoints" / HEADER_23, DemoFamily.LTX23, dtype=torch.float32)
    return HEADER_25, HEADER_23


@pytest.fixture()
def served(page, model_files):
    """The page after taking the loader's table again from the server (the files were written after page load)."""
    page.evaluate(f"""async () => {{
        const m = await import('{LIMITS}');
        const defs = await (await fetch('/object_info/{LOADER}')).json();
        m.acceptNodeDef(defs['{LOADER}']);
    }}""")
    return page


def js_limits(page, body: str, arg=None):
    return page.evaluate(f"async (arg) => {{ const m = await import('{LIMITS}'); {body} }}", arg)


def edit(page, node: int, name: str, value) -> None:
    """Set a widget as a user edit does: the value, then the widget's callback (where the pack's helpers listen)."""
    page.evaluate(f"""([id, name, value]) => {{
        const node = {APP}.graph.getNodeById(id);
        const widget = node.widgets.find((w) => w.name === name);
        widget.value = value;
        widget.callback?.call(widget, value, {APP}.canvas, node);
    }}""", [node, name, value])


def info_lines(page, node: int) -> list[str]:
    page.evaluate(f"() => {APP}.canvas.draw(true, true)")  # the helper notices a changed model when it draws
    return widget_values(page, node)["ltx2_size_info"].splitlines()


def timeline_label(page, node: int) -> dict:
    page.evaluate(f"() => {APP}.canvas.draw(true, true)")
    return timeline_call(page, node, "timelineLabel")


def test_browser_model_limits_served_table_is_the_library_rules(page):
    got = js_limits(page, "const s = m.servedLimits(); return {families: s.families, inputs: s.inputs};")
    assert got["inputs"] == {LOADER: ["ckpt_name"]}  # taken from /object_info at page load
    for family, version in (("LTX-2.5", "2.5.0"), ("LTX-2.3 (22B)", "2.3.0"), ("LTX-2 (19B)", None)):
        defaults = defaults_for_version(version)
        ranged = family == "LTX-2.5"
        assert got["families"][family] == {
            "frame_step": SCALE.time, "default_fps": defaults.frame_rate, "default_frames": defaults.num_frames,
            "min_seconds": DEFAULT_MIN_SECONDS if ranged else None,
            "max_seconds": DEFAULT_MAX_SECONDS if ranged else None,
        }
    fps_values = [8.0, 23.976, 24.0, 25.0, 29.97, 30.0, 50.0, 60.0]
    js = js_limits(page, "return arg.map((fps) => m.maxFrames(20, fps));", fps_values)
    # the longest clip the library's duration rule allows (a huge prediction clamps to it)
    assert js == [seconds_to_frame_count(1e6, fps) for fps in fps_values]
    assert js[fps_values.index(24.0)] == 473


def test_browser_model_limits_family_from_header_then_name(served):
    body = "return arg.map((name) => m.familyOfFile(name) ?? null);"
    got = js_limits(served, body, [HEADER_25, HEADER_23, NAMED_25, "some-other-model.safetensors"])
    assert got == [{"family": "LTX-2.5", "from": "header"}, {"family": "LTX-2.3 (22B)", "from": "header"},
                   {"family": "LTX-2.5", "from": "file name"}, None]


def test_browser_model_limits_size_helper_warns_past_ltx25_max(served, console):
    mark = console.mark()
    loader = add_node(served, LOADER, pos=(60, 60))
    latent = add_node(served, LATENT, pos=(560, 60), width=360)
    set_widget(served, loader, "ckpt_name", HEADER_25)
    edit(served, latent, "fps", 24.0)
    edit(served, latent, "frames", 481)  # 20.04 s
    assert info_lines(served, latent)[-1] == WARNING_481
    save_screenshot(served, "model-limits-size-helper")
    edit(served, latent, "frames", 473)  # 19.71 s: the longest 1 + 8k within 20 s at 24 fps
    assert not any(line.startswith("! ") for line in info_lines(served, latent))
    edit(served, latent, "frames", 481)
    assert info_lines(served, latent)[-1] == WARNING_481
    set_widget(served, loader, "ckpt_name", HEADER_23)  # an LTX-2.3 file (by its header): no maximum
    assert not any(line.startswith("! ") for line in info_lines(served, latent))
    set_widget(served, loader, "ckpt_name", NAMED_25)
    assert info_lines(served, latent)[-1] == WARNING_481
    assert console.errors(mark) == []


def test_browser_model_limits_long_video_checks_its_window(served, console):
    mark = console.mark()
    loader = add_node(served, LOADER, pos=(60, 60))
    node = add_node(served, "LTX2NLongVideo", pos=(560, 60), width=380)
    set_widget(served, loader, "ckpt_name", HEADER_25)
    edit(served, node, "fps", 24.0)
    edit(served, node, "frames", 961)  # 40 s in windows of 121 frames: each pass is well within 20 s
    assert not any(line.startswith("! ") for line in info_lines(served, node))
    edit(served, node, "window_frames", 481)
    assert info_lines(served, node)[-1] == "! window " + WARNING_481[2:]
    assert console.errors(mark) == []


def test_browser_model_limits_timeline_marks_ltx25_max(served, console):
    mark = console.mark()
    loader = add_node(served, LOADER, pos=(60, 60))
    latent = add_node(served, LATENT, pos=(60, 260), width=300)
    node = add_node(served, "LTX2NKeyframes", pos=(500, 60))
    connect(served, latent, 0, node, 3)  # the clip length from the upstream latent
    set_widget(served, loader, "ckpt_name", HEADER_25)
    edit(served, latent, "fps", 24.0)
    edit(served, latent, "frames", 601)  # 25.04 s
    label = timeline_label(served, node)
    save_screenshot(served, "model-limits-timeline")
    assert label == {"text": "25.04 s (601 frames at 24 fps, Empty Audio+Video Latent (LTX-2)); "
                             "! over LTX-2.5's 20 s maximum", "maxSeconds": 20, "over": True}
    edit(served, latent, "frames", 121)
    assert timeline_label(served, node)["text"].endswith("(LTX-2)); LTX-2.5, max 20 s")
    set_widget(served, loader, "ckpt_name", HEADER_23)
    assert timeline_label(served, node)["text"].endswith("(LTX-2)); LTX-2.3 (22B)")
    assert console.errors(mark) == []


def test_browser_model_limits_timeline_default_clip_of_the_model(served):
    loader = add_node(served, LOADER, pos=(60, 60))
    node = add_node(served, "LTX2NRetake", pos=(500, 60))  # source length unknown before it runs; no fps widget
    set_widget(served, loader, "ckpt_name", HEADER_25)
    label = timeline_label(served, node)
    defaults = defaults_for_version("2.5.0")
    assert label["text"].startswith(f"5.04 s ({defaults.num_frames} frames at 24 fps, LTX-2.5 default)")
    assert label["over"] is False
