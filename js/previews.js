// Audio waveform preview: a strip drawn on a node after it ran, from the small waveform summary the node sends as its
// UI output (nodes/previews.py waveform_ui: {ltx2_waveform: [{peaks, seconds, sample_rate}]}, e.g. Decode Audio
// (LTX-2)). Any node whose "executed" message carries that key gets the strip; it is UI only (never saved, never in
// API prompts) and is replaced on every run. Video previews during sampling need no js: ComfyUI's own latent preview
// shows them (nodes/previews.py gives the RGB factors).

import { app } from "../../scripts/app.js";
import { formatSeconds } from "./ltx2_geometry.js";
import { chainMethod, findWidget, fitNode, registerOnce, uiOnly } from "./ltx2_widgets.js";

export const EXTENSION_NAME = "LTX2Native.Previews";
export const WAVEFORM_UI_KEY = "ltx2_waveform";
export const WAVEFORM_WIDGET = "ltx2_waveform";

const MARGIN = 15;
const STRIP_HEIGHT = 48;
const LABEL_HEIGHT = 14;
const WAVE_COLOR = "#5c9";

/** The waveform summary in an "executed" UI message, or undefined: {peaks: number[0..1], seconds, sample_rate}. */
export function waveformOf(message) {
  const entry = message?.[WAVEFORM_UI_KEY];
  const summary = Array.isArray(entry) ? entry[0] : entry;
  return Array.isArray(summary?.peaks) ? summary : undefined;
}

/** Draw `peaks` (0..1) as a mirrored bar strip into the box x, y, width, height of `ctx`. */
export function drawPeaks(ctx, peaks, x, y, width, height) {
  const middle = y + height / 2;
  ctx.fillStyle = "#1a1a1a";
  ctx.fillRect(x, y, width, height);
  ctx.fillStyle = "#444";
  ctx.fillRect(x, middle, width, 1);
  if (!peaks.length) return;
  ctx.fillStyle = WAVE_COLOR;
  const step = width / peaks.length;
  for (let i = 0; i < peaks.length; i++) {
    const half = Math.max(0.5, Math.min(1, peaks[i]) * (height / 2 - 1));
    ctx.fillRect(x + i * step, middle - half, Math.max(1, step), 2 * half);
  }
}

/** Add (or update) the waveform strip of `node` for `summary` (see waveformOf); returns the widget. */
export function showWaveform(node, summary) {
  let widget = findWidget(node, WAVEFORM_WIDGET);
  if (!widget) {
    widget = uiOnly({
      name: WAVEFORM_WIDGET,
      type: "ltx2.waveform",
      value: "",
      y: 0,
      options: {},
      summary,
      draw(ctx, drawnNode, width, y) {
        const data = this.summary;
        ctx.save();
        drawPeaks(ctx, data.peaks, MARGIN, y + 2, width - 2 * MARGIN, STRIP_HEIGHT);
        ctx.fillStyle = "#9ab";
        ctx.font = "11px sans-serif";
        ctx.textAlign = "left";
        const rate = data.sample_rate ? `, ${+(data.sample_rate / 1000).toFixed(1)} kHz` : "";
        ctx.fillText(`audio ${formatSeconds(Number(data.seconds) || 0)}${rate}`, MARGIN,
          y + STRIP_HEIGHT + LABEL_HEIGHT, width - 2 * MARGIN);
        ctx.restore();
      },
      computeSize(width) {
        return [width, STRIP_HEIGHT + LABEL_HEIGHT + 6];
      },
      /** Node-local box [x, y, width, height] of the strip as last drawn (tests, tooltips). */
      stripBox(boxNode) {
        return [MARGIN, (this.last_y ?? this.y) + 2, boxNode.size[0] - 2 * MARGIN, STRIP_HEIGHT];
      },
    });
    node.addCustomWidget(widget);
  }
  widget.summary = summary;
  fitNode(node);
  node.setDirtyCanvas?.(true, true);
  return widget;
}

registerOnce(app, {
  name: EXTENSION_NAME,
  waveformOf,
  showWaveform,
  beforeRegisterNodeDef(nodeType) {
    chainMethod(nodeType.prototype, "onExecuted", function (message) {
      const summary = waveformOf(message);
      if (summary) showWaveform(this, summary);
    });
  },
});
