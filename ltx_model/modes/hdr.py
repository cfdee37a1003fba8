"""HDR colour rules of the HDR IC-LoRA mode (Lightricks' ``HDRICLoraPipeline``, ``ltx_core.hdr``, ``ltx_core.color``).

The VAE sees a compressed working signal in [0, 1] (then [-1, 1]); scene-linear HDR light [0, inf) goes in and out
through a log transfer curve:

* **LogC3** (ARRI LogC3, EI 800, published curve parameters): what the HDR IC-LoRA was trained on; its primaries
  are Rec.709. The decoded frames of an HDR IC-LoRA run are LogC3 codes; :func:`to_linear` gives scene-linear light.
* **ACEScct** (AMPAS S-2016-001): the working space of EXR conditioning in Lightricks' pipelines; AP1 primaries.

SDR (display-referred Rec.709) input is used as the working signal as it is, clamped to [0, 1] (the reference's
``compress_ldr``: the IC-LoRA was trained on SDR video as its reference). EXR input declares its colour space
(:data:`COLOUR_SPACES`: ``srgb_linear`` / ``acescg`` scene-linear, ``acescct`` already log codes).

Every function here works on channel-LAST tensors ``(..., 3)`` (ComfyUI IMAGE ``(F, H, W, 3)``, our frames);
Lightricks' work on channel-first ``(B, 3, F, H, W)`` - the parity tests permute. Inputs are used in float32.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from ..sampling import STAGE2_DISTILLED_SIGMAS
from .geometry import SCALE, VIDEO_LATENT_CHANNELS, GenerationError, frames_problem, latent_frames
from .references import reference_size

# --- transfer curves ------------------------------------------------------------------------------------------------
# ARRI LogC3 at EI 800: log part c * log10(a x + b) + d above the cut, linear e x + f below.
LOGC3_A, LOGC3_B, LOGC3_C, LOGC3_D = 5.555556, 0.052272, 0.247190, 0.385537
LOGC3_E, LOGC3_F, LOGC3_CUT = 5.367655, 0.092809, 0.010591
# ACEScct: (log2 x + 9.72) / 17.52 above 2^-7, a straight toe below (S-2016-001).
ACESCCT_TOE_SLOPE, ACESCCT_TOE_OFFSET = 10.5402377416545, 0.0729055341958355
ACESCCT_LIN_BREAK, ACESCCT_LOG_BREAK = 0.0078125, 0.155251141552511
ACESCCT_SCALE, ACESCCT_OFFSET = 17.52, 9.72


def logc3_encode(linear: torch.Tensor) -> torch.Tensor:
    """Scene-linear ``(...)`` [0, inf) -> LogC3 codes in [0, 1] (negatives -> 0, codes clamped)."""
    x = linear.float().clamp(min=0.0)
    log_part = LOGC3_C * torch.log10(LOGC3_A * x + LOGC3_B) + LOGC3_D
    return torch.where(x >= LOGC3_CUT, log_part, LOGC3_E * x + LOGC3_F).clamp(0.0, 1.0)


def logc3_decode(codes: torch.Tensor) -> torch.Tensor:
    """LogC3 codes ``(...)`` (clamped to [0, 1]) -> scene-linear; code 1 is about 55 (codes below the toe's 0 give
    small negatives, as the reference; :func:`to_linear` clamps them)."""
    c = codes.float().clamp(0.0, 1.0)
    from_log = (torch.pow(10.0, (c - LOGC3_D) / LOGC3_C) - LOGC3_B) / LOGC3_A
    return torch.where(c >= LOGC3_E * LOGC3_CUT + LOGC3_F, from_log, (c - LOGC3_F) / LOGC3_E)


def acescct_encode(linear: torch.Tensor) -> torch.Tensor:
    """Scene-linear AP1 ``(...)`` [0, inf) -> ACEScct codes in [0, 1]."""
    x = linear.float().clamp(min=0.0)
    log_part = (torch.log2(x.clamp(min=1e-12)) + ACESCCT_OFFSET) / ACESCCT_SCALE
    toe = ACESCCT_TOE_SLOPE * x + ACESCCT_TOE_OFFSET
    return torch.where(x > ACESCCT_LIN_BREAK, log_part, toe).clamp(0.0, 1.0)


def acescct_decode(codes: torch.Tensor) -> torch.Tensor:
    """ACEScct codes ``(...)`` (clamped to [0, 1]) -> scene-linear AP1 (code 1 is about 222.9)."""
    c = codes.float().clamp(0.0, 1.0)
    from_log = torch.pow(2.0, c * ACESCCT_SCALE - ACESCCT_OFFSET)
    return torch.where(c > ACESCCT_LOG_BREAK, from_log, (c - ACESCCT_TOE_OFFSET) / ACESCCT_TOE_SLOPE)


# --- primaries -----------------------------------------------------------------------------------------------------
REC709, ACESCG = "rec709", "acescg"
# Linear ACEScg (AP1, D60) -> linear Rec.709 / sRGB (D65), Bradford-adapted; the inverse is computed in float64.
ACESCG_TO_REC709 = torch.tensor([[1.70505, -0.62179, -0.08326],
                                 [-0.13026, 1.14080, -0.01055],
                                 [-0.02400, -0.12897, 1.15297]], dtype=torch.float64)
REC709_TO_ACESCG = torch.linalg.inv(ACESCG_TO_REC709)
# EXR ``chromaticities`` (red x, y, green x, y, blue x, y, white x, y).
CHROMATICITIES = {REC709: (0.64, 0.33, 0.30, 0.60, 0.15, 0.06, 0.3127, 0.3290),
                  ACESCG: (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)}


def convert_primaries(linear: torch.Tensor, source: str, target: str) -> torch.Tensor:
    """Linear light ``(..., 3)`` from ``source`` to ``target`` primaries (``rec709`` / ``acescg``); same: unchanged."""
    if source == target:
        return linear
    matrices = {(ACESCG, REC709): ACESCG_TO_REC709, (REC709, ACESCG): REC709_TO_ACESCG}
    if (source, target) not in matrices:
        raise GenerationError(f"no primaries conversion from {source!r} to {target!r} (rec709 / acescg)")
    matrix = matrices[(source, target)].to(device=linear.device, dtype=torch.float32)
    return linear.float() @ matrix.T


@dataclass(frozen=True)
class Transfer:
    """A working-space transfer curve: ``name`` (``logc3`` / ``acescct``), its EXR tag and native primaries."""

    name: str
    tag: str
    primaries: str

    def encode(self, linear: torch.Tensor) -> torch.Tensor:
        """Scene-linear in :attr:`primaries` -> codes in [0, 1]."""
        return logc3_encode(linear) if self.name == "logc3" else acescct_encode(linear)

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes in [0, 1] -> scene-linear in :attr:`primaries`."""
        return logc3_decode(codes) if self.name == "logc3" else acescct_decode(codes)


