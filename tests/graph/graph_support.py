"""Helpers of the graph tests: the tiny model store, the prompt shrinker and the mp4 checks.

* :class:`ModelStore` — one temporary ``models/<folder>`` tree per test session; :meth:`ModelStore.ensure` writes
  tiny demo files (``ltx_model.demo``) under exactly the names a prompt references (checkpoints, the Gemma
  folder, latent upscalers, LoRAs) and the example pictures into an input folder.
* :func:`shrink` — tiny sizes in a converted API prompt (64x64 latent size, 9 frames, 2 steps) and what the
  resulting mp4 must look like (:class:`ExpectedVideo`).
* :func:`check_mp4` — exactly one H.264 video and one AAC audio stream with the expected frame count, size, fps
  and duration (decoded with PyAV through ``ltx_model.media.probe``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.comfy_headless import MODEL_FOLDERS
from scripts.workflow_api import VIDEO_ONLY_NODES, is_link, nodes_of_type, override_inputs
from scripts.workflow_models import ModelKind, ModelRef, demo_family, model_refs, write_demo_file

TINY = {"width": 64, "height": 64, "frames": 9, "steps": 2}
"""Input name -> tiny value, applied to every node that has the input as a literal."""

UPSCALE_X2_NODES = frozenset({"LTX2NUpscaleLatent", "LTXVLatentUpsampler", "LTX2NDFRDetailStage"})
"""Nodes that double the latent's width and height (spatial x2 upscalers)."""
UPSCALE_X15_NODES = frozenset({"LTX2NUpscaleLatentX15"})
"""Nodes that scale the latent's width and height by 1.5 (latent cells rounded up)."""
TEMPORAL_X2_NODES = frozenset({"LTX2NUpscaleLatentTemporal", "LTX2NDFRTemporalRounds"})  # DFR: rounds=1 as shipped
"""Nodes that turn N video frames into 2N - 1 (temporal x2 upscalers)."""
TWO_STAGE_PREFIX = "two stages"
"""``LTX2NEmptyAVLatent.stages`` values starting with this take the FINAL size and make a half-size latent."""
FINAL_SIZE_NODES = frozenset({"LTX2NHDRPrepare"})
"""Nodes whose width / height are the FINAL size: they make a half-size latent (HDR: and the decode crops back)."""

AUDIO_DURATION_TOLERANCE_S = 0.06
"""|audio - video| duration bound: the audio latent count is round(duration x 25) (+-0.02 s), the causal audio
decoder returns 4T - 3 mel frames (-0.03 s), and AAC rounds up to whole 1024-sample frames (+1024 / rate)."""


class ModelStore:
    """A ``models/<folder>`` tree plus an ``input`` folder, filled on demand with tiny demo files."""

    def __init__(self, root: Path):
        self.root = root
        for folder in (*MODEL_FOLDERS, "input"):
            (root / folder).mkdir(parents=True, exist_ok=True)

    def folder(self, name: str) -> Path:
        """Directory of ComfyUI folder key ``name`` (``input`` for pictures)."""
        return self.root / name

    def ensure(self, prompt: dict[str, Any]) -> list[Path]:
        """Write every file ``prompt`` references that is not there yet; returns all referenced paths.

        LoRAs get the family of the prompt's checkpoint (a LoRA for the other family would not fit)."""
        refs = model_refs(prompt)
        checkpoints = [r for r in refs if r.kind is ModelKind.CHECKPOINT]
        family = demo_family(checkpoints[0].name) if checkpoints else None
        return [write_demo_file(ref, self.folder(ref.folder), family=self._family(ref, family)) for ref in refs]

    @staticmethod
    def _family(ref: ModelRef, checkpoint_family: Any) -> Any:
        return checkpoint_family if ref.kind is ModelKind.LORA else None


@dataclass(frozen=True)
class ExpectedVideo:
    """What the saved mp4 of a shrunk prompt must contain."""

    width: int
    height: int
    frames: int
    fps: float

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps


def shrink(prompt: dict[str, Any], sizes: dict[str, Any] | None = None) -> ExpectedVideo:
    """Set tiny sizes in place (``TINY`` by input name) and return the expected output video.

    The output size is the latent's pixel size (half the given size for a two-stage empty latent) times 2 per
    spatial x2 upscaler; the frame rate is ``CreateVideo``'s.
    """
    sizes = {**TINY, **(sizes or {})}
    changed = override_inputs(prompt, sizes)
    missing = sorted({"width", "height", "frames"} - {name for _, name in changed})
    assert not missing, f"no literal {missing} input to shrink (sizes must be set in one place)"
    two_stage = any(str(prompt[nid]["inputs"].get("stages", "")).startswith(TWO_STAGE_PREFIX) for nid, _ in changed)
    two_stage = two_stage or any(nodes_of_type(prompt, t) for t in FINAL_SIZE_NODES)
    scale = 2 ** sum(len(nodes_of_type(prompt, t)) for t in UPSCALE_X2_NODES) / (2 if two_stage else 1)
    scale *= 1.5 ** sum(len(nodes_of_type(prompt, t)) for t in UPSCALE_X15_NODES)
    frames = sizes["frames"]
    for _ in range(sum(len(nodes_of_type(prompt, t)) for t in TEMPORAL_X2_NODES)):
        frames = 2 * frames - 1
    (create,) = nodes_of_type(prompt, "CreateVideo")
    fps = prompt[create]["inputs"]["fps"]
    assert not is_link(fps), "CreateVideo fps must be a literal"
    return ExpectedVideo(round(sizes["width"] * scale), round(sizes["height"] * scale), frames, float(fps))


def is_video_only(prompt: dict[str, Any]) -> bool:
    """True for an API prompt whose generation has no audio stream (a node of :data:`VIDEO_ONLY_NODES`)."""
    return any(nodes_of_type(prompt, t) for t in VIDEO_ONLY_NODES)


def check_mp4(path: Path, expected: ExpectedVideo, *, audio_s: float | None = None,
              audio_tolerance_s: float = AUDIO_DURATION_TOLERANCE_S, video_only: bool = False) -> None:
    """Assert one h264 video stream and one aac audio stream with the expected geometry and timing.

    The audio lasts as long as the video unless ``audio_s`` says otherwise (audio taken from an input file),
    within ``audio_tolerance_s``. ``video_only``: exactly one h264 stream and no audio (:func:`is_video_only`)."""
    from ltx_model.media import probe

    streams = probe(path)
    kinds = [("video", "h264")] if video_only else [("video", "h264"), ("audio", "aac")]
    assert [(s.kind, s.codec) for s in streams] == kinds, streams
    video = streams[0]
    assert (video.width, video.height) == (expected.width, expected.height)
    assert video.frames == expected.frames
    assert abs(video.rate - expected.fps) < 1e-3
    assert abs(video.duration_s - expected.duration_s) < 1e-3
    if video_only:
        return
    audio = streams[1]
    assert audio.channels == 2
    audio_s = expected.duration_s if audio_s is None else audio_s
    assert abs(audio.duration_s - audio_s) <= audio_tolerance_s, audio
