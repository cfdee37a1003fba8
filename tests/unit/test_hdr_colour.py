"""HDR colour rules (``ltx_model.modes.hdr``) and EXR frames (``ltx_model.exr``): curves invert, known values,
primaries round trip, metadata reading, EXR round trip and the channel rule."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ltx_model import exr
from ltx_model.modes import GenerationError, hdr

LINEAR = torch.tensor([0.0, 0.001, 0.0105, 0.0106, 0.18, 1.0, 4.0, 16.0, 50.0])


@pytest.mark.parametrize("name", ["logc3", "acescct"])
def test_hdr_curves_invert_on_their_range(name):
    curve = hdr.find_transfer(name)
    back = curve.decode(curve.encode(LINEAR))
    torch.testing.assert_close(back, LINEAR, rtol=1e-4, atol=1e-6)
    codes = torch.linspace(0.1, 1.0, 50)
    torch.testing.assert_close(curve.encode(curve.decode(codes)), codes, rtol=1e-5, atol=1e-6)


def test_hdr_curve_known_values():
    # LogC3 EI 800: 18 % grey is code 0.391 (ARRI's white paper), 0 -> f = 0.092809; code 1 -> about 55.
    assert hdr.logc3_encode(torch.tensor(0.18)).item() == pytest.approx(0.3910, abs=2e-4)
    assert hdr.logc3_encode(torch.tensor(0.0)).item() == pytest.approx(0.092809, abs=1e-6)
    assert hdr.logc3_decode(torch.tensor(1.0)).item() == pytest.approx(55.08, rel=2e-3)
    # ACEScct: 18 % grey is 0.4135 (S-2016-001), 0 -> the toe offset, code 1 -> 2^(17.52 - 9.72) = 222.86.
    assert hdr.acescct_encode(torch.tensor(0.18)).item() == pytest.approx(0.41355, abs=2e-4)
    assert hdr.acescct_encode(torch.tensor(0.0)).item() == pytest.approx(0.0729055, abs=1e-6)
    assert hdr.acescct_decode(torch.tensor(1.0)).item() == pytest.approx(2 ** 7.8, rel=1e-5)


def test_hdr_curves_are_continuous_at_their_breaks():
    eps = 1e-6
    for encode, cut in ((hdr.logc3_encode, hdr.LOGC3_CUT), (hdr.acescct_encode, hdr.ACESCCT_LIN_BREAK)):
        below, above = encode(torch.tensor(cut - eps)).item(), encode(torch.tensor(cut + eps)).item()
        assert abs(above - below) < 1e-3


def test_hdr_primaries_round_trip_and_white():
    pixels = torch.rand(2, 3, 4, 3) * 5
    there = hdr.convert_primaries(pixels, hdr.REC709, hdr.ACESCG)
    assert not torch.allclose(there, pixels)
    torch.testing.assert_close(hdr.convert_primaries(there, hdr.ACESCG, hdr.REC709), pixels, rtol=1e-5, atol=1e-5)
    # Equal-energy grey stays (near) grey: rows of the matrix sum to ~1.
    grey = hdr.convert_primaries(torch.ones(3), hdr.ACESCG, hdr.REC709)
    torch.testing.assert_close(grey, torch.ones(3), rtol=0, atol=1e-3)
    with pytest.raises(GenerationError, match="no primaries conversion"):
        hdr.convert_primaries(pixels, hdr.REC709, "rec2020")


def test_hdr_to_linear_is_unclipped_and_to_working_inverts():
    codes = torch.tensor([[0.2, 0.6, 0.95]])
    linear = hdr.to_linear(codes, hdr.find_transfer("logc3"))
    assert linear.max() > 1.0 and linear.min() >= 0.0
    torch.testing.assert_close(hdr.to_working(linear, hdr.find_transfer("logc3")), codes, rtol=1e-5, atol=1e-5)


def test_hdr_exr_colour_spaces_to_working():
    linear = torch.tensor([[0.05, 0.5, 3.0]])
    acescct = hdr.find_transfer("acescct")
    cct = hdr.exr_to_working(linear, hdr.find_colour_space("acescg"), acescct)
    torch.testing.assert_close(cct, hdr.acescct_encode(linear))
    # ACEScct files are working codes already (clamped), and convert to LogC3 through linear light.
    assert torch.equal(hdr.exr_to_working(torch.tensor([[1.5, 0.2, -0.1]]), hdr.find_colour_space("acescct"), acescct),
                       torch.tensor([[1.0, 0.2, 0.0]]))
    logc = hdr.exr_to_working(cct, hdr.find_colour_space("acescct"), hdr.find_transfer("logc3"))
    expected = hdr.to_working(hdr.convert_primaries(linear, hdr.ACESCG, hdr.REC709), hdr.find_transfer("logc3"))
    torch.testing.assert_close(logc, expected, rtol=1e-5, atol=1e-5)
    assert hdr.sdr_to_working(torch.tensor([1.2, 0.5, -0.2])).tolist() == [1.0, 0.5, 0.0]
    with pytest.raises(GenerationError, match="srgb_linear, acescg, acescct"):
        hdr.find_colour_space("rec2020")


def test_hdr_lora_metadata():
    assert hdr.read_hdr_lora_config({"reference_downscale_factor": "2"}) is None
    assert hdr.read_hdr_lora_config({"hdr_transform": "true"}) == hdr.HdrLoraConfig("logc3", 1)
    assert hdr.read_hdr_lora_config({"use_hdr_transform": "1", "reference_downscale_factor": "2"}) == \
        hdr.HdrLoraConfig("logc3", 2)
    assert hdr.read_hdr_lora_config({"hdr_transform": "ACEScct"}) == hdr.HdrLoraConfig("acescct", 1)
    with pytest.raises(GenerationError, match="unknown HDR transfer 'pq'"):
        hdr.read_hdr_lora_config({"hdr_transform": "pq"})
    with pytest.raises(GenerationError, match="reference_downscale_factor"):
        hdr.read_hdr_lora_config({"hdr_transform": "logc3", "reference_downscale_factor": "x"})


def test_hdr_tonemap_preview_range():
    preview = hdr.tonemap_preview(torch.tensor([0.0, 0.18, 1.0, 1000.0]))
    assert preview[0] == 0 and 0 < preview[1] < preview[2] < preview[3] <= 1.0


@pytest.mark.parametrize("half", [True, False])
def test_exr_round_trip_keeps_values_above_one(tmp_path, half):
    frames = torch.rand(2, 5, 7, 3) * 40.0
    paths = exr.write_exr_sequence(tmp_path / "seq", frames, half=half,
                                   chromaticities=hdr.CHROMATICITIES[hdr.ACESCG], colour_space="ACEScg")
    assert [p.name for p in paths] == ["frame_00000.exr", "frame_00001.exr"]
    back = exr.read_exr_sequence(exr.exr_frames(tmp_path / "seq"))
    assert back.shape == (2, 5, 7, 3) and back.dtype == torch.float32 and back.max() > 1.0
    tol = 2e-2 if half else 0
    torch.testing.assert_close(back, frames, rtol=tol * 0.1, atol=tol)
    header = exr.openexr().File(str(paths[0]), header_only=True).header()
    assert header["colorSpace"] == "ACEScg"
    assert header["chromaticities"][6] == pytest.approx(0.32168, abs=1e-6)
    assert str(header["compression"]).endswith("ZIP_COMPRESSION")


def test_exr_half_saturates_instead_of_inf(tmp_path):
    exr.write_exr(tmp_path / "big.exr", torch.full((2, 2, 3), 1e6))
    assert exr.read_exr(tmp_path / "big.exr").max().item() == exr.HALF_MAX


def _write_channels(path, channels: dict[str, np.ndarray]) -> None:
    module = exr.openexr()
    module.File({"compression": module.ZIP_COMPRESSION, "type": module.scanlineimage}, channels).write(str(path))


def test_exr_channel_rule(tmp_path):
    plane = np.arange(12, dtype=np.float32).reshape(3, 4) / 4
    _write_channels(tmp_path / "grey.exr", {"Y": plane, "A": np.ones_like(plane)})
    grey = exr.read_exr(tmp_path / "grey.exr")
    assert grey.shape == (3, 4, 3) and torch.equal(grey[..., 0], grey[..., 2])
    _write_channels(tmp_path / "rgba.exr", {"R": plane, "G": plane * 2, "B": plane * 3, "A": plane})
    assert exr.read_exr(tmp_path / "rgba.exr")[..., 2].max().item() == pytest.approx(plane.max() * 3)
    _write_channels(tmp_path / "rg.exr", {"R": plane, "G": plane})
    with pytest.raises(exr.ExrError, match=r"rg\.exr has 2 channel\(s\) G, R: an EXR frame needs R, G and B"):
        exr.read_exr(tmp_path / "rg.exr")


def test_exr_sequence_errors(tmp_path):
    with pytest.raises(exr.ExrError, match="does not exist"):
        exr.exr_frames(tmp_path / "missing")
    with pytest.raises(exr.ExrError, match="holds no"):
        exr.exr_frames(tmp_path)
    exr.write_exr(tmp_path / "a.exr", torch.zeros(4, 4, 3))
    exr.write_exr(tmp_path / "b.exr", torch.zeros(4, 6, 3))
    assert [p.name for p in exr.exr_frames(tmp_path, start=1)] == ["b.exr"]
    with pytest.raises(exr.ExrError, match="none left from frame_start 2"):
        exr.exr_frames(tmp_path, start=2)
    with pytest.raises(exr.ExrError, match="one size"):
        exr.read_exr_sequence(exr.exr_frames(tmp_path))
