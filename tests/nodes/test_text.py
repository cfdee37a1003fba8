"""The pack's Gemma text encoder inside the real host: loader (folder / single file), prompt encode, offload, errors."""

from __future__ import annotations

import io
import shutil

import pytest
import torch
from test_vae import CKPTS, _inference_mode, write_demo_ckpts  # noqa: F401  (autouse fixture)

from ltx_model.demo import DemoFamily, write_demo_gemma
from ltx_model.loading import load_component, write_safetensors
from ltx_model.text import GemmaTextEncoder, encode_prompts

pytestmark = pytest.mark.comfy

GEMMA = "ltx2n_gemma_demo"
PROMPT = "a cat walks on the beach"


@pytest.fixture(scope="module")
def demo_ckpts(comfy_host):
    return write_demo_ckpts(comfy_host)


@pytest.fixture(scope="module")
def gemma_folder(comfy_host):
    return write_demo_gemma(comfy_host.model_dir("text_encoders") / GEMMA)


@pytest.fixture(scope="module")
def encoders(pack_nodes, demo_ckpts, gemma_folder):
    loader = pack_nodes.text.LTX2NTextEncoderLoader
    return {fam: loader.execute(gemma=GEMMA + "/", ckpt_name=name).result[0] for fam, name in CKPTS.items()}


@pytest.fixture(scope="module")
def broken_gemma(comfy_host, gemma_folder):
    """A Gemma folder without its tokenizer files."""
    broken = comfy_host.model_dir("text_encoders") / "ltx2n_gemma_no_tokenizer"
    broken.mkdir(exist_ok=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(gemma_folder / name, broken / name)
    return broken.name + "/"


def _encode(pack_nodes, encoder, text=PROMPT, fps=24.0):
    return pack_nodes.text.LTX2NTextEncode.execute(text_encoder=encoder, text=text, frame_rate=fps).result[0]


@pytest.mark.parametrize(("family", "width"), [(DemoFamily.LTX2, 16 + 16), (DemoFamily.LTX23, 16 + 8)])
def test_text_encode_node_equals_library_encode(pack_nodes, encoders, demo_ckpts, gemma_folder, family, width):
    cond = _encode(pack_nodes, encoders[family])
    assert len(cond) == 1 and set(cond[0][1]) == {"frame_rate"} and cond[0][1]["frame_rate"] == 24.0
    context = cond[0][0]
    assert tuple(context.shape) == (1, 1024, width) and context.dtype == torch.float32
    gemma = GemmaTextEncoder.from_pretrained(gemma_folder, dtype=torch.bfloat16)
    ref = encode_prompts([PROMPT], text_encoder=gemma, projection=load_component(demo_ckpts[family], "text_projection"),
                         connectors=load_component(demo_ckpts[family], "connectors"))
    expected = torch.cat([ref.video_context, ref.audio_context], dim=-1).float()
    torch.testing.assert_close(context, expected, atol=0, rtol=0)
    assert not torch.equal(context, _encode(pack_nodes, encoders[family], "a dog sleeps")[0][0])


def test_text_gemma_is_offloaded_after_encoding(pack_nodes, encoders):
    import comfy.model_management as mm

    encoder = encoders[DemoFamily.LTX23]
    _encode(pack_nodes, encoder)
    assert all(entry.model is not encoder.patcher for entry in mm.current_loaded_models)
    assert {p.device for p in encoder.stack.parameters()} == {mm.text_encoder_offload_device()}


def test_text_conditioning_drives_pack_model(comfy_host, pack_nodes, encoders):
    model = pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=CKPTS[DemoFamily.LTX2]).result[0]
    positive = _encode(pack_nodes, encoders[DemoFamily.LTX2])
    negative = _encode(pack_nodes, encoders[DemoFamily.LTX2], "")
    assert positive[0][0].shape[-1] == sum(model.model.diffusion_model.context_widths())
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 24.0, 1).result[0]
    out = comfy_host.node_class("KSampler")().sample(model, 1, 1, 3.0, "euler", "simple", positive, negative,
                                                     latent)[0]
    video, audio = out["samples"].unbind()
    assert torch.isfinite(video).all() and torch.isfinite(audio).all() and video.abs().mean() > 0.05


