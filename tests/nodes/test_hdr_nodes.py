"""HDR nodes in the real host: Load EXR Sequence (values kept above 1.0, frame_start / frame_cap, the reference in
working codes, the channel rule as one error before anything runs), HDR Decode (LogC3 codes -> linear, preview in
[0, 1]; the 64-aligned frames cropped back, every other frame in high quality), HDR Prepare (the video-only
stage-1 latent, both stages' reflect-padded references, sizes and the high-quality doubling), Save EXR Sequence
(files under the output folder, half / float, tags), progress and interrupts."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from node_support import pack_module

pytestmark = pytest.mark.comfy

SEQUENCE = "ltx2n_hdr_nodes_seq"


@pytest.fixture
def hdr_modules(comfy_host):
    return pack_module(comfy_host, "ltx_model.exr"), pack_module(comfy_host, "ltx_model.modes.hdr")


@pytest.fixture
def sequence(hdr_modules):
    """Four 6x8 frames, values up to 20, in ``input/ltx2n_hdr_nodes_seq``."""
    import folder_paths

    exr, _ = hdr_modules
    folder = Path(folder_paths.get_input_directory()) / SEQUENCE
    shutil.rmtree(folder, ignore_errors=True)
    frames = torch.rand(4, 6, 8, 3, generator=torch.Generator().manual_seed(3)) * 20.0
    exr.write_exr_sequence(folder, frames, half=False)
    yield folder, frames
    shutil.rmtree(folder, ignore_errors=True)


def test_hdr_load_exr_sequence_keeps_values(pack_nodes, sequence, hdr_modules, progress_calls):
    folder, frames = sequence
    _, hdr = hdr_modules
    node = pack_nodes.hdr.LTX2NLoadEXRSequence
    images, reference, fps, count = node.execute(SEQUENCE, "srgb_linear", "logc3", 1, 2, 30.0).result
    assert images.dtype == torch.float32 and images.shape == (2, 6, 8, 3) and count == 2 and fps == 30.0
    assert torch.equal(images, frames[1:3]) and images.max() > 1.0
    assert reference.min() >= 0.0 and reference.max() <= 1.0
    torch.testing.assert_close(reference, hdr.logc3_encode(frames[1:3]))
    assert progress_calls[-1] == (2, 2)
    absolute = node.execute(str(folder), "acescg", "acescct", 0, 0, 24.0).result
    assert absolute[0].shape[0] == 4
    torch.testing.assert_close(absolute[1], hdr.acescct_encode(frames))


def test_hdr_load_exr_bad_input(pack_nodes, sequence, hdr_modules):
    folder, _ = sequence
    exr, _ = hdr_modules
    node = pack_nodes.hdr.LTX2NLoadEXRSequence
    assert "does not exist" in node.validate_inputs(folder="ltx2n_no_such_folder")
    assert node.validate_inputs(folder=SEQUENCE) is True
    before = node.fingerprint_inputs(folder=SEQUENCE, frame_cap=0)
    assert len(before) == 4 and node.fingerprint_inputs(folder=SEQUENCE) == before
    module = exr.openexr()
    plane = np.ones((6, 8), dtype=np.float32)
    module.File({"compression": module.ZIP_COMPRESSION, "type": module.scanlineimage},
                {"R": plane, "G": plane}).write(str(folder / "frame_00002.exr"))
    assert node.fingerprint_inputs(folder=SEQUENCE) != before  # a changed frame is loaded again
    with pytest.raises(ValueError, match=r"Load EXR Sequence \(LTX-2\): folder input: EXR file .*frame_00002\.exr "
                                         r"has 2 channel\(s\) G, R: an EXR frame needs R, G and B"):
        node.execute(SEQUENCE, "srgb_linear", "logc3", 0, 0, 24.0)
    with pytest.raises(ValueError, match="none left from frame_start 9"):
        node.execute(SEQUENCE, "srgb_linear", "logc3", 9, 0, 24.0)


def test_hdr_decode_is_logc3_and_unclipped(pack_nodes, hdr_modules):
    _, hdr = hdr_modules
    codes = torch.rand(3, 4, 5, 3, generator=torch.Generator().manual_seed(1))
    codes[0, 0, 0] = 1.0
    linear, preview = pack_nodes.hdr.LTX2NHDRDecode.execute(codes, "logc3", "srgb_linear", 0.0).result
    torch.testing.assert_close(linear, hdr.logc3_decode(codes).clamp(min=0))
    assert linear.max() > 50.0 and linear.dtype == torch.float32
    assert preview.shape == codes.shape and preview.min() >= 0.0 and preview.max() <= 1.0
    brighter = pack_nodes.hdr.LTX2NHDRDecode.execute(codes, "logc3", "srgb_linear", 2.0).result
    assert torch.equal(brighter[0], linear) and brighter[1].mean() > preview.mean()
    aces = pack_nodes.hdr.LTX2NHDRDecode.execute(codes, "logc3", "acescg", 0.0).result[0]
    torch.testing.assert_close(aces, hdr.to_linear(codes, hdr.find_transfer("logc3"), hdr.ACESCG))


def test_hdr_decode_crops_and_halves(pack_nodes, hdr_modules):
    _, hdr = hdr_modules
    codes = torch.rand(17, 64, 128, 3, generator=torch.Generator().manual_seed(4))
    linear, preview = pack_nodes.hdr.LTX2NHDRDecode.execute(codes, "logc3", "srgb_linear", 0.0, 96, 64, True).result
    assert linear.shape == preview.shape == (9, 64, 96, 3)
    torch.testing.assert_close(linear, hdr.logc3_decode(codes[::2, :, :96]).clamp(min=0))


def test_hdr_prepare_video_only_latent_and_references(pack_nodes, hdr_modules):
    _, hdr = hdr_modules
    node = pack_nodes.hdr.LTX2NHDRPrepare
    frames = torch.rand(12, 64, 96, 3, generator=torch.Generator().manual_seed(5))
    latent, first, second, width, height, quality = node.execute(frames, 1, 0, 0, 0, False).result
    assert not getattr(latent["samples"], "is_nested", False)  # video only: no audio part
    assert latent["samples"].shape == (1, 128, 2, 1, 2) and (width, height, quality) == (96, 64, False)
    assert first.shape == (9, 32, 64, 3) and second.shape == (9, 64, 128, 3)
    torch.testing.assert_close(second[:, :, :96], frames[:9])  # not resized, padded on the right by reflection
    torch.testing.assert_close(second[:, :, 96], frames[:9, :, 94])
    square = torch.rand(12, 128, 128, 3, generator=torch.Generator().manual_seed(6))
    latent, first, second, *_, quality = node.execute(square, 2, 0, 0, 9, True).result
    assert latent["samples"].shape == (1, 128, 3, 2, 2) and quality is True
    assert first.shape == (17, 32, 32, 3) and second.shape == (17, 64, 64, 3)  # 2 x 9 - 1 frames, size / 2
    torch.testing.assert_close(second[0], second[1])
    with pytest.raises(ValueError, match=r"HDR Prepare \(LTX-2\): .*frames"):
        node.execute(frames, 1, 0, 0, 10, False)
    with pytest.raises(ValueError, match=r"HDR Prepare \(LTX-2\): .*multiples of 32"):
        node.execute(frames, 4, 0, 0, 0, False)


def test_hdr_save_exr_sequence_writes_files(pack_nodes, hdr_modules):
    import folder_paths

    exr, hdr = hdr_modules
    frames = torch.rand(3, 4, 6, 3, generator=torch.Generator().manual_seed(2)) * 30.0
    node = pack_nodes.hdr.LTX2NSaveEXRSequence
    out = node.execute(frames, "ltx2n_hdr_nodes/save", "acescg", "float")
    (text,) = out.ui["text"]
    folder = Path(folder_paths.get_output_directory()) / text.split("output/", 1)[1]
    try:
        assert sorted(p.name for p in folder.iterdir()) == [f"frame_{i:05d}.exr" for i in range(3)]
        back = exr.read_exr_sequence(exr.exr_frames(folder))
        assert torch.equal(back, frames)
        header = exr.openexr().File(str(folder / "frame_00000.exr"), header_only=True).header()
        assert header["colorSpace"] == "ACEScg"
        assert header["chromaticities"] == pytest.approx(hdr.CHROMATICITIES[hdr.ACESCG], abs=1e-6)
        second = node.execute(frames[:1], "ltx2n_hdr_nodes/save", "srgb_linear", "half").ui["text"][0]
        assert second != text  # a new numbered folder, the first one kept
        with pytest.raises(ValueError, match=r"Save EXR Sequence \(LTX-2\): images must be"):
            node.execute(frames[..., :2], "ltx2n_hdr_nodes/save", "srgb_linear", "half")
    finally:
        shutil.rmtree(Path(folder_paths.get_output_directory()) / "ltx2n_hdr_nodes", ignore_errors=True)


def test_hdr_nodes_honour_interrupt(pack_nodes, sequence):
    import comfy.model_management as mm

    runs = (lambda: pack_nodes.hdr.LTX2NLoadEXRSequence.execute(SEQUENCE, "srgb_linear", "logc3", 0, 0, 24.0),
            lambda: pack_nodes.hdr.LTX2NHDRDecode.execute(torch.rand(2, 2, 2, 3), "logc3", "srgb_linear", 0.0),
            lambda: pack_nodes.hdr.LTX2NHDRPrepare.execute(torch.rand(9, 64, 64, 3), 1, 0, 0, 0, False),
            lambda: pack_nodes.hdr.LTX2NSaveEXRSequence.execute(torch.rand(2, 2, 2, 3), "ltx2n_hdr_nodes/stop",
                                                                "srgb_linear", "half"))
    try:
        for run in runs:
            mm.interrupt_current_processing(True)  # the check clears the flag when it raises
            with pytest.raises(mm.InterruptProcessingException):
                run()
    finally:
        mm.interrupt_current_processing(False)
        import folder_paths

        shutil.rmtree(Path(folder_paths.get_output_directory()) / "ltx2n_hdr_nodes", ignore_errors=True)
