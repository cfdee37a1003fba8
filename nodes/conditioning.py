"""Image conditioning nodes: image-to-video (first frame), first-last frame, and cropping appended guides.

They work on audio+video latents (the video part is conditioned, the audio part and its noise mask are kept) as
well as on plain video latents, and write exactly core's LTXV conditioning contract, so core ``LTXVAddGuide`` /
``LTXVCropGuides`` and core's LTXAV model understand the result too:

* first frame (``ImageAtLatentIndex`` semantics): the encoded image replaces latent frame 0, noise mask
  ``1 - strength`` there;
* last frame (``KeyframeAtFrame`` semantics): the encoded image is APPENDED as one extra latent frame with mask
  ``1 - strength``; its RoPE coordinates go to ``keyframe_idxs`` (pixel units; time = pixel frame ``n - 1`` ..
  ``n + 7``, no causal fix, as ltx-core) and a full-strength ``guide_attention_entries`` entry in both conds.

Images pass the reference's preprocessing: an H.264 CRF round trip (``image_compression``; -1 = auto, the model
version's CRF: 33 for LTX-2 / 2.3, 18 for LTX-2.5 (``ltx_model.modes.default_image_crf``); 0 = off) and a
cover-resize + center crop to the latent's pixel size. Generated keyframe slots (LTX-2.5) are appended like guides
(:func:`append_generated_slots`) and flagged in their ``guide_attention_entries`` entry.

Every node that encodes with a VAE first refuses a VAE of another LTX generation than the model
(:func:`check_vae_family`: the connected MODEL, else the latent's version tag), before any encode; the
image-conditioning nodes tag their output latent with a connected model's version, so later nodes (IC-LoRA guide,
Audio to Video, the upscalers, the decoders) can check against it too.

Node ids (inputs -> outputs):

* ``LTX2NImageToVideo`` (vae, image, latent, strength, image_compression, model?) -> latent
* ``LTX2NFirstLastFrame`` (positive, negative, vae, latent, first_image, last_image, first_strength,
  last_strength, image_compression, model?) -> positive, negative, latent
* ``LTX2NCropGuides`` (positive, negative, latent) -> positive, negative, latent
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import node_helpers
import numpy as np
import torch
from comfy_api.latest import io

from ..ltx_model.media import DEFAULT_IMAGE_CRF, crf_round_trip
from ..ltx_model.modes import SCALE, default_image_crf, guide_free_frames, pixel_frames, resize_and_center_crop
from ..ltx_model.modes.keyframes_mask import slot_pixel_bounds
from ..ltx_model.sampling import latent_bounds_to_pixels, video_latent_bounds
from .keyframe_slots import GENERATED_SLOT_KEY
from .latent_formats import LATENT_VERSION_KEY, nested_tensor_class, tag_latent
from .model_loader import model_facts
from .sampling import model_version
from .schema import make_schema
from .vae import check_family


@dataclass(frozen=True)
class AVParts:
    """A LATENT taken apart: video ``(B, 128, F, H, W)``, optional audio, their noise masks (None = all ones)."""

    video: torch.Tensor
    audio: torch.Tensor | None
    video_mask: torch.Tensor | None
    audio_mask: torch.Tensor | None

    @classmethod
    def of(cls, latent: dict) -> AVParts:
        samples, mask = latent["samples"], latent.get("noise_mask")
        nested = getattr(samples, "is_nested", False)
        video, audio = samples.unbind()[:2] if nested else (samples, None)
        masks = mask.unbind() if mask is not None and getattr(mask, "is_nested", False) else (mask, None)
        if video.ndim != 5:
            raise ValueError(f"expected a video or audio+video latent; got a latent of shape {tuple(video.shape)}")
        return cls(video, audio, masks[0], masks[1] if nested else None)

    def video_mask_or_ones(self) -> torch.Tensor:
        """The video noise mask as ``(B, 1, F, h|1, w|1)`` (a copy); ones when there is none."""
        if self.video_mask is None:
            b, _, f = self.video.shape[:3]
            return torch.ones(b, 1, f, 1, 1, device=self.video.device)
        return self.video_mask.clone()

    def to_latent(self, template: dict) -> dict:
        """A new LATENT dict (other keys of ``template`` kept) holding these parts."""
        out = dict(template)
        if self.audio is None:
            out["samples"] = self.video
            out["noise_mask"] = self.video_mask
        else:
            nested = nested_tensor_class()
            out["samples"] = nested((self.video, self.audio))
            audio_mask = self.audio_mask if self.audio_mask is not None else torch.ones_like(self.audio)
            out["noise_mask"] = None if self.video_mask is None else nested((self.video_mask, audio_mask))
        if out["noise_mask"] is None:
            out.pop("noise_mask")
        return out


def prepare_image(image: torch.Tensor, *, width: int, height: int, crf: int) -> torch.Tensor:
    """First frame of an IMAGE ``(N, H, W, C)`` in [0, 1] -> ``(1, height, width, 3)`` in [0, 1]: CRF round trip
    (ltx_model.media), then cover-resize (bilinear, sizes rounded up) and center crop, as ltx-pipelines does."""
    frame = image[0, ..., :3].float().cpu() * 255  # (H, W, 3) in [0, 255]
    if crf:  # the round trip works on 8-bit pixels; without it the host's float pixels are kept as they are
        pixels = frame.clamp(0, 255).round().to(torch.uint8)
        frame = torch.from_numpy(np.ascontiguousarray(crf_round_trip(pixels, crf))).float()  # (H', W', 3)
    return (resize_and_center_crop(frame, height, width)[:, :, 0] / 255.0).permute(0, 2, 3, 1)


def encode_frame(vae: Any, image: torch.Tensor, parts: AVParts, crf: int) -> torch.Tensor:
    """Encode the first frame of ``image`` at the latent's pixel size -> ``(1, 128, 1, H, W)``."""
    _, _, _, h, w = parts.video.shape
    latent = vae.encode(prepare_image(image, width=w * SCALE.width, height=h * SCALE.height, crf=crf))
    return latent.to(device=parts.video.device, dtype=parts.video.dtype)


