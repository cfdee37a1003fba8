// LTX-2 sizing rules shared by the pack's front-end helpers (pure functions, no side effects).
//
// ComfyUI imports every .js file under WEB_DIRECTORY as an extension module; this one only exports functions, so
// importing it registers nothing. The rules mirror ltx_model/modes/geometry.py (ClipGeometry) and
// nodes/base_model.py (LTX2Model.memory_required):
//
// - width / height: the VAE downsamples space by 32, so they must be multiples of 32. Snap rule: the nearest
//   multiple of 32, ties round up (1000 -> 992, 1008 -> 1024), never below 32.
// - frames: the VAE downsamples time by 8 after the first frame, so frames must be 1 + 8k. Snap rule: the nearest
//   1 + 8k, ties round up: 100 -> 97, 101 -> 105 ((101 - 1) / 8 = 12.5 rounds up), 5 -> 9, 0 -> 1.
// - video latent: (B, 128, F_lat, H/32, W/32) with F_lat = 1 + (frames - 1) / 8.
// - audio latent: (B, 8, T_aud, 16) with T_aud = round(frames / fps * 25), halves to even as Python's round
//   (25 audio latents per second; ltx_model/audio/geometry.py).
// - duration in seconds = frames / fps (the audio length; the convention of Lightricks' pipelines).

export const SPATIAL_DOWNSCALE = 32;
export const TEMPORAL_DOWNSCALE = 8;
export const VIDEO_LATENT_CHANNELS = 128;
export const AUDIO_LATENT_CHANNELS = 8;
export const AUDIO_MEL_BINS = 16;
export const AUDIO_LATENTS_PER_SECOND = 25;

// Activation estimate, as nodes/base_model.py LTX2Model.memory_required: tokens x hidden width x dtype bytes x 24.
export const ACTIVATION_UNITS_PER_TOKEN_CHANNEL = 24;
export const TRANSFORMER_HIDDEN_WIDTH = 4096; // video stream width of LTX-2 19B and LTX-2.3 22B (32 heads x 128)
export const COMPUTE_DTYPE_BYTES = 2; // bf16

/** Clamp `value` into [min, max]; a missing bound is ignored. */
export function clamp(value, min, max) {
  let v = value;
  if (Number.isFinite(min)) v = Math.max(min, v);
  if (Number.isFinite(max)) v = Math.min(max, v);
  return v;
}

/** Nearest multiple of `step` (ties up), at least `step`, within [min, max] snapped inward. */
export function snapMultiple(value, step = SPATIAL_DOWNSCALE, { min, max } = {}) {
  const lo = Math.max(step, Math.ceil((Number.isFinite(min) ? min : step) / step) * step);
  const hi = Number.isFinite(max) ? Math.floor(max / step) * step : Infinity;
  return clamp(Math.round(Number(value) / step) * step, lo, hi);
}

/** Nearest 1 + 8k (ties up), at least 1, within [min, max] snapped inward: 100 -> 97, 5 -> 9, 0 -> 1. */
export function snapFrames(value, { min, max } = {}) {
  const t = TEMPORAL_DOWNSCALE;
  const kLo = Math.max(0, Math.ceil(((Number.isFinite(min) ? min : 1) - 1) / t));
  const kHi = Number.isFinite(max) ? Math.floor((max - 1) / t) : Infinity;
  const k = clamp(Math.round((Number(value) - 1) / t), kLo, kHi);
  return 1 + t * k;
}

/** Whether `frames` is 1 + 8k. */
export function isValidFrames(frames) {
  return Number.isInteger(frames) && frames >= 1 && (frames - 1) % TEMPORAL_DOWNSCALE === 0;
}

/** Clip duration in seconds of `frames` video frames at `fps` frames per second. */
export function framesToSeconds(frames, fps) {
  return fps > 0 ? frames / fps : 0;
}

/** Frames (snapped to 1 + 8k) for a duration of `seconds` at `fps`: 5 s at 25 fps -> 125 -> 129 (tie, up). */
export function secondsToFrames(seconds, fps, limits = {}) {
  return snapFrames(Math.round(Number(seconds) * fps), limits);
}

/** Round to the nearest integer, halves to even (Python's round, used by the pack and the reference). */
export function roundHalfEven(x) {
  const floor = Math.floor(x);
  if (x - floor !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Audio latent frames of a clip: round(frames / fps * 25), halves to even (121 frames at 50 fps -> 60). */
export function audioLatentFrames(frames, fps) {
  return fps > 0 ? roundHalfEven((frames / fps) * AUDIO_LATENTS_PER_SECOND) : 0;
}

/**
 * Why these sizes cannot be encoded exactly (an empty list when they can); undefined sizes are not checked.
 * `multiple` is the required width/height multiple: 32, or 64 when a two-stage run halves the first-stage size.
 */
export function sizeProblems({ width, height, frames, multiple = SPATIAL_DOWNSCALE }) {
  const problems = [];
  const spatial = [width, height].filter((v) => v !== undefined);
  if (spatial.some((v) => v % multiple)) problems.push(`width/height not multiples of ${multiple}`);
  if (frames !== undefined && !isValidFrames(frames)) problems.push(`frames not 1+8k (nearest ${snapFrames(frames)})`);
  return problems;
}

/**
 * Latent sizes of one clip (sizes in pixels, frames, frames per second; fps <= 0 means no audio): the video latent
 * grid (latentFrames x latentHeight x latentWidth cells), the audio latent frames and the token counts.
 */
export function latentGeometry({ width, height, frames, fps, batch = 1 }) {
  const latentFrames = 1 + Math.floor((Math.max(1, frames) - 1) / TEMPORAL_DOWNSCALE);
  const latentHeight = Math.floor(height / SPATIAL_DOWNSCALE);
  const latentWidth = Math.floor(width / SPATIAL_DOWNSCALE);
  const audioFrames = audioLatentFrames(frames, fps);
  return {
    latentFrames, latentHeight, latentWidth, audioFrames,
    seconds: framesToSeconds(frames, fps),
    videoTokens: batch * latentFrames * latentHeight * latentWidth,
    audioTokens: batch * audioFrames,
  };
}

/** Estimated activation bytes of one transformer pass (batch included, CFG doubles it: pass cfgPasses=2). */
export function estimateActivationBytes(geometry, { cfgPasses = 1 } = {}) {
  const tokens = (geometry.videoTokens + geometry.audioTokens) * cfgPasses;
  return tokens * TRANSFORMER_HIDDEN_WIDTH * COMPUTE_DTYPE_BYTES * ACTIVATION_UNITS_PER_TOKEN_CHANNEL;
}

/** Human-readable byte count: "512 MB", "3.4 GB". */
export function formatBytes(bytes) {
  const gb = bytes / 1024 ** 3;
  if (gb >= 1) return `${gb.toFixed(gb >= 10 ? 0 : 1)} GB`;
  return `${Math.max(1, Math.round(bytes / 1024 ** 2))} MB`;
}

/** Seconds as a short label: "4.84 s". */
export function formatSeconds(seconds) {
  return `${Number(seconds).toFixed(2)} s`;
}
