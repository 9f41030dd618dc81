// Teacher app shell: hash routing, the logged-in user, the nav.

import { get, post } from "../api.js";
import { byId, setText } from "../dom.js";
import { renderLogin } from "./login.js";
import { renderObserve } from "./observe.js";
import { renderProfileForm, renderProfiles } from "./profiles.js";
import { renderProgress } from "./progress.js";
import { renderReview } from "./review.js";
import { renderRubricForm, renderRubrics } from "./rubrics.js";
import { renderSessionForm } from "./session-form.js";
import { renderSessions } from "./sessions.js";

const view = byId("view");
const nav = byId("nav");
const account = byId("account");
let user = null;
let cleanup = null;
let routeToken = 0;

/** [pattern, nav key, render(view, params, ctx) -> cleanup?]; first match wins. */
const ROUTES = [
  [/^\/sessions\/new$/, "sessions", (v, _p, ctx) => renderSessionForm(v, ctx)],
  [/^\/sessions\/([^/]+)$/, "sessions", (v, p, ctx) => renderReview(v, p[1], ctx)],
  [/^\/sessions$/, "sessions", (v, _p, ctx) => renderSessions(v, ctx)],
  [/^\/observe\/([^/]+)$/, "observe", (v, p, ctx) => renderObserve(v, [p[1]], ctx, { single: true })],
  [/^\/observe$/, "observe", (v, _p, ctx) => renderObserve(v, ctx.query.getAll("id"), ctx)],
  [/^\/profiles\/new$/, "profiles", (v, _p, ctx) => renderProfileForm(v, null, ctx)],
  [/^\/profiles\/([^/]+)$/, "profiles", (v, p, ctx) => renderProfileForm(v, p[1], ctx)],
  [/^\/profiles$/, "profiles", (v, _p, ctx) => renderProfiles(v, ctx)],
  [/^\/rubrics\/new$/, "rubrics", (v, _p, ctx) => renderRubricForm(v, null, ctx)],
  [/^\/rubrics\/([^/]+)$/, "rubrics", (v, p, ctx) => renderRubricForm(v, p[1], ctx)],
  [/^\/rubrics$/, "rubrics", (v, _p, ctx) => renderRubrics(v, ctx)],
  [/^\/progress$/, "progress", (v, _p, ctx) => renderProgress(v, ctx)],
];

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

export function announce(text) {
  const announcer = byId("announcer");
  announcer.textContent = "";
  requestAnimationFrame(() => {
    announcer.textContent = text;
  });
}

function parseHash() {
  const raw = location.hash.replace(/^#/, "") || "/sessions";
  const [path, search = ""] = raw.split("?");
  return { path: path || "/sessions", query: new URLSearchParams(search) };
}

function showShell(loggedIn) {
  nav.hidden = !loggedIn;
  account.hidden = !loggedIn;
  setText(byId("account-name"), loggedIn ? user.name || user.email : "");
}

async function route() {
  if (typeof cleanup === "function") cleanup();
  cleanup = null;
  view.classList.remove("wide");
  const { path, query } = parseHash();
  if (!user && path !== "/login") {
    try {
      user = await get("/api/me");
    } catch {
      user = null;
    }
    if (!user) {
      navigate(`#/login?next=${encodeURIComponent(path + (query.toString() ? `?${query}` : ""))}`);
      return;
    }
  }
  const token = ++routeToken;
  // Async views check ctx.alive() after each await: the user may have navigated away.
  const ctx = { navigate, announce, query, user, onLogin, alive: () => token === routeToken };
  if (path === "/login") {
    showShell(false);
    cleanup = renderLogin(view, ctx);
    return;
  }
  showShell(true);
  for (const [pattern, key, render] of ROUTES) {
    const match = path.match(pattern);
    if (!match) continue;
    for (const link of nav.querySelectorAll("a")) {
      if (link.dataset.nav === key) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
    view.replaceChildren();
    cleanup = render(view, match.map(decodeURIComponent), ctx);
    if (!view.contains(document.activeElement)) view.focus({ preventScroll: true });
    return;
  }
  navigate("#/sessions");
}

function onLogin(loggedIn, next) {
  user = loggedIn;
  navigate(next && next.startsWith("/") && next !== "/login" ? `#${next}` : "#/sessions");
}

byId("logout").addEventListener("click", async () => {
  try {
    await post("/api/auth/logout");
  } finally {
    user = null;
    navigate("#/login");
  }
});

// A 401 anywhere after login means the cookie expired: views call this to go to login.
window.addEventListener("vc:unauthorized", () => {
  user = null;
  navigate(`#/login?next=${encodeURIComponent(parseHash().path)}`);
});

window.addEventListener("hashchange", route);
route();
