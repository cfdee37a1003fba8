"""Gemma path parity against ltx-core 1.0.0 under the installed transformers 5.x.

ltx-core's own Gemma builder (``GemmaTextEncoderConfigurator`` + ``create_and_populate``) does not run under
transformers 5.x (it expects ``SiglipVisionModel.vision_model`` and ``rotary_emb_local``), so the reference here is
ltx-core's ``GemmaTextEncoder.encode`` + ``LTXVGemmaTokenizer`` wrapped around a tiny random
``Gemma3ForConditionalGeneration`` built directly with transformers, followed by ltx-core's ``EmbeddingsProcessor``.
Ours loads the same weights from a saved file. fp32; hidden states must match exactly, contexts to atol 1e-5.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from ltx_core.model.transformer.rope import LTXRopeType
from ltx_core.text_encoders.gemma.embeddings_connector import Embeddings1DConnector
from ltx_core.text_encoders.gemma.embeddings_processor import EmbeddingsProcessor
from ltx_core.text_encoders.gemma.encoders.base_encoder import GemmaTextEncoder as RefGemmaTextEncoder
from ltx_core.text_encoders.gemma.feature_extractor import FeatureExtractorV2
from ltx_core.text_encoders.gemma.tokenizer import LTXVGemmaTokenizer
from safetensors.torch import save_file
from transformers import Gemma3Config, Gemma3ForConditionalGeneration

from ltx_model.demo import TINY_GEMMA_TEXT_CONFIG, save_word_tokenizer
from ltx_model.text import EmbeddingsConnectors, ExtractorKind, GemmaTextEncoder, TextConfig, TextProjection

pytestmark = pytest.mark.parity

T = 16
WORDS = ["a", "red", "fox", "jumps", "over", "the", "lazy", "dog", "in", "snow"]
PROMPTS = ["  a red fox jumps over the lazy dog  ", "snow", " ".join(WORDS * 2)]
_VISION = {
    "model_type": "siglip_vision_model",
    "hidden_size": 8,
    "intermediate_size": 16,
    "num_hidden_layers": 1,
    "num_attention_heads": 1,
    "image_size": 28,
    "patch_size": 14,
}


def _reference_gemma() -> Gemma3ForConditionalGeneration:
    config = Gemma3Config(
        text_config=dict(TINY_GEMMA_TEXT_CONFIG), vision_config=_VISION, mm_tokens_per_image=4, image_token_index=63
    )
    model = Gemma3ForConditionalGeneration(config).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 0.2)
    return model


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Gemma3ForConditionalGeneration]:
    folder = tmp_path_factory.mktemp("gemma")
    tokenizer_dir = save_word_tokenizer(folder / "tokenizer", WORDS)
    model = _reference_gemma()
    weights = folder / "gemma.safetensors"
    state = {k: v for k, v in model.state_dict().items() if k != "lm_head.weight"}  # tied to embed_tokens
    save_file(state, str(weights))
    return weights, tokenizer_dir, model


def _ours(weights: Path, tokenizer_dir: Path) -> GemmaTextEncoder:
    return GemmaTextEncoder.from_pretrained(
        weights, tokenizer_path=tokenizer_dir, dtype=torch.float32, config=TINY_GEMMA_TEXT_CONFIG, max_length=T
    )


def test_text_gemma_hidden_states_match_ltx_core(assets: tuple) -> None:
    weights, tokenizer_dir, model = assets
    ref = RefGemmaTextEncoder(model=model, tokenizer=LTXVGemmaTokenizer(str(tokenizer_dir), T))
    ours = _ours(weights, tokenizer_dir)
    for prompt in PROMPTS:
        with torch.no_grad():
            ref_hidden, ref_mask = ref.encode(prompt)
        hidden, mask = ours.hidden_states([prompt])
        assert torch.equal(mask, ref_mask)
        assert torch.equal(
            ours.tokenize([prompt]).input_ids,
            torch.tensor([[t for t, _ in ref.tokenizer.tokenize_with_weights(prompt)["gemma"]]]),
        )
        assert len(hidden) == len(ref_hidden) == TINY_GEMMA_TEXT_CONFIG["num_hidden_layers"] + 1
        for a, b in zip(hidden, ref_hidden, strict=True):
            torch.testing.assert_close(a, b, atol=0, rtol=0, equal_nan=True)


def test_text_encode_prompts_match_ltx_core_pipeline(assets: tuple) -> None:
    """tokens -> Gemma -> V2 extractor -> connectors, batched ours vs per-prompt ltx-core."""
    weights, tokenizer_dir, model = assets
    cfg = TextConfig.tiny(ExtractorKind.V2)
    projection, connectors = TextProjection(cfg).eval(), EmbeddingsConnectors(cfg).eval()
    ref_connectors = {
        name: Embeddings1DConnector(
            attention_head_dim=conn.head_dim,
            num_attention_heads=conn.num_heads,
            num_layers=conn.num_layers,
            positional_embedding_max_pos=[cfg.rope_max_pos],
            num_learnable_registers=cfg.num_registers,
            rope_type=LTXRopeType.SPLIT,
            double_precision_rope=True,
            apply_gated_attention=True,
        ).float()
        for name, conn in (("video", cfg.video), ("audio", cfg.audio))
    }
    extractor = FeatureExtractorV2(
        torch.nn.Linear(cfg.feature_dim, cfg.video.width),
        embedding_dim=cfg.gemma_width,
        audio_aggregate_embed=torch.nn.Linear(cfg.feature_dim, cfg.audio.width),
    )
    ref_proc = EmbeddingsProcessor(
        feature_extractor=extractor, video_connector=ref_connectors["video"], audio_connector=ref_connectors["audio"]
    ).eval()
    extractor.load_state_dict(projection.state_dict())
    ref_connectors["video"].load_state_dict(connectors.video_embeddings_connector.state_dict())
    ref_connectors["audio"].load_state_dict(connectors.audio_embeddings_connector.state_dict())
    ref_encoder = RefGemmaTextEncoder(model=model, tokenizer=LTXVGemmaTokenizer(str(tokenizer_dir), T))

    from ltx_model.text import encode_prompts

    out = encode_prompts(
        PROMPTS, text_encoder=_ours(weights, tokenizer_dir), projection=projection, connectors=connectors
    )
    for row, prompt in enumerate(PROMPTS):
        with torch.no_grad():
            expected = ref_proc.process_hidden_states(*ref_encoder.encode(prompt))
        torch.testing.assert_close(out.video_context[row : row + 1], expected.video_encoding, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out.audio_context[row : row + 1], expected.audio_encoding, atol=1e-5, rtol=1e-5)
        assert torch.equal(out.context_mask[row : row + 1], expected.attention_mask)
