"""The Gemma Text Encoder Loader's ``clip`` output in core's own nodes (real host, demo Gemma + demo checkpoint):
CLIPTextEncode, LoraLoader with a Gemma LoRA, TextGenerateLTX2Prompt, and the three wired as ComfyUI's LTX-2.3
templates wire core's text encoder."""

from __future__ import annotations

import logging

import pytest
import torch
from safetensors.torch import load_file

from ltx_model.demo import write_demo_gemma
from ltx_model.pipelines import load_prompt_enhancer
from scripts.workflow_models import GEMMA_LORA_PREFIX, write_demo_gemma_lora

pytestmark = pytest.mark.comfy

GEMMA = "ltx2n_gemma_clip"
PROMPT = "a cat walks on the beach"
LORA = "ltx2n_gemma_lora.safetensors"
SAMPLING = {"sampling_mode": "off"}  # greedy: comparable with a plain transformers generate


@pytest.fixture(scope="module")
def gemma(comfy_host):
    return write_demo_gemma(comfy_host.model_dir("text_encoders") / GEMMA)


@pytest.fixture(scope="module")
def loaded(pack_nodes, demo_files, gemma) -> tuple:
    """(LTX2N_TEXT_ENCODER, CLIP) from one Gemma Text Encoder Loader run on the 2.3 demo checkpoint."""
    loader = pack_nodes.text.LTX2NTextEncoderLoader
    return tuple(loader.execute(gemma=GEMMA + "/", ckpt_name=demo_files.ltx23_dev).result)


@pytest.fixture(scope="module")
def gemma_lora(comfy_host, loaded):
    """A rank-2 LoRA on every linear layer of the demo Gemma (core's Gemma LoRA layout), in the models/loras
    folder for this module (LoRA combos of other nodes list it meanwhile)."""
    path = write_demo_gemma_lora(comfy_host.model_dir("loras") / LORA, seed=7)
    tensors = load_file(path)
    linears = [m for m in loaded[1].cond_stage_model.gemma.modules() if isinstance(m, torch.nn.Linear)]
    assert len(tensors) == 3 * len(linears) >= 3 * 7  # q/k/v/o + gate/up/down of each layer
    yield tensors
    path.unlink()


def _core_encode(comfy_host, clip, text: str = PROMPT) -> list:
    return comfy_host.node_class("CLIPTextEncode")().encode(clip, text)[0]


def _pack_encode(pack_nodes, encoder, text: str = PROMPT) -> list:
    return pack_nodes.text.LTX2NTextEncode.execute(text_encoder=encoder, text=text, frame_rate=24.0).result[0]


def test_clip_text_encode_equals_pack_text_encode(comfy_host, pack_nodes, loaded, demo_models):
    import comfy.sd

    encoder, clip = loaded
    assert isinstance(clip, comfy.sd.CLIP) and clip.patcher is encoder.patcher  # one set of weights
    core = _core_encode(comfy_host, clip)
    ours = _pack_encode(pack_nodes, encoder)
    assert len(core) == 1 and core[0][1] == {"pooled_output": None}  # processed context: no ltxav flag
    assert core[0][0].dtype == torch.float32 and tuple(core[0][0].shape) == (1, 1024, 16 + 8)
    torch.testing.assert_close(core[0][0], ours[0][0], atol=0, rtol=0)
    assert not torch.equal(core[0][0], _core_encode(comfy_host, clip, "a dog sleeps")[0][0])

    model = demo_models["2.3-dev"]  # the conditioning drives the pack's MODEL (frame_rate defaults to 25)
    latent = pack_nodes.latents.LTX2NEmptyAVLatent.execute(64, 64, 9, 25.0, 1).result[0]
    out = comfy_host.node_class("KSampler")().sample(model, 1, 1, 3.0, "euler", "simple", core,
                                                     _core_encode(comfy_host, clip, ""), latent)[0]
    assert all(torch.isfinite(part).all() for part in out["samples"].unbind())  # video, audio


