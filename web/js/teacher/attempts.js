// The Attempts card of a session's review: every attempt of its series (GET
// /api/sessions/{id}/attempts) with its status, messages, feedback and usage, each linking
// to its own review. Hidden while the series has a single attempt.

import { get } from "../api.js";
import { el, setText } from "../dom.js";
import { formatNumber, statusLabel } from "../format.js";

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
