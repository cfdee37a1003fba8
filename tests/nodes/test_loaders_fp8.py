"""fp8 weight storage through the pack's checkpoint loader in the real host (CPU, demo weights).

fp8 storage of the block matrices (``ltx_model.precision``) with up-cast compute through ``comfy.ops``; bf16 and
fp32 files cast to fp8 on load; fp8 files kept bit-exact; LoRA still applied; fp8 matmul only where the host
supports fp8 compute. Tolerances: outputs of the fp8-stored model vs the full-precision one, relative L2 error of
the velocity <= 0.05 (e4m3: 3 mantissa bits) / 0.1 (e5m2: 2 bits); measured 0.009 / 0.02 on these weights
(LoRA'd: 0.017, while the LoRA itself moves the output by 0.46).
"""

from __future__ import annotations

import json

import pytest
import torch

pytestmark = pytest.mark.comfy

FP32 = "ltx2n-fp8test-2.3-dev.safetensors"  # fp32 storage, 2.3 form
FP8 = "ltx2n-fp8test-2.3-dev-fp8.safetensors"  # block matrices stored float8_e4m3fn, the rest as in FP32
SCALED = "ltx2n-fp8test-2.3-dev-fp8-scaled.safetensors"  # float8 matrices with per-tensor weight_scale
PREFIX = "model.diffusion_model."


@pytest.fixture(scope="module")
def files(comfy_host):
    from ltx_model.demo import DemoFamily, demo_checkpoint_tensors, demo_config
    from ltx_model.loading import write_safetensors
    from ltx_model.precision import fp8_eligible

    folder = comfy_host.model_dir("checkpoints")
    tensors = demo_checkpoint_tensors(DemoFamily.LTX23, seed=4)
    meta = {"config": json.dumps(demo_config(DemoFamily.LTX23)), "model_version": "2.3.0"}
    eligible = {k for k in tensors if k.startswith(PREFIX) and fp8_eligible(k.removeprefix(PREFIX))}
    write_safetensors(folder / FP32, tensors, metadata=meta)
    fp8 = {k: v.to(torch.float8_e4m3fn) if k in eligible else v for k, v in tensors.items()}
    write_safetensors(folder / FP8, fp8, metadata=meta)
    scaled = dict(fp8)
    for k in sorted(eligible):
        scale = tensors[k].abs().max() / 448.0
        scaled[k] = (tensors[k] / scale).to(torch.float8_e4m3fn)
        scaled[k.removesuffix(".weight") + ".weight_scale"] = scale.reshape(())
    write_safetensors(folder / SCALED, scaled, metadata=meta)
    return {"eligible": {k.removeprefix(PREFIX) for k in eligible}, "fp8": fp8, "scaled": scaled}


def _load(pack_nodes, name, weight_dtype="default"):
    return pack_nodes.loaders.LTX2NCheckpointLoader.execute(ckpt_name=name, weight_dtype=weight_dtype).result[0]


def _velocity(model, seed=11):
    """One BaseModel call on a packed audio+video latent (the sampler's path): ``(N,)`` flat output."""
    import comfy.utils

    g = torch.Generator().manual_seed(seed)
    parts = [torch.randn(1, 128, 2, 2, 3, generator=g), torch.randn(1, 8, 5, 16, generator=g)]
    packed, shapes = comfy.utils.pack_latents(parts)
    widths = model.model.diffusion_model.context_widths()
    context = torch.randn(1, 4, sum(widths), generator=g)
    return model.model.apply_model(packed, torch.tensor([0.7]), c_crossattn=context, frame_rate=24.0,
                                   latent_shapes=shapes).flatten().float()


def _rel(a, b):
    return ((a - b).norm() / b.norm()).item()


@pytest.fixture(scope="module")
def reference(pack_nodes, files):
    model = _load(pack_nodes, FP32)
    return model, _velocity(model)


@pytest.mark.parametrize(("option", "dtype", "tolerance"), [("fp8_e4m3fn", torch.float8_e4m3fn, 0.05),
                                                          ("fp8_e5m2", torch.float8_e5m2, 0.1)])
def test_loaders_fp8_storage_of_fp32_file(pack_nodes, files, reference, option, dtype, tolerance):
    model = _load(pack_nodes, FP32, option)
    dm = model.model.diffusion_model
    compute = model.model.get_dtype_inference()
    assert compute == torch.float32 and model.model.manual_cast_dtype == torch.float32  # CPU: up-cast to fp32
    params = dict(dm.named_parameters())
    assert {k for k, p in params.items() if p.dtype == dtype} == files["eligible"]
    assert all(p.dtype == compute for k, p in params.items() if k not in files["eligible"])
    assert "transformer_blocks.0.scale_shift_table" in params and "patchify_proj.weight" in params
    error = _rel(_velocity(model), reference[1])
    assert 0 < error <= tolerance, error
    eligible_numel = sum(params[k].numel() for k in files["eligible"])
    assert reference[0].model_size() - model.model_size() == 3 * eligible_numel  # 1 byte instead of 4 each