def _spiece_blob(vocab_size):
    import sentencepiece

    proto = io.BytesIO()
    words = PROMPT.split() + ["dog", "sleeps", "sun", "wave"]
    sentences = [" ".join(words[i:] + words[:i]) for i in range(len(words))] * 4
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_writer=proto, vocab_size=vocab_size, model_type="bpe",
        pad_id=0, eos_id=1, bos_id=2, unk_id=3, add_dummy_prefix=False, minloglevel=2,
    )
    return torch.frombuffer(bytearray(proto.getvalue()), dtype=torch.uint8)


def test_text_single_file_gemma_with_embedded_tokenizer(comfy_host, pack_nodes, demo_ckpts, gemma_folder):
    from safetensors.torch import load_file

    weights = {k.replace("language_model.model.", "model."): v  # ComfyUI's flat single-file layout
               for k, v in load_file(str(gemma_folder / "model.safetensors")).items()}
    assert weights["model.embed_tokens.weight"].shape[0] >= 40
    weights["spiece_model"] = _spiece_blob(40)
    config = (gemma_folder / "config.json").read_text()  # a real file needs none: its default is Gemma 3 12B
    write_safetensors(comfy_host.model_dir("text_encoders") / "ltx2n_gemma_single.safetensors", weights,
                      metadata={"gemma_config": config})
    choices = pack_nodes.text.gemma_choices()
    assert GEMMA + "/" in choices and "ltx2n_gemma_single.safetensors" in choices
    assert not any(c.startswith(GEMMA + "/") and c != GEMMA + "/" for c in choices)  # folder files not listed
    encoder = pack_nodes.text.LTX2NTextEncoderLoader.execute(gemma="ltx2n_gemma_single.safetensors",
                                                             ckpt_name=CKPTS[DemoFamily.LTX23]).result[0]
    context = _encode(pack_nodes, encoder)[0][0]
    assert tuple(context.shape) == (1, 1024, 24) and torch.isfinite(context).all()


def test_text_missing_gemma_files_clear_errors(comfy_host, pack_nodes, broken_gemma):
    text = pack_nodes.text
    problem = text.LTX2NTextEncoderLoader.validate_inputs(gemma=broken_gemma)
    assert "lacks tokenizer.json or tokenizer.model" in problem and "models/text_encoders" in problem
    with pytest.raises(FileNotFoundError, match="lacks tokenizer.json or tokenizer.model"):
        text.LTX2NTextEncoderLoader.execute(gemma=broken_gemma, ckpt_name=CKPTS[DemoFamily.LTX2])
    write_safetensors(comfy_host.model_dir("text_encoders") / "ltx2n_gemma_bare.safetensors", {"w": torch.ones(1)})
    assert "lacks a tokenizer" in text.gemma_problem("ltx2n_gemma_bare.safetensors")
    assert "no Gemma text encoder was found" in text.gemma_problem(text.NO_GEMMA)
    assert text.LTX2NTextEncoderLoader.validate_inputs(gemma=GEMMA + "/") is True


def test_text_missing_gemma_rejected_before_execution(comfy_host, demo_ckpts, broken_gemma):
    from harness import PromptRejected

    prompt = {"1": {"class_type": "LTX2NTextEncoderLoader",
                    "inputs": {"gemma": broken_gemma, "ckpt_name": CKPTS[DemoFamily.LTX2]}},
              "2": {"class_type": "LTX2NTextEncode", "inputs": {"text_encoder": ["1", 0], "text": PROMPT,
                                                                "frame_rate": 25.0}},
              "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}}}
    with pytest.raises(PromptRejected, match="lacks tokenizer.json or tokenizer.model"):
        comfy_host.validate(prompt)


def test_text_loader_rejects_checkpoint_without_text_parts(comfy_host, pack_nodes, gemma_folder):
    write_safetensors(comfy_host.model_dir("checkpoints") / "ltx2n_no_text.safetensors", {"w": torch.zeros(2)})
    with pytest.raises(ValueError, match="ltx2n_no_text.safetensors.*text_projection"):
        pack_nodes.text.LTX2NTextEncoderLoader.execute(gemma=GEMMA + "/", ckpt_name="ltx2n_no_text.safetensors")
