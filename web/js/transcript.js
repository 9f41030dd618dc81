// Renders a session transcript from socket events (and from stored transcripts).
// All text goes in through textContent: transcripts are text, never HTML.

import { el, setText } from "./dom.js";
import { EventType, MessageRole } from "./vocabulary.js";

const NEAR_BOTTOM_PX = 80;

export class Transcript {
  /**
   * @param {HTMLElement} list   an <ol class="transcript"> (role="log")
   * @param {object} options
   *   clientName   display name of the virtual client
   *   studentName  label for student turns ("You" on the student page)
   *   whisperLabel label for whispers
   *   announce(text) optional: called with a complete reply for the ARIA live region
   *   onStreaming(replyId|null) optional: a reply started/ended streaming
   *   showTimes    optional: show each stored message's `created_at`
   */
  constructor(list, options = {}) {
    this.list = list;
    this.clientName = options.clientName || "Client";
    this.studentName = options.studentName || "Student";
    this.whisperLabel = options.whisperLabel || "Whisper from the teacher";
    this.announce = options.announce || (() => {});
    this.onStreaming = options.onStreaming || (() => {});
    this.entries = new Map(); // "m:<message_id>" | "r:<reply_id>" | "c:<client_id>" -> entry
    this.streamingReplyId = null;
    this.emptyText = options.emptyText || "No messages yet.";
    this.showTimes = Boolean(options.showTimes);
    this.clear();
  }

  clear() {
    this.entries.clear();
    this.setStreaming(null);
    this.list.replaceChildren();
    this.empty = el("li", { class: "transcript__empty", text: this.emptyText });
    this.list.append(this.empty);
  }

  setClientName(name) {
    this.clientName = name;
    for (const entry of new Set(this.entries.values())) {
      if (entry.role === MessageRole.CLIENT) setText(entry.name, name);
    }
  }

  /** Render the text of every message, in order (tests and copy use this). */
  texts() {
    return [...this.list.querySelectorAll(".msg")].map((node) => node.querySelector(".msg__text").textContent);
  }

  /** A student's own turn before the server has echoed it. */
  addPending(clientId, text) {
    const entry = this.create(MessageRole.STUDENT, text);
    entry.node.classList.add("msg--pending");
    setText(entry.note, "Sending…");
    this.entries.set(`c:${clientId}`, entry);
    this.scroll(true);
    return entry;
  }

  /** Take back a pending turn the server refused. */
  removePending(clientId) {
    const entry = this.entries.get(`c:${clientId}`);
    if (!entry) return;
    entry.node.remove();
    this.entries.delete(`c:${clientId}`);
    if (!this.list.querySelector(".msg")) this.list.append(this.empty);
  }

  /** The reply being generated when we connected (welcome.streaming). */
  restoreStreaming(streaming) {
    if (!streaming) return;
    const entry = this.replyEntry(streaming.reply_id);
    entry.text = streaming.text || "";
    setText(entry.body, entry.text);
  }

  /** Handle one sequenced event; unknown types are ignored. */
  apply(event) {
    switch (event.type) {
      case EventType.MESSAGE:
        return this.message(event);
      case EventType.REPLY_START:
        return this.replyEntry(event.reply_id);
      case EventType.REPLY_DELTA:
        return this.delta(event);
      case EventType.REPLY_STOP:
        return this.stopping(event);
      case EventType.REPLY_DONE:
        return this.done(event);
      case EventType.REPLY_ERROR:
        return this.failed(event);
      default:
        return null;
    }
  }

  /** Render a stored transcript (a list of {role, text, ...} messages). */
  renderMessages(messages) {
    this.clear();
    for (const message of messages) this.message(message);
  }

