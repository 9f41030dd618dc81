// What observers see of the virtual client's inner state: trust over the student's turns,
// the hidden facts (locked, unlocked, disclosed), the teacher's private directions and the
// replies the persona checks flagged. Students never receive any of it.
//
// One fold, `foldClientState(state, event)`, shared by the live observer (socket events,
// `welcome.client_state`, and the audit trail that seeds a fresh connection) and the review
// page (audit rows and the stored transcript). Everything is keyed by seq, so the same
// event twice, or the seed arriving after live events, changes nothing: the fold's order
// does not matter. `ClientStatePanel` draws it; `markFlaggedReplies` badges the transcript.

import { el, setText } from "../dom.js";
import { EventType, MessageRole } from "../vocabulary.js";
import { trustChart, trustSummary } from "./trust-chart.js";

/** session_events.kind of the audit rows that record observers-only events. */
const AUDIT_KIND_EVENTS = new Map([
  ["client_state", EventType.CLIENT_STATE],
  ["direction", EventType.DIRECTION],
  ["reply_flagged", EventType.REPLY_FLAGGED],
]);

const FACT_STATE_WORDS = { locked: "Locked", unlocked: "Unlocked", disclosed: "Disclosed" };

export function emptyClientState() {
  return {
    states: new Map(), // seq -> client.state event
    directions: new Map(), // seq -> {seq, text, created_at}
    flags: new Map(), // reply_id -> reply.flagged event (the latest by seq)
    studentSeqs: new Set(), // seqs of student messages: they number the turns
  };
}

const hasSeq = (event) => Number.isInteger(event.seq) && event.seq > 0;

/** The state after one event (socket event or `auditEvent` row); others pass through. */
export function foldClientState(state, event) {
  if (!event || !hasSeq(event)) return state;
  switch (event.type) {
    case EventType.MESSAGE:
      if (event.role !== MessageRole.STUDENT || state.studentSeqs.has(event.seq)) return state;
      return { ...state, studentSeqs: new Set(state.studentSeqs).add(event.seq) };
    case EventType.CLIENT_STATE:
      if (state.states.has(event.seq)) return state;
      return { ...state, states: new Map(state.states).set(event.seq, event) };
    case EventType.DIRECTION:
      if (state.directions.has(event.seq)) return state;
      return {
        ...state,
        directions: new Map(state.directions).set(event.seq, { seq: event.seq, text: event.text, created_at: event.created_at }),
      };
    case EventType.REPLY_FLAGGED: {
      const known = state.flags.get(event.reply_id);
      if (known && known.seq >= event.seq) return state;
      return { ...state, flags: new Map(state.flags).set(event.reply_id, event) };
    }
    default:
      return state;
  }
}

/** An audit-trail row (`GET /api/sessions/{id}/events` item) as the event it recorded,
 * or null for the kinds this view does not draw. */
export function auditEvent(row) {
  const type = AUDIT_KIND_EVENTS.get(row.kind);
  if (!type || !Number.isInteger(row.seq)) return null;
  return { ...(row.data || {}), type, seq: row.seq, created_at: row.created_at };
}

const bySeq = (a, b) => a.seq - b.seq;

/** The latest client.state, or null. */
export function latestState(state) {
  return latestOrFirst(state, 1);
}

/** Chart points: x = the student's turn the change follows (0 = before the first turn).
 * The earliest change also tells where trust stood a turn before it (trust - delta). */
export function trustPoints(state) {
  const turns = [...state.studentSeqs].sort((a, b) => a - b);
  const turnOf = (afterSeq) => turns.filter((seq) => seq <= afterSeq).length;
  const points = [...state.states.values()].sort(bySeq).map((event) => ({ turn: turnOf(event.after_seq || 0), trust: event.trust }));
  const first = latestOrFirst(state, -1);
  if (first?.delta && points[0].turn > 0) points.unshift({ turn: points[0].turn - 1, trust: first.trust - first.delta });
  return points;
}

function latestOrFirst(state, sign) {
  let found = null;
  for (const event of state.states.values()) if (!found || sign * (event.seq - found.seq) > 0) found = event;
  return found;
}

export function directionsOf(state) {
  return [...state.directions.values()].sort(bySeq);
}

const signed = (n) => (n > 0 ? `+${n}` : String(n));

function factStateText(fact) {
  const word = FACT_STATE_WORDS[fact.state] || String(fact.state);
  return fact.state === "disclosed" && fact.disclosed_seq ? `${word} at seq ${fact.disclosed_seq}` : word;
}

/** The client-state card of one session: trust now and over time, why it last changed,
 * the hidden facts and the directions given. `extra` (e.g. the direct form) goes last. */
