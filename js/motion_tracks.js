// Motion-track editor for "Motion Tracks (LTX-2)" (nodes/motion_tracks.py): draw and edit point tracks over the
// first frame.
//
// The node's `tracks` widget (JSON: a list of tracks, each a list of [x, y] points as fractions of width and height)
// stays the source of truth: the editor parses it on every draw and every edit writes it back exactly as a user edit
// would (setWidgetValue), so API prompts and saved workflows work without the editor, which is never saved itself.
//
// Mouse: press on empty space and drag = a new track (a point every few pixels; a click alone = a stationary
// track); drag a point = move it; click a point without dragging (or right-click it, where the frontend passes that
// on) = delete it (a track without points is removed).
// Background: the picture of the node linked to the optional `image` input when it is a Load Image node (shown
// before running), else a dark frame of the output's aspect ratio.

import { app } from "../../scripts/app.js";
import { clamp } from "./ltx2_geometry.js";
import { chainMethod, findWidget, fitNode, registerOnce, setWidgetValue, uiOnly } from "./ltx2_widgets.js";

export const EXTENSION_NAME = "LTX2Native.MotionTracks";
export const EDITOR_WIDGET = "ltx2_track_editor";
export const TRACK_NODES = ["LTX2NMotionTracks"];
export const PALETTE = ["#f33", "#3f3", "#47f", "#ff3", "#f3f", "#3ff", "#f91", "#b6f", "#fff", "#8f9"];

const MARGIN = 10;
const MAX_AREA_HEIGHT = 420;
const LABEL_HEIGHT = 18;
const GRAB_PX = 8;
const SAMPLE_PX = 12; // distance between points recorded while drawing a new track

/** Parse the tracks widget: {tracks: [[[x, y], ...], ...], error: string|null}. */
export function parseTracks(text) {
  try {
    const data = JSON.parse(String(text ?? "[]"));
    const ok = Array.isArray(data) && data.every((t) => Array.isArray(t) && t.length && t.every(
      (p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === "number")));
    return ok ? { tracks: data, error: null } : { tracks: [], error: "tracks: not a list of [x, y] point lists" };
  } catch (err) {
    return { tracks: [], error: `tracks: invalid JSON (${err.message})` };
  }
}

/** JSON text for tracks, coordinates rounded to 3 decimals. */
export function formatTracks(tracks) {
  return JSON.stringify(tracks.map((t) => t.map(([x, y]) => [+x.toFixed(3), +y.toFixed(3)])));
}

function aspect(node) {
  const w = Number(findWidget(node, "width")?.value) || 768;
  const h = Number(findWidget(node, "height")?.value) || 512;
  return h / w;
}

/** The drawing area in node-local pixels for a widget `width` wide starting at `y`. */
export function editorArea(node, width, y) {
  let w = Math.max(40, width - 2 * MARGIN);
  let h = w * aspect(node);
  if (h > MAX_AREA_HEIGHT) {
    w *= MAX_AREA_HEIGHT / h;
    h = MAX_AREA_HEIGHT;
  }
  return { x: (width - w) / 2, y: y + 4, w, h };
}

function toLocal(area, [fx, fy]) {
  return [area.x + fx * area.w, area.y + fy * area.h];
}

function toFraction(area, [px, py]) {
  return [clamp((px - area.x) / area.w, 0, 1), clamp((py - area.y) / area.h, 0, 1)];
}

function hitPoint(tracks, area, pos) {
  let best = null;
  tracks.forEach((track, t) => track.forEach((p, i) => {
    const [x, y] = toLocal(area, p);
    const d = Math.hypot(x - pos[0], y - pos[1]);
    if (d <= GRAB_PX && (!best || d < best.d)) best = { track: t, point: i, d };
  }));
  return best;
}

/** Image of the Load Image node linked to `image` (cached per file name), or null. */
function backgroundImage(node, cache) {
  const slot = node.inputs?.findIndex((input) => input.name === "image") ?? -1;
  const source = slot >= 0 ? node.getInputNode?.(slot) : null;
  const name = source ? findWidget(source, "image")?.value : null;
  if (!name || typeof name !== "string") return null;
  if (cache.name !== name) {
    const [subfolder, file] = name.includes("/") ? [name.slice(0, name.lastIndexOf("/")), name.slice(name.lastIndexOf("/") + 1)] : ["", name];
    cache.name = name;
    cache.image = new Image();
    cache.image.onload = () => node.setDirtyCanvas?.(true, true);
    cache.image.src = `/api/view?filename=${encodeURIComponent(file)}&type=input&subfolder=${encodeURIComponent(subfolder)}`;
  }
  return cache.image.complete && cache.image.naturalWidth ? cache.image : null;
}

