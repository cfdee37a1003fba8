"""torch.compile of the transformer (``ltx_model.compilation``): every block traces into one graph
(``fullgraph=True``), gives the eager result in float32 (<= 1e-5), and new resolutions / frame counts or further
steps do not recompile.

Tracing is checked with the ``aot_eager`` backend (Dynamo's graph capture plus AOTAutograd's decompositions, the
part that can break or change results; Inductor's code generation on top is PyTorch's own and costs minutes per
compile on a 2-core CPU: ``scripts/bench.py --quick`` times it, ``transformer_pass_compiled_s``). Compile counts
come from a counting backend (one call per graph Dynamo hands over) and Dynamo's graph-break counter.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from ltx_model.compilation import compile_blocks, compiled_block_count, reset
from ltx_model.transformer import LTXTransformer, Modality, TransformerConfig
from ltx_model.transformer.options import DEFAULT_OPTIONS, NO_PERTURBATIONS, Perturbation, Perturbations, SkipAttention
from ltx_model.transformer.stream import prepare_stream

FORMS = {"19b": TransformerConfig.tiny, "22b": TransformerConfig.tiny_22b}
if hasattr(TransformerConfig, "tiny_25"):
    FORMS["2.5"] = TransformerConfig.tiny_25
STG = Perturbations((Perturbation(SkipAttention.VIDEO_SELF, blocks=(0,), samples=(1,)),))


@pytest.fixture(autouse=True)
def fresh_dynamo():
    reset()
    torch._dynamo.utils.counters.clear()
    yield
    reset()


def tiny_model(config: TransformerConfig, seed: int = 0) -> LTXTransformer:
    model = LTXTransformer(config)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # matrices ~ 1/sqrt(fan_in), the rest small: activations stay O(1) through the blocks
        for name, param in model.named_parameters():
            scale = 0.8 / param[0].numel() ** 0.5 if param.ndim >= 2 and "table" not in name else 0.2
            param.copy_(scale * torch.randn(param.shape, generator=gen))
    return model.eval()


def streams(config: TransformerConfig, *, frames: int, audio_tokens: int, batch: int = 2, per_token: bool = False,
            seed: int = 0) -> tuple[Modality, Modality]:
    """Video of ``frames`` x 2 x 3 latent tokens, audio of ``audio_tokens``; one sigma or (``per_token``) the first
    latent frame clean (image-to-video)."""
    gen = torch.Generator().manual_seed(seed)
    video_tokens = frames * 6

    def one(tokens: int, channels: int, axes: int, width: int, timesteps: torch.Tensor) -> Modality:
        start = torch.rand(batch, axes, tokens, generator=gen).cumsum(2)
        ctx = config.caption_channels if config.caption_projection else width
        return Modality(latent=torch.randn(batch, tokens, channels, generator=gen), sigma=torch.full((batch,), 0.6),
                        timesteps=timesteps, positions=torch.stack([start, start + 1], dim=-1),
                        context=torch.randn(batch, 4, ctx, generator=gen))

    v_t = torch.full((batch, video_tokens, 1), 0.6) if per_token else torch.full((batch, 1), 0.6)
    if per_token:
        v_t[:, :6] = 0.0
    video = one(video_tokens, config.in_channels, 3, config.video_inner_dim, v_t)
    audio = one(audio_tokens, config.audio_in_channels, 1, config.audio_inner_dim, torch.full((batch, 1), 0.6))
    return video, audio


def block_inputs(model: LTXTransformer, video: Modality, audio: Modality) -> tuple:
    with torch.no_grad():
        return (prepare_stream(model._stream_parts(audio=False), video, audio),
                prepare_stream(model._stream_parts(audio=True), audio, video))


CASES = [("19b", False, NO_PERTURBATIONS), ("22b", True, STG)]
CASES += [("2.5", False, STG)] if "2.5" in FORMS else []


@pytest.mark.parametrize(("form", "per_token", "perturbations"), CASES,
                         ids=[f"{c[0]}-{'i2v-stg' if c[1] else 't2v'}" for c in CASES])
def test_compile_each_block_is_one_graph_equal_to_eager(form, per_token, perturbations):
    model = tiny_model(FORMS[form]())
    v_state, a_state = block_inputs(model, *streams(model.config, frames=3, audio_tokens=5, per_token=per_token))
    for block in model.transformer_blocks:
        compiled = torch.compile(block, backend="aot_eager", fullgraph=True)  # a graph break raises
        with torch.no_grad():
            # compiled first: it meets the per-table caches (RoPE views) unfilled, as inside a compiled model
            traced = compiled(v_state, a_state, perturbations=perturbations, options=DEFAULT_OPTIONS)
            eager = block(v_state, a_state, perturbations=perturbations, options=DEFAULT_OPTIONS)
        for got, want in zip(traced, eager, strict=True):
            assert got.dtype == torch.float32 and got.shape == want.shape
            assert (got - want).abs().max().item() <= 1e-5
        v_state, a_state = dataclasses.replace(v_state, x=eager[0]), dataclasses.replace(a_state, x=eager[1])
    assert not torch._dynamo.utils.counters["graph_break"]


def counting_backend():
    graphs = []

    def backend(gm: torch.fx.GraphModule, example_inputs):
        graphs.append(gm)
        return gm.forward

    return backend, graphs


def test_compile_blocks_whole_model_equals_eager_and_keeps_state_dict():
    model = tiny_model(TransformerConfig.tiny_22b())
    keys = list(model.state_dict())
    video, audio = streams(model.config, frames=2, audio_tokens=4)
    with torch.no_grad():
        eager = model(video, audio)
    compile_blocks(model, backend="aot_eager")
    assert compiled_block_count(model) == model.config.num_layers
    assert list(model.state_dict()) == keys
    with torch.no_grad():
        traced = model(video, audio)
    for got, want in zip(traced, eager, strict=True):
        assert (got - want).abs().max().item() <= 1e-5


def test_compile_new_sizes_and_steps_do_not_recompile_per_step():
    """Three resolutions / frame counts x three steps each, all blocks: two compiles in total (static at the first
    size, symbolic token counts from the second size on), never one per step, block or later size."""
    model = tiny_model(TransformerConfig.tiny_22b())
    backend, graphs = counting_backend()
    compile_blocks(model, backend=backend)
    counts = []
    for frames, audio_tokens in ((2, 4), (3, 6), (5, 9)):
        video, audio = streams(model.config, frames=frames, audio_tokens=audio_tokens)
        for step in range(3):
            sigma = torch.full((2,), 0.9 - 0.2 * step)
            video = dataclasses.replace(video, sigma=sigma, timesteps=sigma[:, None])
            audio = dataclasses.replace(audio, sigma=sigma, timesteps=sigma[:, None])
            with torch.no_grad():
                model(video, audio)
            counts.append(len(graphs))
    assert counts == [1, 1, 1] + [2] * 6
    assert not torch._dynamo.utils.counters["graph_break"]


def test_compile_fullgraph_refuses_a_graph_break():
    """The check above can fail: a block with a host read of a tensor value does not compile with fullgraph."""

    class Leaky(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2 if x.sum().item() > 0 else x  # a host sync and a Python branch on its value

    with pytest.raises(torch._dynamo.exc.Unsupported):
        torch.compile(Leaky(), backend="aot_eager", fullgraph=True)(torch.ones(3))
