// The Attempts card of a session's review: every attempt of its series (GET
// /api/sessions/{id}/attempts) with its status, messages, feedback and usage, each linking
// to its own review (hidden while the series has a single attempt); and the checkbox that
// lets the student restart (PATCH /api/sessions/{id}).

import { api, get } from "../api.js";
import { el, setText } from "../dom.js";
import { formatNumber, statusLabel } from "../format.js";
import { toastFailure, toastSuccess } from "../toast.js";

const FEEDBACK = { pending: "Queued", running: "Being prepared", done: "Ready", failed: "Failed" };

/** Cost of an attempt's priced calls, e.g. "USD 0.0120" (+ "and 2 unpriced calls"). */
function costText(usage) {
  const parts = Object.entries(usage.cost_micros || {}).map(([currency, micros]) => `${currency} ${(micros / 1e6).toFixed(4)}`);
  if (usage.unpriced_calls) parts.push(`${usage.unpriced_calls} unpriced call${usage.unpriced_calls === 1 ? "" : "s"}`);
  return parts.join(" + ") || "—";
}

function feedbackText(attempt) {
  if (!attempt.evaluation_status) return "—";
  const state = FEEDBACK[attempt.evaluation_status] || attempt.evaluation_status;
  return attempt.evaluation_released ? `${state}, released` : state;
}

/**
 * @param {string} sessionId the attempt this review shows
 * @returns {{root: HTMLElement, load(): Promise<void>}}
 */
export function attemptsCard(sessionId, { alive }) {
  const body = el("div");
  const root = el("section", { class: "card attempts", "aria-labelledby": "attempts-title", hidden: true },
    el("h2", { id: "attempts-title", text: "Attempts" }), body);

  async function load() {
    let items;
    try {
      ({ items } = await get(`/api/sessions/${encodeURIComponent(sessionId)}/attempts`));
    } catch (error) {
      if (!alive()) return;
      root.hidden = false;
      body.replaceChildren(el("p", { class: "alert alert--error", text: error.message }));
      return;
    }
    if (!alive()) return;
    root.hidden = items.length < 2;
    const rows = items.map((a) => {
      const label = `Attempt ${a.attempt}${a.latest ? " (latest)" : ""}`;
      const name = a.id === sessionId
        ? el("span", { class: "strong", "aria-current": "page", text: label })
        : el("a", { href: `#/sessions/${a.id}`, text: label });
      return el("tr", { dataset: { attemptId: a.id } },
        el("th", { scope: "row" }, name),
        el("td", { text: statusLabel(a.status) }),
        el("td", { class: "num", text: formatNumber(a.messages) }),
        el("td", { text: feedbackText(a) }),
        el("td", { class: "num", text: `${formatNumber(a.usage.tokens_used)} / ${formatNumber(a.usage.token_budget)}` }),
        el("td", { class: "num", text: costText(a.usage) }),
      );
    });
    body.replaceChildren(el("div", { class: "table-wrap" },
      el("table", { class: "attempts-table", "aria-labelledby": "attempts-title" },
        el("thead", {}, el("tr", {},
          ["Attempt", "Status", "Messages", "Feedback", "Tokens", "Cost"].map((h) => el("th", { scope: "col", text: h })))),
        el("tbody", {}, rows),
      )));
    setText(root.querySelector("h2"), `Attempts (${items.length})`);
  }

  return { root, load };
}

/**
 * "Let the student restart" checkbox; `onDone(updated)` gets the session as saved.
 * @param {() => object} getSession
 */
export function restartPolicyToggle(getSession, { onDone } = {}) {
  const box = el("input", { type: "checkbox", id: "student-may-restart-toggle" });
  const root = el("div", { class: "field field--check" },
    el("label", { for: "student-may-restart-toggle" }, box, " Let the student restart the session"));
  const show = (session) => {
    box.checked = Boolean(session.student_may_restart);
  };
  box.addEventListener("change", async () => {
    const session = getSession();
    const wanted = box.checked;
    box.disabled = true;
    try {
      const updated = await api("PATCH", `/api/sessions/${encodeURIComponent(session.id)}`, { student_may_restart: wanted });
      toastSuccess(wanted
        ? `${session.student_name} may now restart the session.`
        : `${session.student_name} can no longer restart the session.`);
      onDone?.(updated);
    } catch (error) {
      box.checked = !wanted;
      toastFailure("change who may restart", error);
    } finally {
      box.disabled = false;
    }
  });
  show(getSession());
  return { root, show };
}