TRANSFERS = {"logc3": Transfer("logc3", "LogC3", REC709), "acescct": Transfer("acescct", "ACEScct", ACESCG)}
DEFAULT_TRANSFER = "logc3"


def find_transfer(name: str) -> Transfer:
    """The :class:`Transfer` called ``name`` (one clear error naming the choices otherwise)."""
    if name not in TRANSFERS:
        raise GenerationError(f"unknown HDR transfer {name!r}: use one of {', '.join(TRANSFERS)}")
    return TRANSFERS[name]


def to_working(linear: torch.Tensor, curve: Transfer, source_primaries: str = REC709) -> torch.Tensor:
    """Scene-linear ``(..., 3)`` in ``source_primaries`` -> ``curve``'s codes in [0, 1] (``to_working_space``)."""
    native = convert_primaries(linear.float(), source_primaries, curve.primaries)
    return curve.encode(native.clamp(min=0.0))


def to_linear(codes: torch.Tensor, curve: Transfer, out_primaries: str = REC709) -> torch.Tensor:
    """``curve``'s codes ``(..., 3)`` -> scene-linear in ``out_primaries``, negatives clamped to 0 (``to_linear``).

    The HDR decode of the mode: decoded frames (working codes, [0, 1]) -> unbounded float light.
    """
    return convert_primaries(curve.decode(codes), curve.primaries, out_primaries).clamp(min=0.0)


