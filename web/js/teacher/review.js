// Session review: facts and usage, the stored transcript (with .md / .csv downloads,
// flagged replies marked), the client's state (trust over the turns, hidden facts, the
// directions given, from the audit trail), the feedback (scores to review, metrics,
// coverage, alternatives; release), the audit trail. Lifecycle actions (extend included)
// reload the transcript, the client state, the feedback and the audit trail.

import { get } from "../api.js";
import { el, setText } from "../dom.js";
import { endReasonText, formatDateTime, formatDuration, formatNumber } from "../format.js";
import { showStatusBadge } from "../status.js";
import { Transcript } from "../transcript.js";
import { TurnIndex } from "../feedback.js";
import { EventType, MessageRole } from "../vocabulary.js";
import { actionButton, allowed, canRestart, copyLinkButton, extendDialog, restartButton } from "./actions.js";
import { attemptsCard, restartPolicyToggle } from "./attempts.js";
import { auditEvent, ClientStatePanel, emptyClientState, foldClientState, markFlaggedReplies } from "./client-state.js";
import { FeedbackPanel } from "./feedback.js";

export async function renderReview(view, id, ctx) {
  const alert = el("div", { class: "alert alert--error", role: "alert" });
  view.append(alert);
  let session;
  let profile = null;
  try {
    session = await get(`/api/sessions/${encodeURIComponent(id)}`);
    profile = await get(`/api/profiles/${session.profile_id}`).catch(() => null);
  } catch (error) {
    if (!ctx.alive()) return;
    if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
    setText(alert, error.message);
    return;
  }
  if (!ctx.alive()) return;
  const clientName = profile?.name || "Client";
  const badge = el("span", { class: "badge" });
  showStatusBadge(badge, session.status);
  const facts = el("dl", { class: "facts" });
  const controls = el("div", { class: "button-row" });
  const base = `/api/sessions/${encodeURIComponent(id)}/transcript`;
  const reloadTranscript = el("button", { type: "button", class: "link-button", text: "Reload" });
  const transcriptBody = el("div", { class: "transcript-body" });
  const transcriptBox = el("section", { class: "card", "aria-labelledby": "transcript-title" },
    el("div", { class: "card-head" },
      el("h2", { id: "transcript-title", text: "Transcript" }),
      el("div", { class: "button-row downloads" },
        el("a", { class: "button", href: `${base}.md`, download: `transcript-${id}.md`, dataset: { format: "md" } }, "Download .md"),
        el("a", { class: "button", href: `${base}.csv`, download: `transcript-${id}.csv`, dataset: { format: "csv" } }, "Download .csv"),
        reloadTranscript,
      ),
    ),
    transcriptBody);
  const auditBody = el("div");
  const auditBox = el("section", { class: "card", "aria-labelledby": "audit-title" },
    el("h2", { id: "audit-title", text: "Audit trail" }), auditBody);
  const clientCard = el("div", { class: "card client-card" });
  const panel = new ClientStatePanel(clientCard, {
    idPrefix: "review",
    headingLevel: "h2",
    emptyText: "No client state was recorded for this session yet.",
  });
  const feedbackCard = el("section", { class: "card feedback", id: "feedback" });
  const attempts = attemptsCard(id, { alive: ctx.alive });
  const feedback = new FeedbackPanel(feedbackCard, { sessionId: id, session, announce: ctx.announce, alive: ctx.alive });

  function drawFacts(s) {
    const used = s.time_limit_seconds - s.seconds_left;
    const rows = [
      ["Student", s.student_name + (s.student_email ? ` <${s.student_email}>` : "")],
      ["Client", clientName],
      ["Status", s.status + (s.end_reason ? ` – ${endReasonText(s.status, s.end_reason, "teacher")}` : "")],
      ["Time used", `${formatDuration(used)} of ${formatDuration(s.time_limit_seconds)}`],
      ["Tokens used", `${formatNumber(s.tokens_used)} of ${formatNumber(s.token_budget)}`],
      ["Model", s.model || "default"],
      ["Created", formatDateTime(s.created_at)],
      ["Started", formatDateTime(s.started_at) || "—"],
      ["Ended", formatDateTime(s.ended_at) || "—"],
    ];
    facts.replaceChildren(...rows.flatMap(([k, v]) => [el("dt", { text: k }), el("dd", { text: v })]));
    showStatusBadge(badge, s.status);
    const latest = !s.latest_attempt_id || s.latest_attempt_id === s.id;
    for (const button of controls.querySelectorAll("[data-action]")) {
      const action = button.dataset.action === "copy-link" ? "link" : button.dataset.action;
      let shown = action === "restart" ? canRestart(s) : allowed(action, s.status);
      if (action === "extend" && !latest) shown = false; // a replaced attempt stays ended
      (button.closest(".copy-link") || button).hidden = !shown;
    }
  }
  let loads = 0;
  const reloadAll = async () => {
    const load = ++loads;
    feedback.load();
    const [shown, rows] = await Promise.all([
      loadTranscript(transcriptBody, id, session, clientName),
      loadAudit(auditBody, id),
    ]);
    if (load !== loads || !ctx.alive()) return;
    let state = emptyClientState();
    for (const message of shown?.messages || []) state = foldClientState(state, { ...message, type: EventType.MESSAGE });
    for (const row of rows || []) state = foldClientState(state, auditEvent(row));
    panel.draw(state);
    if (shown) markFlaggedReplies(state, (replyId) => shown.nodeForReply(replyId));
    feedback.setTurns(new TurnIndex(shown?.messages || [], {
      list: shown?.list || null,
      studentName: "Student",
      clientName: "Client",
    }));
  };
  reloadTranscript.addEventListener("click", reloadAll);
  const onDone = (updated) => {
    session = updated;
    setText(alert, "");
    drawFacts(updated);
    feedback.setSession(updated);
    reloadAll();
    attempts.load();
  };
  // A failed action says so in its toast (actions.js): no inline alert moves the page.
  for (const action of ["start", "pause", "resume", "end"]) {
    controls.append(actionButton(action, () => session, { onDone }));
  }
  const extend = el("button", { type: "button", text: "Extend", dataset: { action: "extend" } });
  extend.addEventListener("click", async () => {
    const result = await extendDialog(session);
    if (result) onDone(result);
  });
  // A restart opens the new attempt's review; this one stays listed under Attempts.
  const restart = restartButton(() => session, { onDone: (result) => ctx.navigate(`#/sessions/${result.next.id}`) });
  const policy = restartPolicyToggle(() => session, { onDone: (updated) => { session = updated; } });
  controls.append(extend, restart, copyLinkButton(() => session.join_url),
    el("a", { class: "button", href: `#/observe/${session.id}`, text: "Observe live" }));

  view.append(
    el("div", { class: "view-head" },
      el("h1", {}, `Session: ${session.student_name} `, badge),
      el("a", { class: "button", href: "#/sessions", text: "Back to sessions" }),
    ),
    el("div", { class: "review" },
      el("div", {}, transcriptBox, el("br"), feedbackCard, el("br"), auditBox),
      el("div", { class: "review__side" },
        el("section", { class: "card", "aria-labelledby": "usage-title" },
          el("h2", { id: "usage-title", text: "Details and usage" }), facts, el("hr"), controls, policy.root),
        attempts.root,
        clientCard,
      ),
    ),
  );
  drawFacts(session);
  reloadAll();
  attempts.load();
}

