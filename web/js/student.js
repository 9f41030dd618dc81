// The student's chat page: /s/{id}.

import { get } from "./api.js";
import { BudgetMeters } from "./budget.js";
import { confirmDialog } from "./dialog.js";
import { byId, setText } from "./dom.js";
import { socketErrorText } from "./errors.js";
import { TurnIndex } from "./feedback.js";
import { endReasonText } from "./format.js";
import { StudentAttempts, takeDraft } from "./student-attempts.js";
import { StudentFeedback } from "./student-feedback.js";
import { showCaseFiles } from "./student-files.js";
import { ConnectionState, SessionSocket } from "./socket.js";
import { Transcript } from "./transcript.js";
import { showStatusBadge } from "./status.js";
import { ClientType, CloseCode, ErrorCode, EventType } from "./vocabulary.js";

const sessionId = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");

const ui = {
  title: byId("title"),
  subtitle: byId("subtitle"),
  badge: byId("status-badge"),
  banner: byId("connection-banner"),
  loadError: byId("load-error"),
  loadErrorText: byId("load-error-text"),
  chat: byId("chat-screen"),
  waiting: byId("waiting"),
  composer: byId("composer"),
  text: byId("composer-text"),
  send: byId("send"),
  stop: byId("stop"),
  notice: byId("composer-notice"),
  pause: byId("pause"),
  resume: byId("resume"),
  end: byId("end"),
  endScreen: byId("end-screen"),
  endReason: byId("end-reason"),
  endTranscript: byId("end-transcript"),
  endNote: byId("end-transcript-note"),
  endReopen: byId("end-reopen"),
  feedback: {
    section: byId("end-feedback"),
    note: byId("end-feedback-note"),
    body: byId("end-feedback-body"),
    check: byId("end-feedback-check"),
  },
  announcer: byId("announcer"),
  attempts: {
    card: byId("attempts-card"),
    list: byId("attempts-list"),
    restart: byId("restart"),
    endRestart: byId("end-restart"),
    endList: byId("end-attempts-list"),
    endNext: byId("end-next"),
    notice: byId("attempt-notice"),
  },
};

/** The saved transcript is written before the status changes; a read that still finds
 * the session open (a replica, a race) is retried 4 times, 0.5/1/2/4 s apart. */
const FINAL_TRANSCRIPT_RETRIES = 4;
/** An expired session can be reopened by the teacher (extend): check every 5 s. */
const REOPEN_CHECK_MS = 5000;

let status = "created";
let socket = null;
let meters = null;
let transcript = null;
let clientName = "the client";
let ended = null; // the terminal status shown on the end screen
let reopenTimer = null;
let attempts = null;

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function announce(text) {
  // Re-setting identical text would not be announced again; clear first.
  ui.announcer.textContent = "";
  requestAnimationFrame(() => {
    ui.announcer.textContent = text;
  });
}

function showLoadError(message) {
  ui.loadError.hidden = false;
  ui.chat.hidden = true;
  setText(ui.loadErrorText, message);
  setText(ui.subtitle, "");
  ui.badge.hidden = true;
}

function setStatus(next, reason) {
  status = next;
  showStatusBadge(ui.badge, next);
  meters?.setStatus(next);
  const live = next === "active";
  const streaming = Boolean(transcript?.streamingReplyId);
  ui.text.disabled = !live;
  ui.send.disabled = !live || streaming;
  ui.pause.hidden = next === "paused";
  ui.pause.disabled = !live;
  ui.resume.hidden = next !== "paused";
  ui.end.disabled = !(live || next === "paused");
  ui.waiting.hidden = live;
  if (next === "created") setText(ui.waiting, "Waiting for your teacher to start the session. You can type once it starts.");
  else if (next === "paused") setText(ui.waiting, "The session is paused. The clock is stopped. Resume when you are ready.");
  attempts?.setStatus(next);
  // Leaving for the next attempt: its page follows at once, not this one's end screen.
  if (attempts?.moving) return;
  if (next === "completed" || next === "expired") showEndScreen(next, reason);
}

function showEndScreen(finalStatus, reason) {
  if (ended === finalStatus) return;
  ended = finalStatus;
  socket?.close();
  meters?.destroy();
  setText(ui.endReason, endReasonText(finalStatus, reason, "student"));
  setText(
    byId("end-heading"),
    finalStatus === "expired" ? "The session has expired" : "The session has ended",
  );
  // Show at once what this page saw; the saved transcript replaces it when it arrives.
  const messages = [...byId("transcript").querySelectorAll(".msg:not(.msg--pending)")];
  ui.endTranscript.replaceChildren(...messages);
  ui.chat.hidden = true;
  ui.banner.hidden = true;
  ui.endScreen.hidden = false;
  ui.endScreen.focus();
  announce(`${ui.endReason.textContent}`);
  const feedback = new StudentFeedback(ui.feedback, sessionId);
  feedback.load();
  loadFinalTranscript(messages.length).then((items) => {
    if (items) feedback.setTurns(new TurnIndex(items, { list: ui.endTranscript, studentName: "You", clientName }));
  });
  if (finalStatus === "expired") watchForReopening();
}

