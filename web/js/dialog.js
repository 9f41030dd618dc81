// An accessible confirmation dialog (<dialog> + showModal: focus is trapped, Esc cancels).

import { el } from "./dom.js";

/**
 * Ask the user to confirm. Resolves true on confirm, false on cancel or Esc.
 * @param {string} title
 * @param {string} message
 * @param {{confirmLabel?: string, danger?: boolean}} options
 */
export function confirmDialog(title, message, { confirmLabel = "Confirm", danger = false } = {}) {
  return new Promise((resolve) => {
    const titleId = `dlg-${Math.random().toString(36).slice(2)}`;
    const cancel = el("button", { type: "button", value: "cancel", text: "Cancel" });
    const confirm = el("button", {
      type: "button",
      value: "confirm",
      class: danger ? "danger primary" : "primary",
      text: confirmLabel,
    });
    const dialog = el(
      "dialog",
      { "aria-labelledby": titleId, class: "confirm-dialog" },
      el("h2", { id: titleId, text: title }),
      el("p", { text: message }),
      el("div", { class: "button-row" }, cancel, confirm),
    );
    const previous = document.activeElement;
    let answer = false;
    cancel.addEventListener("click", () => dialog.close());
    confirm.addEventListener("click", () => {
      answer = true;
      dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (previous instanceof HTMLElement) previous.focus();
      resolve(answer);
    });
    document.body.append(dialog);
    dialog.showModal();
    cancel.focus();
  });
}