function transcriptSummary(messages, session) {
  if (!messages.length) return "";
  const count = (test) => messages.filter(test).length;
  const parts = [`${count((m) => m.role !== MessageRole.WHISPER)} messages`];
  const whispers = count((m) => m.role === MessageRole.WHISPER);
  const stopped = count((m) => m.stopped && !m.failed);
  const failed = count((m) => m.failed);
  if (whispers) parts.push(`${whispers} whisper${whispers === 1 ? "" : "s"}`);
  if (stopped) parts.push(`${stopped} stopped repl${stopped === 1 ? "y" : "ies"}`);
  if (failed) parts.push(`${failed} interrupted repl${failed === 1 ? "y" : "ies"}`);
  const live = session.status === "active" || session.status === "paused";
  return parts.join(" · ") + (live ? ". The session is still open: the saved copy lags the live one by up to 2 s." : ".");
}

async function loadTranscript(box, id, session, clientName) {
  const status = el("p", { class: "muted", text: "Loading…" });
  box.replaceChildren(status);
  try {
    const data = await get(`/api/sessions/${encodeURIComponent(id)}/transcript`);
    const messages = Array.isArray(data) ? data : data.items || data.messages || [];
    const list = el("ol", { class: "transcript transcript--review", "aria-label": "Transcript" });
    const summary = transcriptSummary(messages, session);
    status.replaceWith(summary ? el("p", { class: "small muted transcript-summary", text: summary }) : "", list);
    const transcript = new Transcript(list, {
      clientName: `${clientName} (client)`,
      studentName: `${session.student_name} (student)`,
      whisperLabel: "Whisper from the teacher",
      emptyText: "No messages were exchanged.",
      showTimes: true,
    });
    transcript.renderMessages(messages);
    const messageOfReply = new Map(messages.filter((m) => m.reply_id).map((m) => [m.reply_id, m.message_id]));
    const nodeForReply = (replyId) => {
      const messageId = messageOfReply.get(replyId);
      return messageId ? list.querySelector(`.msg[data-message-id="${CSS.escape(messageId)}"]`) : null;
    };
    return { messages, list, nodeForReply };
  } catch (error) {
    status.className = "alert alert--warn";
    status.dataset.state = error.status === 404 ? "not-available" : "error";
    setText(
      status,
      error.status === 404
        ? "The transcript is not available yet. It appears here once the conversation has been saved."
        : error.message,
    );
    return null;
  }
}

