"""Audio-only builds of an audio+video transformer file (``kind=ModelKind.AUDIO_ONLY``, text-to-audio).

Only the audio stream's tensors are read (the video stream's and the audio<->video cross-attention keys, as
``keymaps.TRANSFORMER_KIND_SKIPS`` lists them, are skipped); everything else stays strict. Numerics: the
audio-only module's audio velocity is compared with the full model's for ``forward(None, audio)`` with
``torch.equal`` (fp32): the full model skips the cross-modal attention when the video stream is absent
(``TransformerBlock.forward``: ``run_v2a`` needs video tokens; ``prepare_stream`` adds no cross RoPE / AdaLN
without the other stream), so both run the same operations on the same weights.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from tiny_weights import write_tiny_checkpoint

from ltx_model.demo import write_sparse_checkpoint
from ltx_model.loading import SafetensorsReader, module_nbytes, read_header, write_safetensors
from ltx_model.loading.build import StateDictMismatchError, build_component, load_component
from ltx_model.loading.keymaps import Component, model_state_keys, skipped_for_kind
from ltx_model.loading.safetensors_io import CheckpointError
from ltx_model.transformer import Modality, ModelKind

MANIFESTS = ("ltx-2-19b.json", "ltx-2.3-22b.json")
AUDIO = ModelKind.AUDIO_ONLY


@pytest.fixture(scope="module", params=MANIFESTS)
def tiny_av(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, manifests_dir: Path) -> Path:
    """A tiny fp32 audio+video transformer file in the 19B or 22B form."""
    manifest = json.loads((manifests_dir / request.param).read_text())
    return write_tiny_checkpoint(tmp_path_factory.mktemp("av") / "tiny.safetensors", manifest, scale=0.3)


def _is_audio_key(key: str) -> bool:
    """Module key of the audio stream: ``audio_*`` at the top level or inside a block (not the a2v attention)."""
    local = key.split(".", 2)[2] if key.startswith("transformer_blocks.") else key
    return local.startswith("audio_") and not local.startswith("audio_to_video_attn.")


def test_loading_transformer_audio_only_reads_no_video_keys(tiny_av: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    read: list[str] = []
    original = SafetensorsReader.read
    monkeypatch.setattr(SafetensorsReader, "read", lambda self, key: read.append(key) or original(self, key))
    audio = load_component(tiny_av, "transformer", kind=AUDIO, dtype=torch.float32)
    assert audio.config.kind is AUDIO
    keys = set(audio.state_dict())
    assert keys and all(_is_audio_key(k) for k in keys)
    assert sorted(read) == sorted("model.diffusion_model." + k for k in keys)  # each audio tensor once, nothing else
    full_keys = model_state_keys(read_header(tiny_av).keys(), Component.TRANSFORMER)
    skipped = {k for k in full_keys if k not in keys}
    assert skipped and all(skipped_for_kind(k, "AUDIO_ONLY") and not _is_audio_key(k) for k in skipped)
    full = load_component(tiny_av, "transformer", dtype=torch.float32)
    audio_numel = sum(t.numel() for k, t in full.state_dict().items() if _is_audio_key(k))
    assert module_nbytes(audio) == 4 * audio_numel < module_nbytes(full)  # the audio share, fp32
    for key, value in audio.state_dict().items():
        assert torch.equal(value, full.state_dict()[key]), key


def _audio_input(config, *, tokens: int = 6, batch: int = 2) -> Modality:
    """A text-to-audio pass: audio tokens (B, T, C), per-token sigma, time positions (B, 1, T, 2), text context."""
    gen = torch.Generator().manual_seed(5)
    start = torch.arange(tokens, dtype=torch.float32).mul(0.04).expand(batch, 1, tokens)
    width = config.caption_channels if config.caption_projection else config.audio_inner_dim
    return Modality(latent=torch.randn(batch, tokens, config.audio_in_channels, generator=gen),
                    sigma=torch.tensor([0.7, 0.3]), timesteps=torch.tensor([[0.7], [0.3]]).expand(batch, tokens),
                    positions=torch.stack([start, start + 0.04], dim=-1),
                    context=torch.randn(batch, 5, width, generator=gen))


def test_loading_transformer_audio_only_velocity_equals_full_model(tiny_av: Path) -> None:
    """Exact (torch.equal, fp32): same weights, and the full model runs no cross-modal attention without video."""
    full = load_component(tiny_av, "transformer", dtype=torch.float32)
    audio = load_component(tiny_av, "transformer", kind="audio_only", dtype=torch.float32)
    inputs = _audio_input(full.config)
    with torch.no_grad():
        _, expected = full(None, inputs)
        video_out, got = audio(None, inputs)
    assert video_out is None and expected.abs().mean() > 0.05
    assert torch.equal(got, expected)
    with pytest.raises(ValueError, match="no video stream"):
        audio(inputs, inputs)


def test_loading_transformer_audio_only_stays_strict(tiny_av: Path, tmp_path: Path) -> None:
    header = read_header(tiny_av)
    with SafetensorsReader(header) as reader:
        state = {k: reader.read(k) for k in header.tensors}
    metadata = dict(header.metadata)
    missing = tmp_path / "missing.safetensors"
    write_safetensors(missing, {k: v for k, v in state.items() if ".audio_ff." not in k}, metadata=metadata)
    with pytest.raises(StateDictMismatchError, match=r"missing key\(s\): model\.diffusion_model\.transformer_blocks"
                                                     r"\.0\.audio_ff"):
        build_component(missing, "transformer", kind=AUDIO)
    unknown = tmp_path / "unknown.safetensors"
    write_safetensors(unknown, {**state, "model.diffusion_model.audio_extra.weight": torch.zeros(2)},
                      metadata=metadata)
    with pytest.raises(StateDictMismatchError, match=r"1 unexpected key\(s\): model\.diffusion_model\.audio_extra"):
        build_component(unknown, "transformer", kind=AUDIO)
    video_only = tmp_path / "video_only.safetensors"
    write_safetensors(video_only, {k: v for k, v in state.items() if "audio_patchify_proj" not in k},
                      metadata=metadata)
    with pytest.raises(CheckpointError, match="VIDEO_ONLY transformer cannot be built as AUDIO_ONLY"):
        build_component(video_only, "transformer", kind=AUDIO)
    with pytest.raises(CheckpointError, match="cannot be built as VIDEO_ONLY"):
        build_component(tiny_av, "transformer", kind=ModelKind.VIDEO_ONLY)


@pytest.mark.parametrize("name", MANIFESTS)
def test_loading_transformer_audio_only_real_size_share(tmp_path: Path, manifests_dir: Path, name: str) -> None:
    """Key-map coverage at real size (meta): the audio-only build is exactly the manifest's non-skipped keys,
    about 17% of the transformer's parameters (the README's text-to-audio memory figures)."""
    manifest = json.loads((manifests_dir / name).read_text())
    path = tmp_path / "sparse.safetensors"
    write_sparse_checkpoint(manifest, path)
    model = build_component(path, "transformer", kind=AUDIO)
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    keys = model_state_keys(manifest["tensors"], Component.TRANSFORMER, kind="AUDIO_ONLY")
    assert shapes == {k: tuple(manifest["tensors"][f]) for k, f in keys.items()}
    total = manifest["summary"]["components"]["transformer"]["elements"]
    share = sum(v.numel() for v in model.state_dict().values()) / total
    assert 0.16 < share < 0.18, share