def sdr_to_working(sdr: torch.Tensor) -> torch.Tensor:
    """SDR Rec.709 pixels ``(..., 3)`` in [0, 1] -> the IC-LoRA reference signal: the same values clamped to
    [0, 1] (the reference's ``compress_ldr``; no curve is applied to display-referred input)."""
    return sdr.float().clamp(0.0, 1.0)


# --- EXR colour spaces ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ColourSpace:
    """An HDR source colour space (``HDRColorSpace``): ``name``, its primaries, its EXR ``colorSpace`` tag and
    whether its values already are ACEScct log codes (``log``)."""

    name: str
    primaries: str
    tag: str
    log: bool = False


COLOUR_SPACES = {"srgb_linear": ColourSpace("srgb_linear", REC709, "sRGB"),
                 "acescg": ColourSpace("acescg", ACESCG, "ACEScg"),
                 "acescct": ColourSpace("acescct", ACESCG, "ACEScct", log=True)}


def find_colour_space(name: str) -> ColourSpace:
    """The :class:`ColourSpace` called ``name`` (one clear error naming the choices otherwise)."""
    if name not in COLOUR_SPACES:
        raise GenerationError(f"unknown HDR colour space {name!r}: use one of {', '.join(COLOUR_SPACES)}")
    return COLOUR_SPACES[name]


def exr_to_working(values: torch.Tensor, space: ColourSpace, curve: Transfer) -> torch.Tensor:
    """EXR pixels ``(..., 3)`` in ``space`` -> ``curve``'s codes in [0, 1].

    As the reference's ``load_exr_conditioning_hdr``: ACEScct files already are working codes (clamped) when the
    curve is ACEScct; scene-linear files are rotated to the curve's primaries and compressed. (Lightricks' EXR
    path always uses ACEScct; LogC3, the HDR IC-LoRA's curve, decodes ACEScct files to linear first.)
    """
    if space.log:
        if curve.name == "acescct":
            return values.float().clamp(0.0, 1.0)
        return to_working(acescct_decode(values), curve, ACESCG)
    return to_working(values, curve, space.primaries)


def exr_from_working(codes: torch.Tensor, space: ColourSpace, curve: Transfer) -> torch.Tensor:
    """Working codes ``(..., 3)`` -> the values an EXR in ``space`` holds (log codes kept for ``acescct`` with the
    ACEScct curve, else scene-linear in the space's primaries), as the reference's EXR writer."""
    if space.log:
        return codes.float() if curve.name == "acescct" else acescct_encode(to_linear(codes, curve, ACESCG))
    return to_linear(codes, curve, space.primaries)


# --- preview ---------------------------------------------------------------------------------------------------------
def tonemap_preview(linear: torch.Tensor, exposure: float = 0.0) -> torch.Tensor:
    """Scene-linear Rec.709 ``(..., 3)`` -> an SDR preview in [0, 1]: x 2^exposure, Reinhard ``x / (1 + x)``, the sRGB
    curve (the official pack's ``LTXVHDRDecodePostprocess`` preview)."""
    x = linear.float().clamp(min=0.0) * (2.0 ** exposure)
    x = (x / (1.0 + x)).clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * torch.pow(x.clamp(min=0.0031308), 1 / 2.4) - 0.055)


