// Which LTX-2 family the graph's model is, and that family's clip limits, as the backend serves them.
//
// Load LTX-2 Model's `ckpt_name` input carries, in its `/object_info` options, `ltx2_clip_limits` =
// { families: { "<family>": { frame_step, default_fps, default_frames, min_seconds, max_seconds } },
//   files: { "<file name>": "<family>" } } (nodes/clip_limits.py builds it from the library's rules and each file's
// header). This extension collects it from every node definition that has it; the size/duration helper
// (size_helper.js) and the timeline (timeline.js) ask `graphClipLimits(graph)` for the limits of the model the graph
// loads. Today only LTX-2.5 has a maximum (20 s: Lightricks keep 2.5 durations to 1-20 s); it is shown as a warning,
// never forced on the node's widgets. The frame rule (1 + 8k) and the default fps (24) are the same for every family.
//
// A file the table does not name (added after the page loaded, until the next reload) is recognised by its name
// ("ltx-2.5" / "ltx-2.3" in it); any other file gives no limits.

import { app } from "../../scripts/app.js";
import { roundHalfEven, TEMPORAL_DOWNSCALE } from "./ltx2_geometry.js";
import { findWidget, registerOnce } from "./ltx2_widgets.js";

export const EXTENSION_NAME = "LTX2Native.ModelLimits";
export const SERVED_KEY = "ltx2_clip_limits"; // nodes/clip_limits.py SERVED_KEY

// File-name fallback only (the header, as served, wins): pattern -> family name as the backend spells it.
const NAME_FAMILIES = [[/ltx-?2[._]5/i, "LTX-2.5"], [/ltx-?2[._]3/i, "LTX-2.3 (22B)"]];

function emptyStore() {
  return { families: {}, files: {}, inputs: {} }; // inputs: node type -> names of inputs that serve the table
}

/**
 * The served table. It lives on the registered extension, so a second copy of this file (the pack served under two
 * URLs) reads the same one.
 */
export function servedLimits() {
  return (app.extensions ?? []).find((e) => e.name === EXTENSION_NAME)?.served ?? emptyStore();
}

/** Collect the table from one node definition (an `/object_info` entry) into `store`. */
export function acceptNodeDef(nodeData, store = servedLimits()) {
  for (const section of ["required", "optional"]) {
    for (const [name, spec] of Object.entries(nodeData?.input?.[section] ?? {})) {
      const served = Array.isArray(spec) ? spec[1]?.[SERVED_KEY] : undefined;
      if (!served) continue;
      Object.assign(store.families, served.families ?? {});
      Object.assign(store.files, served.files ?? {});
      store.inputs[nodeData.name] = [...new Set([...(store.inputs[nodeData.name] ?? []), name])];
    }
  }
}

/** The family of a model file: {family, from: "header" | "file name"}, or undefined when unknown. */
export function familyOfFile(name, store = servedLimits()) {
  if (typeof name !== "string" || !name) return undefined;
  if (store.files[name]) return { family: store.files[name], from: "header" };
  const base = name.split(/[\\/]/).pop();
  const hit = NAME_FAMILIES.find(([pattern]) => pattern.test(base));
  return hit ? { family: hit[1], from: "file name" } : undefined;
}

function limitsOf(family, file, from, served) {
  return {
    family, file, from,
    frameStep: served.frame_step ?? TEMPORAL_DOWNSCALE,
    defaultFps: served.default_fps,
    defaultFrames: served.default_frames,
    minSeconds: served.min_seconds ?? undefined,
    maxSeconds: served.max_seconds ?? undefined,
  };
}

/**
 * The clip limits of the model the graph loads: {family, file, from, frameStep, defaultFps, defaultFrames,
 * minSeconds, maxSeconds} (a missing bound is undefined), or null when no loader in the graph names a known model.
 * With several models the one with the lowest maximum wins (the clip must suit all of them). Inside a subgraph the
 * root graph's loaders count too.
 */
export function graphClipLimits(graph, store = servedLimits()) {
  let best = null;
  const graphs = [...new Set([graph, graph?.rootGraph].filter(Boolean))];
  for (const node of graphs.flatMap((g) => g.nodes ?? g._nodes ?? [])) {
    for (const name of store.inputs[node.comfyClass ?? node.type] ?? []) {
      const file = findWidget(node, name)?.value;
      const known = familyOfFile(file, store);
      const served = known && store.families[known.family];
      if (!served) continue;
      const limits = limitsOf(known.family, file, known.from, served);
      if (!best || (limits.maxSeconds ?? Infinity) < (best.maxSeconds ?? Infinity)) best = limits;
    }
  }
  return best;
}

/**
 * The longest 1 + 8k clip within `maxSeconds` at `fps`: round(maxSeconds * fps) (halves to even, as Python) floored
 * to the frame grid, as ltx_model/duration/frames.py bounds the duration head's suggestion (20 s at 24 fps -> 473).
 */
export function maxFrames(maxSeconds, fps, step = TEMPORAL_DOWNSCALE) {
  const bound = Math.max(1, roundHalfEven(maxSeconds * fps));
  return 1 + step * Math.floor((bound - 1) / step);
}

/** Why `frames` at `fps` is too long for `limits` (a sentence), or undefined when it is not / nothing is known. */
export function lengthProblem(frames, fps, limits) {
  if (!limits?.maxSeconds || !(fps > 0) || !Number.isFinite(frames)) return undefined;
  const most = maxFrames(limits.maxSeconds, fps, limits.frameStep);
  if (frames <= most) return undefined;
  return `longer than ${limits.family}'s ${limits.maxSeconds} s maximum (${most} frames at ${+fps.toFixed(3)} fps)`;
}

/** A short text of what the limits say (to notice a model change, and for labels): "LTX-2.5, max 20 s". */
export function limitsLabel(limits) {
  if (!limits) return "";
  return limits.maxSeconds ? `${limits.family}, max ${limits.maxSeconds} s` : limits.family;
}

registerOnce(app, {
  name: EXTENSION_NAME,
  served: emptyStore(),
  acceptNodeDef,
  graphClipLimits,
  async beforeRegisterNodeDef(nodeType, nodeData) {
    acceptNodeDef(nodeData);
  },
});
