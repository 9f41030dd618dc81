// Client profiles: list and create/edit form.

import { get, post, put } from "../api.js";
import { el, setText } from "../dom.js";
import { busy, clearErrors, field, formAlert, showApiError, showFieldErrors } from "./forms.js";
import { renderLibraryList } from "./library.js";

export function renderProfiles(view, ctx) {
  renderLibraryList(view, ctx, {
    title: "Client profiles",
    noun: "profile",
    api: "/api/profiles",
    route: "/profiles",
    intro: "Who the virtual client is: history, personality, and what they hide until trust is built.",
    describe: (p) =>
      [p.age != null ? `${p.age} years` : null, p.pronouns || null, `difficulty ${p.difficulty}/5`, p.presenting_problem || null]
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

export async function renderProfileForm(view, id, ctx) {
  let profile = {};
  if (id) {
    try {
      profile = await get(`/api/profiles/${encodeURIComponent(id)}`);
    } catch (error) {
      if (!ctx.alive()) return;
      view.append(el("p", { class: "alert alert--error", role: "alert", text: error.message }));
      return;
    }
    if (!ctx.alive()) return;
  }
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
    hidden_facts: field({
      name: "hidden_facts",
      label: "Hidden facts",
      type: "textarea",
      value: (profile.hidden_facts || []).join("\n"),
      hint: "One per line (up to 20). The client reveals these only as trust grows.",
      attrs: { rows: 4 },
    }),
    opening_line: field({ name: "opening_line", label: "Opening line", value: profile.opening_line, hint: "Optional: what the client says first." }),
  };
  const alert = formAlert();
  const submit = el("button", { type: "submit", class: "primary", text: id ? "Save changes" : "Create profile" });
  const form = el("form", { class: "card form-card", novalidate: true, "aria-labelledby": "profile-title" },
    el("h1", { id: "profile-title", text: id ? `Edit ${profile.name}` : "New client profile" }),
    alert,
    f.name.wrapper,
    el("div", { class: "grid-2" }, f.age.wrapper, f.pronouns.wrapper),
    f.difficulty.wrapper,
    f.presenting_problem.wrapper,
    f.background.wrapper,
    f.personality.wrapper,
    f.communication_style.wrapper,
    f.goals.wrapper,
    f.hidden_facts.wrapper,
    f.opening_line.wrapper,
    el("div", { class: "button-row" }, submit, el("a", { class: "button", href: "#/profiles", text: "Cancel" })),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    setText(alert, "");
    const local = {};
    if (!f.name.control.value.trim()) local.name = "Enter a name.";
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
      hidden_facts: f.hidden_facts.control.value.split("\n").map((line) => line.trim()).filter(Boolean),
      opening_line: f.opening_line.control.value,
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
  f.name.control.focus();
}