def replace_first_frame(parts: AVParts, encoded: torch.Tensor, strength: float) -> AVParts:
    """Latent frame 0 := ``encoded`` (all batch items), its noise mask := ``1 - strength``."""
    video = parts.video.clone()
    video[:, :, : encoded.shape[2]] = encoded
    mask = parts.video_mask_or_ones()
    mask[:, :, : encoded.shape[2]] = 1.0 - strength
    return replace(parts, video=video, video_mask=mask)


def guide_coordinates(encoded: torch.Tensor, frame_index: int) -> torch.Tensor:
    """Core ``keyframe_idxs`` of an appended guide latent ``(1, C, f, h, w)`` placed at pixel frame ``frame_index``:
    ``(1, 3, f*h*w, 2)`` pixel bounds; causal fix only at frame 0 (ltx-core ``VideoConditionByKeyframeIndex``)."""
    _, _, f, h, w = encoded.shape
    bounds = video_latent_bounds(f, h, w, batch=1, device=encoded.device)
    pixels = latent_bounds_to_pixels(bounds, SCALE, causal_fix=frame_index == 0).float()
    pixels[:, 0] += frame_index
    return pixels


def append_guide(parts: AVParts, positive: Any, negative: Any, encoded: torch.Tensor, frame_index: int,
                 strength: float, *, generated: bool = False) -> tuple[AVParts, Any, Any]:
    """Append ``encoded`` as guide frames after the video latent; record its coordinates in both conds.
    ``generated``: a generated keyframe slot (LTX-2.5; ``encoded`` is one zero frame, ``strength`` 0): its time span
    is the single pixel frame ``frame_index`` and its ``guide_attention_entries`` entry carries
    :data:`GENERATED_SLOT_KEY`, which tells the model to flag its tokens for the keyframe embedding."""
    b = parts.video.shape[0]
    video = torch.cat([parts.video, encoded.expand(b, -1, -1, -1, -1)], dim=2)
    mask = parts.video_mask_or_ones()
    guide_mask = torch.full((b, mask.shape[1], encoded.shape[2], *mask.shape[3:]), 1.0 - strength, device=mask.device)
    _, _, _, h, w = encoded.shape
    coords = slot_pixel_bounds(h, w, frame_index, device=encoded.device) if generated else \
        guide_coordinates(encoded, frame_index)
    entry = {"pre_filter_count": coords.shape[2], "strength": 1.0, "pixel_mask": None,
             "latent_shape": list(encoded.shape[2:]), **({GENERATED_SLOT_KEY: True} if generated else {})}
    conds = []
    for cond in (positive, negative):
        old = cond_value(cond, "keyframe_idxs")
        idxs = coords if old is None else torch.cat([old, coords.to(old)], dim=2)
        entries = [*(cond_value(cond, "guide_attention_entries") or []), entry]
        conds.append(node_helpers.conditioning_set_values(cond, {"keyframe_idxs": idxs,
                                                                 "guide_attention_entries": entries}))
    return replace(parts, video=video, video_mask=torch.cat([mask, guide_mask], dim=2)), conds[0], conds[1]


