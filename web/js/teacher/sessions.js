// Sessions list: status filter, badges, time and tokens left, lifecycle buttons, join links,
// a ZIP of the transcripts for the current filter, and this month's usage.
// Refreshes every few seconds; rows are updated in place so focus and selection survive.

import { get } from "../api.js";
import { downloadFile } from "../download.js";
import { el, setText } from "../dom.js";
import { formatClock, formatNumber, statusLabel } from "../format.js";
import { showStatusBadge } from "../status.js";
import { actionButton, allowed, canRestart, copyLinkButton, extendDialog, restartButton } from "./actions.js";
import { busy } from "./forms.js";
import { usagePanel } from "./usage.js";

/** 4 s: fresh enough to watch a class start, light enough for 200 rows. */
const REFRESH_MS = 4000;

export function renderSessions(view, ctx) {
  const statusFilter = el("select", { id: "status-filter" },
    ["", "created", "active", "paused", "completed", "expired"].map((s) =>
      el("option", { value: s, text: s ? s[0].toUpperCase() + s.slice(1) : "All statuses" })),
  );
  statusFilter.value = ctx.query.get("status") || "";
  const alert = el("div", { class: "alert alert--error", role: "alert" });
  const updated = el("span", { class: "small muted", "aria-live": "off" });
  const tbody = el("tbody");
  const emptyRow = el("tr", {}, el("td", { colspan: "7", class: "empty", text: "No sessions yet. Create one to get a join link." }));
  const observeSelected = el("button", { type: "button", text: "Observe selected", disabled: true });
  const zipButton = el("button", { type: "button", id: "download-zip" });
  const zipStatus = el("span", { class: "small muted", role: "status" });
  const usage = usagePanel();
  const rows = new Map(); // session id -> {tr, update(session)}
  const selected = new Set();
  let profiles = new Map();

  view.append(
    el("div", { class: "view-head" },
      el("h1", { text: "Sessions" }),
      el("div", { class: "button-row" },
        observeSelected,
        el("a", { class: "button primary", href: "#/sessions/new", text: "New session" }),
      ),
    ),
    el("div", { class: "filters" },
      el("div", { class: "field" }, el("label", { for: "status-filter", text: "Show" }), statusFilter),
      el("div", { class: "zip-download" }, zipButton, zipStatus),
      updated,
    ),
    alert,
    el("div", { class: "table-wrap" },
      el("table", { class: "sessions-table", "aria-label": "Sessions" },
        el("thead", {}, el("tr", {},
          el("th", {}, el("span", { class: "visually-hidden", text: "Select to observe" })),
          el("th", { text: "Student" }),
          el("th", { text: "Client" }),
          el("th", { text: "Status" }),
          el("th", { text: "Time left" }),
          el("th", { text: "Tokens left" }),
          el("th", { text: "Actions" }),
        )),
        tbody,
      ),
    ),
    usage.root,
  );

  function labelZip() {
    const status = statusFilter.value;
    setText(zipButton, status ? `Download ${statusLabel(status).toLowerCase()} transcripts (.zip)` : "Download all transcripts (.zip)");
  }
  labelZip();
  zipButton.addEventListener("click", async () => {
    const status = statusFilter.value;
    setText(zipStatus, "Preparing…");
    try {
      const name = await busy(zipButton, () =>
        downloadFile(`/api/transcripts.zip${status ? `?status=${encodeURIComponent(status)}` : ""}`, "transcripts.zip"));
      setText(zipStatus, `Downloaded ${name}.`);
      setText(alert, "");
    } catch (error) {
      setText(zipStatus, "");
      report(error);
    }
  });

  statusFilter.addEventListener("change", () => {
    const status = statusFilter.value;
    history.replaceState(null, "", status ? `#/sessions?status=${status}` : "#/sessions");
    labelZip();
    setText(zipStatus, "");
    load();
  });
  observeSelected.addEventListener("click", () => {
    const query = new URLSearchParams([...selected].map((id) => ["id", id]));
    ctx.navigate(`#/observe?${query}`);
  });

  const report = (error) => {
    if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
    setText(alert, error.message);
  };

  function row(session) {
    let current = session;
    const checkbox = el("input", { type: "checkbox", "aria-label": `Observe ${session.student_name}` });
    checkbox.addEventListener("change", () => {
      if (checkbox.checked) selected.add(current.id);
      else selected.delete(current.id);
      observeSelected.disabled = selected.size === 0;
      setText(observeSelected, selected.size ? `Observe selected (${selected.size})` : "Observe selected");
    });
    const student = el("td", { class: "strong" });
    const studentName = el("span");
    const attemptTag = el("span", { class: "attempt-tag small muted" });
    student.append(studentName, attemptTag);
    const client = el("td", { dataset: { label: "Client" } });
    const badge = el("span", { class: "badge" });
    const time = el("td", { class: "num", dataset: { label: "Time left" } });
    const tokens = el("td", { class: "num", dataset: { label: "Tokens left" } });
    // Each action's toast announces it, or its failure (actions.js); the row just shows
    // the result, and no inline alert moves the table.
    const onDone = (updatedSession) => {
      setText(alert, "");
      update(updatedSession);
    };
    const buttons = {
      start: actionButton("start", () => current, { onDone }),
      pause: actionButton("pause", () => current, { onDone }),
      resume: actionButton("resume", () => current, { onDone }),
      end: actionButton("end", () => current, { onDone }),
      extend: el("button", { type: "button", text: "Extend", dataset: { action: "extend" } }),
      link: copyLinkButton(() => current.join_url),
      restart: restartButton(() => current, { onDone: () => load() }),
      observe: el("a", { class: "button", href: `#/observe/${session.id}`, text: "Observe" }),
      review: el("a", { class: "button", href: `#/sessions/${session.id}`, text: "Review" }),
    };
    buttons.extend.addEventListener("click", async () => {
      const result = await extendDialog(current);
      if (result) onDone(result);
    });
    const tr = el("tr", { dataset: { sessionId: session.id } },
      el("td", {}, checkbox), student, client, el("td", {}, badge), time, tokens,
      el("td", {}, el("div", { class: "button-row" }, Object.values(buttons))),
    );

    function update(next) {
      current = next;
      setText(studentName, next.student_name);
      // "attempt 2 of 3": which try this row is; older attempts say a later one exists.
      const replaced = next.latest_attempt_id && next.latest_attempt_id !== next.id;
      setText(attemptTag, next.attempt > 1 || replaced ? ` · attempt ${next.attempt}${replaced ? " (restarted)" : ""}` : "");
      setText(client, profiles.get(next.profile_id) || "—");
      showStatusBadge(badge, next.status);
      const live = next.status === "active" || next.status === "paused" || next.status === "created";
      setText(time, live ? formatClock(next.seconds_left) : "—");
      setText(tokens, formatNumber(next.tokens_left));
      const latest = !next.latest_attempt_id || next.latest_attempt_id === next.id;
      for (const action of ["start", "pause", "resume", "end", "extend", "link"]) {
        buttons[action].hidden = !allowed(action, next.status) || (action === "extend" && !latest);
      }
      buttons.restart.hidden = !canRestart(next);
      buttons.observe.hidden = !live;
    }
    update(session);
    return { tr, update };
  }

  async function load() {
    if (!ctx.alive()) return;
    const status = statusFilter.value;
    try {
      if (!profiles.size) {
        const { items } = await get("/api/profiles");
        profiles = new Map(items.map((p) => [p.id, p.name]));
      }
      const page = await get(`/api/sessions?limit=200${status ? `&status=${status}` : ""}`);
      if (!ctx.alive()) return;
      setText(alert, "");
      const seen = new Set();
      page.items.forEach((session, index) => {
        seen.add(session.id);
        let entry = rows.get(session.id);
        if (!entry) {
          entry = row(session);
          rows.set(session.id, entry);
        } else {
          entry.update(session);
        }
        // Move a row only when the order changed: moving a node drops keyboard focus.
        const at = tbody.children[index];
        if (at !== entry.tr) tbody.insertBefore(entry.tr, at || null);
      });
      for (const [id, entry] of rows) {
        if (!seen.has(id)) {
          entry.tr.remove();
          rows.delete(id);
        }
      }
      if (!page.items.length) tbody.append(emptyRow);
      else emptyRow.remove();
      setText(updated, `Updated ${new Date().toLocaleTimeString()}`);
    } catch (error) {
      if (ctx.alive()) report(error);
    }
  }

  load();
  const timer = setInterval(() => {
    if (document.visibilityState === "visible") load();
  }, REFRESH_MS);
  return () => {
    clearInterval(timer);
    usage.destroy();
  };
}
