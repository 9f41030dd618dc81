// The feedback card of the review page: the session's evaluation (`GET /api/sessions/{id}/
// evaluation`) with a clear state for each status, the teacher's scores form, the skill
// metrics, hidden-fact coverage and alternatives; Run again / Retry (POST) and Release
// (POST .../release, after a confirmation).
//
// While the evaluation is pending or running the card polls every 2 s for at most
// 2 minutes, then says it is still working and offers to check again.

import { get, post } from "../api.js";
import { confirmDialog } from "../dialog.js";
import { el, setText } from "../dom.js";
import { alternativesView, coverageView, feedbackPart, metricsView, TurnIndex } from "../feedback.js";
import { formatDateTime } from "../format.js";
import { toastFailure, toastSuccess } from "../toast.js";
import { criteriaForm, hasUnsavedDrafts } from "./feedback-form.js";
import { busy } from "./forms.js";

/** 2 s: a scripted evaluation takes well under a second, an LLM grader ~5-30 s. */
const POLL_MS = 2000;
/** 2 minutes: beyond the job's own 100 s limit, so a live job has finished or failed. */
const POLL_LIMIT_MS = 120_000;

const WAITING = new Set(["pending", "running"]);
/** A session that ended this recently gets its evaluation by itself: wait for the row. */
const JUST_ENDED_MS = 60_000;
const ENDED = new Set(["completed", "expired"]);
const GRADER_WORDS = { automatic: "the automatic grader (skill coding, no AI model)", llm: "an AI grader" };

export class FeedbackPanel {
  /**
   * @param {HTMLElement} root the card to draw into
   * @param {{sessionId: string, session: object, announce(text): void, alive(): boolean}} options
   */
  constructor(root, { sessionId, session, announce, alive }) {
    this.root = root;
    this.sessionId = sessionId;
    this.session = session;
    this.announce = announce;
    this.alive = alive;
    this.path = `/api/sessions/${encodeURIComponent(sessionId)}/evaluation`;
    this.turns = new TurnIndex();
    this.evaluation = undefined; // undefined: not loaded; null: none yet
    this.drawnKey = null;
    this.drafts = new Map();
    this.levels = null; // criterion name -> levels, from the rubric
    this.pollToken = 0;
    this.stale = false;
    this.status = el("div", { class: "feedback__status", role: "status" });
    this.error = el("p", { class: "alert alert--error", role: "alert" });
    this.actions = el("div", { class: "button-row feedback__actions" });
    this.body = el("div", { class: "feedback__body" });
    this.heading = el("h2", { id: "feedback-title", text: "Feedback", tabindex: "-1" });
    root.append(
      el("div", { class: "card-head" }, this.heading, this.actions),
      this.status, this.error, this.body,
    );
    root.setAttribute("aria-labelledby", "feedback-title");
    root.dataset.state = "loading";
    setText(this.status, "Loading the feedback…");
  }

  setSession(session) {
    this.session = session;
    if (this.evaluation === null) this.draw(true);
  }

  /** The transcript was (re)drawn: quotes link to its messages now. */
  setTurns(turns) {
    this.turns = turns;
    this.draw(true);
  }

  /** Read the evaluation; poll while it is pending or running. */
  async load() {
    const token = ++this.pollToken;
    const deadline = Date.now() + POLL_LIMIT_MS;
    this.stale = false;
    for (;;) {
      let evaluation;
      try {
        evaluation = await get(this.path);
      } catch (error) {
        if (!this.alive() || token !== this.pollToken) return;
        if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
        if (error.status === 404) evaluation = null;
        else {
          setText(this.error, `The feedback could not be loaded: ${error.message}`);
          return;
        }
      }
      if (!this.alive() || token !== this.pollToken) return;
      setText(this.error, "");
      await this.show(evaluation);
      if (evaluation ? !WAITING.has(evaluation.status) : !this.justEnded()) return;
      if (Date.now() + POLL_MS > deadline) {
        this.stale = true;
        this.draw(true);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!this.alive() || token !== this.pollToken) return;
    }
  }

