"""LTX-2.5's Gemma 4 text encoder in the real host: Gemma Text Encoder Loader (LTX-2) takes the Gemma 4 single file
(bundled projection) and a Gemma 4 Hugging Face folder with the 2.5 transformer's connectors and encodes exactly
like the library; its clip output works in core CLIPTextEncode; a Gemma 4 GGUF, a Gemma 3 with the 2.5 model and a
Gemma 4 with a 2.3 model are refused from headers before any weight is read; the dropdowns list the right files; a
lone Gemma 4 file is detected as LTX-2.5. Every file is a tiny official-format demo file (``ltx_model.demo``)."""

from __future__ import annotations

import json
import re

import pytest
import torch

from ltx_model.demo import write_demo_gemma, write_gemma_gguf
from ltx_model.demo.ltx25 import write_demo_ltx25_transformer
from ltx_model.demo.ltx25_set import write_demo_text_encoder
from ltx_model.demo.ltx25_text import TINY_WORDS, random_gemma4_model, write_gemma4_text_encoder
from ltx_model.demo.text import save_word_tokenizer
from ltx_model.loading import load_component, read_header
from ltx_model.loading.detect import Family, FilePart, detect
from ltx_model.text import GemmaTextEncoder, encode_prompts, load_gemma_text_model, load_split_text_projection

pytestmark = pytest.mark.comfy

TRANSFORMER = "ltx-2.5-22b-distilled-transformer-ltx2n-text.safetensors"
TE_FILE = "gemma4-12b-with-proj-ltx-2.5-ltx2n-text.safetensors"
TE_FOLDER = "ltx2n_gemma4_folder"
GEMMA3 = "ltx2n_gemma3_for_ltx25"
GGUF = "ltx2n_gemma4_gguf/gemma-4-12b-it-Q8_0.gguf"
ENHANCER = "ltx2n_gemma4_dense_it"
LOADER = "Gemma Text Encoder Loader (LTX-2)"
PROMPT = "a red fox jumps over the lazy dog"


@pytest.fixture(scope="module")
def files(comfy_host, demo_files):
    """The 2.5 transformer (models/diffusion_models), the Gemma 4 file (models/text_encoders), the same Gemma 4 as
    a Hugging Face folder (config.json, tokenizer.json, ``model.language_model.*`` shard with the projection),
    a Gemma 3 folder and a Gemma 4 GGUF."""
    from ltx_model.demo.ltx25_set import demo_text_config, random_text_projection
    from ltx_model.text import text_config_for_gemma

    transformer = write_demo_ltx25_transformer(comfy_host.model_dir("diffusion_models") / TRANSFORMER,
                                               dtype=torch.float32)
    te_file = write_demo_text_encoder(comfy_host.model_dir("text_encoders") / TE_FILE)
    folder = comfy_host.model_dir("text_encoders") / TE_FOLDER
    folder.mkdir(exist_ok=True)
    model = random_gemma4_model(seed=0)  # the same weights as the single file
    projection = random_text_projection(text_config_for_gemma(demo_text_config(), model.config.to_dict()), seed=1)
    write_gemma4_text_encoder(folder / "model.safetensors", model=model, projection=projection, comfy_flat=False)
    (folder / "config.json").write_text(read_header(folder / "model.safetensors").metadata["gemma_config"])
    save_word_tokenizer(folder, TINY_WORDS, add_bos=False)
    gemma3 = write_demo_gemma(comfy_host.model_dir("text_encoders") / GEMMA3)
    gguf = comfy_host.model_dir("text_encoders") / GGUF
    gguf.parent.mkdir(exist_ok=True)
    write_gemma_gguf(gguf, load_gemma_text_model(gemma3, dtype=torch.float32), architecture="gemma4")
    return {"transformer": transformer, "te_file": te_file, "folder": folder}


def _load(pack_nodes, gemma, ckpt=TRANSFORMER):
    return pack_nodes.text.LTX2NTextEncoderLoader.execute(gemma=gemma, ckpt_name=ckpt).result


def _encode(pack_nodes, encoder, text=PROMPT):
    return pack_nodes.text.LTX2NTextEncode.execute(text_encoder=encoder, text=text, frame_rate=24.0).result[0]


