// Timeline widget: a strip showing the clip's duration, with draggable keyframe markers (frame indices) and time
// windows (start/end in seconds), bound to a node's own widgets.
//
// The bound widgets stay the source of truth: dragging writes them exactly as a user edit would (their callbacks and
// ComfyUI's rounding run), the strip is redrawn from them, and the strip itself is never saved (UI only), so API
// prompts and saved workflows work without it.
//
// Which nodes get a timeline is the TIMELINE_NODES table below (node id -> binding). The clip length comes from the
// node's own frames/fps widgets when the binding names them, else from the nearest upstream node that has frames and
// fps widgets (e.g. Empty Audio+Video Latent), else DEFAULT_CLIP's frames at the fps of the graph's first node with an
// fps / frame_rate widget, else the graph's model's default clip (see fallbackClip).
//
// When the graph loads a model whose family has a maximum length (LTX-2.5: 20 s; ltx2_model_limits.js, served by the
// backend), the strip marks it: the label names the family and its maximum, and the part of a longer clip past the
// maximum is shaded red with a line at the limit.

import { app } from "../../scripts/app.js";
import { clamp, formatSeconds } from "./ltx2_geometry.js";
import { graphClipLimits, limitsLabel } from "./ltx2_model_limits.js";
import {
  chainMethod, findWidget, fitNode, isWidgetLinked, registerOnce, setWidgetValue, SIZE_WIDGET_NAMES, uiOnly,
} from "./ltx2_widgets.js";

export const EXTENSION_NAME = "LTX2Native.Timeline";
export const TIMELINE_WIDGET = "ltx2_timeline";
export const DEFAULT_CLIP = { frames: 121, fps: 25 };

/**
 * node id -> binding. A binding has
 *   markers: names of INT widgets holding frame indices (a negative index counts from the end, as in core
 *            LTXVAddGuide; a marker that was negative stays negative when dragged),
 *   windows: [start, end] name pairs of FLOAT widgets holding times in seconds,
 *   frames, fps (optional): names of widgets on the same node that give the clip length.
 * Example: LTX2NAddKeyframes: { markers: ["frame_idx"] },
 *          LTX2NRetake: { windows: [["start_time", "end_time"]] }.
 * A node opts in by adding its line here.
 */
export const TIMELINE_NODES = {
  // nodes/temporal_modes.py: keyframe markers (frame indices; clip length from the upstream latent),
  // the optional keyframe of Extend Clip, and Retake's time window (seconds)
  LTX2NKeyframes: { markers: ["frame_idx_1", "frame_idx_2", "frame_idx_3", "frame_idx_4"] },
  LTX2NExtend: { markers: ["frame_idx"] },
  LTX2NRetake: { windows: [["start_time", "end_time"]] },
};

const MARGIN = 15;
const INSET = 6;
const TRACK_TOP = 4;
const TRACK_HEIGHT = 22;
const WIDGET_HEIGHT = TRACK_TOP + TRACK_HEIGHT + 28;
const GRAB_PX = 7;

/** Opt a node type in (or replace its binding) at run time. */
export function registerTimelineNode(nodeType, binding) {
  TIMELINE_NODES[nodeType] = binding;
}

function widgetNumber(node, widget) {
  if (!widget || isWidgetLinked(node, widget)) return undefined;
  const value = Number(widget.value);
  return Number.isFinite(value) ? value : undefined;
}

function ownClip(node, names) {
  const frames = widgetNumber(node, findWidget(node, names.frames));
  const fps = widgetNumber(node, findWidget(node, names.fps));
  return frames >= 1 && fps > 0 ? { frames, fps } : undefined;
}

/** The clip length for `node`: {frames, fps, source}; source names where it came from. */
export function clipOf(node, binding = {}) {
  const names = { frames: binding.frames ?? SIZE_WIDGET_NAMES.frames, fps: binding.fps ?? SIZE_WIDGET_NAMES.fps };
  const own = ownClip(node, names);
  if (own) return { ...own, source: "this node" };
  const seen = new Set([node.id]);
  let frontier = [node];
  for (let depth = 0; depth < 8 && frontier.length; depth++) {
    const next = [];
    for (const current of frontier) {
      for (let slot = 0; slot < (current.inputs?.length ?? 0); slot++) {
        const source = current.getInputNode?.(slot);
        if (!source || seen.has(source.id)) continue;
        seen.add(source.id);
        const clip = ownClip(source, SIZE_WIDGET_NAMES);
        if (clip) return { ...clip, source: source.title ?? source.type };
        next.push(source);
      }
    }
    frontier = next;
  }
  return fallbackClip(node);
}