  /** Ended less than a minute ago: the job that makes the evaluation may not have run. */
  justEnded() {
    const ended = Date.parse(this.session.ended_at || "");
    return ENDED.has(this.session.status) && Date.now() - ended < JUST_ENDED_MS;
  }

  async show(evaluation) {
    const was = this.evaluation?.status;
    this.evaluation = evaluation;
    if (evaluation?.criteria?.length) await this.loadLevels(evaluation);
    if (!this.alive()) return;
    this.draw();
    if (was && WAITING.has(was) && evaluation && !WAITING.has(evaluation.status)) {
      this.announce(evaluation.status === "failed" ? "The evaluation failed." : "The evaluation is ready.");
    }
  }

  /** Each criterion's levels: from the evaluation when it carries the rubric it was graded
   * against, else from the session's rubric (read once). */
  async loadLevels(evaluation) {
    if (Array.isArray(evaluation.rubric) && evaluation.rubric.length) {
      this.levels = new Map(evaluation.rubric.map((c) => [c.name, c.levels || []]));
      return;
    }
    if (this.levels) return;
    try {
      const rubric = await get(`/api/rubrics/${encodeURIComponent(this.session.rubric_id)}`);
      this.levels = new Map((rubric.criteria || []).map((c) => [c.name, c.levels || []]));
    } catch {
      this.levels = new Map(); // the scores are still shown; the form asks for a number
    }
  }

  draw(force = false) {
    if (this.evaluation === undefined) return;
    const evaluation = this.evaluation;
    const key = JSON.stringify([evaluation, this.stale, this.session.status]);
    if (!force && key === this.drawnKey) return; // an unchanged poll keeps focus and drafts calm
    this.drawnKey = key;
    const focused = this.root.contains(document.activeElement) ? document.activeElement : null;
    const state = this.stale ? "stale" : evaluation ? evaluation.status : this.justEnded() ? "pending" : "none";
    this.root.dataset.state = state;
    this.root.setAttribute("aria-busy", String(WAITING.has(state)));
    this.actions.replaceChildren(...this.buttons(evaluation, state));
    this.status.replaceChildren(...this.statusLines(evaluation, state));
    const graded = (state === "done" || state === "failed")
      && (evaluation.criteria?.length || Object.keys(evaluation.metrics || {}).length);
    this.body.replaceChildren(...(graded ? this.content(evaluation) : []));
    if (focused && !focused.isConnected) this.refocus(focused);
  }

  /** A redraw replaced the focused control: focus its new copy (same field, or a button
   * with the same words), else the card's heading, so keyboard users keep their place. */
  refocus(old) {
    const field = old.dataset?.field;
    const again = field
      ? this.root.querySelector(`[data-field="${CSS.escape(field)}"]`)
      : [...this.root.querySelectorAll("button")].find((b) => b.textContent === old.textContent);
    const target = again || this.heading;
    target.focus({ preventScroll: Boolean(again) });
  }

  statusLines(evaluation, state) {
    if (state === "none") {
      return [el("p", {
        class: "muted",
        text: ENDED.has(this.session.status)
          ? "There is no evaluation of this session yet."
          : "The feedback is prepared automatically when the session ends.",
      })];
    }
    if (state === "pending" || state === "running") {
      return [el("p", { class: "alert alert--warn feedback__waiting" },
        el("span", { class: "spinner", "aria-hidden": "true" }),
        state === "pending" ? "Waiting for the evaluation to start…" : "Evaluating the session…",
        " This page checks every 2 seconds.")];
    }
    if (state === "stale") {
      return [el("p", { class: "alert alert--warn", text: "Still working — reload later. The evaluation is taking longer than 2 minutes." })];
    }
    const lines = [];
    if (state === "failed") {
      const why = evaluation.error ? ` (${evaluation.error})` : "";
      const kept = evaluation.criteria?.length ? " The automatic scores and metrics below are kept." : "";
      lines.push(el("p", { class: "alert alert--error feedback__failed", text: `The evaluation failed${why}.${kept} Retry to run it again.` }));
    }
    if (evaluation.grader) lines.push(el("p", { class: "small muted", text: `Scores proposed by ${GRADER_WORDS[evaluation.grader] || evaluation.grader}.` }));
    lines.push(evaluation.released_at
      ? el("p", { class: "alert alert--ok feedback__released", text: `Released to the student on ${formatDateTime(evaluation.released_at)}. They see the final scores and your comments; a change you save now reaches them at once.` })
      : el("p", { class: "small feedback__unreleased", text: "Not released: the student cannot see this feedback yet." }));
    return lines;
  }

