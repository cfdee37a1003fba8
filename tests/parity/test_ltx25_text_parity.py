"""LTX-2.5 text path parity: Gemma 4 (``gemma4_unified``) hidden states -> V2 features -> embeddings connectors.

Oracles:

* diffusers 0.42.1 (test-only): ``LTX2TextConnectors`` with ``per_modality_projections`` (the V2 feature extractor +
  connectors) on the hidden states of ``transformers``' ``Gemma4UnifiedForConditionalGeneration.model`` — the call
  ltx-core HEAD makes — with the same token ids. Ours loads everything from the tiny official-format files
  (text encoder with bundled projection, connector file) through the library's loaders. fp32, rel L2 <= 1e-5.
  diffusers' ``encode_prompt`` tokenizes with the tokenizer's own special tokens (no explicit BOS); Lightricks HEAD
  prepends BOS explicitly (Gemma 4's tokenizer does not add it), so both sides here get the BOS-prefixed ids of
  ours, and the golden test below checks the ids against Lightricks.
* golden values from Lightricks' latest ltx-core (``tests/data/ltx25_text_golden.json``, github Lightricks/LTX-2 main
  @400fd31; produced by ``tests/data/golden/ltx25_text_golden.py`` with HEAD's own Gemma 4 / embeddings-processor
  loaders on the same seeded files).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ltx25_text_cases import golden, rel_l2
from safetensors.torch import load_file

from ltx_model.demo.ltx25_text import (
    TINY_TEXT_SECTION,
    random_gemma4_model,
    write_connector_file,
    write_gemma4_text_encoder,
)
from ltx_model.loading.keymaps import DIFFUSION_PREFIX
from ltx_model.text import (
    EmbeddingsConnectors,
    GemmaTextEncoder,
    TextConfig,
    encode_prompts,
    load_text_projection,
    text_config_for_gemma,
)
from ltx_model.text.gemma import read_gemma_config

pytestmark = pytest.mark.parity

TOL = 1e-5
TOKENS = 128  # a multiple of the connectors' 128 registers
PROMPTS = ["a red fox jumps over the lazy dog", "  snow in the snow  "]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ltx25_text")
    return (write_gemma4_text_encoder(folder / "te.safetensors", seed=0),
            write_connector_file(folder / "conn.safetensors", seed=0))


def _our_modules(te: Path, conn: Path) -> tuple[GemmaTextEncoder, object, EmbeddingsConnectors]:
    encoder = GemmaTextEncoder.from_pretrained(te, dtype=torch.float32, max_length=TOKENS)
    config = text_config_for_gemma(TextConfig.from_dict(TINY_TEXT_SECTION), read_gemma_config(te))
    projection = load_text_projection(te, config, dtype=torch.float32)
    connectors = EmbeddingsConnectors(config)
    state = {k[len(DIFFUSION_PREFIX):]: v for k, v in load_file(str(conn)).items()}
    connectors.load_state_dict(state, strict=True)
    return encoder, projection, connectors.eval()


def _diffusers_connectors(projection: torch.nn.Module, connectors: EmbeddingsConnectors) -> torch.nn.Module:
    """diffusers' ``LTX2TextConnectors`` (V2 = ``per_modality_projections``) with our weights, renamed."""
    from diffusers.pipelines.ltx2.connectors import LTX2TextConnectors

    cfg = connectors.config
    model = LTX2TextConnectors(
        caption_channels=cfg.gemma_width, text_proj_in_factor=cfg.gemma_hidden_states,
        video_connector_num_attention_heads=cfg.video.num_heads, video_connector_attention_head_dim=cfg.video.head_dim,
        video_connector_num_layers=cfg.video.num_layers, video_connector_num_learnable_registers=cfg.num_registers,
        video_gated_attn=cfg.gated_attention, audio_connector_num_attention_heads=cfg.audio.num_heads,
        audio_connector_attention_head_dim=cfg.audio.head_dim, audio_connector_num_layers=cfg.audio.num_layers,
        audio_connector_num_learnable_registers=cfg.num_registers, audio_gated_attn=cfg.gated_attention,
        connector_rope_base_seq_len=cfg.rope_max_pos, rope_double_precision=cfg.rope_double_precision,
        rope_type=cfg.rope_layout.value, per_modality_projections=True, video_hidden_dim=cfg.video.width,
        audio_hidden_dim=cfg.audio.width, proj_bias=True,
    )
    renames = (("video_embeddings_connector.", "video_connector."), ("audio_embeddings_connector.", "audio_connector."),
               ("transformer_1d_blocks.", "transformer_blocks."), (".q_norm.", ".norm_q."), (".k_norm.", ".norm_k."))
    state = {}
    for key, value in connectors.state_dict().items():
        for old, new in renames:
            key = key.replace(old, new)
        state[key] = value
    for key, value in projection.state_dict().items():
        state[key.replace("_aggregate_embed.", "_text_proj_in.")] = value
    model.load_state_dict(state, strict=True)
    return model.eval()


def test_ltx25_gemma4_features_parity(files: tuple[Path, Path]) -> None:
    te, conn = files
    encoder, projection, connectors = _our_modules(te, conn)
    ours = encode_prompts(PROMPTS, text_encoder=encoder, projection=projection, connectors=connectors)
    tokens = encoder.tokenize(PROMPTS)
    gemma = random_gemma4_model(seed=0)  # the model written into the file
    with torch.no_grad():
        hidden = gemma.model(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask,
                             output_hidden_states=True).hidden_states
        packed = torch.stack(hidden, dim=-1).flatten(2, 3)
        video, audio, mask = _diffusers_connectors(projection, connectors)(packed, tokens.attention_mask)
    assert tokens.input_ids[0, -9].item() == encoder.tokenizer.bos_token_id  # explicit BOS: 8 words + BOS
    assert torch.equal(ours.context_mask, mask)
    assert rel_l2(ours.video_context, video) <= TOL
    assert rel_l2(ours.audio_context, audio) <= TOL


def test_ltx25_gemma4_hidden_states_equal_unified_model(files: tuple[Path, Path]) -> None:
    """Our language-model-only build gives exactly the hidden states of the full unified model's ``.model``."""
    te, _ = files
    encoder = GemmaTextEncoder.from_pretrained(te, dtype=torch.float32, max_length=TOKENS)
    ours, mask = encoder.hidden_states(PROMPTS)
    tokens = encoder.tokenize(PROMPTS)
    with torch.no_grad():
        ref = random_gemma4_model(seed=0).model(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask,
                                                output_hidden_states=True).hidden_states
    assert len(ours) == len(ref) == 3
    assert all(torch.equal(a, b) for a, b in zip(ours, ref, strict=True))


def test_ltx25_gemma4_golden_parity(files: tuple[Path, Path]) -> None:
    ref = golden()
    assert ref["prompts"] == PROMPTS and ref["max_tokens"] == TOKENS
    te, conn = files
    encoder, projection, connectors = _our_modules(te, conn)
    tokens = encoder.tokenize(PROMPTS)
    assert tokens.input_ids.tolist() == ref["text"]["input_ids"]
    ours = encode_prompts(PROMPTS, text_encoder=encoder, projection=projection, connectors=connectors)
    for i in range(len(PROMPTS)):
        assert ours.context_mask[i].tolist() == ref["text"]["mask"][i]
        assert rel_l2(ours.video_context[i], torch.tensor(ref["text"]["video"][i])) <= TOL
        assert rel_l2(ours.audio_context[i], torch.tensor(ref["text"]["audio"][i])) <= TOL