def append_generated_slots(parts: AVParts, positive: Any, negative: Any,
                           frames: tuple[int, ...]) -> tuple[AVParts, Any, Any]:
    """Append one empty, fully denoised slot (a zero latent frame, noise mask 1) per pixel frame of ``frames``
    (``ltx_model.modes.keyframes_mask.generated_slot_frames``), after the guides already there; the model
    generates their content (ltx-core HEAD ``VideoGeneratedKeyframeSlots``)."""
    _, c, _, h, w = parts.video.shape
    empty = parts.video.new_zeros(1, c, 1, h, w)
    for frame in frames:
        parts, positive, negative = append_guide(parts, positive, negative, empty, frame, 0.0, generated=True)
    return parts, positive, negative


def generated_geometry(parts: AVParts, positive: Any) -> tuple[int, int, int]:
    """``(pixel frames, height, width)`` of the generated video of a LATENT (guide frames already appended to it,
    counted from ``positive``'s ``keyframe_idxs``, excluded)."""
    _, _, f, h, w = parts.video.shape
    idxs = cond_value(positive, "keyframe_idxs")
    return guide_free_frames(f, 0 if idxs is None else idxs.shape[2], h * w), h * SCALE.height, w * SCALE.width


def append_guides(parts: AVParts, positive: Any, negative: Any, vae: Any, plan: list[tuple[torch.Tensor, int, float]],
                  crf: int) -> tuple[AVParts, Any, Any]:
    """Encode each ``(image, frame, strength)`` of ``plan`` (``modes.plan_keyframes``) and append it as a guide."""
    for image, frame, strength in plan:
        encoded = encode_frame(vae, image, parts, crf)
        parts, positive, negative = append_guide(parts, positive, negative, encoded, frame, strength)
    return parts, positive, negative


def crop_guides(parts: AVParts, positive: Any, negative: Any) -> tuple[AVParts, Any, Any]:
    """Drop the appended guide frames (counted from ``keyframe_idxs``) and the guide keys of both conds."""
    idxs = cond_value(positive, "keyframe_idxs")
    if idxs is None:
        return parts, positive, negative
    _, _, f, h, w = parts.video.shape
    frames = idxs.shape[2] // (h * w)
    if idxs.shape[2] % (h * w) or frames >= f:
        raise ValueError(f"{idxs.shape[2]} guide tokens do not match this {f}x{h}x{w} video latent")
    mask = None if parts.video_mask is None else parts.video_mask[:, :, : f - frames]
    parts = replace(parts, video=parts.video[:, :, : f - frames], video_mask=mask)
    cleared = {"keyframe_idxs": None, "guide_attention_entries": None}
    return parts, *(node_helpers.conditioning_set_values(c, cleared) for c in (positive, negative))


