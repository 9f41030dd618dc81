// Feedback on a finished session, drawn from an evaluation (`GET .../evaluation`): a score
// per rubric criterion with its rationale and evidence quotes, the skill metrics beside
// their thresholds, which hidden facts came out, and better replies for the weakest
// turns. Shared by the teacher's review page and the student's end screen; everything
// goes in as text (textContent), nothing as HTML.
//
// Quotes and turns name a transcript message by its `seq`; a `TurnIndex` built from the
// stored transcript gives each seq its words, its turn number and its node on the page,
// so a quote is a button that scrolls to the message, highlights it and focuses it.

import { el } from "./dom.js";
import { MessageRole } from "./vocabulary.js";

/** How each metric reads: a share (0..1 shown as %), a ratio, a count, or words. */
const METRICS = [
  ["open_question_share", "Open questions (share of all questions)", "share"],
  ["reflection_to_question", "Reflections per question", "ratio"],
  ["complex_reflection_share", "Complex reflections (share of all reflections)", "share"],
  ["hidden_facts_disclosed", "Hidden facts disclosed", "share"],
  ["student_talk_share", "Student's share of the words spoken", "share"],
  ["questions", "Questions", "count"],
  ["open_questions", "Open questions", "count"],
  ["closed_questions", "Closed questions", "count"],
  ["reflections", "Reflections", "count"],
  ["simple_reflections", "Simple reflections", "count"],
  ["complex_reflections", "Complex reflections", "count"],
  ["affirmations", "Affirmations", "count"],
  ["summaries", "Summaries", "count"],
  ["advice_without_permission", "Advice given without asking permission", "count"],
  ["longest_monologue", "Longest stretch of talking, in words", "count"],
];
const METRIC_INFO = new Map(METRICS.map(([key, label, kind]) => [key, { label, kind }]));

/** Levels always carry words; colour (data-level) only repeats them. */
const LEVEL_WORDS = { good: "Good", fair: "Fair", below: "Below fair" };

export function levelText(level) {
  return LEVEL_WORDS[level] || "Not measured";
}

