// Create-session form with a short guide to choosing time and token budgets.

import { get, post } from "../api.js";
import { el, setText } from "../dom.js";
import { formatNumber } from "../format.js";
import { actionButton, copyLinkButton } from "./actions.js";
import { busy, clearErrors, field, formAlert, showApiError, showFieldErrors } from "./forms.js";
import { describeModel, modelOptions } from "./models.js";

// The server's defaults (SESSION_MIN/MAX_SECONDS, TOKEN_BUDGET_MIN/MAX), used only if
// GET /api/me answers without `limits`; the server's 422 still has the last word.
const FALLBACK_LIMITS = {
  time_limit_seconds_min: 300,
  time_limit_seconds_max: 10800,
  token_budget_min: 1000,
  token_budget_max: 200000,
};

const PRESETS = [
  { label: "Short practice", minutes: 15, tokens: 15000 },
  { label: "Standard interview", minutes: 30, tokens: 40000 },
  { label: "Long interview", minutes: 60, tokens: 90000 },
];

/** The site's limits in the form's units: whole minutes and tokens. */
export function formLimits(limits) {
  const l = { ...FALLBACK_LIMITS, ...(limits || {}) };
  const minMinutes = Math.max(1, Math.ceil(l.time_limit_seconds_min / 60));
  return {
    minMinutes,
    maxMinutes: Math.max(minMinutes, Math.floor(l.time_limit_seconds_max / 60)),
    minTokens: l.token_budget_min,
    maxTokens: l.token_budget_max,
  };
}

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

function fits(preset, lim) {
  return preset.minutes >= lim.minMinutes && preset.minutes <= lim.maxMinutes
    && preset.tokens >= lim.minTokens && preset.tokens <= lim.maxTokens;
}

function guide(lim, onPick) {
  const presets = PRESETS.filter((preset) => fits(preset, lim));
  return el("aside", { class: "card guide", "aria-labelledby": "guide-title" },
    el("h2", { id: "guide-title", text: "Choosing time and tokens" }),
    el("ul", {},
      el("li", { text: "Time counts only while the session is active; pauses stop the clock." }),
      el("li", {
        text: "Tokens measure how much the AI reads and writes. Each reply re-reads the conversation, so later turns cost more: a 30-minute interview of about 20 exchanges uses roughly 20,000–40,000 tokens.",
      }),
      el("li", { text: "When either runs out the session expires; you can extend it, which reopens it." }),
      el("li", { class: "guide__limits", text: `This site allows ${lim.minMinutes}–${lim.maxMinutes} minutes and ${formatNumber(lim.minTokens)}–${formatNumber(lim.maxTokens)} tokens per session.` }),
    ),
    presets.length ? null : el("p", { class: "small muted", text: "None of the usual presets fits this site's limits." }),
    el("div", { class: "presets" },
      presets.map((preset) => {
        const button = el("button", {
          type: "button",
          text: `${preset.label}: ${preset.minutes} min, ${formatNumber(preset.tokens)} tokens`,
        });
        button.addEventListener("click", () => onPick(preset));
        return button;
      }),
    ),
  );
}