def test_loaders_fp8_file_kept_bit_exact_or_upcast(pack_nodes, files, reference):
    kept = _load(pack_nodes, FP8, "fp8_e4m3fn")
    state = kept.model.diffusion_model.state_dict()
    for key in files["eligible"]:
        assert state[key].dtype == torch.float8_e4m3fn
        assert torch.equal(state[key].view(torch.uint8), files["fp8"][PREFIX + key].view(torch.uint8))
    default = _load(pack_nodes, FP8)  # CPU: no fp8 compute and plenty of memory -> ComfyUI up-casts
    up = default.model.diffusion_model.state_dict()
    key = "transformer_blocks.0.attn1.to_q.weight"
    assert up[key].dtype == torch.float32 and torch.equal(up[key], files["fp8"][PREFIX + key].float())
    torch.testing.assert_close(_velocity(kept), _velocity(default), atol=1e-5, rtol=1e-5)  # same values, cast late
    assert _rel(_velocity(default), reference[1]) <= 0.05


def test_loaders_fp8_scaled_file_dequantised(pack_nodes, files):
    model = _load(pack_nodes, SCALED)
    state = model.model.diffusion_model.state_dict()
    key = "transformer_blocks.1.ff.net.2.weight"
    stored, scale = files["scaled"][PREFIX + key], files["scaled"][PREFIX + key.replace(".weight", ".weight_scale")]
    assert torch.equal(state[key], stored.float() * scale)
    assert not any(k.endswith("weight_scale") for k in state)


def test_loaders_bf16_to_fp8_and_bf16_option(pack_nodes, files, reference):
    bf16 = _load(pack_nodes, FP8, "bf16")
    params = dict(bf16.model.diffusion_model.named_parameters())
    assert {p.dtype for p in params.values()} == {torch.bfloat16}
    assert _rel(_velocity(bf16), reference[1]) <= 0.05


def test_loaders_fp8_lora_still_applies(comfy_host, pack_nodes, files, reference):
    """A LoRA on the fp8 model: patched output ~ the patched fp32 model, and far from the unpatched one."""
    from ltx_model.loading import write_safetensors

    g = torch.Generator().manual_seed(3)
    lora = {}
    for block in (0, 1):
        for target in ("attn1.to_q", "ff.net.2"):
            weight = reference[0].model.diffusion_model.state_dict()[f"transformer_blocks.{block}.{target}.weight"]
            stem = f"diffusion_model.transformer_blocks.{block}.{target}"
            lora[stem + ".lora_A.weight"] = torch.randn(2, weight.shape[1], generator=g)
            lora[stem + ".lora_B.weight"] = torch.randn(weight.shape[0], 2, generator=g)
    write_safetensors(comfy_host.model_dir("loras") / "ltx2n_fp8test_lora.safetensors", lora)
    loader = comfy_host.node_class("LoraLoaderModelOnly")()

    def patched_velocity(model):
        patched = loader.load_lora_model_only(model, "ltx2n_fp8test_lora.safetensors", 1.0)[0]
        with torch.inference_mode():  # as ComfyUI's executor runs nodes and sampling
            patched.patch_model()
            try:
                return _velocity(patched)
            finally:
                patched.unpatch_model()

    fp8 = _load(pack_nodes, FP32, "fp8_e4m3fn")
    lora_ref, lora_fp8 = patched_velocity(reference[0]), patched_velocity(fp8)
    assert fp8.model.diffusion_model.transformer_blocks[0].attn1.to_q.weight.dtype == torch.float8_e4m3fn
    assert _rel(lora_ref, reference[1]) > 0.3  # the LoRA changes the output a lot
    assert _rel(lora_fp8, lora_ref) <= 0.05
    torch.testing.assert_close(_velocity(fp8), _velocity(_load(pack_nodes, FP32, "fp8_e4m3fn")))  # unpatched again


def test_loaders_fp8_fast_matmul_is_feature_detected(pack_nodes, files, monkeypatch):
    import comfy.model_management
    import comfy.ops

    cpu = _load(pack_nodes, FP32, "fp8_e4m3fn_fast")
    layer = cpu.model.diffusion_model.transformer_blocks[0].attn1.to_q
    assert not comfy.model_management.supports_fp8_compute(comfy.model_management.get_torch_device())
    assert isinstance(layer, comfy.ops.manual_cast.Linear) and not isinstance(layer, comfy.ops.fp8_ops.Linear)
    monkeypatch.setattr(comfy.model_management, "supports_fp8_compute", lambda device=None: True)
    fast = _load(pack_nodes, FP32, "fp8_e4m3fn_fast")
    assert isinstance(fast.model.diffusion_model.transformer_blocks[0].attn1.to_q, comfy.ops.fp8_ops.Linear)
    plain = _load(pack_nodes, FP32, "fp8_e4m3fn")  # fp8 matmul only when asked for (or --fast fp8_matrix_mult)
    assert not isinstance(plain.model.diffusion_model.transformer_blocks[0].attn1.to_q, comfy.ops.fp8_ops.Linear)


def test_loaders_fp8_unknown_option_is_refused(pack_nodes, files):
    with pytest.raises(ValueError, match="unknown weight_dtype 'int4'"):
        _load(pack_nodes, FP32, "int4")
