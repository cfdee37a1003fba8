"""Media I/O with PyAV: mp4 writing (H.264 yuv420p + AAC), reading back, and the image CRF round trip.

* :func:`write_mp4` — frames ``uint8 (F, H, W, 3)`` at ``fps`` plus an optional stereo waveform ``(2, S)`` in
  [-1, 1] at ``sample_rate`` → mp4 with one ``h264`` (yuv420p) video stream and one ``aac`` audio stream.
* :func:`read_video_frames`, :func:`read_audio`, :func:`probe` — read a file back (tests, conditioning inputs).
* :func:`crf_round_trip` — the reference's image preprocessing for image conditioning (ltx2-model.md §9): encode
  the picture as a single-frame H.264 video (libx264, preset veryfast, yuv420p, CRF 33), decode it again, so the
  conditioning image carries the compression artefacts the model was trained with. Odd sizes are cropped to even.

``av`` is imported lazily, so importing ``ltx_model`` never needs PyAV.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch

DEFAULT_IMAGE_CRF = 33
"""CRF of the reference's image-conditioning round trip (ltx-pipelines ``DEFAULT_IMAGE_CRF``)."""


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a media file: ``kind`` ("video" / "audio"), codec name, and the kind-specific facts.

    Attributes:
        frames: video frames (decoded count) or audio samples per channel (decoded count).
        rate: video frame rate (frames/s) or audio sample rate (Hz).
        duration_s: frames / rate.
        width, height, pix_fmt: video only (0 / "" for audio). channels: audio only (0 for video).
    """

    kind: str
    codec: str
    frames: int
    rate: float
    duration_s: float
    width: int = 0
    height: int = 0
    pix_fmt: str = ""
    channels: int = 0


def _frame_rate(fps: float) -> Fraction:
    """fps as an exact fraction (24 -> 24/1, 23.976 -> 24000/1001)."""
    return Fraction(fps).limit_denominator(1001)


def _as_uint8_frames(frames: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(F, H, W, 3)`` uint8 array with even H and W (required by yuv420p)."""
    array = frames.detach().cpu().numpy() if isinstance(frames, torch.Tensor) else np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3 or array.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 (F, H, W, 3), got {array.dtype} {array.shape}")
    if array.shape[1] % 2 or array.shape[2] % 2:
        raise ValueError(f"H.264 yuv420p needs an even width and height, got {array.shape[2]}x{array.shape[1]}")
    return array


def _add_video_stream(container: Any, frames: np.ndarray, fps: float, *, crf: int | None) -> Any:  # noqa: ANN401
    """A libx264 yuv420p stream sized for ``frames``."""
    options = {"crf": str(crf)} if crf is not None else {}
    stream = container.add_stream("libx264", rate=_frame_rate(fps), options=options)
    stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
    return stream


def _encode_video(container: Any, stream: Any, frames: np.ndarray) -> None:  # noqa: ANN401
    """Encode every frame into ``stream`` and flush."""
    import av

    for array in frames:
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def _stereo_int16(waveform: torch.Tensor | np.ndarray) -> np.ndarray:
    """``(2, S)`` or ``(S,)`` float waveform in [-1, 1] → interleaved int16 ``(1, 2·S)`` (mono is duplicated)."""
    wave = waveform.detach().float().cpu().numpy() if isinstance(waveform, torch.Tensor) else np.asarray(waveform)
    wave = wave.astype(np.float32)
    if wave.ndim == 1:
        wave = np.stack([wave, wave])
    if wave.ndim != 2 or wave.shape[0] not in (1, 2):
        raise ValueError(f"waveform must be (channels<=2, samples), got {wave.shape}")
    if wave.shape[0] == 1:
        wave = np.concatenate([wave, wave])
    ints = (np.clip(wave, -1.0, 1.0) * 32767.0).astype(np.int16)  # truncation, as the reference
    return np.ascontiguousarray(ints.T).reshape(1, -1)


def _add_audio_stream(container: Any, sample_rate: int) -> Any:  # noqa: ANN401
    """An AAC stereo stream at ``sample_rate`` with a 1/sample_rate time base."""
    stream = container.add_stream("aac", rate=sample_rate)
    stream.codec_context.layout = "stereo"
    stream.codec_context.time_base = Fraction(1, sample_rate)
    return stream


def _encode_audio(container: Any, stream: Any, waveform: torch.Tensor | np.ndarray, sample_rate: int) -> None:  # noqa: ANN401
    """Convert to s16, resample to the encoder's format, encode with running pts and flush."""
    import av

    frame = av.AudioFrame.from_ndarray(_stereo_int16(waveform), format="s16", layout="stereo")
    frame.sample_rate = sample_rate
    resampler = av.AudioResampler(format=stream.codec_context.format or "fltp", layout="stereo", rate=sample_rate)
    pts = 0
    for chunk in [*resampler.resample(frame), *resampler.resample(None)]:
        chunk.pts = pts
        pts += chunk.samples
        container.mux(stream.encode(chunk))
    container.mux(stream.encode())