/**
 * No clip length up the graph (e.g. Retake, whose source video's length is only known when it runs): DEFAULT_CLIP's
 * frames at the fps of the first node in the graph with an fps / frame_rate widget (the workflow's Text Encode or
 * Create Video), else the default clip of the graph's model (served; 121 frames at 24 fps for every family today),
 * else DEFAULT_CLIP.
 */
function fallbackClip(node) {
  const clip = { ...DEFAULT_CLIP, source: "default" };
  const nodes = [...(node.graph?.nodes ?? node.graph?._nodes ?? [])].sort((a, b) => a.id - b.id);
  for (const other of nodes) {
    const fps = widgetNumber(other, findWidget(other, SIZE_WIDGET_NAMES.fps));
    if (fps > 0) return { ...clip, fps, source: `fps of ${other.title ?? other.type}` };
  }
  const limits = graphClipLimits(node.graph);
  if (limits?.defaultFps > 0 && limits.defaultFrames >= 1) {
    return { frames: limits.defaultFrames, fps: limits.defaultFps, source: `${limits.family} default` };
  }
  return clip;
}

/**
 * What the strip says under the track for `node`: {text, maxSeconds, over}. `maxSeconds` is the maximum length of
 * the graph's model (undefined: none known), `over` whether the clip is longer than it.
 */
export function timelineLabel(node, binding = {}) {
  const clip = clipOf(node, binding);
  const duration = clip.frames / clip.fps;
  const limits = graphClipLimits(node.graph);
  const maxSeconds = limits?.maxSeconds;
  const over = maxSeconds !== undefined && duration > maxSeconds;
  const model = limits ? `; ${over ? `! over ${limits.family}'s ${maxSeconds} s maximum` : limitsLabel(limits)}` : "";
  const length = `${formatSeconds(duration)} (${clip.frames} frames at ${+clip.fps.toFixed(3)} fps, ${clip.source})`;
  return { text: length + model, maxSeconds, over };
}

/** Horizontal mapping between seconds and node-local x for a widget `width` px wide and a clip of `duration` s. */
export function timeScale(width, duration) {
  const x0 = MARGIN + INSET;
  const x1 = Math.max(x0 + 1, width - MARGIN - INSET);
  return {
    x0, x1,
    toX: (t) => x0 + (clamp(t, 0, duration) / duration) * (x1 - x0),
    toTime: (x) => (clamp(x, x0, x1) - x0) / (x1 - x0) * duration,
  };
}

function markerFrame(value, clip) {
  return value < 0 ? clip.frames + value : value;
}

/** The bound, unlinked items of a node: markers {name, widget, time} and windows {start, end, t0, t1}. */
function timelineItems(node, binding, clip) {
  const markers = [];
  for (const name of binding.markers ?? []) {
    const widget = findWidget(node, name);
    const value = widgetNumber(node, widget);
    if (value !== undefined) markers.push({ name, widget, time: markerFrame(value, clip) / clip.fps });
  }
  const windows = [];
  for (const [startName, endName] of binding.windows ?? []) {
    const start = findWidget(node, startName);
    const end = findWidget(node, endName);
    const t0 = widgetNumber(node, start);
    const t1 = widgetNumber(node, end);
    if (t0 !== undefined && t1 !== undefined) windows.push({ name: startName, start, end, t0, t1 });
  }
  return { markers, windows };
}