export async function renderSessionForm(view, ctx) {
  let profiles;
  let rubrics;
  let me;
  let models;
  try {
    // /api/me is asked again (not ctx.user): the login answer carries no limits.
    [profiles, rubrics, me, models] = await Promise.all([get("/api/profiles"), get("/api/rubrics"), get("/api/me"), get("/api/models")]);
  } catch (error) {
    if (!ctx.alive()) return;
    if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
    view.append(el("p", { class: "alert alert--error", role: "alert", text: error.message }));
    return;
  }
  if (!ctx.alive()) return;
  const lim = formLimits(me?.limits);
  const options = (items, noun) => [["", `Choose a ${noun}…`], ...items.map((i) => [i.id, i.name])];
  const f = {
    profile_id: field({ name: "profile_id", label: "Client profile", type: "select", required: true, options: options(profiles.items, "profile") }),
    rubric_id: field({ name: "rubric_id", label: "Rubric", type: "select", required: true, options: options(rubrics.items, "rubric") }),
    model: field({ name: "model", label: "AI model", type: "select", value: models.default, options: modelOptions(models), hint: describeModel(models, models.default) }),
    student_name: field({ name: "student_name", label: "Student name", required: true }),
    student_email: field({ name: "student_email", label: "Student email", type: "email", hint: "Optional." }),
    time_limit_seconds: field({
      name: "time_limit_seconds",
      label: "Time limit (minutes)",
      type: "number",
      value: String(clamp(30, lim.minMinutes, lim.maxMinutes)),
      required: true,
      hint: `${lim.minMinutes}–${lim.maxMinutes} minutes of active time.`,
      attrs: { min: lim.minMinutes, max: lim.maxMinutes, step: 1, inputmode: "numeric" },
    }),
    token_budget: field({
      name: "token_budget",
      label: "Token budget",
      type: "number",
      value: String(clamp(40000, lim.minTokens, lim.maxTokens)),
      required: true,
      hint: `${formatNumber(lim.minTokens)}–${formatNumber(lim.maxTokens)} tokens.`,
      attrs: { min: lim.minTokens, max: lim.maxTokens, step: 1000, inputmode: "numeric" },
    }),
    instructions: field({
      name: "instructions",
      label: "Instructions for the client",
      type: "textarea",
      hint: "Optional: anything this session should do differently (e.g. 'be more irritable today').",
    }),
  };
  // A checkbox reads best with its label after it: built here, not with field().
  const mayRestart = el("input", { type: "checkbox", id: "student-may-restart", name: "student_may_restart", "aria-describedby": "student-may-restart-hint", dataset: { field: "student_may_restart" } });
  const mayRestartField = el("div", { class: "field field--check" },
    el("label", { for: "student-may-restart" }, mayRestart, " Let the student restart the session"),
    el("span", { class: "hint", id: "student-may-restart-hint", text: "They can then start a new attempt themselves, with a fresh clock and token budget; every attempt's transcript and feedback are kept." }),
    el("span", { class: "field-error", dataset: { errorFor: "student_may_restart" } }),
  );
  // The model follows the chosen profile's default (if the catalog still offers it).
  const modelHint = f.model.wrapper.querySelector(".hint");
  const showModel = () => setText(modelHint, describeModel(models, f.model.control.value));
  const followProfile = () => {
    const profile = profiles.items.find((p) => p.id === f.profile_id.control.value);
    const preferred = profile?.default_model;
    f.model.control.value = models.items.some((m) => m.id === preferred) ? preferred : models.default;
    showModel();
  };
  f.model.control.addEventListener("change", showModel);
  f.profile_id.control.addEventListener("change", followProfile);
  if (profiles.items.length === 1) {
    f.profile_id.control.value = profiles.items[0].id;
    followProfile();
  }
  if (rubrics.items.length === 1) f.rubric_id.control.value = rubrics.items[0].id;
  const alert = formAlert();
  const submit = el("button", { type: "submit", class: "primary", text: "Create session" });
  const missing = [];
  if (!profiles.items.length) missing.push(el("a", { href: "#/profiles/new", text: "create a client profile" }));
  if (!rubrics.items.length) missing.push(el("a", { href: "#/rubrics/new", text: "create a rubric" }));
  const form = el("form", { class: "card form-card", novalidate: true, "aria-labelledby": "session-title" },
    el("h1", { id: "session-title", text: "New session" }),
    missing.length ? el("p", { class: "alert alert--warn" }, "First ", missing.flatMap((a, i) => (i ? [" and ", a] : [a])), ".") : null,
    alert,
    el("div", { class: "grid-2" }, f.profile_id.wrapper, f.rubric_id.wrapper),
    f.model.wrapper,
    el("div", { class: "grid-2" }, f.student_name.wrapper, f.student_email.wrapper),
    el("div", { class: "grid-2" }, f.time_limit_seconds.wrapper, f.token_budget.wrapper),
    f.instructions.wrapper,
    mayRestartField,
    el("div", { class: "button-row" }, submit, el("a", { class: "button", href: "#/sessions", text: "Cancel" })),
  );
  const layout = el("div", { class: "session-new" }, form, guide(lim, (preset) => {
    f.time_limit_seconds.control.value = String(preset.minutes);
    f.token_budget.control.value = String(preset.tokens);
    ctx.announce(`${preset.label} selected: ${preset.minutes} minutes, ${formatNumber(preset.tokens)} tokens.`);
  }));

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    setText(alert, "");
    const minutes = Number(f.time_limit_seconds.control.value);
    const tokens = Number(f.token_budget.control.value);
    const local = {};
    if (!f.profile_id.control.value) local.profile_id = "Choose a client profile.";
    if (!f.rubric_id.control.value) local.rubric_id = "Choose a rubric.";
    if (!f.student_name.control.value.trim()) local.student_name = "Enter the student's name.";
    if (f.time_limit_seconds.control.value === "" || !Number.isInteger(minutes) || minutes < lim.minMinutes || minutes > lim.maxMinutes) {
      local.time_limit_seconds = `Enter whole minutes from ${lim.minMinutes} to ${lim.maxMinutes}.`;
    }
    if (f.token_budget.control.value === "" || !Number.isInteger(tokens) || tokens < lim.minTokens || tokens > lim.maxTokens) {
      local.token_budget = `Enter a whole number from ${formatNumber(lim.minTokens)} to ${formatNumber(lim.maxTokens)}.`;
    }
    if (Object.keys(local).length) {
      showFieldErrors(form, local);
      setText(alert, "Some fields are not valid. See the highlighted fields.");
      return;
    }
    const body = {
      profile_id: f.profile_id.control.value,
      rubric_id: f.rubric_id.control.value,
      student_name: f.student_name.control.value.trim(),
      student_email: f.student_email.control.value.trim() || null,
      time_limit_seconds: minutes * 60,
      token_budget: tokens,
      model: f.model.control.value,
      instructions: f.instructions.control.value,
      student_may_restart: mayRestart.checked,
    };
    await busy(submit, async () => {
      try {
        const session = await post("/api/sessions", body);
        if (ctx.alive()) showCreated(view, session, ctx);
      } catch (error) {
        if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
        showApiError(form, alert, error);
      }
    });
  });
  view.append(layout);
  f.profile_id.control.focus();
}

function showCreated(view, session, ctx) {
  const link = el("input", { type: "text", readonly: true, id: "join-link" });
  link.value = session.join_url;
  link.addEventListener("focus", () => link.select());
  const started = el("p", { class: "small muted", role: "status" });
  const start = actionButton("start", () => session, {
    label: "Start session now",
    onDone: () => {
      start.hidden = true;
      setText(started, "Started. The clock is running.");
    },
    onError: (error) => setText(started, error.message),
  });
  const card = el("section", { class: "card form-card", "aria-labelledby": "created-title", tabindex: "-1" },
    el("h1", { id: "created-title", text: "Session created" }),
    el("p", { text: `Send this link to ${session.student_name}. It opens their chat; the session starts when you start it.` }),
    el("div", { class: "join-link" }, el("label", { for: "join-link", class: "visually-hidden", text: "Join link" }), link),
    el("div", { class: "button-row" },
      copyLinkButton(() => session.join_url, ctx.announce),
      start,
      el("a", { class: "button", href: `#/observe/${session.id}`, text: "Observe" }),
      el("a", { class: "button", href: "#/sessions", text: "All sessions" }),
    ),
    started,
  );
  view.replaceChildren(card);
  card.focus();
  ctx.announce("Session created.");
}
