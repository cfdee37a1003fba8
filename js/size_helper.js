// Size and duration helper for the pack's latent/sampler nodes.
//
// Attaches to every pack node (id prefix LTX2N) whose definition has width+height and/or a frame-count input
// (frames | length | num_frames), optionally with a frame rate (fps | frame_rate) and batch_size:
// - width/height snap to the nearest multiple of 32 after every edit (1000 -> 992); of 64 when a `stages` widget
//   selects two stages (the first stage then runs at half size);
// - frames snap to the nearest 1 + 8k after every edit (100 -> 97; rule in ltx2_geometry.js);
// - a "seconds" widget (UI only, never saved) shows frames / fps and, when edited, sets frames to the nearest valid
//   count for that duration (5 s at 25 fps -> 129 frames);
// - a text line under the widgets shows the duration, the latent size (F_lat x H/32 x W/32, audio latent frames)
//   and an estimated activation memory figure; sizes left at 0 on a widget whose minimum is 0 mean "the source's
//   size / all its frames" (Retake, source clips) and are shown as such, never checked as sizes;
// - when the graph loads a model whose family has a maximum length (LTX-2.5: 20 s; ltx2_model_limits.js, served by
//   the backend), a clip longer than that gets a warning line; the frames are left as the user set them. A node
//   that generates its clip in windows (a `window_frames` widget: Long Video) is checked by its window length.
// The node's own widgets stay the source of truth: nothing here is saved in workflows or sent in API prompts.

import { app } from "../../scripts/app.js";
import {
  estimateActivationBytes, formatBytes, formatSeconds, latentGeometry, sizeProblems, snapFrames, snapMultiple,
} from "./ltx2_geometry.js";
import { graphClipLimits, lengthProblem, limitsLabel } from "./ltx2_model_limits.js";
import {
  chainMethod, chainWidgetCallback, findWidget, fitNode, isTwoStage, isWidgetLinked, NODE_ID_PREFIX, nodeDefInputNames,
  registerOnce, setWidgetValue, SIZE_WIDGET_NAMES, uiOnly,
} from "./ltx2_widgets.js";

export const EXTENSION_NAME = "LTX2Native.SizeHelper";
export const SECONDS_WIDGET = "seconds";
export const INFO_WIDGET = "ltx2_size_info";

const LINE_HEIGHT = 14;
const WINDOW_WIDGET = "window_frames"; // nodes/temporal_modes.py Long Video: the length of one generation pass

/** Which roles a node definition (an `/object_info` entry) provides; null when the helper does not apply. */
export function sizeRoles(nodeData) {
  if (!nodeData?.name?.startsWith(NODE_ID_PREFIX)) return null;
  const names = nodeDefInputNames(nodeData);
  const roles = {};
  for (const [role, aliases] of Object.entries(SIZE_WIDGET_NAMES)) {
    const name = aliases.find((alias) => names.has(alias));
    if (name) roles[role] = name;
  }
  const hasSize = roles.width && roles.height;
  return hasSize || roles.frames ? roles : null;
}

function widgetLimits(widget) {
  return { min: widget.options?.min, max: widget.options?.max };
}

