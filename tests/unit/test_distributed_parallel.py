"""Sequence parallel, guidance parallel and distributed VAE decode over gloo on CPU, 2 and 3 processes, against
the single-process result computed in the same processes (tests/unit/distributed_cases.py).

3 processes split the tiny model's 25-token (sampling) / 7-, 8-, 10-, 11-token (passes) video unevenly (padded to a
uniform split) and its 4 heads unevenly (2, 1, 1). Processes come from a forkserver that has imported torch once,
which keeps the two launches at a few seconds each on a 2-core machine.

Tolerances: fp32 max abs <= 1e-6 for transformer passes and the distilled run (outputs O(1)); guidance parallel and
the distributed decode run the single-process arithmetic and must be bitwise equal. A CFG 3/7 + STG + modality run
whose passes are themselves sequence-parallel amplifies the ULP-level differences of shape-dependent CPU GEMMs (a
rank's AdaLN sees fewer distinct timesteps, so other GEMM kernels) by the guidance scales: there the bound is
1e-6 relative to the output's magnitude.
"""

from __future__ import annotations

import distributed_cases
import pytest
import torch
import torch.multiprocessing as mp

from ltx_model.distributed import batch_perturbations, head_split, launch, shard_length
from ltx_model.transformer import Perturbation, Perturbations, SkipAttention, TransformerOptions

TOLERANCE = 1e-6


@pytest.fixture(scope="module", params=[2, 3], ids=["2proc", "3proc"])
def per_rank(request: pytest.FixtureRequest) -> list[dict]:
    mp.set_forkserver_preload(["torch", "distributed_cases"])
    return launch(distributed_cases.all_cases, request.param, start_method="forkserver")


def test_sequence_parallel_splits_are_uniform_and_cover_everything() -> None:
    assert [shard_length(t, 3) for t in (7, 9, 10)] == [3, 3, 4]
    assert head_split(4, 3) == [2, 1, 1] and head_split(32, 3) == [11, 11, 10] and sum(head_split(48, 5)) == 48
    with pytest.raises(ValueError, match="at least one attention head per rank"):
        head_split(2, 3)


def test_sequence_parallel_transformer_pass_equals_single_process(per_rank: list[dict]) -> None:
    world_size = len(per_rank)
    share = {2: [2, 2], 3: [2, 1, 1]}[world_size]
    for rank, results in enumerate(per_rank):
        cases = results["sequence"]
        diffs = {name: value for name, value in cases.items() if not name.endswith("_heads")}
        assert len(diffs) == 7 and max(diffs.values()) <= TOLERANCE, (rank, diffs)
        for form in ("19b", "22b"):  # the host kernel ran the video self-attention on this rank's heads only
            assert share[rank] in cases[f"{form}_plain_heads"], cases
            sent, modelled = cases[f"{form}_bytes_heads"]
            assert sent == modelled > 0  # the communication model is the exact count of what is sent


def test_sequence_parallel_distilled_sampling_equals_single_process(per_rank: list[dict]) -> None:
    assert all(results["sampling"]["distilled_sequence"] <= TOLERANCE for results in per_rank), per_rank


def test_guidance_parallel_cfg_stg_sampling_is_bitwise_single_process(per_rank: list[dict]) -> None:
    assert [results["sampling"]["guided_guidance"] for results in per_rank] == [0.0] * len(per_rank)


def test_guidance_parallel_with_sequence_parallel_passes_equals_single_process(per_rank: list[dict]) -> None:
    for results in per_rank:
        sampling = results["sampling"]
        assert sampling["guided_sequence"] <= TOLERANCE * max(1.0, sampling["guided_magnitude"]), sampling


def test_distributed_decode_is_bitwise_single_device(per_rank: list[dict]) -> None:
    driver, *others = (results["decode"] for results in per_rank)
    assert driver == {"decode": 0.0, "tiles": 16, "total": 16}
    assert all(other["decode"] is None for other in others)


def test_guidance_parallel_and_sequence_parallel_combined_on_4_processes_equal_single_process() -> None:
    mp.set_forkserver_preload(["torch", "distributed_cases"])
    per_rank = launch(distributed_cases.combined_cases, 4, start_method="forkserver")
    assert [(r["group"], r["sequence_ranks"]) for r in per_rank] == [(0, 2), (0, 2), (1, 2), (1, 2)]
    for results in per_rank:
        assert results["guided_combined"] <= TOLERANCE * max(1.0, results["magnitude"]), results


def test_sequence_parallel_seam_site_kernels_replace_only_the_named_attentions() -> None:
    """TransformerOptions.site_attention: the named attentions use their kernel, every other one attention_fn."""
    config = distributed_cases.tiny_config("22b")
    model = distributed_cases.tiny_model(config)
    video = distributed_cases.modality(config, 6, audio=False, seed=1)
    audio = distributed_cases.modality(config, 5, audio=True, seed=2)
    calls: dict[str, list[int]] = {"self": [], "v2a": [], "other": []}
    options = TransformerOptions(distributed_cases.counting(calls["other"]), site_attention=(
        (SkipAttention.VIDEO_SELF, distributed_cases.counting(calls["self"])),
        (SkipAttention.VIDEO_TO_AUDIO, distributed_cases.counting(calls["v2a"]))))
    with torch.no_grad():
        got = model(video, audio, options=options)
        want = model(video, audio)
    assert [len(calls["self"]), len(calls["v2a"]), len(calls["other"])] == [2, 2, 2 * 4]  # 2 blocks
    assert all(torch.equal(g, w) for g, w in zip(got, want, strict=True))


def test_guidance_parallel_batch_perturbations_label_each_pass_samples() -> None:
    """A host batch of several guidance passes (ComfyUI's reversed ``cond_or_uncond`` order, 2 samples per chunk):
    each pass's perturbations apply to its own samples only, the call's own ones to every sample."""
    stg = Perturbations((Perturbation(SkipAttention.VIDEO_SELF, blocks=(1,)),))
    isolate = Perturbations((Perturbation(SkipAttention.AUDIO_TO_VIDEO), Perturbation(SkipAttention.VIDEO_TO_AUDIO)))
    given = Perturbations((Perturbation(SkipAttention.AUDIO_SELF, blocks=(0,)),))
    got = batch_perturbations(given, {2: stg, 3: isolate}, [3, 2, 1, 0], 8)
    assert got.items == (given.items[0], Perturbation(SkipAttention.VIDEO_SELF, blocks=(1,), samples=(2, 3)),
                         Perturbation(SkipAttention.AUDIO_TO_VIDEO, samples=(0, 1)),
                         Perturbation(SkipAttention.VIDEO_TO_AUDIO, samples=(0, 1)))
    assert got.keep(SkipAttention.VIDEO_SELF, 1, 8) == (True, True, False, False, True, True, True, True)
    split = batch_perturbations(Perturbations(), {2: stg, 3: isolate}, [1, 0], 2)  # core split the batch
    assert split == Perturbations()
    with pytest.raises(ValueError, match="cannot be 3 equal chunks"):
        batch_perturbations(Perturbations(), {2: stg}, [2, 1, 0], 4)
    per_sample = Perturbations((Perturbation(SkipAttention.VIDEO_SELF, samples=(0,)),))
    with pytest.raises(ValueError, match="must apply to all of its samples"):
        batch_perturbations(Perturbations(), {0: per_sample}, [0], 1)