def test_text_ltx25_single_file_and_folder_encode_like_library(pack_nodes, files):
    text = pack_nodes.text
    assert text.LTX2NTextEncoderLoader.validate_inputs(gemma=TE_FILE, ckpt_name=TRANSFORMER) is True
    assert text.LTX2NTextEncoderLoader.validate_inputs(gemma=TE_FOLDER + "/", ckpt_name=TRANSFORMER) is True
    single = _encode(pack_nodes, _load(pack_nodes, TE_FILE)[0])
    context = single[0][0]
    assert set(single[0][1]) == {"frame_rate"} and context.dtype == torch.float32
    library = GemmaTextEncoder.from_pretrained(files["te_file"], dtype=torch.bfloat16)
    projection = load_split_text_projection(files["transformer"], files["te_file"], dtype=None)
    ref = encode_prompts([PROMPT], text_encoder=library, projection=projection,
                         connectors=load_component(files["transformer"], "connectors"))
    expected = torch.cat([ref.video_context, ref.audio_context], dim=-1).float()
    assert tuple(context.shape) == (1, 1024, expected.shape[-1]) and torch.isfinite(context).all()
    torch.testing.assert_close(context, expected, atol=0, rtol=0)
    folder = _load(pack_nodes, TE_FOLDER + "/")[0]
    assert folder.gemma4 and type(folder.gemma.model).__name__ == "Gemma4UnifiedTextModel"
    torch.testing.assert_close(_encode(pack_nodes, folder)[0][0], context, atol=0, rtol=0)  # same weights
    assert not torch.equal(context, _encode(pack_nodes, folder, "the dog in snow")[0][0])


def test_text_ltx25_dropdowns_list_gemma4_and_the_transformer(pack_nodes, files, demo_files):
    text = pack_nodes.text
    gemmas, ckpts = text.gemma_choices(), text.text_checkpoint_choices()
    assert TE_FILE in gemmas and TE_FOLDER + "/" in gemmas and GEMMA3 + "/" in gemmas
    assert TRANSFORMER in ckpts and demo_files.ltx23_dev in ckpts  # models/diffusion_models and checkpoints
    assert TE_FILE not in ckpts and not any(c.startswith(TE_FOLDER) for c in ckpts)  # no connectors in them
    assert demo_files.ltx23_dev not in gemmas  # a checkpoint in text_encoders would not be a Gemma either
    options = text.LTX2NTextEncoderLoader.GET_SCHEMA().inputs
    assert TE_FILE in options[0].options and TRANSFORMER in options[1].options


def test_text_ltx25_clip_text_encode_equals_text_encode(comfy_host, pack_nodes, files):
    encoder, clip = _load(pack_nodes, TE_FILE)
    core = comfy_host.node_class("CLIPTextEncode")().encode(clip, PROMPT)[0]
    torch.testing.assert_close(core[0][0], _encode(pack_nodes, encoder)[0][0], atol=0, rtol=0)
    tokens = clip.tokenize("describe a fox", min_length=1)
    with pytest.raises(ValueError, match="Gemma 4 text encoder only encodes.*Enhance Prompt"):
        clip.generate(tokens, do_sample=False, max_length=4)


def test_text_ltx25_mismatch_refused_from_headers(comfy_host, pack_nodes, files, demo_files, monkeypatch):
    from harness import PromptRejected

    loader = pack_nodes.text.LTX2NTextEncoderLoader
    wrong3 = loader.validate_inputs(gemma=GEMMA3 + "/", ckpt_name=TRANSFORMER)
    assert isinstance(wrong3, str) and wrong3.startswith(LOADER) and TRANSFORMER in wrong3
    assert "gemma4-12b-ltx-v1" in wrong3 and GEMMA3 in wrong3 and "Gemma 3" in wrong3
    assert "gemma4-12b-with-proj-ltx-2.5" in wrong3  # the fix
    wrong4 = loader.validate_inputs(gemma=TE_FILE, ckpt_name=demo_files.ltx23_dev)
    assert isinstance(wrong4, str) and wrong4.startswith(LOADER) and demo_files.ltx23_dev in wrong4
    assert TE_FILE in wrong4 and "needs a Gemma 3 text encoder" in wrong4
    # the node refuses before any weight is read (the pack's own loaders would fail the test)
    for name in ("load_component", "load_split_text_projection"):
        monkeypatch.setattr(pack_nodes.text, name, lambda *a, **k: pytest.fail("a weight was read"))
    with pytest.raises(ValueError, match=f"^{re.escape(LOADER)}: .*{GEMMA3}"):
        _load(pack_nodes, GEMMA3 + "/")
    with pytest.raises(ValueError, match=f"^{re.escape(LOADER)}: .*needs a Gemma 3"):
        _load(pack_nodes, TE_FILE, demo_files.ltx23_dev)
    prompt = {"1": {"class_type": "LTX2NTextEncoderLoader", "inputs": {"gemma": TE_FILE,
                                                                       "ckpt_name": demo_files.ltx23_dev}},
              "2": {"class_type": "LTX2NTextEncode", "inputs": {"text_encoder": ["1", 0], "text": PROMPT,
                                                                "frame_rate": 25.0}},
              "3": {"class_type": "PreviewAny", "inputs": {"source": ["2", 0]}}}
    with pytest.raises(PromptRejected, match="needs a Gemma 3 text encoder"):
        comfy_host.validate(prompt)


