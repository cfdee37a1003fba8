"""Values in range but invalid for LTX-2 (frames not 1+8k, sizes not multiples of 32/64, too short audio, latents
of another model or modality, STG blocks beyond the model, guides that do not fit) over the API: each must give
a clear error (validation or execution), never Python's own TypeError/KeyError/IndexError text or a silent run, and
the server must run the next good prompt."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rel_checks import BAD_PROMPT_LIMIT_S, unclear
from rel_prompts import TARGET, PromptFactory

pytestmark = pytest.mark.reliability



def _with(node: str, **overrides) -> Callable[[PromptFactory], dict]:
    return lambda f: f.prompt_for(node, overrides)


def _linked(node: str, input_name: str, source: str, slot: int = 0, **source_inputs) -> Callable:
    """``node`` with ``input_name`` fed by a fresh ``source`` node (its inputs overridden)."""

    def build(f: PromptFactory) -> dict:
        prompt = f.prompt_for(node)
        key = f.add_node(prompt, source, overrides=source_inputs)
        prompt[TARGET]["inputs"][input_name] = [key, slot]
        return prompt

    return build


def _audio_latent(node: str, input_name: str) -> Callable:
    """``node`` with ``input_name`` fed by an audio-only latent (the pack's Encode Audio of 1 s of silence)."""

    def build(f: PromptFactory) -> dict:
        prompt = f.prompt_for(node)
        prompt[TARGET]["inputs"][input_name] = [f.add_node(prompt, "LTX2NEncodeAudio"), 0]
        return prompt

    return build


def _guides_on_other_latent(f: PromptFactory) -> dict:
    """Crop Guides given the guided conditioning of a 64x64 clip but a 128x128 latent."""
    prompt = f.prompt_for("LTX2NCropGuides")
    flf = f.add_node(prompt, "LTX2NFirstLastFrame")
    other = f.add_node(prompt, "LTX2NEmptyAVLatent", overrides={"width": 128, "height": 128})
    prompt[TARGET]["inputs"].update(positive=[flf, 0], negative=[flf, 1], latent=[other, 0])
    return prompt


CASES = [
    ("frames not 1+8k", _with("LTX2NEmptyAVLatent", frames=10), ("1 + 8k",)),
    ("width not a multiple of 32", _with("LTX2NEmptyAVLatent", width=100), ("multiple",)),
    ("height not a multiple of 32", _with("LTX2NEmptyAVLatent", height=48), ("multiple",)),
    ("two stages, width not a multiple of 64",
     _with("LTX2NEmptyAVLatent", width=96, stages="two stages (x2 upscale)"), ("64",)),
    ("empty audio", _linked("LTX2NEncodeAudio", "audio", "EmptyAudio", duration=0.0), ("empty", "audio")),
    ("1 ms of audio", _linked("LTX2NEncodeAudio", "audio", "EmptyAudio", duration=0.001), ("audio", "short")),
    ("first-last frame on a 1-frame clip",
     _linked("LTX2NFirstLastFrame", "latent", "LTX2NEmptyAVLatent", frames=1), ("frames",)),
    ("crop guides of another clip", _guides_on_other_latent, ("guide",)),
    ("LTX-2 schedule on an audio-only latent", _audio_latent("LTX2NScheduler", "latent"), ("video latent",)),
    ("STG block beyond the model", _with("LTX2NMultimodalGuider", stg_blocks="99"), ("block",)),
    ("video decode of an audio latent", _audio_latent("LTX2NDecodeVideo", "samples"), ("video latent",)),
    ("audio decode of an SD image latent",
     _linked("LTX2NDecodeAudio", "samples", "EmptyLatentImage", width=64, height=64), ("audio latent",)),
    ("image to video on an SD image latent",
     _linked("LTX2NImageToVideo", "latent", "EmptyLatentImage", width=64, height=64), ("latent",)),
    ("upscale with the audio VAE", _linked("LTX2NUpscaleLatent", "vae", "LTX2NAudioVAELoader"), ("VAE",)),
]


# Not listed: the sampler on core EmptyLatentImage, which ComfyUI itself snaps (fix_empty_latent_channels turns an
# all-zero latent of another model into one of this model's latent shape).
@pytest.mark.parametrize("label, build, mentions", CASES, ids=[c.values[0] if hasattr(c, "values") else c[0]
                                                                for c in CASES])
def test_reliability_ltx_invalid_values_clear_error(rel_server, factory, assert_server_healthy, label, build,
                                                    mentions):
    outcome = rel_server.run(build(factory), interrupt_after_s=BAD_PROMPT_LIMIT_S)
    problem = unclear(outcome, mentions=mentions)
    assert problem is None, f"{label}: {problem}"
    assert_server_healthy(after=label)
