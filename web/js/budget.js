// Time-left and tokens-left meters. Time ticks down locally between `budget` events, but
// only while the session is active (time limits count active time only).

import { el, setText } from "./dom.js";
import { formatClock, formatNumber } from "./format.js";

/** Used fractions at which a meter turns amber, then red. */
export const WARN_AT = 0.8;
export const CRITICAL_AT = 0.95;

function level(usedFraction) {
  if (usedFraction >= CRITICAL_AT) return "critical";
  if (usedFraction >= WARN_AT) return "warn";
  return "ok";
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
  constructor(container, idPrefix = "budget") {
    this.time = meter(`${idPrefix}-time`, "Time left");
    this.tokens = meter(`${idPrefix}-tokens`, "Tokens left");
    container.replaceChildren(this.time.root, this.tokens.root);
    this.status = "created";
    this.secondsLeft = null;
    this.anchorAt = 0;
    this.timeTotal = null;
    this.tokenBudget = null;
    this.tokensUsed = 0;
    this.onTimeUp = null;
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
  setBudget({ tokens_used, token_budget, seconds_left }) {
    if (token_budget != null) this.tokenBudget = token_budget;
    if (tokens_used != null) this.tokensUsed = tokens_used;
    if (seconds_left != null) this.anchorTime(seconds_left);
    this.render();
  }

  setStatus(status) {
    // Freeze the displayed time at the moment the clock stops.
    this.anchorTime(this.currentSeconds());
    this.status = status;
    this.render();
  }

  anchorTime(seconds) {
    if (seconds == null) return;
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
    this.paint(root, bar, used, note, this.status === "active" ? "" : "Clock stopped while not active.");
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
    this.paint(root, bar, used, note, "");
  }

  paint(root, bar, used, note, extra) {
    const state = level(used);
    root.classList.toggle("is-warn", state === "warn");
    root.classList.toggle("is-critical", state === "critical");
    const remaining = Math.max(0, Math.min(100, Math.round((1 - used) * 100)));
    if (bar.getAttribute("value") !== String(remaining)) bar.setAttribute("value", String(remaining));
    const words = state === "critical" ? "Almost used up." : state === "warn" ? "Running low." : "";
    setText(note, [words, extra].filter(Boolean).join(" "));
  }
}