def write_mp4(
    path: str | os.PathLike[str],
    frames: torch.Tensor | np.ndarray,
    *,
    fps: float,
    waveform: torch.Tensor | np.ndarray | None = None,
    sample_rate: int | None = None,
    crf: int | None = None,
) -> str:
    """Write an mp4: H.264 (libx264, yuv420p) video and, when ``waveform`` is given, AAC stereo audio.

    Args:
        path: output file.
        frames: ``uint8 (F, H, W, 3)`` RGB frames (H, W even).
        fps: frame rate (frames per second; fractional rates are stored exactly, e.g. 24000/1001).
        waveform: optional ``(2, S)`` (or mono ``(S,)`` / ``(1, S)``) float waveform in [-1, 1].
        sample_rate: audio sample rate in Hz (required with ``waveform``).
        crf: x264 constant rate factor (None = the encoder default, 23).
    Returns:
        ``str(path)``.
    """
    import av

    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if waveform is not None and not sample_rate:
        raise ValueError("sample_rate is required when a waveform is given")
    array = _as_uint8_frames(frames)
    with av.open(str(path), mode="w", format="mp4") as container:
        video = _add_video_stream(container, array, fps, crf=crf)
        audio = _add_audio_stream(container, int(sample_rate)) if waveform is not None else None
        _encode_video(container, video, array)
        if audio is not None:
            _encode_audio(container, audio, waveform, int(sample_rate))
    return str(path)


def read_video_frames(path: str | os.PathLike[str] | io.BytesIO) -> tuple[np.ndarray, float]:
    """Decode every frame of the first video stream → (``uint8 (F, H, W, 3)`` RGB, frame rate)."""
    import av

    with av.open(path if isinstance(path, io.BytesIO) else str(path)) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        rate = float(stream.average_rate or stream.base_rate or 0)
    return np.stack(frames), rate


def read_audio(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Decode the first audio stream → (float32 ``(channels, samples)`` in [-1, 1], sample rate in Hz)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        rate = int(stream.rate)
        resampler = av.AudioResampler(format="fltp", layout=stream.layout.name, rate=rate)
        chunks = [f.to_ndarray() for frame in container.decode(stream) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray() for f in resampler.resample(None)]
    return np.concatenate(chunks, axis=1).astype(np.float32), rate


def probe(path: str | os.PathLike[str]) -> list[StreamInfo]:
    """Every video / audio stream of a file with decoded frame (or sample) counts, rates and durations."""
    import av

    infos: list[StreamInfo] = []
    with av.open(str(path)) as container:
        for stream in container.streams:
            if stream.type == "video":
                count = sum(1 for _ in container.decode(stream))
                rate = float(stream.average_rate)
                ctx = stream.codec_context
                infos.append(StreamInfo("video", ctx.name, count, rate, count / rate, ctx.width, ctx.height,
                                        ctx.pix_fmt or ""))
            elif stream.type == "audio":
                samples = sum(frame.samples for frame in container.decode(stream))
                infos.append(StreamInfo("audio", stream.codec_context.name, samples, float(stream.rate),
                                        samples / stream.rate, channels=stream.codec_context.channels))
            container.seek(0)
    return infos


def crf_round_trip(image: torch.Tensor | np.ndarray, crf: int = DEFAULT_IMAGE_CRF) -> np.ndarray:
    """The reference's image preprocessing: one-frame H.264 encode (CRF ``crf``, preset veryfast, yuv420p) and
    decode, in memory.

    Args:
        image: ``uint8 (H, W, 3)`` RGB (an alpha channel is dropped).
        crf: constant rate factor; 0 returns the image unchanged (as the reference).
    Returns:
        ``uint8 (H', W', 3)`` with H', W' = H, W rounded down to even.
    """
    import av

    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    array = np.ascontiguousarray(array[..., :3].astype(np.uint8, copy=False))
    if crf == 0:
        return array
    height, width = array.shape[0] // 2 * 2, array.shape[1] // 2 * 2
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=1, options={"crf": str(crf), "preset": "veryfast"})
        stream.width, stream.height = width, height
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array[:height, :width]), format="rgb24")
        container.mux(stream.encode(frame.reformat(format="yuv420p")))
        container.mux(stream.encode())
    buffer.seek(0)
    with av.open(buffer) as container:
        decoded = next(container.decode(container.streams.video[0]))
        return decoded.to_ndarray(format="rgb24")


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Decode a still image (PNG, JPEG, ... anything FFmpeg reads) → ``uint8 (H, W, 3)`` RGB."""
    import av

    with av.open(str(path)) as container:
        frame = next(container.decode(container.streams.video[0]))
        return frame.to_ndarray(format="rgb24")