/** What is under node-local x: a drag target {kind: marker|start|end|move, ...} or null. */
function hitTest(items, scale, x) {
  let best = null;
  const consider = (distance, target) => {
    if (distance <= GRAB_PX && (!best || distance < best.distance)) best = { ...target, distance };
  };
  for (const marker of items.markers) consider(Math.abs(scale.toX(marker.time) - x), { kind: "marker", marker });
  for (const win of items.windows) {
    consider(Math.abs(scale.toX(win.t0) - x), { kind: "start", window: win });
    consider(Math.abs(scale.toX(win.t1) - x), { kind: "end", window: win });
  }
  if (best) return best;
  const inside = items.windows.find((w) => x > scale.toX(w.t0) && x < scale.toX(w.t1));
  return inside ? { kind: "move", window: inside, grab: scale.toTime(x) - inside.t0 } : null;
}

function snapTime(seconds, fps) {
  return Number((Math.round(seconds * fps) / fps).toFixed(3));
}

/** Write the dragged item's widget(s) for a pointer at time `t` (seconds). */
function applyDrag(node, drag, t, clip) {
  const canvas = app.canvas;
  const duration = clip.frames / clip.fps;
  if (drag.kind === "marker") {
    const widget = drag.marker.widget;
    const step = widget.options?.step2 || 1;
    let frame = clamp(Math.round((t * clip.fps) / step) * step, 0, clip.frames - 1);
    if (Number(widget.value) < 0) frame -= clip.frames;
    setWidgetValue(node, widget, clamp(frame, widget.options?.min, widget.options?.max), canvas);
    return;
  }
  const { start, end } = drag.window;
  const t0 = Number(start.value);
  const t1 = Number(end.value);
  if (drag.kind === "start") setWidgetValue(node, start, clamp(snapTime(t, clip.fps), 0, t1), canvas);
  if (drag.kind === "end") setWidgetValue(node, end, clamp(snapTime(t, clip.fps), t0, duration), canvas);
  if (drag.kind === "move") {
    const length = t1 - t0;
    const newStart = clamp(snapTime(t - drag.grab, clip.fps), 0, Math.max(0, duration - length));
    setWidgetValue(node, start, newStart, canvas);
    setWidgetValue(node, end, Number((newStart + length).toFixed(3)), canvas);
  }
}

function tickStep(duration) {
  return [0.5, 1, 2, 5, 10, 30, 60].find((step) => duration / step <= 10) ?? 120;
}

function drawTrack(ctx, scale, y, duration) {
  ctx.fillStyle = "#1a1a1a";
  ctx.strokeStyle = "#555";
  ctx.fillRect(MARGIN, y + TRACK_TOP, scale.x1 - scale.x0 + 2 * INSET, TRACK_HEIGHT);
  ctx.strokeRect(MARGIN, y + TRACK_TOP, scale.x1 - scale.x0 + 2 * INSET, TRACK_HEIGHT);
  ctx.fillStyle = "#888";
  ctx.font = "10px sans-serif";
  ctx.textAlign = "center";
  const step = tickStep(duration);
  for (let t = 0; t <= duration + 1e-9; t += step) {
    const x = scale.toX(t);
    ctx.fillRect(x, y + TRACK_TOP + TRACK_HEIGHT - 5, 1, 5);
    ctx.fillText(`${+t.toFixed(1)}s`, x, y + TRACK_TOP + TRACK_HEIGHT + 11);
  }
}

/** Shade the part of the track past `maxSeconds` (a clip longer than the model's maximum) and mark the limit. */
function drawOverMax(ctx, scale, y, maxSeconds) {
  const x = scale.toX(maxSeconds);
  ctx.fillStyle = "rgba(220, 70, 70, 0.35)";
  ctx.fillRect(x, y + TRACK_TOP + 1, Math.max(0, scale.x1 + INSET - x), TRACK_HEIGHT - 2);
  ctx.fillStyle = "#e66";
  ctx.fillRect(x - 1, y + TRACK_TOP, 2, TRACK_HEIGHT);
}

