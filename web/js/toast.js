// Toasts: short confirmations and failures of an operation ("Session started.", "Could not
// end the session: ..."). One fixed stack in a corner, so nothing on the page moves; two
// ARIA live regions that exist before any toast is put in them (a region added together
// with its text is often not announced): role=status (polite) for confirmations and
// role=alert (assertive) for failures. Each toast has a Dismiss button and goes by itself
// after a few seconds, but not while the pointer or keyboard focus is on it.
// Text is always set as text, never as HTML.

import { el } from "./dom.js";

/** 5 s reads a one-line confirmation twice; a failure stays 10 s (it may need acting on). */
export const TOAST_MS = { success: 5000, info: 5000, error: 10000 };
/** More at once is noise: the oldest goes first. */
const MAX_TOASTS = 4;

let regions = null;

function ensureRegions() {
  if (regions?.root.isConnected) return regions;
  const polite = el("div", { class: "toasts__region", role: "status", "aria-live": "polite" });
  const assertive = el("div", { class: "toasts__region", role: "alert", "aria-live": "assertive" });
  const root = el("div", { class: "toasts", "aria-label": "Notifications" }, polite, assertive);
  document.body.append(root);
  regions = { root, polite, assertive };
  return regions;
}

/**
 * Show a toast. Resolves nothing; returns a function that dismisses it.
 * @param {string} message
 * @param {{kind?: "success"|"info"|"error", timeout?: number}} options
 */
export function toast(message, { kind = "success", timeout } = {}) {
  const { root, polite, assertive } = ensureRegions();
  const text = el("p", { class: "toast__text", text: message });
  // The glyph is hidden from assistive technology: the button is named by its label.
  const close = el("button", { type: "button", class: "toast__close", "aria-label": "Dismiss notification" },
    el("span", { "aria-hidden": "true", text: "×" }));
  const node = el("div", { class: `toast toast--${kind}`, dataset: { kind } }, text, close);
  let timer = null;
  const dismiss = () => {
    clearTimeout(timer);
    // Focus on the button would be lost with the node: hand it back to the page.
    if (node.contains(document.activeElement)) document.activeElement.blur();
    node.remove();
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(dismiss, timeout ?? TOAST_MS[kind] ?? TOAST_MS.info);
  };
  close.addEventListener("click", dismiss);
  for (const pause of ["mouseenter", "focusin"]) node.addEventListener(pause, () => clearTimeout(timer));
  node.addEventListener("mouseleave", () => { if (!node.contains(document.activeElement)) arm(); });
  node.addEventListener("focusout", (event) => { if (!node.contains(event.relatedTarget)) arm(); });
  (kind === "error" ? assertive : polite).append(node);
  const shown = root.querySelectorAll(".toast");
  for (let i = 0; i < shown.length - MAX_TOASTS; i += 1) shown[i].remove();
  arm();
  return dismiss;
}

export const toastSuccess = (message) => toast(message, { kind: "success" });
export const toastError = (message) => toast(message, { kind: "error" });

/** The failure toast of an operation: "Could not end the session: <the server's words>". */
export function toastFailure(what, error) {
  if (error?.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
  const reason = error?.message || "something went wrong";
  return toastError(`Could not ${what}: ${reason}`);
}
