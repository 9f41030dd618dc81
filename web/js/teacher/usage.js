// "Usage this month": the teacher's tokens and cost by session, student or model, and the
// monthly caps in tokens and money (GET /api/usage). Small and read-only; refreshed every
// 15 s while visible. Cost comes in micros per currency; unpriced calls are shown as such.

import { get } from "../api.js";
import { el, setText } from "../dom.js";
import { formatNumber } from "../format.js";
import { CRITICAL_AT, WARN_AT } from "../budget.js";
import { formatCost, formatMoney } from "../money.js";

/** 15 s: usage changes once per reply; the query groups a month of rows. */
const REFRESH_MS = 15000;

const GROUPS = [
  ["session", "By session"],
  ["student", "By student"],
  ["model", "By model"],
];

function formatDay(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : date.toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

/** Returns {root, refresh, destroy}. */
export function usagePanel() {
  let groupBy = "session";
  const summary = el("p", { class: "usage__summary" });
  const bar = el("progress", { max: "100", value: "0", "aria-label": "Monthly cap used" });
  const capNote = el("p", { class: "meter__note" });
  const moneyNote = el("p", { class: "usage__money-cap small", hidden: true });
  const cap = el("div", { class: "meter usage__cap", hidden: true }, bar, capNote);
  const WHAT = { session: "Session", student: "Student", model: "Model" };
  const capAlert = el("p", { class: "alert alert--error", role: "status" });
  const error = el("p", { class: "alert alert--error", role: "alert" });
  const body = el("tbody");
  const table = el("div", { class: "table-wrap" },
    el("table", { class: "usage__table", "aria-labelledby": "usage-heading" },
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", class: "usage__what", text: "Session" }),
        el("th", { scope: "col", class: "num", text: "AI calls" }),
        el("th", { scope: "col", class: "num", text: "Tokens" }),
        el("th", { scope: "col", class: "num", text: "Cost" }),
      )),
      body,
    ),
  );
  const toggles = GROUPS.map(([key, label]) => {
    const button = el("button", { type: "button", text: label, "aria-pressed": String(key === groupBy), dataset: { group: key } });
    button.addEventListener("click", () => {
      groupBy = key;
      for (const other of toggles) other.setAttribute("aria-pressed", String(other === button));
      refresh();
    });
    return button;
  });
  const refreshButton = el("button", { type: "button", class: "link-button", text: "Refresh" });
  refreshButton.addEventListener("click", () => refresh());
  const root = el("section", { class: "card usage", "aria-labelledby": "usage-heading" },
    el("div", { class: "usage__head" },
      el("h2", { id: "usage-heading", text: "Usage this month" }),
      refreshButton,
    ),
    summary, cap, moneyNote, capAlert, error,
    el("div", { class: "button-row usage__toggles", role: "group", "aria-label": "Group usage" }, toggles),
    table,
  );

  let token = 0;
  async function refresh() {
    const mine = ++token;
    let data;
    try {
      data = await get(`/api/usage?group_by=${groupBy}`);
    } catch (failure) {
      if (mine === token) setText(error, `Usage could not be loaded: ${failure.message}`);
      return;
    }
    if (mine !== token) return;
    setText(error, "");
    const used = data.month.tokens_used;
    const month = data.month;
    setText(summary, `${formatNumber(used)} tokens used since ${formatDay(data.from)}; cost ${formatCost(month.cost_micros, month.unpriced_calls)}.`);
    root.dataset.tokensUsed = String(used);
    cap.hidden = data.month.cap == null;
    setText(capAlert, "");
    if (data.month.cap != null) {
      const limit = data.month.cap;
      const fraction = limit ? used / limit : 1;
      bar.setAttribute("value", String(Math.min(100, Math.round(fraction * 100))));
      cap.classList.toggle("is-warn", fraction >= WARN_AT && fraction < CRITICAL_AT);
      cap.classList.toggle("is-critical", fraction >= CRITICAL_AT);
      setText(capNote, `${formatNumber(used)} of ${formatNumber(limit)} tokens of the monthly cap; renews ${formatDay(data.month.renews_at)}.`);
    }
    moneyNote.hidden = month.cost_micros_cap == null;
    if (month.cost_micros_cap != null) {
      const currency = month.cap_currency;
      const spent = Object.values(month.cost_micros).reduce((sum, micros) => sum + micros, 0);
      setText(moneyNote, `${formatMoney(spent, currency)} of the ${formatMoney(month.cost_micros_cap, currency)} monthly money cap${month.unpriced_calls ? " (unpriced calls not counted)" : ""}.`);
    }
    if (month.cap_reached) {
      setText(capAlert, `The monthly cap is reached: new sessions and new replies are refused until ${formatDay(month.renews_at)}.`);
    }
    setText(table.querySelector(".usage__what"), WHAT[groupBy]);
    body.replaceChildren(...(data.items.length
      ? data.items.map((item) => el("tr", {},
        el("td", {}, groupBy === "session" && item.key
          ? el("a", { href: `#/sessions/${encodeURIComponent(item.key)}`, text: item.label })
          : item.label),
        el("td", { class: "num", text: formatNumber(item.calls) }),
        el("td", { class: "num", text: formatNumber(item.total_tokens) }),
        el("td", { class: "num", text: formatCost(item.cost_micros, item.unpriced_calls) }),
      ))
      : [el("tr", {}, el("td", { colspan: "4", class: "empty", text: "No replies generated this month yet." }))]));
  }

  const timer = setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, REFRESH_MS);
  refresh();
  return { root, refresh, destroy: () => clearInterval(timer) };
}