function drawItems(ctx, scale, y, items) {
  const top = y + TRACK_TOP;
  for (const w of items.windows) {
    const xa = scale.toX(w.t0);
    const xb = scale.toX(w.t1);
    ctx.fillStyle = "rgba(80, 160, 255, 0.35)";
    ctx.fillRect(xa, top + 1, Math.max(1, xb - xa), TRACK_HEIGHT - 2);
    ctx.fillStyle = "#5af";
    ctx.fillRect(xa - 1, top, 3, TRACK_HEIGHT);
    ctx.fillRect(xb - 1, top, 3, TRACK_HEIGHT);
  }
  ctx.textAlign = "left";
  for (const m of items.markers) {
    const x = scale.toX(m.time);
    ctx.fillStyle = "#fc5";
    ctx.fillRect(x - 1, top, 2, TRACK_HEIGHT);
    ctx.beginPath();
    ctx.moveTo(x - 5, top);
    ctx.lineTo(x + 5, top);
    ctx.lineTo(x, top + 6);
    ctx.fill();
    ctx.fillText(String(m.widget.value), x + 4, top + TRACK_HEIGHT - 4);
  }
}

/** Add the timeline strip to `node` for `binding` (see TIMELINE_NODES); returns the widget. */
export function attachTimeline(node, binding) {
  let drag = null;
  const widget = uiOnly({
    name: TIMELINE_WIDGET,
    type: "ltx2.timeline",
    value: "",
    y: 0,
    options: {},
    binding,
    draw(ctx, drawnNode, width, y) {
      const clip = clipOf(drawnNode, binding);
      const duration = clip.frames / clip.fps;
      const scale = timeScale(width, duration);
      const label = timelineLabel(drawnNode, binding);
      ctx.save();
      drawTrack(ctx, scale, y, duration);
      if (label.over) drawOverMax(ctx, scale, y, label.maxSeconds);
      drawItems(ctx, scale, y, timelineItems(drawnNode, binding, clip));
      ctx.fillStyle = label.over ? "#e99" : "#9ab";
      ctx.textAlign = "left";
      ctx.font = "11px sans-serif";
      ctx.fillText(label.text, MARGIN, y + WIDGET_HEIGHT - 4, width - 2 * MARGIN);
      ctx.restore();
    },
    mouse(event, pos, eventNode) {
      const clip = clipOf(eventNode, binding);
      const scale = timeScale(this.width || eventNode.size[0], clip.frames / clip.fps);
      const type = event.type;
      if (type === "pointerdown" || type === "mousedown") {
        drag = hitTest(timelineItems(eventNode, binding, clip), scale, pos[0]);
      } else if (type === "pointerup" || type === "mouseup") {
        drag = null;
        return true;
      }
      if (!drag) return false;
      applyDrag(eventNode, drag, scale.toTime(pos[0]), clip);
      return true;
    },
    computeSize(width) {
      return [width, WIDGET_HEIGHT];
    },
    /** Node-local [x, y] of a bound marker (widget name) or window edge ("start"/"end" of a window's start name). */
    locate(locatedNode, name, part = "marker") {
      const clip = clipOf(locatedNode, binding);
      const items = timelineItems(locatedNode, binding, clip);
      const marker = items.markers.find((m) => m.name === name);
      const win = items.windows.find((w) => w.name === name);
      if (part === "marker") return marker ? this.locateTime(locatedNode, marker.time) : null;
      return win ? this.locateTime(locatedNode, part === "end" ? win.t1 : win.t0) : null;
    },
    /** Node-local [x, y] of time `seconds` on the track (y: the track's middle). */
    locateTime(locatedNode, seconds) {
      const clip = clipOf(locatedNode, binding);
      const scale = timeScale(this.width || locatedNode.size[0], clip.frames / clip.fps);
      return [scale.toX(seconds), (this.last_y ?? this.y) + TRACK_TOP + TRACK_HEIGHT / 2];
    },
  });
  node.addCustomWidget(widget);
  fitNode(node);
  chainMethod(node, "onConfigure", () => fitNode(node)); // a loaded workflow's saved size may predate the strip
  return widget;
}

registerOnce(app, {
  name: EXTENSION_NAME,
  timelineNodes: TIMELINE_NODES,
  registerTimelineNode,
  attachTimeline,
  clipOf,
  timelineLabel,
  nodeCreated(node) {
    const binding = TIMELINE_NODES[node.comfyClass ?? node.type];
    if (binding && !findWidget(node, TIMELINE_WIDGET)) attachTimeline(node, binding);
  },
});
