"""media: mp4 writing (H.264 yuv420p + AAC) and reading back with PyAV, and the CRF image round trip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ltx_model.media import crf_round_trip, probe, read_audio, read_video_frames, write_mp4

AAC_FRAME = 1024  # AAC encodes whole 1024-sample frames (plus encoder priming)


def _gradient_frames(frames: int, height: int, width: int) -> np.ndarray:
    """Smooth moving gradients (compress well, so decoded values stay close)."""
    yy, xx = np.mgrid[0:height, 0:width]
    out = [np.stack([(xx * 2 + 4 * t) % 256, (yy * 3) % 256, np.full_like(xx, 40 + 5 * t)], -1) for t in range(frames)]
    return np.stack(out).astype(np.uint8)


def _tone(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return (0.4 * np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)])).astype(np.float32)


@pytest.mark.parametrize("sample_rate", [24000, 48000])
def test_media_mp4_has_h264_video_and_aac_audio(tmp_path: Path, sample_rate: int) -> None:
    frames, fps = _gradient_frames(17, 64, 96), 24.0
    wave = _tone(17 / fps, sample_rate)
    path = write_mp4(tmp_path / "clip.mp4", torch.from_numpy(frames), fps=fps, waveform=torch.from_numpy(wave),
                     sample_rate=sample_rate)
    streams = probe(path)
    assert [s.kind for s in streams] == ["video", "audio"]
    video, audio = streams
    assert (video.codec, video.pix_fmt, video.frames, video.width, video.height) == ("h264", "yuv420p", 17, 96, 64)
    assert video.rate == pytest.approx(fps) and video.duration_s == pytest.approx(17 / fps)
    assert (audio.codec, audio.channels, audio.rate) == ("aac", 2, sample_rate)
    assert wave.shape[1] <= audio.frames <= wave.shape[1] + 2 * AAC_FRAME
    decoded, rate = read_video_frames(path)
    assert decoded.shape == frames.shape and rate == pytest.approx(fps)
    assert np.abs(decoded.astype(int) - frames.astype(int)).mean() < 4


def test_media_audio_round_trip_keeps_the_signal(tmp_path: Path) -> None:
    rate = 48000
    wave = _tone(0.5, rate)
    path = write_mp4(tmp_path / "a.mp4", _gradient_frames(9, 32, 32), fps=18, waveform=wave, sample_rate=rate)
    decoded, decoded_rate = read_audio(path)
    assert decoded_rate == rate and decoded.shape[0] == 2
    # find the encoder delay by cross-correlation, then compare the aligned signal
    left = decoded[0]
    delay = int(np.argmax(np.correlate(left[: 4 * AAC_FRAME], wave[0][:AAC_FRAME], mode="valid")))
    assert delay <= 2 * AAC_FRAME
    aligned = left[delay : delay + wave.shape[1]]
    assert np.corrcoef(aligned, wave[0][: aligned.size])[0, 1] > 0.95  # lossy AAC at the default bit rate
    assert np.abs(decoded).max() <= 1.0


def test_media_fractional_fps_and_video_only(tmp_path: Path) -> None:
    path = write_mp4(tmp_path / "v.mp4", _gradient_frames(9, 32, 64), fps=24000 / 1001)
    streams = probe(path)
    assert [s.kind for s in streams] == ["video"]
    assert streams[0].rate == pytest.approx(23.976, abs=1e-3) and streams[0].frames == 9


def test_media_write_rejects_bad_input(tmp_path: Path) -> None:
    good = _gradient_frames(1, 32, 32)
    with pytest.raises(ValueError, match="even"):
        write_mp4(tmp_path / "x.mp4", _gradient_frames(1, 33, 32), fps=24)
    with pytest.raises(ValueError, match="uint8"):
        write_mp4(tmp_path / "x.mp4", good.astype(np.float32), fps=24)
    with pytest.raises(ValueError, match="fps"):
        write_mp4(tmp_path / "x.mp4", good, fps=0)
    with pytest.raises(ValueError, match="sample_rate"):
        write_mp4(tmp_path / "x.mp4", good, fps=24, waveform=np.zeros((2, 100), np.float32))


def test_media_crf_round_trip_like_reference() -> None:
    image = _gradient_frames(1, 51, 75)[0]
    out = crf_round_trip(image)
    assert out.shape == (50, 74, 3) and out.dtype == np.uint8  # cropped to even sizes
    err = np.abs(out.astype(int) - image[:50, :74].astype(int)).mean()
    assert 0 < err < 6  # lossy but close on a smooth image
    assert np.array_equal(crf_round_trip(image), out)  # deterministic
    assert np.array_equal(crf_round_trip(image, crf=0), image)  # crf 0: untouched, as the reference
    noisy = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    assert (
        np.abs(crf_round_trip(noisy, 51).astype(int) - noisy).mean()
        > np.abs(crf_round_trip(noisy, 10).astype(int) - noisy).mean()
    )
