// The student's chat page: /s/{id}.

import { get } from "./api.js";
import { BudgetMeters } from "./budget.js";
import { confirmDialog } from "./dialog.js";
import { byId, setText } from "./dom.js";
import { endReasonText } from "./format.js";
import { ConnectionState, SessionSocket } from "./socket.js";
import { Transcript } from "./transcript.js";
import { showStatusBadge } from "./status.js";

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
  announcer: byId("announcer"),
};

let status = "created";
let socket = null;
let meters = null;
let transcript = null;

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
  if (next === "completed" || next === "expired") showEndScreen(next, reason);
}

function showEndScreen(finalStatus, reason) {
  socket?.close();
  meters?.destroy();
  setText(ui.endReason, endReasonText(finalStatus, reason, "student"));
  setText(
    byId("end-heading"),
    finalStatus === "expired" ? "The session has expired" : "The session has ended",
  );
  // Keep the conversation readable: move the rendered messages to the end screen.
  const messages = [...byId("transcript").querySelectorAll(".msg")];
  ui.endTranscript.replaceChildren(...messages);
  ui.endTranscript.closest("details").hidden = messages.length === 0;
  ui.chat.hidden = true;
  ui.banner.hidden = true;
  ui.endScreen.hidden = false;
  ui.endScreen.focus();
  announce(`${ui.endReason.textContent}`);
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
    setText(
      ui.banner,
      detail.code === 1008
        ? "The server closed the connection (too many or invalid messages). Reload the page to continue."
        : "This session cannot be opened any more. Ask your teacher for a new link.",
    );
  }
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
    case "budget":
      meters.setBudget(event);
      return;
    case "status":
      setStatus(event.status, event.reason);
      return;
    case "presence":
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
  setText(ui.notice, event.message || "The server refused that.");
}

function onSayRefused(clientId, text, event) {
  transcript.removePending(clientId);
  // Give the words back so nothing typed is lost.
  if (!ui.text.value.trim()) ui.text.value = text;
  setText(ui.notice, `Not sent: ${event.message}`);
}

function sendMessage() {
  const text = ui.text.value.trim();
  if (!text) {
    setText(ui.notice, "Type a message first.");
    ui.text.focus();
    return;
  }
  if (status !== "active" || transcript.streamingReplyId) return;
  if (socket.pending.size) {
    setText(ui.notice, "Your last message is still on its way; wait for the reply.");
    return;
  }
  setText(ui.notice, "");
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
    if (ok && !socket.control("pause")) setText(ui.notice, "Not connected; try again in a moment.");
  });
  ui.resume.addEventListener("click", () => {
    if (!socket.control("resume")) setText(ui.notice, "Not connected; try again in a moment.");
  });
  ui.end.addEventListener("click", async () => {
    const ok = await confirmDialog(
      "End the session?",
      "You will not be able to send more messages. Your teacher will see the conversation.",
      { confirmLabel: "End session", danger: true },
    );
    if (ok && !socket.control("end")) setText(ui.notice, "Not connected; try again in a moment.");
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
  document.title = `Interview with ${info.client_name} – Virtual Client`;
  setText(ui.title, `Interview with ${info.client_name}`);
  setText(ui.subtitle, `Signed in as ${info.student_name}`);
  ui.chat.hidden = false;
  transcript = new Transcript(byId("transcript"), {
    clientName: info.client_name,
    studentName: "You",
    whisperLabel: "Hint from your teacher",
    emptyText: `Start the conversation: introduce yourself to ${info.client_name}.`,
    announce,
    onStreaming,
  });
  meters = new BudgetMeters(byId("meters"), "student");
  meters.setSnapshot(info);
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
  }).start();
  window.addEventListener("pagehide", () => socket.close());
  // Expose the socket for debugging from the console; it holds no secrets.
  window.vcStudent = { socket, transcript };
}

main();