/** The stored conversation, released to the student once the session has ended.
 * Resolves with its messages, or null when it could not be loaded. */
async function loadFinalTranscript(shownAlready) {
  setText(ui.endNote, "Loading the saved conversation…");
  for (let attempt = 0; ; attempt += 1) {
    try {
      const data = await get(`/api/sessions/${encodeURIComponent(sessionId)}/transcript`);
      const saved = new Transcript(ui.endTranscript, {
        clientName,
        studentName: "You",
        whisperLabel: "Hint from your teacher",
        emptyText: "No messages were exchanged.",
      });
      saved.renderMessages(data.items || []);
      ui.endTranscript.dataset.source = "saved";
      setText(ui.endNote, "");
      return data.items || [];
    } catch (error) {
      if (error.code === "session_not_ended" && attempt < FINAL_TRANSCRIPT_RETRIES) {
        await delay(500 * 2 ** attempt);
        continue;
      }
      setText(
        ui.endNote,
        shownAlready
          ? `This is the conversation as this page saw it; the saved copy could not be loaded (${error.message}).`
          : `The conversation could not be loaded: ${error.message}`,
      );
      return null;
    }
  }
}

/** A teacher may extend an expired session, which reopens it: then continue here. */
function watchForReopening() {
  ui.endReopen.hidden = false;
  clearInterval(reopenTimer);
  reopenTimer = setInterval(async () => {
    if (document.visibilityState !== "visible") return;
    try {
      const info = await get(`/api/student/sessions/${encodeURIComponent(sessionId)}`);
      if (info.status === "active" || info.status === "paused") {
        clearInterval(reopenTimer);
        location.reload();
      }
    } catch {
      // Offline or the link was replaced: keep showing the end screen.
    }
  }, REOPEN_CHECK_MS);
}

function onStreaming(replyId) {
  ui.stop.hidden = !replyId;
  ui.send.disabled = status !== "active" || Boolean(replyId);
  if (replyId) announce(`${transcript.clientName} is replying…`);
}

function onConnectionState(state, detail) {
  if (state === ConnectionState.OPEN) {
    ui.banner.hidden = true;
    ui.banner.classList.remove("banner--error");
    return;
  }
  if (state === ConnectionState.RECONNECTING && detail.reason === "reload") return;
  if (state === ConnectionState.RECONNECTING) {
    ui.banner.hidden = false;
    setText(ui.banner, "Connection lost. Reconnecting… Your conversation will continue where it left off.");
  } else if (state === ConnectionState.CLOSED) {
    ui.banner.hidden = false;
    ui.banner.classList.add("banner--error");
    ui.text.disabled = ui.send.disabled = true;
    setText(ui.banner, closedText(detail.code));
  }
}

function closedText(code) {
  if (code === CloseCode.ABUSE) {
    return "The server closed the connection (too many or invalid messages). Reload the page to continue.";
  }
  if (code === CloseCode.TOO_MANY_SOCKETS) {
    return "This session is open in too many tabs or windows. Close the others, then reload this page.";
  }
  if (code === CloseCode.REVOKED) {
    return "Your teacher replaced the link to this session, so this page was disconnected. Ask your teacher for the new link.";
  }
  return "This session cannot be opened any more. Ask your teacher for a new link.";
}

function onWelcome(welcome, { fresh }) {
  if (fresh) {
    transcript.clear();
    for (const [clientId, text] of socket.pending) transcript.addPending(clientId, text);
    transcript.restoreStreaming(welcome.streaming);
  }
  meters.setBudget(welcome.budget || {});
  setStatus(welcome.status);
}

function onEvent(event) {
  switch (event.type) {
    case EventType.BUDGET:
      meters.setBudget(event);
      return;
    case EventType.STATUS:
      setStatus(event.status, event.reason);
      return;
    case EventType.PRESENCE:
      return;
    case EventType.SESSION_RESTARTED:
      attempts.follow(event);
      return;
    default:
      transcript.apply(event);
  }
}

/** Reconnects keep failing: a revoked link or an ended session refuses the handshake. */
async function onFailing() {
  try {
    const info = await get(`/api/student/sessions/${encodeURIComponent(sessionId)}`);
    if (info.status === "completed" || info.status === "expired") setStatus(info.status, info.end_reason);
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      socket.close();
      onConnectionState(ConnectionState.CLOSED, { code: error.status });
    }
  }
}

function onServerError(event) {
  setText(ui.notice, socketErrorText(event, "student"));
}

