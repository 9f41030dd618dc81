// The student's feedback on the end screen: nothing until the teacher releases it (the
// API answers 403 `not_released`, and the page says so), then the released evaluation:
// final scores with the rationale, evidence and the teacher's comments, the skill metrics
// beside their benchmarks, the hidden facts that came out and better replies to try.

import { get } from "./api.js";
import { el, setText } from "./dom.js";
import {
  alternativesView,
  coverageView,
  criterionBody,
  feedbackPart,
  metricsView,
  scoreText,
  TurnIndex,
} from "./feedback.js";

const NOT_YET = "Your teacher has not released feedback on this interview yet. It will appear here once they do: come back to this link later.";

function criteriaView(evaluation, turns) {
  const levels = new Map((evaluation.rubric || []).map((c) => [c.name, c.levels || []]));
  return el("div", { class: "criteria-results" }, (evaluation.criteria || []).map((criterion) =>
    el("article", { class: "criterion-result", dataset: { criterion: criterion.name } },
      el("h5", { class: "criterion-result__name", text: criterion.name }),
      el("p", { class: "criterion-result__score" },
        el("strong", { text: "Score: " }), el("span", { class: "score--final", text: scoreText(criterion.score, levels.get(criterion.name)) })),
      criterionBody(criterion, turns, { sub: "h6", commentLabel: "Your teacher's comment" }),
    )));
}

/** The feedback section of the end screen. */
export class StudentFeedback {
  /**
   * @param {{section: HTMLElement, note: HTMLElement, body: HTMLElement, check: HTMLButtonElement}} ui
   * @param {string} sessionId
   */
  constructor(ui, sessionId) {
    this.ui = ui;
    this.path = `/api/student/sessions/${encodeURIComponent(sessionId)}/evaluation`;
    this.turns = new TurnIndex();
    this.evaluation = null;
    ui.check.addEventListener("click", () => this.load());
  }

  /** The saved conversation is on the page: quotes link to it. */
  setTurns(turns) {
    this.turns = turns;
    if (this.evaluation) this.draw(this.evaluation);
  }

  async load() {
    const { section, note, check } = this.ui;
    section.hidden = false;
    check.hidden = true;
    section.dataset.state = "loading";
    setText(note, "Loading your feedback…");
    try {
      this.draw(await get(this.path));
    } catch (error) {
      this.evaluation = null;
      this.ui.body.replaceChildren();
      // 404: no evaluation yet; to the student that is the same as not released.
      const waiting = error.status === 403 || error.status === 404;
      section.dataset.state = waiting ? "not-released" : "error";
      setText(note, waiting ? NOT_YET : `Your feedback could not be loaded: ${error.message}`);
      check.hidden = false;
    }
  }

  draw(evaluation) {
    this.evaluation = evaluation;
    const { section, note, body } = this.ui;
    section.dataset.state = "released";
    setText(note, "");
    const turns = this.turns;
    body.replaceChildren(
      evaluation.criteria?.length ? feedbackPart("criteria", "h4", "Scores", criteriaView(evaluation, turns)) : "",
      evaluation.metrics ? feedbackPart("metrics", "h4", "Skill metrics", ...metricsView(evaluation.metrics)) : "",
      evaluation.coverage ? feedbackPart("coverage", "h4", "Hidden facts", coverageView(evaluation.coverage, turns)) : "",
      evaluation.alternatives
        ? feedbackPart("alternatives", "h4", "Replies to try next time", alternativesView(evaluation.alternatives, turns, { youSaid: "You said" }))
        : "",
    );
  }
}
