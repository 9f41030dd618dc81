// Time-left and tokens-left meters. Time ticks down locally between `budget` events, but
// only while the session is active (time limits count active time only).
// A `budget` event with `warning` (BudgetWarning: tokens_low / time_low, at 80 or 95 %)
// raises that meter to at least the matching colour and is reported once per page.

import { el, setText } from "./dom.js";
import { formatClock, formatNumber } from "./format.js";
import { BudgetWarning } from "./vocabulary.js";

/** Used fractions at which a meter turns amber, then red. */
export const WARN_AT = 0.8;
export const CRITICAL_AT = 0.95;

const LEVELS = ["ok", "warn", "critical"];
/** A warning this page does not know (a newer server's) is ignored, not guessed at. */
const KNOWN_WARNINGS = new Set(Object.values(BudgetWarning));

function level(usedFraction) {
  if (usedFraction >= CRITICAL_AT) return "critical";
  if (usedFraction >= WARN_AT) return "warn";
  return "ok";
}

function higher(a, b) {
  return LEVELS.indexOf(a) >= LEVELS.indexOf(b ?? "ok") ? a : b;
}

/** Words for a budget warning, for the live region and the notice line. */
export function warningText(warning, percent) {
  const what = warning === BudgetWarning.TIME_LOW ? "time" : "token budget";
  if (percent >= 95) return `Almost out: ${percent}% of the ${what} is used.`;
  return `Running low: ${percent ?? 80}% of the ${what} is used.`;
}

function meter(id, label) {
  const value = el("span", { class: "meter__value", id: `${id}-value` });
  const bar = el("progress", { max: "100", value: "100", "aria-labelledby": `${id}-label`, "aria-describedby": `${id}-value` });
  const note = el("p", { class: "meter__note", id: `${id}-note` });
  const root = el(
    "div",
    { class: "meter", id },
    el("div", { class: "meter__head" }, el("span", { class: "meter__label", id: `${id}-label`, text: label }), value),
    bar,
    note,
  );
  return { root, value, bar, note };
}

export class BudgetMeters {
  /**
   * @param {HTMLElement} container  filled with two meters
   * @param {string} idPrefix        unique per page (several sessions on the observer grid)
   */
  constructor(container, idPrefix = "budget", { onWarning = null } = {}) {
    this.time = meter(`${idPrefix}-time`, "Time left");
    this.tokens = meter(`${idPrefix}-tokens`, "Tokens left");
    container.replaceChildren(this.time.root, this.tokens.root);
    this.status = "created";
    this.secondsLeft = null;
    this.anchorAt = 0;
    this.timeTotal = null;
    this.tokenBudget = null;
    this.tokensUsed = 0;
    // Colour floors set by server warnings; cleared when an extension adds budget.
    this.floor = { time: null, tokens: null };
    this.warned = new Set(); // "tokens_low:80", ... already reported
    this.onWarning = onWarning;
    this.timer = setInterval(() => this.renderTime(), 1000);
  }

  destroy() {
    clearInterval(this.timer);
  }

  /** The snapshot from the HTTP API (seconds_left, tokens_left, limits). */
  setSnapshot({ seconds_left, time_limit_seconds, token_budget, tokens_left, tokens_used, status }) {
    if (status) this.status = status;
    if (time_limit_seconds != null) this.timeTotal = time_limit_seconds;
    if (token_budget != null) {
      this.tokenBudget = token_budget;
      this.tokensUsed = tokens_used ?? Math.max(0, token_budget - (tokens_left ?? token_budget));
    }
    if (seconds_left != null) this.anchorTime(seconds_left);
    this.render();
  }

  /** A `budget` event or welcome.budget. */
  setBudget({ tokens_used, token_budget, seconds_left, warning, percent }) {
    if (token_budget != null) {
      if (this.tokenBudget != null && token_budget > this.tokenBudget) this.forget("tokens");
      this.tokenBudget = token_budget;
    }
    if (tokens_used != null) this.tokensUsed = tokens_used;
    if (seconds_left != null) this.anchorTime(seconds_left);
    if (KNOWN_WARNINGS.has(warning)) this.warn(warning, percent);
    this.render();
  }

  /** Apply a server warning: colour at least to its level, report it once. */
  warn(warning, percent) {
    const meter = warning === BudgetWarning.TIME_LOW ? "time" : "tokens";
    const state = percent >= 95 ? "critical" : "warn";
    this.floor[meter] = higher(state, this.floor[meter]);
    const key = `${warning}:${percent ?? ""}`;
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.onWarning?.(warningText(warning, percent), { warning, percent });
  }

  /** An extension added budget: earlier warnings no longer hold. */
  forget(meter) {
    this.floor[meter] = null;
    const prefix = `${meter === "time" ? BudgetWarning.TIME_LOW : BudgetWarning.TOKENS_LOW}:`;
    for (const key of [...this.warned]) {
      if (key.startsWith(prefix)) this.warned.delete(key);
    }
  }

  setStatus(status) {
    // Freeze the displayed time at the moment the clock stops.
    this.anchorTime(this.currentSeconds());
    this.status = status;
    this.render();
  }

  anchorTime(seconds) {
    if (seconds == null) return;
    const before = this.currentSeconds();
    // More time than a moment ago (beyond rounding): the teacher extended the session.
    if (before != null && seconds > before + 5) this.forget("time");
    this.secondsLeft = Math.max(0, seconds);
    this.anchorAt = performance.now();
    // An extension can make more time left than the original limit: grow the total.
    if (this.timeTotal == null || this.secondsLeft > this.timeTotal) this.timeTotal = this.secondsLeft;
  }

  currentSeconds() {
    if (this.secondsLeft == null) return null;
    if (this.status !== "active") return this.secondsLeft;
    return Math.max(0, this.secondsLeft - (performance.now() - this.anchorAt) / 1000);
  }

  render() {
    this.renderTime();
    this.renderTokens();
  }

  renderTime() {
    const seconds = this.currentSeconds();
    const { root, value, bar, note } = this.time;
    if (seconds == null) {
      setText(value, "–");
      return;
    }
    setText(value, formatClock(seconds));
    const total = this.timeTotal || seconds || 1;
    const used = total ? 1 - seconds / total : 0;
    this.paint(root, bar, used, note, this.status === "active" ? "" : "Clock stopped while not active.", this.floor.time);
  }

  renderTokens() {
    const { root, value, bar, note } = this.tokens;
    if (this.tokenBudget == null) {
      setText(value, "–");
      return;
    }
    const left = Math.max(0, this.tokenBudget - this.tokensUsed);
    setText(value, `${formatNumber(left)} of ${formatNumber(this.tokenBudget)}`);
    const used = this.tokenBudget ? this.tokensUsed / this.tokenBudget : 1;
    this.paint(root, bar, used, note, "", this.floor.tokens);
  }

  paint(root, bar, used, note, extra, floor) {
    const state = higher(level(used), floor);
    root.dataset.level = state;
    root.classList.toggle("is-warn", state === "warn");
    root.classList.toggle("is-critical", state === "critical");
    const remaining = Math.max(0, Math.min(100, Math.round((1 - used) * 100)));
    if (bar.getAttribute("value") !== String(remaining)) bar.setAttribute("value", String(remaining));
    const words = state === "critical" ? "Almost used up." : state === "warn" ? "Running low." : "";
    setText(note, [words, extra].filter(Boolean).join(" "));
  }
}
