// Rubrics: list and create/edit form (criteria with scored levels).

import { get, post, put } from "../api.js";
import { el, setText } from "../dom.js";
import { busy, clearErrors, field, formAlert, showApiError, showFieldErrors } from "./forms.js";
import { renderLibraryList } from "./library.js";

export function renderRubrics(view, ctx) {
  renderLibraryList(view, ctx, {
    title: "Rubrics",
    noun: "rubric",
    api: "/api/rubrics",
    route: "/rubrics",
    intro: "How an interview is assessed: weighted criteria, each with scored levels.",
    describe: (r) => `${r.criteria.length} criteria: ${r.criteria.map((c) => c.name).join(", ")}`,
  });
}

const NEW_CRITERION = {
  name: "",
  description: "",
  weight: 1,
  levels: [
    { score: 3, descriptor: "" },
    { score: 2, descriptor: "" },
    { score: 1, descriptor: "" },
  ],
};

export async function renderRubricForm(view, id, ctx) {
  let rubric = { name: "", description: "", criteria: [structuredClone(NEW_CRITERION)] };
  if (id) {
    try {
      rubric = await get(`/api/rubrics/${encodeURIComponent(id)}`);
    } catch (error) {
      if (ctx.alive()) view.append(el("p", { class: "alert alert--error", role: "alert", text: error.message }));
      return;
    }
    if (!ctx.alive()) return;
  }
  const name = field({ name: "name", label: "Rubric name", value: rubric.name, required: true });
  const description = field({ name: "description", label: "Description", type: "textarea", value: rubric.description });
  const criteriaBox = el("div", { class: "criteria" });
  const addCriterion = el("button", { type: "button", text: "Add criterion" });
  const alert = formAlert();
  const submit = el("button", { type: "submit", class: "primary", text: id ? "Save changes" : "Create rubric" });
  const form = el("form", { class: "card form-card", novalidate: true, "aria-labelledby": "rubric-title" },
    el("h1", { id: "rubric-title", text: id ? `Edit ${rubric.name}` : "New rubric" }),
    alert,
    name.wrapper,
    description.wrapper,
    criteriaBox,
    el("div", { class: "button-row" }, addCriterion),
    el("hr"),
    el("div", { class: "button-row" }, submit, el("a", { class: "button", href: "#/rubrics", text: "Cancel" })),
  );

  // The form is rebuilt from `model` after each add/remove so field paths stay index-true
  // ("criteria.1.levels.0.score" must name what the server names).
  let model = rubric.criteria.map((c) => ({
    name: c.name,
    description: c.description,
    weight: c.weight,
    levels: c.levels.map((l) => ({ ...l })),
  }));

  function readModel() {
    model = [...criteriaBox.querySelectorAll(".criterion")].map((box, i) => ({
      name: box.querySelector(`[data-field="criteria.${i}.name"]`).value,
      description: box.querySelector(`[data-field="criteria.${i}.description"]`).value,
      weight: box.querySelector(`[data-field="criteria.${i}.weight"]`).value,
      levels: [...box.querySelectorAll(".level-row")].map((row, j) => ({
        score: row.querySelector(`[data-field="criteria.${i}.levels.${j}.score"]`).value,
        descriptor: row.querySelector(`[data-field="criteria.${i}.levels.${j}.descriptor"]`).value,
      })),
    }));
  }

  function drawCriteria(focusPath) {
    criteriaBox.replaceChildren(...model.map((criterion, i) => criterionBox(criterion, i)));
    if (focusPath) criteriaBox.querySelector(`[data-field="${focusPath}"]`)?.focus();
  }

  function criterionBox(criterion, i) {
    const base = `criteria.${i}`;
    const remove = el("button", { type: "button", class: "danger", text: "Remove criterion", disabled: model.length <= 1 });
    remove.addEventListener("click", () => {
      readModel();
      model.splice(i, 1);
      drawCriteria(`criteria.${Math.max(0, i - 1)}.name`);
    });
    const addLevel = el("button", { type: "button", text: "Add level", disabled: criterion.levels.length >= 10 });
    addLevel.addEventListener("click", () => {
      readModel();
      const lowest = Math.min(...model[i].levels.map((l) => Number(l.score) || 0));
      model[i].levels.push({ score: Math.max(0, lowest - 1), descriptor: "" });
      drawCriteria(`${base}.levels.${model[i].levels.length - 1}.descriptor`);
    });
    const levels = criterion.levels.map((level, j) => {
      const score = field({ name: `${base}.levels.${j}.score`, label: "Score", type: "number", value: level.score, attrs: { min: 0, max: 100 } });
      const descriptor = field({ name: `${base}.levels.${j}.descriptor`, label: "Descriptor", value: level.descriptor });
      const drop = el("button", { type: "button", text: "Remove", "aria-label": `Remove level ${j + 1}`, disabled: criterion.levels.length <= 1 });
      drop.addEventListener("click", () => {
        readModel();
        model[i].levels.splice(j, 1);
        drawCriteria(`${base}.levels.${Math.max(0, j - 1)}.descriptor`);
      });
      return el("div", { class: "level-row" }, score.wrapper, descriptor.wrapper, drop);
    });
    return el("fieldset", { class: "criterion" },
      el("legend", { text: `Criterion ${i + 1}` }),
      el("div", { class: "grid-2" },
        field({ name: `${base}.name`, label: "Name", value: criterion.name, required: true }).wrapper,
        field({ name: `${base}.weight`, label: "Weight", type: "number", value: criterion.weight, attrs: { step: "0.5", min: "0.5" } }).wrapper,
      ),
      field({ name: `${base}.description`, label: "What it looks for", type: "textarea", value: criterion.description, attrs: { rows: 2 } }).wrapper,
      el("p", { class: "label", text: "Levels (highest score first)" }),
      // The server reports "each level needs a different score" on the levels list itself.
      el("span", { class: "field-error", dataset: { errorFor: `${base}.levels` } }),
      el("input", { type: "hidden", dataset: { field: `${base}.levels` } }),
      levels,
      el("div", { class: "button-row" }, addLevel, remove),
    );
  }

  addCriterion.addEventListener("click", () => {
    readModel();
    model.push(structuredClone(NEW_CRITERION));
    drawCriteria(`criteria.${model.length - 1}.name`);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    readModel();
    clearErrors(form);
    setText(alert, "");
    const local = {};
    if (!name.control.value.trim()) local.name = "Enter a name.";
    model.forEach((c, i) => {
      if (!c.name.trim()) local[`criteria.${i}.name`] = "Enter a name for this criterion.";
    });
    if (Object.keys(local).length) {
      showFieldErrors(form, local);
      setText(alert, "Some fields are not valid. See the highlighted fields.");
      return;
    }
    const body = {
      name: name.control.value.trim(),
      description: description.control.value,
      criteria: model.map((c) => ({
        name: c.name.trim(),
        description: c.description,
        weight: c.weight === "" ? 1 : Number(c.weight),
        levels: c.levels.map((l) => ({ score: l.score === "" ? null : Number(l.score), descriptor: l.descriptor.trim() })),
      })),
    };
    await busy(submit, async () => {
      try {
        const saved = id ? await put(`/api/rubrics/${encodeURIComponent(id)}`, body) : await post("/api/rubrics", body);
        ctx.announce(`Saved ${saved.name}.`);
        ctx.navigate("#/rubrics");
      } catch (error) {
        if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
        showApiError(form, alert, error);
      }
    });
  });

  drawCriteria();
  view.append(form);
  name.control.focus();
}
