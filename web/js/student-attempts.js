// The student's attempts (docs/attempts.md): the list of this session's attempts (each
// earlier one opens its saved transcript and feedback at /s/{id}), the Restart button when
// the teacher allows it, and the live move: on `session.restarted` the page trades this
// attempt's cookie for the next one's (POST .../next-attempt) and opens /s/{next}, keeping
// what was typed but not sent. A list drawn mid-restart (the page read it between the
// new attempt's creation and the old one's end) is read again at the next status change.

import { get, post } from "./api.js";
import { confirmDialog } from "./dialog.js";
import { el, setText } from "./dom.js";
import { formatDuration, formatNumber, statusLabel } from "./format.js";

/** sessionStorage key of the words carried to the next attempt's page. */
const draftKey = (sessionId) => `vc:draft:${sessionId}`;

/** The words to put back in the composer of `sessionId`, once (then forgotten). */
export function takeDraft(sessionId) {
  try {
    const text = sessionStorage.getItem(draftKey(sessionId));
    sessionStorage.removeItem(draftKey(sessionId));
    return text || "";
  } catch {
    return ""; // storage disabled: nothing was kept
  }
}

function keepDraft(sessionId, text) {
  if (!text) return;
  try {
    sessionStorage.setItem(draftKey(sessionId), text);
  } catch {
    // Storage disabled or full: the words stay only in the old attempt's page.
  }
}

export class StudentAttempts {
  /**
   * @param {{card: HTMLElement, list: HTMLElement, restart: HTMLButtonElement,
   *   endRestart: HTMLButtonElement, endList: HTMLElement, endNext: HTMLElement,
   *   notice: HTMLElement}} ui
   * @param {{sessionId: string, draft(): string, announce(text): void}} options
   */
  constructor(ui, { sessionId, draft, announce }) {
    this.ui = ui;
    this.sessionId = sessionId;
    this.draft = draft;
    this.announce = announce;
    this.info = null;
    this.status = null;
    /** The session status when the list was last read (see refreshList). */
    this.listedAt = null;
    this.refreshing = false;
    /** Set once the page is leaving for the next attempt: the old end screen is skipped. */
    this.moving = false;
    for (const button of [ui.restart, ui.endRestart]) button.addEventListener("click", () => this.restart());
  }

  /** Draw from GET /api/student/sessions/{id}. */
  show(info) {
    this.info = info;
    this.listedAt = info.status;
    const attempts = info.attempts || [];
    const latest = info.latest_attempt_id === info.id;
    this.drawList();
    this.setStatus(info.status);
    if (!latest) {
      const next = attempts[attempts.length - 1];
      const go = el("button", { type: "button", class: "primary", text: `Continue in attempt ${next.attempt}` });
      go.addEventListener("click", () => this.moveOn());
      this.ui.endNext.replaceChildren(
        el("span", { text: `This was attempt ${info.attempt}. Attempt ${next.attempt} has started. ` }), go);
      this.ui.endNext.hidden = false;
    }
  }

  drawList() {
    const attempts = this.info.attempts || [];
    for (const list of [this.ui.list, this.ui.endList]) {
      list.replaceChildren(...attempts.map((a) => this.item(a)));
    }
    this.ui.card.hidden = attempts.length < 2 && !this.info.student_may_restart;
    this.ui.endList.closest("section").hidden = attempts.length < 2;
  }

  /**
   * A restart creates the next attempt, moves the pages, and only then ends the old one
   * and starts the new (realtime/attempts.py). A page that read the list in between shows
   * the old attempt still open, without its transcript link; the new attempt's start (a
   * status change on this page) comes after that end, so the list is read once more then.
   */
  async refreshList() {
    if (!this.info) return;
    const earlierOpen = (this.info.attempts || []).some(
      (a) => a.attempt < this.info.attempt && !["completed", "expired"].includes(a.status));
    if (this.refreshing || !earlierOpen || this.status === this.listedAt) return;
    this.refreshing = true;
    const at = this.status;
    try {
      const info = await get(`/api/student/sessions/${encodeURIComponent(this.sessionId)}`);
      if (this.moving) return;
      this.info = { ...this.info, attempts: info.attempts, latest_attempt_id: info.latest_attempt_id };
      this.listedAt = at;
      this.drawList();
    } catch {
      // Offline, or the link was replaced: the list stays as drawn until the next change.
    } finally {
      this.refreshing = false;
    }
  }

  item(attempt) {
    const label = `Attempt ${attempt.attempt}`;
    const state = statusLabel(attempt.status).toLowerCase();
    if (attempt.id === this.sessionId) {
      return el("li", { "aria-current": "page" }, el("span", { class: "strong", text: label }), ` (this one, ${state})`);
    }
    if (!attempt.readable) return el("li", {}, `${label} (${state})`);
    const ended = attempt.status === "completed" || attempt.status === "expired";
    return el("li", {}, el("a", { href: `/s/${encodeURIComponent(attempt.id)}`, text: ended ? `${label}: transcript and feedback` : label }), ` (${state})`);
  }

  /** Restart is offered on the latest attempt, once it has started, when allowed. */
  setStatus(status) {
    const info = this.info;
    this.status = status;
    const allowed = Boolean(info?.student_may_restart) && info.latest_attempt_id === info.id && status !== "created";
    this.ui.restart.hidden = this.ui.endRestart.hidden = !allowed;
    this.refreshList();
  }

  async restart() {
    const info = this.info;
    if (this.status) info.status = this.status;
    const n = info.attempt || 1;
    const live = ["active", "paused"].includes(info.status);
    const fresh = `a fresh ${formatDuration(info.time_limit_seconds)} clock and ${formatNumber(info.token_budget)} tokens`;
    const ok = await confirmDialog(
      `Start attempt ${n + 1}?`,
      `Attempt ${n} ends now${live ? " (a reply in progress stops)" : ""} and attempt ${n + 1} starts at once with ${fresh}. ` +
        `Your conversation in attempt ${n} is kept: you can still read it, and your teacher still sees it and its feedback.`,
      { confirmLabel: `Start attempt ${n + 1}`, danger: live },
    );
    if (!ok || this.moving) return;
    try {
      const result = await post(`/api/sessions/${encodeURIComponent(this.sessionId)}/restart`);
      this.go(result.next.id, result.next.attempt); // the answer set the new attempt's cookie
    } catch (error) {
      this.notify(`Could not restart: ${error.message}`);
    }
  }

  /** `session.restarted` arrived on this attempt's socket. */
  follow(event) {
    if (this.moving) return;
    this.moveOn(event.attempt);
  }

  /** Trade this attempt's cookie for the latest attempt's, then open it. */
  async moveOn(attempt) {
    if (this.moving) return;
    this.moving = true;
    this.announce(`A new attempt${attempt ? ` (attempt ${attempt})` : ""} has started. Moving to it…`);
    try {
      const next = await post(`/api/student/sessions/${encodeURIComponent(this.sessionId)}/next-attempt`);
      this.go(next.id, next.attempt);
    } catch (error) {
      this.moving = false;
      this.notify(`A new attempt started, but this page cannot open it: ${error.message}`);
    }
  }

  notify(text) {
    this.ui.notice.hidden = !text;
    setText(this.ui.notice, text);
  }

  go(nextId, attempt) {
    this.moving = true;
    keepDraft(nextId, this.draft());
    this.announce(`Opening attempt ${attempt}…`);
    location.assign(`/s/${encodeURIComponent(nextId)}`);
  }
}