function readValue(node, widget) {
  if (!widget || isWidgetLinked(node, widget)) return undefined;
  const value = Number(widget.value);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The info text for the current widget values (one line per fact; undefined values are left out). With
 * `twoStage` the sizes are the final output size: the first stage runs at half width and height (multiples of 64).
 * `limits` (ltx2_model_limits.js graphClipLimits): the graph's model's limits; a longer clip (or window, when
 * `windowFrames` is given: the clip is generated in windows of that many frames) gets a warning line.
 */
export function describeSizes({
  width, height, frames, fps, batch = 1, twoStage = false, fromSource = [], limits, windowFrames,
}) {
  const lines = [];
  if (fromSource.length) lines.push(sourceLine(fromSource));
  const hasFps = fps !== undefined;
  if (frames !== undefined && hasFps) {
    lines.push(`${formatSeconds(frames / fps)} at ${+fps.toFixed(3)} fps (${frames} frames)`);
  }
  if (width !== undefined && height !== undefined && frames !== undefined) {
    const g = latentGeometry({ width, height, frames, fps: fps ?? 0, batch });
    const audio = hasFps ? `, audio ${g.audioFrames}` : "";
    const grid = (f, h, w) => `${f}x${h}x${w}`;
    const final = grid(g.latentFrames, g.latentHeight, g.latentWidth);
    const first = grid(g.latentFrames, Math.floor(g.latentHeight / 2), Math.floor(g.latentWidth / 2));
    lines.push(`latent ${twoStage ? `${first} -> x2 ${final}` : final} (FxHxW)${audio}`);
    lines.push(`~${formatBytes(estimateActivationBytes(g))} activations/pass (bf16, batch ${batch})`);
  }
  for (const problem of sizeProblems({ width, height, frames, multiple: twoStage ? 64 : 32 })) {
    lines.push(`! ${problem}`);
  }
  const tooLong = lengthProblem(windowFrames ?? frames, fps, limits);
  if (tooLong) lines.push(`! ${windowFrames !== undefined ? "window " : ""}${tooLong}`);
  return lines.join("\n");
}

/** The info line for roles left at 0 where 0 means "take it from the source" (e.g. Retake's width/height/frames). */
function sourceLine(roles) {
  const size = roles.includes("width") || roles.includes("height");
  const parts = [size && "the source's size", roles.includes("frames") && "all of its frames"].filter(Boolean);
  return `0 = from the source: ${parts.join(", ")}`;
}

/** Whether a widget stands at 0 and its schema allows 0 (min 0): the pack's "the source's size / all frames". */
function isFromSource(node, widget) {
  return readValue(node, widget) === 0 && widget.options?.min === 0;
}

/** The info text widget; `handle.stale()` is checked before each draw (the graph's model may have changed). */
function makeInfoWidget(handle) {
  return uiOnly({
    name: INFO_WIDGET,
    type: "ltx2.info",
    value: "",
    y: 0,
    options: {},
    draw(ctx, node, width, y) {
      if (handle.stale()) handle.refresh();
      ctx.save();
      ctx.font = "11px sans-serif";
      ctx.textAlign = "left";
      this.value.split("\n").forEach((line, i) => {
        ctx.fillStyle = line.startsWith("!") ? "#e99" : "#9ab";
        ctx.fillText(line, 15, y + LINE_HEIGHT * (i + 1) - 2, width - 30);
      });
      ctx.restore();
    },
    computeSize(width) {
      return [width, LINE_HEIGHT * Math.max(1, this.value.split("\n").length) + 6];
    },
  });
}

/** Attach the helper to one node; `roles` maps role -> widget name (see `sizeRoles`). Returns the handle. */
export function attachSizeHelper(node, roles) {
  const w = Object.fromEntries(Object.entries(roles).map(([role, name]) => [role, findWidget(node, name)]));
  const handle = {
    refresh: () => refreshSizes(node, w, handle),
    stale: () => limitsLabel(graphClipLimits(node.graph)) !== handle.limits,
  };
  for (const role of ["width", "height"]) {
    if (!w[role]) continue;
    chainWidgetCallback(w[role], function () {
      if (isFromSource(node, this)) return handle.refresh(); // 0 = the source's size stays 0
      const snapped = snapMultiple(this.value, isTwoStage(w.stages?.value) ? 64 : 32, widgetLimits(this));
      if (snapped !== this.value) this.value = snapped;
      handle.refresh();
    });
  }
  if (w.frames) {
    chainWidgetCallback(w.frames, function () {
      if (isFromSource(node, this)) return handle.refresh(); // 0 = all of the source's frames stays 0
      const snapped = snapFrames(this.value, widgetLimits(this));
      if (snapped !== this.value) this.value = snapped;
      handle.refresh();
    });
  }
  for (const role of ["fps", "batch", "stages"]) if (w[role]) chainWidgetCallback(w[role], () => handle.refresh());
  const windowWidget = findWidget(node, WINDOW_WIDGET);
  if (windowWidget) chainWidgetCallback(windowWidget, () => handle.refresh());
  if (w.frames && w.fps) handle.seconds = addSecondsWidget(node, w);
  handle.info = makeInfoWidget(handle);
  node.addCustomWidget(handle.info);
  node.ltx2SizeHelper = handle;
  handle.refresh();
  fitNode(node);
  return handle;
}

function addSecondsWidget(node, w) {
  const widget = node.addWidget("number", SECONDS_WIDGET, 0, (value) => {
    const fps = readValue(node, w.fps);
    if (!fps || isWidgetLinked(node, w.frames)) return;
    const seconds = Number(value);
    const frames = snapFrames(Math.round(seconds * fps), widgetLimits(w.frames));
    setWidgetValue(node, w.frames, frames, app.canvas);
    node.ltx2SizeHelper?.refresh();
  }, { min: 0, max: 3600, step: 5, step2: 0.5, precision: 2, round: 0.01 });
  widget.tooltip = "Clip duration (frames / fps). Editing it sets frames to the nearest 1 + 8k for that duration.";
  return uiOnly(widget);
}

function refreshSizes(node, w, handle) {
  const values = {
    width: readValue(node, w.width), height: readValue(node, w.height),
    frames: readValue(node, w.frames), fps: readValue(node, w.fps), batch: readValue(node, w.batch) ?? 1,
    twoStage: isTwoStage(w.stages?.value), limits: graphClipLimits(node.graph),
    windowFrames: readValue(node, findWidget(node, WINDOW_WIDGET)),
  };
  handle.limits = limitsLabel(values.limits);
  if (values.fps !== undefined && !(values.fps > 0)) values.fps = undefined;
  values.fromSource = ["width", "height", "frames"].filter((role) => isFromSource(node, w[role]));
  if (values.fromSource.includes("width") || values.fromSource.includes("height")) {
    values.width = values.height = undefined; // the source's size: unknown until the node runs
  }
  if (values.fromSource.includes("frames")) values.frames = undefined;
  if (handle.seconds && values.frames !== undefined && values.fps !== undefined) {
    handle.seconds.value = Math.round((values.frames / values.fps) * 100) / 100;
  }
  if (handle.info) handle.info.value = describeSizes(values);
  node.setDirtyCanvas?.(true, false);
}

registerOnce(app, {
  name: EXTENSION_NAME,
  async beforeRegisterNodeDef(nodeType, nodeData) {
    const roles = sizeRoles(nodeData);
    if (!roles) return;
    chainMethod(nodeType.prototype, "onNodeCreated", function () {
      attachSizeHelper(this, roles);
    });
    chainMethod(nodeType.prototype, "onConfigure", function () {
      this.ltx2SizeHelper?.refresh();
      fitNode(this); // a saved size predating the helper's rows would let the text run over the next node
    });
  },
});
