// Client profiles: list and create/edit form.

import { get, post, put } from "../api.js";
import { el, setText } from "../dom.js";
import { busy, clearErrors, field, formAlert, showApiError, showFieldErrors } from "./forms.js";
import { renderLibraryList } from "./library.js";
import { describeModel, modelOptions } from "./models.js";
import { hiddenFactsEditor } from "./profile-facts.js";
import { profileFilesSection } from "./profile-files.js";

export function renderProfiles(view, ctx) {
  renderLibraryList(view, ctx, {
    title: "Client profiles",
    noun: "profile",
    api: "/api/profiles",
    route: "/profiles",
    intro: "Who the virtual client is: history, personality, and what they hide until trust is built.",
    describe: (p) =>
      [
        p.age != null ? `${p.age} years` : null,
        p.pronouns || null,
        `difficulty ${p.difficulty}/5`,
        p.style && p.style !== "plain" ? `style: ${p.style}` : null,
        p.presenting_problem || null,
      ]
        .filter(Boolean)
        .join(" · "),
  });
}

const DIFFICULTY = [
  ["1", "1 – open and talkative"],
  ["2", "2 – fairly open"],
  ["3", "3 – guarded at first"],
  ["4", "4 – reluctant"],
  ["5", "5 – very hard to reach"],
];

// llm/base.py STYLES, the conversational presets the client plays.
const STYLES = [
  ["plain", "Plain – answers what is asked"],
  ["upset", "Upset – irritable, quick to feel judged"],
  ["verbose", "Verbose – long, detailed answers"],
  ["reserved", "Reserved – short answers, volunteers little"],
  ["tangent", "Tangent – drifts off to other subjects"],
  ["pleasing", "Pleasing – agrees, says what they think you want to hear"],
];

export async function renderProfileForm(view, id, ctx) {
  let profile = {};
  let models;
  try {
    [profile, models] = await Promise.all([
      id ? get(`/api/profiles/${encodeURIComponent(id)}`) : Promise.resolve({}),
      get("/api/models"),
    ]);
  } catch (error) {
    if (!ctx.alive()) return;
    view.append(el("p", { class: "alert alert--error", role: "alert", text: error.message }));
    return;
  }
  if (!ctx.alive()) return;
  const siteDefault = models.items.find((m) => m.id === models.default);
  const f = {
    name: field({ name: "name", label: "Name", value: profile.name, required: true, hint: "How the student will address the client." }),
    age: field({ name: "age", label: "Age", type: "number", value: profile.age ?? "", attrs: { inputmode: "numeric" } }),
    pronouns: field({ name: "pronouns", label: "Pronouns", value: profile.pronouns }),
    difficulty: field({ name: "difficulty", label: "Difficulty", type: "select", value: String(profile.difficulty ?? 3), options: DIFFICULTY }),
    presenting_problem: field({ name: "presenting_problem", label: "Presenting problem", type: "textarea", value: profile.presenting_problem }),
    background: field({ name: "background", label: "Background", type: "textarea", value: profile.background }),
    personality: field({ name: "personality", label: "Personality", type: "textarea", value: profile.personality }),
    communication_style: field({ name: "communication_style", label: "Communication style", type: "textarea", value: profile.communication_style }),
    goals: field({ name: "goals", label: "Goals", type: "textarea", value: profile.goals }),
    style: field({
      name: "style",
      label: "Conversational style",
      type: "select",
      value: profile.style ?? "plain",
      options: STYLES,
      hint: "How the client talks, on top of the personality above.",
    }),
    avoid: field({
      name: "avoid",
      label: "Topics they avoid",
      value: (profile.avoid || []).join(", "),
      hint: "Separated by commas: the client steers away when these come up (religion, their ex-partner).",
    }),
    opening_line: field({ name: "opening_line", label: "Opening line", value: profile.opening_line, hint: "Optional: what the client says first." }),
    default_model: field({
      name: "default_model",
      label: "Default AI model",
      type: "select",
      value: profile.default_model ?? "",
      options: [["", `The site's default${siteDefault ? ` (${siteDefault.name})` : ""}`], ...modelOptions(models)],
      hint: "What the session form picks for this client; each session can still choose another.",
    }),
  };
  const modelHint = f.default_model.wrapper.querySelector(".hint");
  const hintText = modelHint.textContent;
  f.default_model.control.addEventListener("change", () => {
    const chosen = f.default_model.control.value;
    setText(modelHint, chosen ? describeModel(models, chosen) : hintText);
  });
  const facts = hiddenFactsEditor(profile.hidden_facts, { announce: ctx.announce });
  const alert = formAlert();
  const submit = el("button", { type: "submit", class: "primary", text: id ? "Save changes" : "Create profile" });
  const form = el("form", { class: "card form-card", novalidate: true, "aria-labelledby": "profile-title" },
    el("h1", { id: "profile-title", text: id ? `Edit ${profile.name}` : "New client profile" }),
    alert,
    f.name.wrapper,
    el("div", { class: "grid-2" }, f.age.wrapper, f.pronouns.wrapper),
    el("div", { class: "grid-2" }, f.difficulty.wrapper, f.style.wrapper),
    f.presenting_problem.wrapper,
    f.background.wrapper,
    f.personality.wrapper,
    f.communication_style.wrapper,
    f.goals.wrapper,
    facts.element,
    f.avoid.wrapper,
    f.opening_line.wrapper,
    f.default_model.wrapper,
    el("div", { class: "button-row" }, submit, el("a", { class: "button", href: "#/profiles", text: "Cancel" })),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    setText(alert, "");
    const local = {};
    if (!f.name.control.value.trim()) local.name = "Enter a name.";
    Object.assign(local, facts.check());
    if (Object.keys(local).length) {
      showFieldErrors(form, local);
      setText(alert, "Some fields are not valid. See the highlighted fields.");
      return;
    }
    const ageText = f.age.control.value.trim();
    const body = {
      name: f.name.control.value.trim(),
      age: ageText === "" ? null : Number(ageText),
      pronouns: f.pronouns.control.value.trim(),
      difficulty: Number(f.difficulty.control.value),
      presenting_problem: f.presenting_problem.control.value,
      background: f.background.control.value,
      personality: f.personality.control.value,
      communication_style: f.communication_style.control.value,
      goals: f.goals.control.value,
      style: f.style.control.value,
      hidden_facts: facts.body(),
      avoid: f.avoid.control.value,
      opening_line: f.opening_line.control.value,
      default_model: f.default_model.control.value || null,
    };
    await busy(submit, async () => {
      try {
        const saved = id ? await put(`/api/profiles/${encodeURIComponent(id)}`, body) : await post("/api/profiles", body);
        ctx.announce(`Saved ${saved.name}.`);
        ctx.navigate("#/profiles");
      } catch (error) {
        if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
        showApiError(form, alert, error);
      }
    });
  });
  view.append(form);
  if (id) view.append(profileFilesSection(id, ctx));
  f.name.control.focus();
}