# --- generation geometry and frames (``HDRICLoraPipeline.__call__`` / ``_create_conditionings``) -------------------
HDR_ALIGNMENT = 64
"""The generation size is the output size rounded UP to a multiple of this (two stages: half size on a 32 grid)."""
HDR_MIN_SIZE = 64
HDR_STAGE2_SIGMAS: tuple[float, ...] = (*STAGE2_DISTILLED_SIGMAS[:2], 0.0)
"""Stage 2 of the reference: the first two stage-2 distilled sigmas, then 0 (``STAGE2_SIGMAS = [[S2[0], S2[1], 0]]``,
two steps), with the IC-LoRA reference kept (``STAGE2_USE_IC_LORA = [True]``)."""


def hdr_generation_size(width: int, height: int) -> tuple[int, int]:
    """``(gen_width, gen_height)``: each side rounded up to :data:`HDR_ALIGNMENT` (the reference's
    ``align_resolution(..., REFLECT_PAD, 64)``); the decoded frames are cropped back to ``width x height``.

    Raises:
        GenerationError: a side below :data:`HDR_MIN_SIZE` after alignment (only a non-positive side can be).
    """
    gen_w, gen_h = (-(-width // HDR_ALIGNMENT) * HDR_ALIGNMENT, -(-height // HDR_ALIGNMENT) * HDR_ALIGNMENT)
    if gen_w < HDR_MIN_SIZE or gen_h < HDR_MIN_SIZE:
        raise GenerationError(f"HDR output size {width}x{height} is too small: at least {HDR_MIN_SIZE}x{HDR_MIN_SIZE}")
    return gen_w, gen_h


def reflect_pad_resize(frames: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Frames ``(F, H, W, C)`` -> ``(F, height, width, C)`` float32 as the reference's ``resize_and_reflect_pad``:
    shrink to fit inside (aspect kept, bilinear; never enlarged), then pad the bottom and right by reflection
    (replication when the pad is not smaller than the content)."""
    x = frames.float().permute(0, 3, 1, 2)
    src_h, src_w = x.shape[-2:]
    if height < src_h or width < src_w:
        scale = min(height / src_h, width / src_w)
        size = (round(src_h * scale), round(src_w * scale))
        x = torch.nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
    pad_bottom, pad_right = height - x.shape[-2], width - x.shape[-1]
    if pad_bottom > 0 or pad_right > 0:
        mode = "reflect" if pad_bottom < x.shape[-2] and pad_right < x.shape[-1] else "replicate"
        x = torch.nn.functional.pad(x, (0, pad_right, 0, pad_bottom), mode=mode)
    return x.permute(0, 2, 3, 1).contiguous()


def hq_generation_frames(num_frames: int) -> int:
    """High-quality HDR: ``2N - 1`` frames are generated for ``N`` output frames (``1 + 8k`` stays ``1 + 8k``)."""
    return 2 * num_frames - 1


def hq_reference(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """High-quality HDR reference ``(F, H, W, C)`` -> ``(<= 2N - 1, H, W, C)``: the first ``N`` input frames (the
    reference loads ``(2N - 1 + 1) // 2``), each repeated twice, cut to ``2N - 1``."""
    return frames[:num_frames].repeat_interleave(2, dim=0)[:hq_generation_frames(num_frames)]


def hq_keep(frames: torch.Tensor) -> torch.Tensor:
    """High-quality HDR: the decoded ``2N - 1`` frames ``(F, ...)`` -> every other one, ``N`` frames."""
    return frames[::2]


@dataclass(frozen=True)
class HdrPlan:
    """Sizes and frame counts of one HDR IC-LoRA run.

    Attributes:
        width, height, frames: the output (decoded frames are cropped back to this size).
        gen_width, gen_height: the generation size (64-aligned; stage 1 runs at half of it).
        gen_frames: frames generated (``2 * frames - 1`` in high quality, else ``frames``).
        high_quality: the reference's ``high_quality_hdr``.
    """

    width: int
    height: int
    frames: int
    gen_width: int
    gen_height: int
    gen_frames: int
    high_quality: bool = False

    def stage1_latent_shape(self, batch: int = 1) -> tuple[int, int, int, int, int]:
        """The video-only stage-1 latent ``(B, 128, 1 + (gen_frames - 1) / 8, gen_h / 64, gen_w / 64)``."""
        return (batch, VIDEO_LATENT_CHANNELS, latent_frames(self.gen_frames), self.gen_height // 2 // SCALE.height,
                self.gen_width // 2 // SCALE.width)


def plan_hdr(width: int, height: int, frames: int, *, high_quality: bool = False) -> HdrPlan:
    """The :class:`HdrPlan` of an output of ``width x height x frames`` (frames ``1 + 8k``).

    Raises:
        GenerationError: frames not ``1 + 8k`` or a side too small.
    """
    problem = frames_problem(frames)
    if problem:
        raise GenerationError(problem)
    gen_w, gen_h = hdr_generation_size(width, height)
    gen_frames = hq_generation_frames(frames) if high_quality else frames
    return HdrPlan(width, height, frames, gen_w, gen_h, gen_frames, high_quality)


def stage_reference_frames(frames: torch.Tensor, plan: HdrPlan, factor: int,
                           stage: int) -> torch.Tensor:
    """The IC-LoRA reference of stage 1 (half the generation size) or 2 (full): frames ``(F, H, W, C)`` (working
    codes, any scale) -> at most ``plan.gen_frames`` frames (high quality: the first ``plan.frames``, each twice)
    reflect-padded to the stage size / ``factor``: ``(F', h, w, C)`` float32.

    Raises:
        GenerationError: the stage size / ``factor`` is not a 32-pixel grid.
    """
    divisor = 2 if stage == 1 else 1
    ref_h, ref_w = reference_size(plan.gen_height // divisor, plan.gen_width // divisor, factor)
    used = hq_reference(frames, plan.frames) if plan.high_quality else frames[:plan.gen_frames]
    return reflect_pad_resize(used, ref_h, ref_w)


def crop_output(frames: torch.Tensor, plan: HdrPlan) -> torch.Tensor:
    """Decoded frames ``(gen_frames, gen_h, gen_w, C)`` -> ``(frames, height, width, C)``: cropped back to the output
    size (top-left, where the reflection padding is not), every other frame in high quality."""
    cropped = frames[:, :plan.height, :plan.width]
    return hq_keep(cropped) if plan.high_quality else cropped


# --- HDR LoRA metadata -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HdrLoraConfig:
    """What an HDR IC-LoRA's metadata says: its transfer curve and reference downscale factor."""

    transfer: str = DEFAULT_TRANSFER
    reference_downscale_factor: int = 1


def read_hdr_lora_config(metadata: Mapping[str, str]) -> HdrLoraConfig | None:
    """The HDR config of a LoRA's safetensors metadata, or None when it has none (``read_hdr_lora_config``).

    ``hdr_transform`` names the curve (``logc3`` / ``acescct``; ``"true"`` = LogC3); a bare ``use_hdr_transform``
    flag also means LogC3. ``reference_downscale_factor`` defaults to 1.

    Raises:
        GenerationError: an unknown curve name or a factor that is not a positive integer.
    """
    raw = str(metadata.get("hdr_transform", "") or "").strip().lower()
    if not raw and not metadata.get("use_hdr_transform"):
        return None
    name = DEFAULT_TRANSFER if raw in ("", "true") else find_transfer(raw).name
    factor_text = str(metadata.get("reference_downscale_factor", 1))
    try:
        factor = int(factor_text)
    except ValueError:
        factor = 0
    if factor < 1:
        raise GenerationError(f"HDR LoRA metadata reference_downscale_factor {factor_text!r} is not an integer >= 1")
    return HdrLoraConfig(name, factor)