function humanise(key) {
  const words = String(key).replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function metricInfo(key) {
  return METRIC_INFO.get(key) || { label: humanise(key), kind: "count" };
}

const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

/** 0.666 share -> "67 %", 1.5 ratio -> "1.5", 7 -> "7"; null -> "–". */
export function metricNumber(value, kind) {
  if (!isNumber(value)) return "–";
  if (kind === "share") return `${Math.round(value * 100)} %`;
  if (kind === "ratio") return (Math.round(value * 100) / 100).toString();
  return String(Math.round(value * 100) / 100);
}

/** The stored transcript as turns: each message's words, role, turn number and node. */
export class TurnIndex {
  /**
   * @param {object[]} messages stored transcript items ({seq, message_id, role, text})
   * @param {{list?: HTMLElement|null, studentName?: string, clientName?: string}} options
   *   `list` the <ol> the messages were drawn into (null: quotes are not links)
   */
  constructor(messages = [], { list = null, studentName = "Student", clientName = "Client" } = {}) {
    this.list = list;
    this.studentName = studentName;
    this.clientName = clientName;
    this.bySeq = new Map();
    let turn = 0;
    for (const message of [...messages].sort((a, b) => a.seq - b.seq)) {
      if (message.role === MessageRole.STUDENT) turn += 1;
      this.bySeq.set(message.seq, { ...message, turn });
    }
    this.target = null;
  }

  message(seq) {
    return this.bySeq.get(seq) || null;
  }

  /** "Student, turn 3" / "Client, reply to turn 3" / "turn at seq 9" when unknown. */
  where(seq) {
    const message = this.message(seq);
    if (!message) return `message ${seq}`;
    if (message.role === MessageRole.STUDENT) return `${this.studentName}, turn ${message.turn}`;
    if (message.role === MessageRole.CLIENT) {
      return message.turn ? `${this.clientName}, reply to turn ${message.turn}` : `${this.clientName}, opening`;
    }
    return `message ${seq}`;
  }

  /** The student turn a seq belongs to (a client reply counts as the turn it answers). */
  turnOf(seq) {
    return this.message(seq)?.turn ?? null;
  }

  node(seq) {
    const id = this.message(seq)?.message_id;
    if (!this.list || !id) return null;
    return this.list.querySelector(`.msg[data-message-id="${CSS.escape(id)}"]`);
  }

  /** Scroll the message into view, highlight it and move the focus to it. */
  jump(seq) {
    const node = this.node(seq);
    if (!node) return false;
    this.target?.classList.remove("msg--target");
    this.target = node;
    node.tabIndex = -1;
    node.classList.add("msg--target");
    const smooth = !window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    node.scrollIntoView({ block: "center", behavior: smooth ? "smooth" : "auto" });
    node.focus({ preventScroll: true });
    return true;
  }
}

/** A quote of a turn: a button that jumps to it when the turn is on the page. */
export function quoteButton(turns, seq, quote, { label = null } = {}) {
  const where = label || turns.where(seq);
  const words = el("q", { class: "quote__text", text: quote });
  const whereNode = el("span", { class: "quote__where", text: where });
  if (!turns.node(seq)) return el("span", { class: "quote", dataset: { seq } }, words, " ", whereNode);
  const button = el("button", { type: "button", class: "quote quote--link", dataset: { seq } },
    el("span", { class: "visually-hidden", text: "Show in the transcript: " }),
    words, " ", whereNode);
  button.addEventListener("click", () => turns.jump(seq));
  return button;
}

/** The `levels` of a criterion, highest score first ([] when unknown). */
export function sortedLevels(levels) {
  return [...(levels || [])].sort((a, b) => b.score - a.score);
}

/** "2 of 3: Some reflections; occasionally rushes" (the descriptor when known). */
export function scoreText(score, levels) {
  const sorted = sortedLevels(levels);
  const top = sorted[0]?.score;
  const descriptor = sorted.find((level) => level.score === score)?.descriptor;
  return `${score}${top !== undefined ? ` of ${top}` : ""}${descriptor ? `: ${descriptor}` : ""}`;
}

/** Rationale (the grader's, for its proposed score), evidence quotes and the teacher's
 * comment of one criterion. */
export function criterionBody(criterion, turns, { sub = "h5", commentLabel = "Teacher's comment", rationaleLabel = "The grader's reasoning" } = {}) {
  const evidence = criterion.evidence || [];
  return [
    criterion.rationale
      ? el("p", { class: "criterion-result__rationale" },
        el("strong", { text: `${rationaleLabel}: ` }), el("span", { class: "criterion-result__why", text: criterion.rationale }))
      : null,
    evidence.length
      ? el("div", { class: "criterion-result__evidence" },
        el(sub, { class: "feedback__minor", text: "Evidence" }),
        el("ul", { class: "quotes" }, evidence.map((item) => el("li", {}, quoteButton(turns, item.seq, item.quote)))))
      : null,
    criterion.comment
      ? el("p", { class: "criterion-result__comment" },
        el("strong", { text: `${commentLabel}: ` }), el("span", { text: criterion.comment }))
      : null,
  ];
}

/** The metrics with a benchmark as a table (value, fair from, good from, level in words),
 * and the counts below it. */
export function metricsView(metrics, { caption = "Skill metrics beside their benchmarks" } = {}) {
  const entries = Object.entries(metrics || {});
  const order = (key) => {
    const index = METRICS.findIndex(([known]) => known === key);
    return index < 0 ? METRICS.length : index;
  };
  entries.sort(([a], [b]) => order(a) - order(b) || a.localeCompare(b));
  const rated = entries.filter(([, metric]) => metric?.threshold);
  const counts = entries.filter(([, metric]) => !metric?.threshold);
  const rows = rated.map(([key, metric]) => {
    const { label, kind } = metricInfo(key);
    const measured = isNumber(metric.value);
    return el("tr", { dataset: { metric: key, level: metric.level || "none" } },
      el("th", { scope: "row", text: label }),
      el("td", { class: "num", text: metricNumber(metric.value, kind) }),
      el("td", { class: "num", text: metricNumber(metric.threshold.fair, kind) }),
      el("td", { class: "num", text: metricNumber(metric.threshold.good, kind) }),
      el("td", {}, el("span", { class: "level", dataset: { level: metric.level || "none" } },
        measured ? levelText(metric.level) : "Not measured (nothing to count)")),
    );
  });
  return [
    rated.length
      ? el("div", { class: "table-wrap metrics-wrap" },
        el("table", { class: "metrics" },
          el("caption", { class: "visually-hidden", text: caption }),
          el("thead", {}, el("tr", {},
            el("th", { scope: "col", text: "Skill" }),
            el("th", { scope: "col", class: "num", text: "This session" }),
            el("th", { scope: "col", class: "num", text: "Fair from" }),
            el("th", { scope: "col", class: "num", text: "Good from" }),
            el("th", { scope: "col", text: "Level" }),
          )),
          el("tbody", {}, rows)))
      : null,
    counts.length
      ? el("dl", { class: "metric-counts", "aria-label": "Counts" }, counts.map(([key, metric]) => {
        const { label, kind } = metricInfo(key);
        return el("div", { class: "metric-count" },
          el("dt", { text: label }), el("dd", { dataset: { metric: key }, text: metricNumber(metric?.value, kind) }));
      }))
      : null,
  ];
}

/** Each hidden fact: disclosed at turn N (a link to the reply), or not, with what might
 * have reached it. */
export function coverageView(coverage, turns) {
  if (!coverage?.length) return el("p", { class: "muted", text: "The client had no hidden facts." });
  return el("ul", { class: "coverage" }, coverage.map((item) => {
    const disclosed = Number.isInteger(item.disclosed_seq);
    const turn = disclosed ? turns.turnOf(item.disclosed_seq) : null;
    const state = disclosed
      ? (turn ? `Disclosed at turn ${turn}` : "Disclosed")
      : "Not disclosed";
    const show = disclosed && turns.node(item.disclosed_seq)
      ? el("button", { type: "button", class: "link-button coverage__show", dataset: { seq: item.disclosed_seq } },
        "Show", el("span", { class: "visually-hidden", text: ` the reply that disclosed it (${turns.where(item.disclosed_seq)})` }))
      : null;
    show?.addEventListener("click", () => turns.jump(item.disclosed_seq));
    return el("li", { class: "coverage__item", dataset: { state: disclosed ? "disclosed" : "hidden" } },
      el("p", { class: "coverage__head" },
        el("span", { class: "coverage__state", text: state }),
        el("span", { class: "visually-hidden", text: ": " }),
        el("span", { class: "coverage__fact", text: item.fact }),
        show ? " " : null, show),
      !disclosed && item.suggestion
        ? el("p", { class: "coverage__suggestion" }, el("strong", { text: "What might have helped: " }), el("span", { text: item.suggestion }))
        : null,
    );
  }));
}

/** Better replies for the weakest turns: the turn quoted, the alternative, why. */
export function alternativesView(alternatives, turns, { youSaid = "The student said" } = {}) {
  if (!alternatives?.length) return el("p", { class: "muted", text: "No alternatives suggested." });
  return el("ol", { class: "alternatives" }, alternatives.map((item) => {
    const original = turns.message(item.seq)?.text;
    return el("li", { class: "alternative", dataset: { seq: item.seq } },
      el("p", { class: "alternative__said" },
        el("strong", { text: `${youSaid}: ` }),
        original ? quoteButton(turns, item.seq, original) : el("span", { class: "muted", text: `(${turns.where(item.seq)})` })),
      el("p", { class: "alternative__better" }, el("strong", { text: "A better reply: " }), el("q", { text: item.text })),
      el("p", { class: "alternative__why" }, el("strong", { text: "Why: " }), el("span", { text: item.why })),
    );
  }));
}

let parts = 0;

/** A titled part of the feedback. */
export function feedbackPart(key, heading, title, ...content) {
  const id = `feedback-${key}-${++parts}`;
  return el("section", { class: `feedback__part feedback__${key}`, "aria-labelledby": id },
    el(heading, { id, text: title }), ...content);
}