export class ClientStatePanel {
  constructor(root, { idPrefix, headingLevel = "h3", extra = null, emptyText = "No client state yet: it appears after the student's first turn." }) {
    const titleId = `${idPrefix}-client-title`;
    const sub = headingLevel === "h2" ? "h3" : "h4";
    this.value = el("strong", { class: "trust-now__value", text: "–" });
    this.delta = el("span", { class: "trust-now__delta" });
    this.chartBox = el("figure", { class: "trust-chart" });
    this.reasons = el("p", { class: "trust-why small" });
    this.empty = el("p", { class: "client-state__empty small muted", text: emptyText });
    this.facts = el("ul", { class: "hidden-facts", "aria-label": "Hidden facts" });
    this.directions = el("ol", { class: "directions", "aria-label": "Directions given" });
    this.noDirections = el("p", { class: "small muted directions__empty", text: "No directions given." });
    this.trust = el("div", { class: "client-state__trust", hidden: true },
      el("p", { class: "trust-now" }, el("span", { class: "trust-now__label", text: "Trust " }), this.value, el("span", { class: "muted", text: " / 100" }), " ", this.delta),
      this.chartBox,
      this.reasons,
    );
    this.factsBox = el("div", { class: "client-state__facts", hidden: true }, el(sub, { text: "Hidden facts" }), this.facts);
    this.node = el("section", { class: "client-state", "aria-labelledby": titleId },
      el(headingLevel, { id: titleId, text: "Client state" }),
      this.empty,
      this.trust,
      this.factsBox,
      el("div", { class: "client-state__directions" },
        el(sub, { text: "Directions to the client" }), this.noDirections, this.directions, extra),
    );
    root.append(this.node);
    this.drawn = null;
  }

  draw(state) {
    const latest = latestState(state);
    this.empty.hidden = Boolean(latest);
    this.trust.hidden = !latest;
    this.factsBox.hidden = !latest?.facts?.length;
    if (latest) this.drawTrust(state, latest);
    this.drawDirections(directionsOf(state));
  }

  drawTrust(state, latest) {
    const points = trustPoints(state);
    const key = JSON.stringify([points, latest.seq]);
    if (this.drawn === key) return; // unchanged: keep the nodes (and screen readers) calm
    this.drawn = key;
    setText(this.value, latest.trust);
    setText(this.delta, latest.delta ? `(${signed(latest.delta)})` : "");
    this.delta.dataset.direction = latest.delta > 0 ? "up" : latest.delta < 0 ? "down" : "none";
    this.chartBox.replaceChildren(trustChart(points), el("figcaption", { class: "visually-hidden", text: trustSummary(points) }));
    const why = latest.reasons?.length ? latest.reasons.join("; ") : "no reason given";
    setText(this.reasons, `Latest change${latest.delta ? ` ${signed(latest.delta)}` : ""}: ${why}`);
    this.facts.replaceChildren(...(latest.facts || []).map((fact) => el("li", { class: "hidden-fact", dataset: { state: fact.state } },
      el("span", { class: "hidden-fact__state", text: factStateText(fact) }),
      el("span", { class: "visually-hidden", text: ": " }),
      el("span", { class: "hidden-fact__text", text: fact.fact }),
    )));
  }

  drawDirections(directions) {
    this.noDirections.hidden = directions.length > 0;
    const key = directions.map((d) => d.seq).join(",");
    if (this.directions.dataset.seqs === key) return;
    this.directions.dataset.seqs = key;
    this.directions.replaceChildren(...directions.map((d) => el("li", { class: "direction", dataset: { seq: d.seq }, text: d.text })));
  }
}

/** A badge for a flagged reply: visible word, the reasons in the title (tooltip) and in
 * text for screen readers. */
export function flagBadge(flagged) {
  const regenerated = flagged.action === "regenerated";
  const reasons = (flagged.flags || []).map((f) => `${String(f.flag).replaceAll("_", " ")}: ${f.reason}`);
  const why = reasons.join("; ") || "no reason given";
  return el("span", { class: "flag-badge", title: why, dataset: { action: flagged.action || "flagged", seq: flagged.seq } },
    el("span", { "aria-hidden": "true", text: "\u2691 " }),
    regenerated ? "Regenerated" : "Flagged",
    el("span", { class: "visually-hidden", text: ` (${regenerated ? "asked again after" : "flagged for"}: ${why})` }),
  );
}

/** Put a flag badge on every flagged reply that is on the page; `nodeFor(replyId)` finds
 * its `.msg` node (or null: not drawn yet, retried on the next call). */
export function markFlaggedReplies(state, nodeFor) {
  for (const [replyId, flagged] of state.flags) {
    const node = nodeFor(replyId);
    if (!node) continue;
    const who = node.querySelector(".msg__who") || node;
    const old = who.querySelector(".flag-badge");
    if (old?.dataset.seq === String(flagged.seq)) continue;
    const badge = flagBadge(flagged);
    if (old) old.replaceWith(badge);
    else who.append(badge);
    node.classList.add("msg--flagged");
  }
}