function drawTracks(ctx, area, tracks) {
  tracks.forEach((track, t) => {
    const colour = PALETTE[t % PALETTE.length];
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    track.forEach((p, i) => (i ? ctx.lineTo(...toLocal(area, p)) : ctx.moveTo(...toLocal(area, p))));
    ctx.stroke();
    track.forEach((p, i) => {
      const [x, y] = toLocal(area, p);
      ctx.beginPath();
      ctx.arc(x, y, i === track.length - 1 ? 5 : 3.5, 0, 2 * Math.PI);
      ctx.fill();
    });
  });
}

function writeTracks(node, tracks) {
  const widget = findWidget(node, "tracks");
  if (widget) setWidgetValue(node, widget, formatTracks(tracks), app.canvas);
}

/** Add the editor to `node`; returns the widget. */
export function attachEditor(node) {
  const cache = {};
  let edit = null; // {tracks, track, point, last} while the pointer is down
  const widget = uiOnly({
    name: EDITOR_WIDGET,
    type: "ltx2.track_editor",
    value: "",
    y: 0,
    options: {},
    draw(ctx, drawnNode, width, y) {
      const area = editorArea(drawnNode, width, y);
      const { tracks, error } = edit ? { tracks: edit.tracks, error: null } : parseTracks(findWidget(drawnNode, "tracks")?.value);
      ctx.save();
      ctx.fillStyle = "#111";
      ctx.fillRect(area.x, area.y, area.w, area.h);
      const image = backgroundImage(drawnNode, cache);
      if (image) ctx.drawImage(image, area.x, area.y, area.w, area.h);
      ctx.strokeStyle = "#555";
      ctx.strokeRect(area.x, area.y, area.w, area.h);
      drawTracks(ctx, area, tracks);
      ctx.fillStyle = error ? "#f77" : "#9ab";
      ctx.font = "11px sans-serif";
      ctx.textAlign = "left";
      const help = `${tracks.length} track(s) - drag: new track, drag a point: move, click a point: delete`;
      ctx.fillText(error ?? help, MARGIN, area.y + area.h + 13, width - 2 * MARGIN);
      ctx.restore();
    },
    mouse(event, pos, eventNode) {
      const area = editorArea(eventNode, this.width || eventNode.size[0], this.last_y ?? this.y);
      const type = event.type;
      if (type === "pointerdown" || type === "mousedown") {
        const tracks = parseTracks(findWidget(eventNode, "tracks")?.value).tracks;
        const hit = hitPoint(tracks, area, pos);
        if (event.button === 2) {
          if (!hit) return false;
          tracks[hit.track].splice(hit.point, 1);
          writeTracks(eventNode, tracks.filter((t) => t.length));
          return true;
        }
        const inside = pos[0] >= area.x && pos[0] <= area.x + area.w && pos[1] >= area.y && pos[1] <= area.y + area.h;
        if (!hit && !inside) return false;
        if (!hit) tracks.push([toFraction(area, pos)]);
        edit = hit ? { tracks, track: hit.track, point: hit.point, moving: true, last: [...pos], moved: false }
          : { tracks, track: tracks.length - 1, point: 0, moving: false, last: [...pos] };
        return true;
      }
      if (!edit) return false;
      const track = edit.tracks[edit.track];
      if (edit.moving && (edit.moved || Math.hypot(pos[0] - edit.last[0], pos[1] - edit.last[1]) > 2)) {
        track[edit.point] = toFraction(area, pos);
        edit.moved = true;
      }
      else if (Math.hypot(pos[0] - edit.last[0], pos[1] - edit.last[1]) >= SAMPLE_PX) {
        track.push(toFraction(area, pos));
        edit.last = [...pos];
      }
      if (type === "pointerup" || type === "mouseup") {
        if (!edit.moving && Math.hypot(pos[0] - edit.last[0], pos[1] - edit.last[1]) > 1) track.push(toFraction(area, pos));
        if (edit.moving && !edit.moved) track.splice(edit.point, 1); // a click on a point deletes it
        const tracks = edit.tracks.filter((t) => t.length);
        edit = null;
        writeTracks(eventNode, tracks);
      }
      eventNode.setDirtyCanvas?.(true, true);
      return true;
    },
    computeSize(width) {
      const area = editorArea(node, width || node.size?.[0] || 400, 0);
      return [width, area.h + 4 + LABEL_HEIGHT];
    },
    /** Node-local [x, y] of a point given as fractions of width and height (for tests and tools). */
    locate(locatedNode, fraction) {
      return toLocal(editorArea(locatedNode, this.width || locatedNode.size[0], this.last_y ?? this.y), fraction);
    },
  });
  node.addCustomWidget(widget);
  fitNode(node);
  chainMethod(node, "onConfigure", () => fitNode(node));
  return widget;
}

registerOnce(app, {
  name: EXTENSION_NAME,
  attachEditor,
  parseTracks,
  nodeCreated(node) {
    if (TRACK_NODES.includes(node.comfyClass ?? node.type) && !findWidget(node, EDITOR_WIDGET)) attachEditor(node);
  },
});
