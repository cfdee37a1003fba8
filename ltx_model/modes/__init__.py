"""The rules of every generation mode, defined once (pure PyTorch / Python, no ComfyUI).

Both the plain-script pipelines (``ltx_model.pipelines``) and the ComfyUI nodes (``nodes/``) call these; neither
carries its own copy of a rule.

* :mod:`.geometry` — frame counts (``1 + 8k``), sizes (multiples of 32 / 64), fps, latent shapes
  (:class:`ClipGeometry`) and :class:`GenerationError`.
* :mod:`.clips` — conforming frames to a size (cover-resize + center crop) and waveforms to a duration; the source
  padding / cutting of the extend mode.
* :mod:`.windows` — time windows (retake / extend) and their latent masks; long-video window plans with their
  audio spans, overlap blending and seam report.
* :mod:`.images` — the image-conditioning CRF default by model version (18 from 2.4 on, else 33).
* :mod:`.keyframes` — keyframe slot planning (negative indices from the end, range and strength checks).
* :mod:`.keyframes_mask` — which video tokens get LTX-2.5's keyframe embedding (first latent frame + generated
  keyframe slots).
* :mod:`.references` — IC-LoRA reference size, frames, notes and attention mask.
* :mod:`.masks` — inpaint / outpaint: mask checks and dilation, the flat-colour reference, the outpaint canvas.
* :mod:`.pyramid` — the Laplacian pyramid blend of a generated clip back into its source.
"""

from .clips import (
    as_channels,
    as_frames,
    conform_images,
    extend_source_frames,
    extend_window,
    fit_waveform,
    new_frames_problem,
    pad_frames,
    pad_waveform,
    resize_and_center_crop,
    video_pixels,
)
from .geometry import (
    SCALE,
    ClipGeometry,
    GenerationError,
    floor_frame_count,
    fps_problem,
    frames_problem,
    is_frame_count,
    latent_frames,
    nearest_frame_count,
    pixel_frames,
    size_multiple,
    size_problem,
)
from .images import LTX_2_4_IMAGE_CRF, default_image_crf
from .keyframes import guide_free_frames, plan_keyframes, resolve_frame_index, strength_problem
from .keyframes_mask import frame_token_count, keyframes_mask, state_keyframes_mask
from .references import (
    attention_strength_problem,
    conform_reference_mask,
    reference_frames,
    reference_notes,
    reference_size,
)
from .windows import (
    LATENTS_PER_SECOND,
    WindowPlan,
    audio_window_mask,
    blend_overlap,
    fixed_windows,
    fixed_windows_problem,
    long_video_problem,
    plan_windows,
    seam_report,
    video_window_mask,
    window_count_note,
    window_problem,
)

__all__ = [
    "as_channels",
    "as_frames",
    "conform_images",
    "extend_source_frames",
    "extend_window",
    "fit_waveform",
    "new_frames_problem",
    "pad_frames",
    "pad_waveform",
    "resize_and_center_crop",
    "video_pixels",
    "SCALE",
    "ClipGeometry",
    "GenerationError",
    "floor_frame_count",
    "fps_problem",
    "frames_problem",
    "is_frame_count",
    "latent_frames",
    "nearest_frame_count",
    "pixel_frames",
    "size_multiple",
    "size_problem",
    "LTX_2_4_IMAGE_CRF",
    "default_image_crf",
    "guide_free_frames",
    "plan_keyframes",
    "resolve_frame_index",
    "strength_problem",
    "frame_token_count",
    "keyframes_mask",
    "state_keyframes_mask",
    "attention_strength_problem",
    "conform_reference_mask",
    "reference_frames",
    "reference_notes",
    "reference_size",
    "LATENTS_PER_SECOND",
    "WindowPlan",
    "audio_window_mask",
    "blend_overlap",
    "fixed_windows",
    "fixed_windows_problem",
    "long_video_problem",
    "plan_windows",
    "seam_report",
    "video_window_mask",
    "window_count_note",
    "window_problem",
]
