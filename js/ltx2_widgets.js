// Small helpers around ComfyUI / LiteGraph widgets shared by the pack's extensions (no side effects on import).

/** The pack's node id prefix (nodes/schema.py NODE_ID_PREFIX). */
export const NODE_ID_PREFIX = "LTX2N";

/** Widget-name aliases of the clip-size roles; the first present name wins. */
export const SIZE_WIDGET_NAMES = {
  width: ["width"],
  height: ["height"],
  frames: ["frames", "length", "num_frames"],
  fps: ["fps", "frame_rate"],
  batch: ["batch_size"],
  stages: ["stages"],
};

/** Whether a `stages` widget value selects a two-stage run (final size = 2x the first-stage latent). */
export function isTwoStage(value) {
  return /^two/i.test(String(value ?? ""));
}

/**
 * Register `extension` unless one with the same name is already registered. The pack's folder may be served under
 * two URLs (WEB_DIRECTORY under the folder name and pyproject `[tool.comfy] web` under the project name), in which
 * case ComfyUI imports every file twice; the second copy must not register again.
 */
export function registerOnce(app, extension) {
  if ((app.extensions ?? []).some((e) => e.name === extension.name)) return false;
  app.registerExtension(extension);
  return true;
}

/** The first widget of `node` whose name is one of `names` (a string or a list of aliases), or undefined. */
export function findWidget(node, names) {
  const wanted = Array.isArray(names) ? names : [names];
  for (const name of wanted) {
    const widget = node.widgets?.find((w) => w.name === name);
    if (widget) return widget;
  }
  return undefined;
}

/** Whether the input slot backing `widget` is linked (its value then comes from another node). */
export function isWidgetLinked(node, widget) {
  const slot = node.inputs?.find((input) => input.widget?.name === widget.name);
  return slot?.link != null;
}

/**
 * Set a widget's value the way a user edit does: value, the widget's callback (ComfyUI's own rounding runs there),
 * `node.onWidgetChanged` and the graph's change counter; then redraw.
 */
export function setWidgetValue(node, widget, value, canvas) {
  if (typeof widget.setValue === "function" && canvas) {
    widget.setValue(value, { e: undefined, node, canvas });
  } else {
    const old = widget.value;
    widget.value = value;
    widget.callback?.call(widget, widget.value, canvas, node);
    node.onWidgetChanged?.(widget.name, widget.value, old, widget);
    if (node.graph) node.graph._version++;
  }
  node.setDirtyCanvas?.(true, true);
}

/** Run `after(value)` (with `this` = the widget) after the widget's existing callback, keeping its return value. */
export function chainWidgetCallback(widget, after) {
  const original = widget.callback;
  widget.callback = function (value, ...rest) {
    const result = original?.apply(this, [value, ...rest]);
    after.call(this, this.value ?? value, ...rest);
    return result;
  };
}

/** Run `after` after `target[method]` (prototype hooks such as onNodeCreated, onConfigure). */
export function chainMethod(target, method, after) {
  const original = target[method];
  target[method] = function (...args) {
    const result = original?.apply(this, args);
    after.apply(this, args);
    return result;
  };
}

/** Mark a UI-only widget: kept out of saved workflows (widgets_values) and out of API prompts. */
export function uiOnly(widget) {
  widget.serialize = false;
  widget.options = { ...(widget.options ?? {}), serialize: false };
  return widget;
}

/** Grow `node` so all widgets fit, keeping its current width when larger. */
export function fitNode(node) {
  const size = node.computeSize?.();
  if (!size) return;
  node.setSize?.([Math.max(node.size?.[0] ?? 0, size[0]), Math.max(node.size?.[1] ?? 0, size[1])]);
}

/** Input names declared by a node definition (`/object_info` entry), required and optional. */
export function nodeDefInputNames(nodeData) {
  return new Set([...Object.keys(nodeData?.input?.required ?? {}), ...Object.keys(nodeData?.input?.optional ?? {})]);
}