/** A client_state row is long (every fact's text): a one-line summary, the JSON folded
 * under it. Other rows show their JSON. */
function auditDetails(row) {
  const data = row.data || {};
  if (!Object.keys(data).length) return "";
  const json = el("code", { text: JSON.stringify(data) });
  const event = auditEvent(row);
  if (event?.type !== EventType.CLIENT_STATE) return json;
  const counts = new Map();
  for (const fact of event.facts || []) counts.set(fact.state, (counts.get(fact.state) || 0) + 1);
  const change = event.delta > 0 ? `+${event.delta}` : String(event.delta || 0);
  const parts = [`trust ${event.trust} (${change})`, ...(event.reasons || []).slice(0, 3)];
  if (counts.size) parts.push(`facts: ${[...counts].map(([state, n]) => `${n} ${state}`).join(", ")}`);
  return el("details", { class: "audit-state" }, el("summary", { text: parts.join(" · ") }), json);
}

async function loadAudit(box, id) {
  try {
    const { items } = await get(`/api/sessions/${encodeURIComponent(id)}/events`);
    if (!items.length) {
      box.replaceChildren(el("p", { class: "muted", text: "No events yet." }));
      return items;
    }
    box.replaceChildren(el("div", { class: "table-wrap" },
      el("table", { class: "audit", "aria-labelledby": "audit-title" },
        el("thead", {}, el("tr", {}, el("th", { text: "When" }), el("th", { text: "What" }), el("th", { text: "Who" }), el("th", { text: "Details" }))),
        el("tbody", {}, items.map((e) => el("tr", {},
          el("td", { text: formatDateTime(e.created_at) }),
          el("td", { text: e.kind }),
          el("td", { text: e.actor.split(":")[0] }),
          el("td", {}, auditDetails(e)),
        ))),
      ),
    ));
    return items;
  } catch (error) {
    box.replaceChildren(el("p", { class: "alert alert--error", text: error.message }));
    return null;
  }
}