/** What was typed or sent without an answer yet: carried to the next attempt's page. */
function unsentText() {
  const pending = socket ? [...socket.pending.values()] : [];
  return [...pending, ui.text.value.trim()].filter(Boolean).join("\n");
}

/** Give the words back so nothing typed is lost (before anything typed since). */
function restoreText(text) {
  const current = ui.text.value;
  if (current.includes(text)) return;
  ui.text.value = current.trim() ? `${text}\n${current}` : text;
}

function onSayRefused(clientId, text, event) {
  transcript.removePending(clientId);
  restoreText(text);
  ui.notice.dataset.code = event.code || "";
  setText(ui.notice, `Not sent. ${socketErrorText(event, "student")} Your text is still in the box.`);
}

function onBudgetWarning(text) {
  announce(text);
}

function sendMessage() {
  const text = ui.text.value.trim();
  if (!text) {
    setText(ui.notice, "Type a message first.");
    ui.text.focus();
    return;
  }
  // Refused here as the server would refuse it; the text stays in the box.
  if (transcript.streamingReplyId) {
    ui.notice.dataset.code = ErrorCode.REPLY_IN_PROGRESS;
    setText(ui.notice, socketErrorText({ code: ErrorCode.REPLY_IN_PROGRESS }, "student"));
    return;
  }
  if (status !== "active") {
    ui.notice.dataset.code = ErrorCode.NOT_ACTIVE;
    setText(ui.notice, socketErrorText({ code: ErrorCode.NOT_ACTIVE }, "student"));
    return;
  }
  if (socket.pending.size) {
    setText(ui.notice, "Your last message is still on its way; wait for the reply.");
    return;
  }
  setText(ui.notice, "");
  delete ui.notice.dataset.code;
  const clientId = socket.say(text);
  transcript.addPending(clientId, text);
  ui.text.value = "";
  ui.text.focus();
}

function wireControls() {
  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendMessage();
  });
  ui.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });
  ui.stop.addEventListener("click", () => {
    if (!socket.stopReply(transcript.streamingReplyId)) setText(ui.notice, "Not connected; try again in a moment.");
  });
  ui.pause.addEventListener("click", async () => {
    const ok = await confirmDialog("Pause the session?", "The clock stops while paused. You can resume at any time.", {
      confirmLabel: "Pause",
    });
    if (ok && !socket.control(ClientType.PAUSE)) setText(ui.notice, "Not connected; try again in a moment.");
  });
  ui.resume.addEventListener("click", () => {
    if (!socket.control(ClientType.RESUME)) setText(ui.notice, "Not connected; try again in a moment.");
  });
  ui.end.addEventListener("click", async () => {
    const ok = await confirmDialog(
      "End the session?",
      "You will not be able to send more messages. Your teacher will see the conversation.",
      { confirmLabel: "End session", danger: true },
    );
    if (ok && !socket.control(ClientType.END)) setText(ui.notice, "Not connected; try again in a moment.");
  });
}

async function main() {
  let info;
  try {
    info = await get(`/api/student/sessions/${encodeURIComponent(sessionId)}`);
  } catch (error) {
    showLoadError(
      error.status === 401
        ? "Open this session from the join link your teacher gave you."
        : error.message,
    );
    return;
  }
  clientName = info.client_name;
  document.title = `Interview with ${info.client_name} – Virtual Client`;
  setText(ui.title, `Interview with ${info.client_name}`);
  setText(ui.subtitle, `Signed in as ${info.student_name}`);
  ui.chat.hidden = false;
  showCaseFiles(byId("case-files-card"), sessionId);
  transcript = new Transcript(byId("transcript"), {
    clientName: info.client_name,
    studentName: "You",
    whisperLabel: "Hint from your teacher",
    emptyText: `Start the conversation: introduce yourself to ${info.client_name}.`,
    announce,
    onStreaming,
  });
  meters = new BudgetMeters(byId("meters"), "student", { onWarning: onBudgetWarning });
  meters.setSnapshot(info);
  // Words typed but not sent in the previous attempt's page come along.
  const draft = takeDraft(sessionId);
  if (draft) ui.text.value = draft;
  attempts = new StudentAttempts(ui.attempts, { sessionId, draft: unsentText, announce });
  attempts.show(info);
  setStatus(info.status, info.end_reason);
  if (info.status === "completed" || info.status === "expired") return;
  wireControls();
  socket = new SessionSocket(sessionId, {
    onWelcome,
    onEvent,
    onError: onServerError,
    onSayRefused,
    onFailing,
    onState: onConnectionState,
    isReplying: () => Boolean(transcript.streamingReplyId),
  }).start();
  window.addEventListener("pagehide", () => socket.close());
  // Expose the socket for debugging from the console; it holds no secrets.
  window.vcStudent = { socket, transcript };
}

main();