def test_text_ltx25_gemma4_gguf_refused_with_the_working_forms(pack_nodes, files):
    loader = pack_nodes.text.LTX2NTextEncoderLoader
    assert GGUF in pack_nodes.text.gemma_choices()
    problem = loader.validate_inputs(gemma=GGUF, ckpt_name=TRANSFORMER)
    assert isinstance(problem, str)
    assert "gemma-4-12b-it-Q8_0.gguf is a Gemma 4 GGUF" in problem and ".safetensors" in problem
    assert "Hugging Face folder" in problem and "Gemma 3 (LTX-2 / LTX-2.3) only" in problem
    with pytest.raises(ValueError, match="gemma-4-12b-it-Q8_0.gguf is a Gemma 4 GGUF.*Hugging Face folder"):
        _load(pack_nodes, GGUF)


def test_text_ltx25_lone_gemma4_file_detected_as_ltx25(files):
    info = detect(read_header(files["te_file"]))
    assert info.family is Family.LTX25 and info.part is FilePart.TEXT_ENCODER and not info.warnings
    assert info.evidence == "metadata gemma_config model_type gemma4_unified"
    config = json.loads(read_header(files["te_file"]).metadata["gemma_config"])
    assert config["gemma_version"] == "gemma4-12b-ltx-v1"


def test_text_ltx25_enhancer_dense_gemma4_and_unified_refused(comfy_host, pack_nodes, files):
    from ltx_model.demo.ltx25_enhancer import write_demo_gemma4_enhancer

    write_demo_gemma4_enhancer(comfy_host.model_dir("text_encoders") / ENHANCER)
    node = pack_nodes.prompt_tools.LTX2NEnhancePrompt
    assert ENHANCER + "/" in pack_nodes.text.gemma_choices()
    assert node.validate_inputs(enhance=True, gemma=ENHANCER + "/") is True
    out = node.execute(prompt="a fox", enhance=True, gemma=ENHANCER + "/", seed=3, max_new_tokens=16)
    rewrite = out.result[0]  # random toy weights: random words of the toy vocabulary (one greedy run of 600 steps)
    assert isinstance(rewrite, str) and rewrite and set(rewrite.split()) <= set(TINY_WORDS)
    assert out.ui["text"] == [rewrite]
    for gemma in (TE_FILE, TE_FOLDER + "/"):
        problem = node.validate_inputs(enhance=True, gemma=gemma)
        assert isinstance(problem, str) and problem.startswith("Enhance Prompt (LTX-2): " + gemma)
        assert "only encodes" in problem and "gemma-4-E2B-it" in problem
    with pytest.raises(ValueError, match="only encodes"):
        node.execute(prompt="a fox", enhance=True, gemma=TE_FILE, seed=3, max_new_tokens=16)


def test_text_ltx25_save_and_load_text_encoding(pack_nodes, files):
    tools = pack_nodes.prompt_tools
    encoder = _load(pack_nodes, TE_FILE)[0]
    saved = tools.LTX2NSaveTextEncoding.execute(text_encoder=encoder, text=PROMPT, negative_text="blurry",
                                                filename_prefix="ltx2n_ltx25/enc", frame_rate=24.0)
    positive, negative = saved.result
    name = saved.ui["text"][0].removeprefix("saved ")
    assert tools.LTX2NLoadTextEncoding.validate_inputs(encoding=name) is True
    loaded = tools.LTX2NLoadTextEncoding.execute(encoding=name, frame_rate=24.0).result
    torch.testing.assert_close(loaded[0][0][0], positive[0][0], atol=0, rtol=0)
    torch.testing.assert_close(loaded[1][0][0], negative[0][0], atol=0, rtol=0)
    torch.testing.assert_close(positive[0][0], _encode(pack_nodes, encoder)[0][0], atol=0, rtol=0)
