"""Parity of the LTX-2.5 transformer (video FF without bias, no prompt AdaLN MLP, keyframe embedding) in fp32.

Two oracles, tolerance relative L2 <= 1e-5 on the whole velocity outputs:

* diffusers 0.42.1 ``LTX2VideoTransformer3DModel`` (test-only dependency), loaded from the SAME official-format
  state dict (``model.diffusion_model.*``) through diffusers' own single-file converter
  ``convert_ltx2_transformer_to_diffusers``. That converter predates LTX-2.3's prompt AdaLN and does not rename
  ``prompt_adaln_single`` (diffusers: ``prompt_adaln``); the one case that has the MLP adds that rename here.
  diffusers' cross-attention AdaLN inputs follow neither ltx-core HEAD (own per-token timesteps for scale/shift,
  the other stream's sigma for the gate) exactly, so its cases use one sigma for every token of both streams,
  where all conventions agree.
* Golden outputs of Lightricks' latest ltx-core (github Lightricks/LTX-2 main @400fd31, ltx-core 1.2.x), stored in
  ``tests/data/ltx25_transformer_golden.json`` and produced by ``tests/data/golden/ltx25_transformer_golden.py``
  (its docstring says how): HEAD's own configurator builds the model from the tiny metadata section, so these cases
  also check that we read the 2.5 switches as HEAD does. They cover what diffusers cannot: per-token timesteps
  (clean first frame), different sigmas per stream, keyframe slots, a video-only model.

Known difference, where we follow Lightricks: HEAD's ``LTXAudioOnlyModelConfigurator`` ignores
``use_prompt_adaln_single`` and ``audio_ff_bias`` (it always builds the prompt AdaLN MLP and biased FFs), so HEAD
cannot load a 2.5 file as audio-only; we read both switches from the file for every model kind.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
from ltx25_transformer_cases import (
    GOLDEN_CASES,
    Case,
    case_inputs,
    ltx25_config,
    ltx25_section,
    official_state_dict,
    random_transformer,
    relative_l2,
)

from ltx_model.loading import load_component, write_safetensors
from ltx_model.transformer import LTXTransformer, Modality, TransformerConfig

pytestmark = pytest.mark.parity
REL_L2 = 1e-5
GOLDEN = Path(__file__).resolve().parent.parent / "data" / "ltx25_transformer_golden.json"


def diffusers_model(config: TransformerConfig, official: dict[str, torch.Tensor]) -> torch.nn.Module:
    """diffusers' LTX-2 transformer with ``config``'s hyper-parameters, loaded strictly from ``official``."""
    from diffusers import LTX2VideoTransformer3DModel
    from diffusers.loaders.single_file_utils import convert_ltx2_transformer_to_diffusers

    model = LTX2VideoTransformer3DModel(
        in_channels=config.in_channels, out_channels=config.out_channels,
        num_attention_heads=config.num_attention_heads, attention_head_dim=config.attention_head_dim,
        cross_attention_dim=config.cross_attention_dim, gated_attn=config.gated_attention,
        cross_attn_mod=config.cross_attention_adaln, audio_in_channels=config.audio_in_channels,
        audio_out_channels=config.audio_out_channels, audio_num_attention_heads=config.audio_num_attention_heads,
        audio_attention_head_dim=config.audio_attention_head_dim,
        audio_cross_attention_dim=config.audio_cross_attention_dim, audio_gated_attn=config.gated_attention,
        audio_cross_attn_mod=config.cross_attention_adaln, num_layers=config.num_layers,
        rope_type=config.rope_type.value, rope_double_precision=config.rope_double_precision,
        use_prompt_embeddings=config.caption_projection, ff_bias=config.ff_bias, audio_ff_bias=config.audio_ff_bias,
        use_prompt_adaln_single=config.prompt_adaln, use_keyframes_abs_pos_embedding=config.keyframes_embedding,
    )
    converted = convert_ltx2_transformer_to_diffusers(dict(official))
    renamed = {"prompt_adaln_single.": "prompt_adaln.", "audio_prompt_adaln_single.": "audio_prompt_adaln."}
    for key in list(converted):
        for old, new in renamed.items():
            if key.startswith(old):
                converted[new + key.removeprefix(old)] = converted.pop(key)
    model.load_state_dict(converted, strict=True)
    return model.eval()


def diffusers_forward(model: torch.nn.Module, video: Modality, audio: Modality) -> tuple[torch.Tensor, torch.Tensor]:
    """diffusers' forward on our inputs: timesteps and sigmas pre-scaled by 1000, our RoPE coordinates."""
    return model(
        hidden_states=video.latent, audio_hidden_states=audio.latent,
        encoder_hidden_states=video.context, audio_encoder_hidden_states=audio.context,
        timestep=video.timesteps[..., 0] * 1000, audio_timestep=audio.timesteps[..., 0] * 1000,
        sigma=video.sigma * 1000, audio_sigma=audio.sigma * 1000,
        video_coords=video.positions, audio_coords=audio.positions,
        video_keyframes_mask=video.keyframes_mask, return_dict=False,
    )