def cond_value(conditioning: Any, key: str) -> Any:
    """The first value of ``key`` among a CONDITIONING's entries, or None."""
    return next((entry[1][key] for entry in conditioning if entry[1].get(key) is not None), None)


def check_vae_family(node: str, vae: Any, *, model: Any = None, latent: dict | None = None,
                     kind: str = "video") -> None:
    """Refuse (ValueError naming ``node``, the VAE file and the fix) a ``kind`` ("video" / "audio") VAE of another
    LTX generation than ``model`` (a MODEL this pack loaded), or, without one, than the version tag of ``latent``
    (:data:`~.latent_formats.LATENT_VERSION_KEY`). The rule and message are :func:`~.vae.check_family`'s. Nothing
    is refused when neither tells (no model, an untagged latent, a VAE that is not this pack's)."""
    version, what = model_version(model), "the model"
    if version is None:
        version, what = (latent or {}).get(LATENT_VERSION_KEY), "the latent"
    check_family(node, vae, version, what, kind)


AUTO_CRF = -1
"""``image_compression`` value meaning "the model version's CRF" (:func:`image_crf`)."""
CRF_TIP = ("H.264 CRF of the image round trip the model was trained with; 0 = off. -1 = auto: the model version's "
           "(LTX-2 / LTX-2.3: 33, LTX-2.5: 18), read from the connected model (or, without one, the VAE's "
           "file; 33 when neither says).")


def compression_input() -> io.Int.Input:
    """The ``image_compression`` widget of every image-conditioning node (default: auto)."""
    return io.Int.Input("image_compression", default=AUTO_CRF, min=AUTO_CRF, max=51, tooltip=CRF_TIP)


def model_input() -> io.Model.Input:
    """Optional MODEL input of the image-conditioning nodes: only read for its version's defaults."""
    return io.Model.Input("model", optional=True,
                          tooltip="Optional: the model, for its version's image CRF when image_compression is -1.")


def image_crf(crf: int, model: Any = None, vae: Any = None) -> int:
    """The CRF to use: ``crf`` itself when set (>= 0); for :data:`AUTO_CRF` the model version's
    (``ltx_model.modes.default_image_crf``), from the model's checkpoint facts, else a ``model_version`` the VAE
    object carries (``ltx2n_model_version``), else Lightricks' default 33."""
    if crf != AUTO_CRF:
        return crf
    facts = model_facts(model) if model is not None else None
    if facts is not None:
        return facts.image_crf()
    version = getattr(vae, "ltx2n_model_version", None)
    return default_image_crf(version) if version else DEFAULT_IMAGE_CRF


def _strength_input(name: str, what: str) -> io.Float.Input:
    return io.Float.Input(name, default=1.0, min=0.0, max=1.0, step=0.01,
                          tooltip=f"How strictly the video keeps the {what} (1 = exactly, 0 = ignored).")


class LTX2NImageToVideo(io.ComfyNode):
    """Condition the first frame of a video (or audio+video) latent on an image."""

    DISPLAY_NAME = "Image to Video (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Makes the video start from the image: the encoded image replaces the first latent frame "
                        "(the audio part is untouched). Works on audio+video and video latents.",
            inputs=[io.Vae.Input("vae", tooltip="The LTX-2 video VAE."),
                    io.Image.Input("image", tooltip="First frame (the first image of a batch is used)."),
                    io.Latent.Input("latent", tooltip="Empty (audio+)video latent; sets the size."),
                    _strength_input("strength", "image"), compression_input(), model_input()],
            outputs=[io.Latent.Output(display_name="latent", tooltip="Latent with the conditioned first frame.")],
        )

    @classmethod
    def execute(cls, vae: Any, image: torch.Tensor, latent: dict, strength: float,
                image_compression: int, model: Any = None) -> io.NodeOutput:
        check_vae_family(cls.DISPLAY_NAME, vae, model=model, latent=latent)
        parts = AVParts.of(latent)
        crf = image_crf(image_compression, model, vae)
        parts = replace_first_frame(parts, encode_frame(vae, image, parts, crf), strength)
        return io.NodeOutput(tag_latent(parts.to_latent(latent), model_version(model)))


