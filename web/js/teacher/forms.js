// Form building blocks with inline field errors (the API's 422 `fields` map).

import { el, setText } from "../dom.js";

let uid = 0;

/**
 * A labelled control with a hint and an error slot.
 * `name` is the API field path ("name", "criteria.0.levels.1.score"): 422 errors for that
 * path (or a path below it, e.g. "hidden_facts.2") are shown under this control.
 */
export function field({ name, label, type = "text", value = "", hint = "", required = false, options = null, attrs = {} }) {
  const id = `f${++uid}-${name.replace(/[^a-z0-9]+/gi, "-")}`;
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const describedBy = [hintId, errorId].filter(Boolean).join(" ");
  let control;
  const common = { id, name, "aria-describedby": describedBy, required, ...attrs };
  if (type === "textarea") {
    control = el("textarea", { ...common, rows: attrs.rows || 3 });
    control.value = value ?? "";
  } else if (type === "select") {
    control = el(
      "select",
      common,
      (options || []).map(([optionValue, text]) => el("option", { value: optionValue, text })),
    );
    control.value = value ?? "";
  } else {
    control = el("input", { ...common, type });
    control.value = value ?? "";
  }
  control.dataset.field = name;
  const wrapper = el(
    "div",
    { class: "field" },
    el("label", { for: id, text: label + (required ? " *" : "") }),
    hint ? el("span", { class: "hint", id: hintId, text: hint }) : null,
    control,
    el("span", { class: "field-error", id: errorId, dataset: { errorFor: name } }),
  );
  return { wrapper, control };
}

/** A form-level alert (role="alert"), empty until something goes wrong. */
export function formAlert() {
  return el("div", { class: "alert alert--error", role: "alert" });
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const control of form.querySelectorAll('[aria-invalid="true"]')) control.removeAttribute("aria-invalid");
}

/**
 * Show a field map inline. A path with no control of its own goes to the nearest
 * control for a parent path ("hidden_facts.2" -> "hidden_facts"); what is left over is
 * returned as lines for the form alert. Focuses the first invalid control.
 */
export function showFieldErrors(form, fields) {
  const leftover = [];
  let first = null;
  for (const [path, message] of Object.entries(fields || {})) {
    const target = findControl(form, path);
    if (!target) {
      leftover.push(`${path}: ${message}`);
      continue;
    }
    const slot = form.querySelector(`.field-error[data-error-for="${cssEscape(target.dataset.field)}"]`);
    if (slot) setText(slot, slot.textContent ? `${slot.textContent} ${message}` : message);
    target.setAttribute("aria-invalid", "true");
    first = first || target;
  }
  first?.focus();
  return leftover;
}

function findControl(form, path) {
  const parts = path.split(".");
  while (parts.length) {
    const control = form.querySelector(`[data-field="${cssEscape(parts.join("."))}"]`);
    if (control) return control;
    parts.pop();
  }
  return null;
}

function cssEscape(value) {
  return globalThis.CSS?.escape ? CSS.escape(value) : value.replace(/["\\]/g, "\\$&");
}

/** Show an ApiError on a form: inline field errors plus the summary in the alert. */
export function showApiError(form, alert, error) {
  clearErrors(form);
  const leftover = showFieldErrors(form, error.fields);
  const summary = Object.keys(error.fields || {}).length
    ? `${error.message} See the highlighted fields.`
    : error.message;
  setText(alert, [summary, ...leftover].join(" "));
}

/** Disable a submit button while `work` runs; returns work's result. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
