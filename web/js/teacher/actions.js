// Session lifecycle actions shared by the sessions list, the observer and the review page:
// start/pause/resume/end over HTTP, the extend dialog, the copy-join-link button, restart
// (a new attempt, after a dialog saying exactly what happens). Each confirms or fails
// with a toast.

import { post } from "../api.js";
import { copyText } from "../clipboard.js";
import { confirmDialog } from "../dialog.js";
import { el, setText } from "../dom.js";
import { formatDuration, formatNumber } from "../format.js";
import { toastFailure, toastSuccess } from "../toast.js";
import { busy, clearErrors, field, formAlert, showApiError, showFieldErrors } from "./forms.js";

/** Which lifecycle buttons make sense in which status (mirrors realtime/lifecycle.py). */
export const ALLOWED = {
  start: ["created"],
  pause: ["active"],
  resume: ["paused"],
  end: ["created", "active", "paused"],
  extend: ["active", "paused", "expired"],
  link: ["created", "active", "paused"],
  // Only the series' latest attempt, once it has started (see canRestart).
  restart: ["active", "paused", "completed", "expired"],
};

export function allowed(action, status) {
  return ALLOWED[action].includes(status);
}

/** Restart is offered on the latest attempt of a series that has started. */
export function canRestart(session) {
  return allowed("restart", session.status) && (!session.latest_attempt_id || session.latest_attempt_id === session.id);
}

const LABELS = { start: "Start", pause: "Pause", resume: "Resume", end: "End" };
/** What each action did, for its toast ("Started Sam's session."). */
const DONE = { start: "Started", pause: "Paused", resume: "Resumed", end: "Ended" };

/**
 * Run a lifecycle action (asks first for End). Resolves with the updated session, or null
 * when cancelled. Rejects with ApiError (e.g. 409 illegal transition).
 */
export async function runAction(session, action) {
  if (action === "end") {
    const ok = await confirmDialog(
      `End ${session.student_name}'s session?`,
      "The student will not be able to send more messages. This cannot be undone.",
      { confirmLabel: "End session", danger: true },
    );
    if (!ok) return null;
  }
  return post(`/api/sessions/${session.id}/${action}`);
}

/** A button for a lifecycle action; `onDone(updated)` / `onError(error)` report back. */
export function actionButton(action, getSession, { onDone, onError, label } = {}) {
  const button = el("button", {
    type: "button",
    class: action === "end" ? "danger" : action === "start" ? "primary" : "",
    text: label || LABELS[action],
    dataset: { action },
  });
  button.addEventListener("click", async () => {
    const session = getSession();
    try {
      const updated = await busy(button, () => runAction(session, action));
      if (updated) {
        toastSuccess(`${DONE[action]} ${session.student_name}'s session.`);
        onDone?.(updated);
      }
    } catch (error) {
      toastFailure(`${action} ${session.student_name}'s session`, error);
      onError?.(error);
    }
  });
  return button;
}

/** The restart dialog's words: exactly what will happen to both attempts. */
export function restartText(session, { audience = "teacher" } = {}) {
  const n = session.attempt || 1;
  const fresh = `a fresh ${formatDuration(session.time_limit_seconds)} clock and ${formatNumber(session.token_budget)} tokens`;
  const live = session.status === "active" || session.status === "paused";
  if (audience === "student") {
    return `Attempt ${n} ends now${live ? " (a reply in progress stops)" : ""} and attempt ${n + 1} starts at once with ${fresh}. ` +
      `Your conversation in attempt ${n} is kept: you can still read it, and your teacher still sees it and its feedback.`;
  }
  const next = live
    ? `Attempt ${n} ends now (a reply in progress stops) and attempt ${n + 1} starts at once with ${fresh}; ${session.student_name}'s open page moves to it by itself.`
    : `Attempt ${n + 1} is created with ${fresh}. It waits until you start it; the same join link opens it.`;
  return `${next} Attempt ${n}'s transcript, feedback and usage are kept.`;
}

/**
 * Restart after the dialog. Resolves with the API's {previous, next}, or null when
 * cancelled; toasts the outcome. Rejects never (failures are toasted and resolve null).
 */
export async function restartSession(session) {
  const n = session.attempt || 1;
  const ok = await confirmDialog(`Restart ${session.student_name}'s session?`, restartText(session), {
    confirmLabel: `Start attempt ${n + 1}`,
    danger: session.status === "active" || session.status === "paused",
  });
  if (!ok) return null;
  try {
    const result = await post(`/api/sessions/${session.id}/restart`);
    const started = result.next.status === "active" ? "started" : "created (start it when the student is ready)";
    toastSuccess(`Attempt ${result.next.attempt} of ${session.student_name}'s session ${started}. Attempt ${n} is kept.`);
    return result;
  } catch (error) {
    toastFailure(`restart ${session.student_name}'s session`, error);
    return null;
  }
}