class LTX2NFirstLastFrame(io.ComfyNode):
    """Condition a video on its first and last frame."""

    DISPLAY_NAME = "First-Last Frame (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Video from a first and a last frame: the first image replaces latent frame 0, the last "
                        "image is appended as a keyframe guide at the final frame. After sampling, remove the "
                        "guide with Crop Guides (LTX-2) before decoding.",
            inputs=[io.Conditioning.Input("positive", tooltip="Positive prompt."),
                    io.Conditioning.Input("negative", tooltip="Negative prompt."),
                    io.Vae.Input("vae", tooltip="The LTX-2 video VAE."),
                    io.Latent.Input("latent", tooltip="Empty (audio+)video latent; sets size and length."),
                    io.Image.Input("first_image", tooltip="First frame."),
                    io.Image.Input("last_image", tooltip="Last frame."),
                    _strength_input("first_strength", "first image"), _strength_input("last_strength", "last image"),
                    compression_input(), model_input()],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="Positive prompt with the guide."),
                     io.Conditioning.Output(display_name="negative", tooltip="Negative prompt with the guide."),
                     io.Latent.Output(display_name="latent", tooltip="Latent with the conditioned frames.")],
        )

    @classmethod
    def execute(cls, positive: Any, negative: Any, vae: Any, latent: dict, first_image: torch.Tensor,
                last_image: torch.Tensor, first_strength: float, last_strength: float,
                image_compression: int, model: Any = None) -> io.NodeOutput:
        check_vae_family(cls.DISPLAY_NAME, vae, model=model, latent=latent)
        parts = AVParts.of(latent)
        if parts.video.shape[2] < 2:
            raise ValueError("first-last frame needs at least 9 frames (2 latent frames)")
        last_frame = pixel_frames(parts.video.shape[2]) - 1  # pixel index of the final frame
        crf = image_crf(image_compression, model, vae)
        first = encode_frame(vae, first_image, parts, crf)
        last = encode_frame(vae, last_image, parts, crf)
        parts = replace_first_frame(parts, first, first_strength)
        parts, positive, negative = append_guide(parts, positive, negative, last, last_frame, last_strength)
        return io.NodeOutput(positive, negative, tag_latent(parts.to_latent(latent), model_version(model)))


class LTX2NCropGuides(io.ComfyNode):
    """Remove appended guide frames (ours or core LTXVAddGuide's) after sampling."""

    DISPLAY_NAME = "Crop Guides (LTX-2)"

    @classmethod
    def define_schema(cls) -> io.Schema:
        return make_schema(
            cls, group="conditioning",
            description="Drops the keyframe guide frames appended by First-Last Frame (LTX-2) or core LTXVAddGuide "
                        "from an audio+video or video latent and clears them from the prompts (before decoding "
                        "or a second stage).",
            inputs=[io.Conditioning.Input("positive", tooltip="Positive prompt carrying the guides."),
                    io.Conditioning.Input("negative", tooltip="Negative prompt carrying the guides."),
                    io.Latent.Input("latent", tooltip="Sampled latent with the guide frames at the end.")],
            outputs=[io.Conditioning.Output(display_name="positive", tooltip="Positive prompt without guides."),
                     io.Conditioning.Output(display_name="negative", tooltip="Negative prompt without guides."),
                     io.Latent.Output(display_name="latent", tooltip="Latent without the guide frames.")],
        )

    @classmethod
    def execute(cls, positive: Any, negative: Any, latent: dict) -> io.NodeOutput:
        parts, positive, negative = crop_guides(AVParts.of(latent), positive, negative)
        return io.NodeOutput(positive, negative, parts.to_latent(latent))