def assert_close(got: tuple, want: tuple) -> None:
    for name, g, w in zip(("video", "audio"), got, want, strict=True):
        assert g.shape == w.shape, name
        assert relative_l2(g, w) <= REL_L2, f"{name}: relative L2 {relative_l2(g, w):.3g}"


DIFFUSERS_FORMS = {"ltx25": {}, "ltx25_prompt_adaln_mlp": {"prompt_adaln": True}}
DIFFUSERS_CASES = {
    "plain": Case(),
    "keyframe_slot_batch2": Case(batch=2, keyframe_slots=1),
    "no_keyframes_mask": Case(keyframes_mask=False),
}


@pytest.mark.parametrize("form", DIFFUSERS_FORMS)
@pytest.mark.parametrize("name", DIFFUSERS_CASES)
def test_ltx25_transformer_parity(form: str, name: str) -> None:
    """Ours vs diffusers 0.42.1, both holding the same official-format weights."""
    config = ltx25_config(**DIFFUSERS_FORMS[form])
    ours = random_transformer(config)
    reference = diffusers_model(config, official_state_dict(ours))
    video, audio = case_inputs(config, DIFFUSERS_CASES[name])
    with torch.no_grad():
        assert_close(ours(video, audio), diffusers_forward(reference, video, audio))


def test_ltx25_transformer_parity_loaded_from_split_file(tmp_path: Path) -> None:
    """A 2.5 transformer file (official keys + metadata) loaded by our strict loader equals diffusers loaded from
    the same tensors; the keyframe embedding (nonzero here) really changes the flagged tokens."""
    config = ltx25_config()
    official = official_state_dict(random_transformer(config))
    path = tmp_path / "ltx-2.5-22b-distilled-transformer-bf16.safetensors"
    metadata = {"config": json.dumps({"transformer": ltx25_section()}), "model_version": "2.5.0"}
    write_safetensors(path, official, metadata=metadata)
    ours = load_component(path, "transformer", dtype=torch.float32)
    assert isinstance(ours, LTXTransformer) and ours.config == config
    reference = diffusers_model(config, official)
    video, audio = case_inputs(config, Case(keyframe_slots=1))
    with torch.no_grad():
        got = ours(video, audio)
        assert_close(got, diffusers_forward(reference, video, audio))
        unmarked = ours(dataclasses.replace(video, keyframes_mask=None), audio)
    changed = (got[0] - unmarked[0]).abs().amax(dim=-1)[0]  # (T,) per video token
    flagged = video.keyframes_mask[0, :, 0] > 0
    assert bool((changed[flagged] > 1e-4).all())


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_ltx25_transformer_head_golden(name: str) -> None:
    """Ours vs ltx-core HEAD's stored outputs (same weights and inputs, see the module docstring)."""
    golden = json.loads(GOLDEN.read_text())["cases"][name]
    kind, case, changes = GOLDEN_CASES[name]
    config = ltx25_config(kind, **changes)
    video, audio = case_inputs(config, case)
    with torch.no_grad():
        got = random_transformer(config)(video, audio)
    streams = {"video": got[0], "audio": got[1]}
    assert set(golden) == {k for k, v in streams.items() if v is not None}
    for stream, values in golden.items():
        out = streams[stream]
        want = torch.tensor(values, dtype=torch.float32).reshape(out.shape)
        assert relative_l2(out, want) <= REL_L2, f"{stream}: relative L2 {relative_l2(out, want):.3g}"