def test_core_lora_loader_patches_gemma(comfy_host, pack_nodes, loaded, gemma_lora, demo_models, caplog):
    import comfy.lora

    encoder, clip = loaded
    key_map = comfy.lora.model_lora_keys_clip(clip.cond_stage_model, {})
    wrapped = "text_encoders.gemma3_12b.transformer.model.layers.0.self_attn.q_proj"  # core's other Gemma layout
    assert key_map[wrapped] == key_map[GEMMA_LORA_PREFIX + "layers.0.self_attn.q_proj"]
    base = _core_encode(comfy_host, clip)[0][0]
    with caplog.at_level(logging.WARNING):
        _, lora_clip = comfy_host.node_class("LoraLoader")().load_lora(demo_models["2.3-dev"], clip, LORA, 0.0, 1.0)
    assert not [r.message for r in caplog.records if "not loaded" in r.message.lower()]
    patched = {key for key in lora_clip.patcher.patches}
    assert len(patched) == len(gemma_lora) // 3 and all(k.startswith("gemma3_12b.transformer.model.") for k in patched)

    changed = _core_encode(comfy_host, lora_clip)[0][0]
    assert torch.isfinite(changed).all() and not torch.allclose(changed, base)
    torch.testing.assert_close(_core_encode(comfy_host, clip)[0][0], base, atol=0, rtol=0)  # unpatched again
    torch.testing.assert_close(_pack_encode(pack_nodes, encoder)[0][0], base, atol=0, rtol=0)


def _greedy_reference(gemma, text: str, max_new_tokens: int) -> str:
    """Greedy continuation of ``text`` by the library's prompt-enhancer model (Gemma3ForCausalLM, tied head)."""
    enhancer = load_prompt_enhancer(gemma, dtype=torch.bfloat16)
    ids = enhancer.tokenizer(text, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        out = enhancer.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False,
                                      max_new_tokens=max_new_tokens, eos_token_id=[enhancer.tokenizer.eos_token_id])
    return enhancer.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)


def test_core_text_generate_ltx2_prompt_on_pack_gemma(comfy_host, loaded, gemma):
    # present on both hosts: v0.20.1 (t2v / i2v prompts) and v0.33.0 (+ LTX 2.4 / Gemma 4 branch, think-strip)
    assert "TextGenerateLTX2Prompt" in comfy_host.nodes.NODE_CLASS_MAPPINGS
    node = comfy_host.node_class("TextGenerateLTX2Prompt")
    clip = loaded[1]
    text = node.execute(clip, PROMPT, 6, SAMPLING).args[0]
    assert isinstance(text, str) and text.strip()
    plain = comfy_host.node_class("TextGenerate").execute(clip, "cat beach", 6, SAMPLING,
                                                          use_default_template=False).args[0]
    assert plain == _greedy_reference(gemma, "cat beach", 6)
    sampled = {"sampling_mode": "on", "temperature": 0.7, "top_k": 64, "top_p": 0.95, "min_p": 0.05,
               "repetition_penalty": 1.05, "seed": 3, "presence_penalty": 0.5}
    first = node.execute(clip, PROMPT, 6, sampled).args[0]
    assert first == node.execute(clip, PROMPT, 6, sampled).args[0]  # seeded: same text again
    with pytest.raises(ValueError, match="text only"):
        node.execute(clip, PROMPT, 6, SAMPLING, image=torch.rand(1, 32, 32, 3))


def test_presence_penalty_counts_generated_tokens_only(pack_nodes):
    penalty = pack_nodes.text_clip.PresencePenalty(1.5, prompt_length=2)
    scores = penalty(torch.tensor([[4, 5, 6, 6]]), torch.zeros(1, 8))
    assert scores[0].tolist() == [0, 0, 0, 0, 0, 0, -1.5, 0]  # 4, 5: the prompt; 6 once, however often seen


def test_template_wiring_runs_in_the_executor(comfy_host, demo_files, gemma_lora):
    """Loader clip -> LoraLoader (Gemma LoRA) -> TextGenerateLTX2Prompt -> CLIPTextEncode, like core's templates."""
    prompt = {
        "1": {"class_type": "LTX2NCheckpointLoader", "inputs": {"ckpt_name": demo_files.ltx23_dev}},
        "2": {"class_type": "LTX2NTextEncoderLoader", "inputs": {"gemma": GEMMA + "/",
                                                                 "ckpt_name": demo_files.ltx23_dev}},
        "3": {"class_type": "LoraLoader", "inputs": {"model": ["1", 0], "clip": ["2", 1], "lora_name": LORA,
                                                     "strength_model": 0.0, "strength_clip": 1.0}},
        "4": {"class_type": "TextGenerateLTX2Prompt", "inputs": {"clip": ["3", 1], "prompt": PROMPT, "max_length": 4,
                                                                 "sampling_mode": "off"}},
        "5": {"class_type": "CLIPTextEncode", "inputs": {"clip": ["3", 1], "text": ["4", 0]}},
        "6": {"class_type": "PreviewAny", "inputs": {"source": ["5", 0]}},
    }
    result = comfy_host.run(prompt, keep=("4", "5"))
    assert result.success, result.error()
    text, cond = result.node_outputs["4"][0], result.node_outputs["5"][0]  # each node's first output
    assert isinstance(text, str) and text.strip()
    assert tuple(cond[0][0].shape) == (1, 1024, 24) and torch.isfinite(cond[0][0]).all()