  buttons(evaluation, state) {
    const buttons = [];
    if (state === "stale") buttons.push(this.button("Check again", "", () => this.load()));
    if (state === "failed") buttons.push(this.button("Retry", "primary", () => this.runAgain(false)));
    if (state === "done") buttons.push(this.button("Run again", "", () => this.runAgain(true)));
    if (state === "none" && ENDED.has(this.session.status)) buttons.push(this.button("Evaluate now", "primary", () => this.runAgain(false)));
    if (state === "done" && !evaluation.released_at) buttons.push(this.button("Release to the student", "primary", () => this.release()));
    return buttons;
  }

  button(text, className, work) {
    const button = el("button", { type: "button", class: className, text });
    button.addEventListener("click", () => busy(button, work));
    return button;
  }

  content(evaluation) {
    const parts = [];
    if (evaluation.criteria?.length) {
      parts.push(feedbackPart("criteria", "h3", "Scores",
        el("p", { class: "small muted", text: "Change a score or add a comment, then save. The automatic score stays beside yours." }),
        criteriaForm(evaluation, {
          sessionId: this.sessionId,
          turns: this.turns,
          levelsOf: (name) => this.levels?.get(name) || [],
          drafts: this.drafts,
          announce: this.announce,
          onSaved: async (saved) => {
            await (saved?.criteria ? this.show(saved) : this.load());
            // The busy Save button lost the focus when it was disabled: give it back.
            this.root.querySelector(".feedback-form [type=submit]")?.focus();
          },
        })));
    }
    if (evaluation.metrics) parts.push(feedbackPart("metrics", "h3", "Skill metrics", ...metricsView(evaluation.metrics)));
    if (evaluation.coverage) parts.push(feedbackPart("coverage", "h3", "Hidden facts", coverageView(evaluation.coverage, this.turns)));
    if (evaluation.alternatives) {
      parts.push(feedbackPart("alternatives", "h3", "Better replies", alternativesView(evaluation.alternatives, this.turns)));
    }
    return parts;
  }

  /** POST .../evaluation: run again (asks first) or retry after a failure. */
  async runAgain(ask) {
    if (ask) {
      const ok = await confirmDialog(
        "Run the evaluation again?",
        "The scores are proposed afresh and the feedback is withdrawn from the student until you release it again. Your changed scores and comments are kept.",
        { confirmLabel: "Run again" },
      );
      if (!ok) return;
    }
    try {
      const started = await post(this.path);
      if (!this.alive()) return;
      this.announce("The evaluation was started again.");
      if (started?.status) await this.show(started);
      this.heading.focus(); // Run again / Retry is gone while it runs
      this.load();
    } catch (error) {
      this.showError(error);
    }
  }

  async release() {
    if (hasUnsavedDrafts(this.evaluation, this.drafts)) {
      setText(this.error, "Save your changed scores and comments first (or undo them), then release.");
      return;
    }
    const name = this.session.student_name || "the student";
    const ok = await confirmDialog(
      `Release the feedback to ${name}?`,
      `${name} will see the final scores, your comments, the skill metrics, the hidden facts and the better replies at their session link.`,
      { confirmLabel: "Release" },
    );
    if (!ok) return;
    try {
      const released = await post(`${this.path}/release`);
      if (!this.alive()) return;
      setText(this.error, "");
      toastSuccess(`The feedback was released to ${name}.`); // the toast announces it
      if (released?.status) await this.show(released);
      else await this.load();
      this.heading.focus(); // the Release button is gone
    } catch (error) {
      toastFailure(`release the feedback to ${name}`, error);
      this.showError(error);
    }
  }

  showError(error) {
    if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
    setText(this.error, error.message);
  }
}
