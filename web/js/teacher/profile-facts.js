// The profile form's hidden facts: a list to add to, remove from and reorder (Move up /
// Move down buttons, so the keyboard can do everything a mouse can). Each fact has the
// teacher's note, an optional first-person disclosure, topics and the trust it needs.

import { el, setText } from "../dom.js";
import { field } from "./forms.js";

// The API's limit (server/profile_schemas.py MAX_HIDDEN_FACTS).
export const MAX_FACTS = 20;

const EMPTY = { fact: "", disclosure: "", topics: "", trust: "" };

/** A fact from the API as the editor holds it: every value as the input shows it. */
function fromApi(fact) {
  return {
    fact: fact.fact ?? "",
    disclosure: fact.disclosure ?? "",
    topics: (fact.topics || []).join(", "),
    trust: fact.trust_needed ?? "",
  };
}

/**
 * The hidden facts editor for `facts` (the API's structured facts).
 * Returns `{ element, body(), check() }`: `body()` is the `hidden_facts` list to send,
 * `check()` the browser's own field errors (blank facts), keyed like the API's `fields`.
 * `announce(text)` tells screen readers where a moved fact went.
 */
export function hiddenFactsEditor(facts, { announce }) {
  // Rebuilt from `model` after each add, remove and move, so every field path stays
  // index-true ("hidden_facts.2.trust_needed" names what the server names).
  let model = (facts || []).map(fromApi);
  const list = el("div", { class: "profile-facts" });
  const count = el("span", { class: "muted small", "aria-live": "polite" });
  const add = el("button", { type: "button", text: "Add hidden fact" });
  const element = el("section", { class: "profile-facts-editor", "aria-labelledby": "facts-title" },
    el("h2", { class: "h3", id: "facts-title", text: "Hidden facts" }),
    el("p", { class: "hint", text:
      "What the client keeps back until the student earns it. A fact comes out only once the " +
      "client's trust reaches its level; its topics say when it is relevant. Order the list " +
      "from the least to the most guarded." }),
    // Problems with the list as a whole ("at most 20 items") land here.
    el("span", { class: "field-error", dataset: { errorFor: "hidden_facts" } }),
    el("input", { type: "hidden", dataset: { field: "hidden_facts" } }),
    list,
    el("div", { class: "button-row" }, add, count),
  );

  function read() {
    model = [...list.querySelectorAll(".profile-fact")].map((box, i) => {
      const value = (name) => box.querySelector(`[data-field="hidden_facts.${i}.${name}"]`).value;
      return { fact: value("fact"), disclosure: value("disclosure"), topics: value("topics"), trust: value("trust_needed") };
    });
  }

  function draw(focus) {
    list.replaceChildren(...(model.length ? model.map(factBox) : [el("p", { class: "muted", text: "No hidden facts yet." })]));
    add.disabled = model.length >= MAX_FACTS;
    setText(count, `${model.length} of ${MAX_FACTS}`);
    if (focus) (list.querySelector(focus) || add).focus();
  }

  function move(from, to) {
    read();
    const [fact] = model.splice(from, 1);
    model.splice(to, 0, fact);
    const action = to < from ? "up" : "down";
    // Keep the keyboard on the button just pressed; at the end of the list it is
    // disabled, so take the other direction's button instead.
    const edge = (action === "up" && to === 0) || (action === "down" && to === model.length - 1);
    const other = action === "up" ? "down" : "up";
    draw(`[data-fact="${to}"] [data-action="${edge ? other : action}"]`);
    announce(`Hidden fact moved to position ${to + 1} of ${model.length}.`);
  }

  function factBox(fact, i) {
    const base = `hidden_facts.${i}`;
    const n = i + 1;
    const up = el("button", { type: "button", text: "Move up", "aria-label": `Move hidden fact ${n} up`, disabled: i === 0, dataset: { action: "up" } });
    const down = el("button", { type: "button", text: "Move down", "aria-label": `Move hidden fact ${n} down`, disabled: i === model.length - 1, dataset: { action: "down" } });
    const remove = el("button", { type: "button", class: "danger", text: "Remove", "aria-label": `Remove hidden fact ${n}`, dataset: { action: "remove" } });
    up.addEventListener("click", () => move(i, i - 1));
    down.addEventListener("click", () => move(i, i + 1));
    remove.addEventListener("click", () => {
      read();
      model.splice(i, 1);
      draw(model.length ? `[data-field="hidden_facts.${Math.max(0, i - 1)}.fact"]` : null);
      announce(`Hidden fact ${n} removed.`);
    });
    return el("fieldset", { class: "profile-fact", dataset: { fact: String(i) } },
      el("legend", { text: `Hidden fact ${n}` }),
      // Problems with the fact as a whole land here.
      el("span", { class: "field-error", dataset: { errorFor: base } }),
      el("input", { type: "hidden", dataset: { field: base } }),
      field({
        name: `${base}.fact`,
        label: "What the client keeps back",
        type: "textarea",
        value: fact.fact,
        required: true,
        hint: "Your note, in any person: “Their father died four months ago.”",
        attrs: { rows: 2 },
      }).wrapper,
      field({
        name: `${base}.disclosure`,
        label: "How they would say it",
        type: "textarea",
        value: fact.disclosure,
        hint: "Optional, in the client's own words: “My dad died in the spring.”",
        attrs: { rows: 2 },
      }).wrapper,
      el("div", { class: "profile-fact__meta" },
        field({
          name: `${base}.topics`,
          label: "Topics",
          value: fact.topics,
          hint: "Words or themes that make it relevant, separated by commas: father, funeral, grief.",
        }).wrapper,
        field({
          name: `${base}.trust_needed`,
          label: "Trust needed",
          type: "number",
          value: fact.trust,
          hint: "0 to 100. Empty: by its place (first 30, last 80).",
          attrs: { min: 0, max: 100, step: 1, inputmode: "numeric" },
        }).wrapper,
      ),
      el("div", { class: "button-row" }, up, down, remove),
    );
  }

  add.addEventListener("click", () => {
    read();
    model.push({ ...EMPTY });
    draw(`[data-field="hidden_facts.${model.length - 1}.fact"]`);
  });

  draw();
  return {
    element,
    check() {
      read();
      const problems = {};
      model.forEach((fact, i) => {
        if (!fact.fact.trim()) problems[`hidden_facts.${i}.fact`] = "Write what the client keeps back, or remove this fact.";
      });
      return problems;
    },
    body() {
      read();
      return model.map((fact) => ({
        fact: fact.fact.trim(),
        disclosure: fact.disclosure.trim(),
        topics: fact.topics,
        trust_needed: String(fact.trust).trim() === "" ? null : Number(fact.trust),
      }));
    },
  };
}
