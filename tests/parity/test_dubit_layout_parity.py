"""Parity of the Dub-It conditioning layout (``ltx_model.pipelines.dubit``) with Lightricks' ``DubItPipeline``.

Golden values: ``tests/data/dubit_layout_golden.safetensors``, made by ``tests/data/golden/dubit_layout_golden.py``
from Lightricks/LTX-2 main @400fd31 (ltx-core 1.2.x + ltx-pipelines; ltx-core 1.0.0 has no reference audio item),
on seeded tiny latents stored in the same file. Ours is built by the code path the pipeline runs:
``dub_audio_items`` (dub frozen as the target + the source's voice as reference tokens, or the reference alone)
through ``stream_state`` (conditionings, freeze, noise from a seeded generator), and the IC-LoRA ``ReferenceVideo``.

* ``dub``: HEAD's stage-2 audio (frozen target with the initial latent + reference): every token, mask, position and
  clean value equal (float32, exact: no arithmetic beyond HEAD's own position shift);
* ``speech``: HEAD's stage-1 audio (generated target + reference), noise from the same seed;
* ``video``: the source as the IC-LoRA reference (factor 1) after an empty target, noise from the same seed.
HEAD leaves the attention mask unset in all three (no attention strength); so does ours.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from ltx_model.conditioning import ReferenceVideo
from ltx_model.pipelines.dubit import dub_audio_items
from ltx_model.pipelines.generate import Frozen
from ltx_model.pipelines.streams import StreamSpec, stream_state
from ltx_model.sampling.positions import AudioGrid, VideoGrid

pytestmark = pytest.mark.parity
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "dubit_layout_golden.safetensors"
FIELDS = ("latent", "denoise_mask", "positions", "clean_latent")


@pytest.fixture(scope="module")
def golden() -> dict[str, torch.Tensor]:
    with safe_open(str(GOLDEN), framework="pt") as handle:
        assert handle.metadata()["commit"] == "400fd31"
        return {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (safe_open has no iterator)


def _state(grid, spec: StreamSpec, seed: int):
    return stream_state(grid, spec, torch.Generator().manual_seed(seed), dtype=torch.float32,
                        device=torch.device("cpu"))


def _assert_state(state, golden: dict[str, torch.Tensor], prefix: str) -> None:
    assert state.attention_mask is None
    for name in FIELDS:
        ours, theirs = getattr(state, name).float(), golden[f"{prefix}.{name}"]
        assert ours.shape == theirs.shape, (prefix, name, ours.shape, theirs.shape)
        torch.testing.assert_close(ours, theirs, atol=0, rtol=0, msg=f"{prefix}.{name}")


def test_dubit_frozen_dub_with_voice_reference_matches_head(golden):
    items, frozen = dub_audio_items(golden["voice_latent"], golden["dub_latent"])
    assert frozen is Frozen.AUDIO
    state = _state(AudioGrid(frames=10), StreamSpec(items, None, 1.0, frozen=True), 7)
    _assert_state(state, golden, "dub")
    assert torch.equal(state.latent[:, :10], golden["dub.clean_latent"][:, :10])  # the dub kept exactly
    assert float(state.positions[:, :, 10:].max()) < 0  # the voice lies before t = 0


def test_dubit_generated_speech_with_voice_reference_matches_head(golden):
    items, frozen = dub_audio_items(golden["voice_latent"], None)
    assert frozen is Frozen.NONE
    _assert_state(_state(AudioGrid(frames=10), StreamSpec(items), 7), golden, "speech")


def test_dubit_source_as_ic_lora_reference_matches_head(golden):
    item = ReferenceVideo(golden["reference_video"], downscale_factor=1, strength=1.0)
    grid = VideoGrid(frames=2, height=2, width=2, fps=24.0)
    _assert_state(_state(grid, StreamSpec((item,)), 8), golden, "video")