  message(event) {
    const known =
      (event.client_id && this.entries.get(`c:${event.client_id}`)) ||
      (event.reply_id && this.entries.get(`r:${event.reply_id}`)) ||
      (event.message_id && this.entries.get(`m:${event.message_id}`));
    const role = event.role || MessageRole.CLIENT;
    const entry = known || this.create(role, event.text);
    entry.text = event.text ?? entry.text;
    setText(entry.body, entry.text);
    entry.node.classList.remove("msg--pending", "msg--streaming");
    entry.node.removeAttribute("aria-busy");
    setText(entry.note, event.failed ? "Reply interrupted." : event.stopped ? "Stopped before the end." : "");
    entry.node.classList.toggle("msg--failed", Boolean(event.failed));
    entry.node.classList.toggle("msg--stopped", Boolean(event.stopped) && !event.failed);
    if (this.showTimes && event.created_at) {
      const when = new Date(event.created_at);
      if (!Number.isNaN(when.getTime())) {
        entry.time.dateTime = event.created_at;
        setText(entry.time, when.toLocaleTimeString());
      }
    }
    if (event.message_id) {
      entry.node.dataset.messageId = event.message_id;
      this.entries.set(`m:${event.message_id}`, entry);
    }
    if (event.reply_id && this.streamingReplyId === event.reply_id) this.setStreaming(null);
    if (!known && role === MessageRole.WHISPER) this.announce(`${this.whisperLabel}: ${event.text}`);
    this.scroll(!known && role === MessageRole.STUDENT);
    return entry;
  }

  replyEntry(replyId) {
    let entry = this.entries.get(`r:${replyId}`);
    if (!entry) {
      entry = this.create(MessageRole.CLIENT, "");
      entry.node.dataset.replyId = replyId;
      entry.node.classList.add("msg--streaming");
      entry.node.setAttribute("aria-busy", "true");
      this.entries.set(`r:${replyId}`, entry);
      this.setStreaming(replyId);
      this.scroll(false);
    }
    return entry;
  }

  delta(event) {
    const entry = this.replyEntry(event.reply_id);
    if (!entry.node.classList.contains("msg--streaming")) return entry; // already final
    entry.text += event.text;
    setText(entry.body, entry.text);
    this.scroll(false);
    return entry;
  }

  stopping(event) {
    const entry = this.entries.get(`r:${event.reply_id}`);
    if (entry && entry.node.classList.contains("msg--streaming")) setText(entry.note, "Stopping…");
    return entry;
  }

  done(event) {
    const entry = this.replyEntry(event.reply_id);
    this.message({ ...event, role: MessageRole.CLIENT, stopped: event.stopped });
    this.announce(`${this.clientName}: ${entry.text}${event.stopped ? " (stopped)" : ""}`);
    return entry;
  }

  failed(event) {
    const entry = this.replyEntry(event.reply_id);
    entry.text = event.text || entry.text;
    setText(entry.body, entry.text);
    entry.node.classList.remove("msg--streaming");
    entry.node.classList.add("msg--failed");
    entry.node.removeAttribute("aria-busy");
    const why = `${this.clientName} could not answer${event.message ? `: ${event.message}` : "."}`;
    setText(entry.note, why);
    if (event.message_id) this.entries.set(`m:${event.message_id}`, entry);
    if (this.streamingReplyId === event.reply_id) this.setStreaming(null);
    this.announce(why);
    return entry;
  }

  create(role, text) {
    const name = el("span", { class: "msg__name", text: this.label(role) });
    const time = el("time", { class: "msg__time" });
    const who = el("p", { class: "msg__who" }, name, time);
    const body = el("p", { class: "msg__text", text: text || "" });
    const note = el("p", { class: "msg__note" });
    const node = el("li", { class: `msg msg--${role}`, dataset: { role } }, who, body, note);
    this.empty.remove();
    this.list.append(node);
    return { node, who, name, time, body, note, role, text: text || "" };
  }

  label(role) {
    if (role === MessageRole.STUDENT) return this.studentName;
    if (role === MessageRole.WHISPER) return this.whisperLabel;
    return this.clientName;
  }

  setStreaming(replyId) {
    if (this.streamingReplyId === replyId) return;
    this.streamingReplyId = replyId;
    this.onStreaming(replyId);
  }

  /** Keep the newest message in view unless the reader scrolled up to read. */
  scroll(force) {
    const list = this.list;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < NEAR_BOTTOM_PX * 3;
    if (force || nearBottom) list.scrollTop = list.scrollHeight;
  }
}