/** A Restart button; `onDone(result)` gets the API's {previous, next}. */
export function restartButton(getSession, { onDone } = {}) {
  const button = el("button", { type: "button", text: "Restart", dataset: { action: "restart" } });
  button.addEventListener("click", async () => {
    const result = await busy(button, () => restartSession(getSession()));
    if (result) onDone?.(result);
  });
  return button;
}

/** Copy-join-link button; shows "Copied" next to itself (and a toast), or the link to copy
 * by hand. */
export function copyLinkButton(getUrl) {
  const status = el("span", { class: "small muted copy-status", role: "status" });
  const button = el("button", { type: "button", text: "Copy join link", dataset: { action: "copy-link" } });
  button.addEventListener("click", async () => {
    const url = getUrl();
    const ok = await copyText(url);
    if (ok) {
      setText(status, "Copied");
      toastSuccess("Join link copied to the clipboard.");
      setTimeout(() => setText(status, ""), 3000);
    } else {
      toastFailure("copy the join link automatically", { message: "the browser did not allow it; copy it by hand" });
      await manualCopyDialog(url);
    }
  });
  return el("span", { class: "copy-link" }, button, " ", status);
}

function manualCopyDialog(url) {
  return new Promise((resolve) => {
    const input = el("input", { type: "text", readonly: true, id: "manual-link", "aria-label": "Join link" });
    input.value = url;
    const close = el("button", { type: "button", class: "primary", text: "Done" });
    const dialog = el("dialog", { "aria-labelledby": "manual-title" },
      el("h2", { id: "manual-title", text: "Copy the join link" }),
      el("p", { text: "Your browser did not allow copying. Select the link and copy it (Ctrl+C or ⌘C)." }),
      input,
      el("div", { class: "button-row" }, close),
    );
    close.addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve();
    });
    document.body.append(dialog);
    dialog.showModal();
    input.select();
  });
}

/** The extend-time/tokens dialog. Resolves with the updated session or null. */
export function extendDialog(session) {
  return new Promise((resolve) => {
    const minutes = field({ name: "add_seconds", label: "Add minutes", type: "number", value: "10", attrs: { min: 0, max: 180, step: 1 } });
    const tokens = field({ name: "add_tokens", label: "Add tokens", type: "number", value: "0", attrs: { min: 0, max: 200000, step: 1000 } });
    const alert = formAlert();
    const submit = el("button", { type: "submit", class: "primary", text: "Extend" });
    const cancel = el("button", { type: "button", text: "Cancel" });
    const form = el("form", { method: "dialog", novalidate: true },
      el("h2", { id: "extend-title", text: `Extend ${session.student_name}'s session` }),
      el("p", { class: "muted small", text: "Extending an expired session reopens it." }),
      alert,
      minutes.wrapper,
      tokens.wrapper,
      el("div", { class: "button-row" }, cancel, submit),
    );
    const dialog = el("dialog", { "aria-labelledby": "extend-title" }, form);
    let result = null;
    cancel.addEventListener("click", () => dialog.close());
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      setText(alert, "");
      const addMinutes = Number(minutes.control.value || 0);
      const addTokens = Number(tokens.control.value || 0);
      const local = {};
      if (!Number.isInteger(addMinutes) || addMinutes < 0 || addMinutes > 180) local.add_seconds = "Enter whole minutes from 0 to 180.";
      if (!Number.isInteger(addTokens) || addTokens < 0 || addTokens > 200000) local.add_tokens = "Enter a whole number from 0 to 200,000.";
      if (!local.add_seconds && !local.add_tokens && !addMinutes && !addTokens) local.add_seconds = "Add some time or some tokens.";
      if (Object.keys(local).length) {
        showFieldErrors(form, local);
        return;
      }
      await busy(submit, async () => {
        try {
          result = await post(`/api/sessions/${session.id}/extend`, { add_seconds: addMinutes * 60, add_tokens: addTokens });
          const added = [addMinutes ? `${addMinutes} min` : "", addTokens ? `${formatNumber(addTokens)} tokens` : ""].filter(Boolean);
          toastSuccess(`Extended ${session.student_name}'s session by ${added.join(" and ")}.`);
          dialog.close();
        } catch (error) {
          toastFailure(`extend ${session.student_name}'s session`, error);
          showApiError(form, alert, error);
        }
      });
    });
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    minutes.control.focus();
  });
}
