// The teacher's review of the proposed scores: per criterion the automatic and the final
// score side by side, the rationale and the evidence, a select of the criterion's levels
// and a comment for the student; one Save (`PATCH /api/sessions/{id}/evaluation`).
//
// What the teacher has typed but not saved lives in `drafts` (criterion name -> {score,
// comment}), owned by the caller, so a redraw (a transcript reload, a poll) keeps it.

import { api } from "../api.js";
import { el, setText } from "../dom.js";
import { criterionBody, scoreText, sortedLevels } from "../feedback.js";
import { busy, clearErrors, field, formAlert, showApiError } from "./forms.js";

/** True when some draft differs from what the server holds. */
export function hasUnsavedDrafts(evaluation, drafts) {
  return (evaluation?.criteria || []).some((criterion) => {
    const draft = drafts.get(criterion.name);
    return draft && (draft.score !== criterion.score || draft.comment !== (criterion.comment || ""));
  });
}

/** The PATCH items: only criteria, and only fields, that differ from the server's (a field
 * left out stays as it was; an emptied comment is null, which removes it). */
export function reviewChanges(criteria, drafts) {
  const changes = [];
  for (const criterion of criteria) {
    const draft = drafts.get(criterion.name);
    if (!draft) continue;
    const item = { name: criterion.name };
    if (draft.score !== criterion.score) item.score = draft.score;
    if (draft.comment !== (criterion.comment || "")) item.comment = draft.comment || null;
    if (Object.keys(item).length > 1) changes.push(item);
  }
  return changes;
}

function scoreControl(criterion, index, levels, value) {
  const label = `Your score for ${criterion.name}`;
  const name = `criteria.${index}.score`;
  if (!levels.length) {
    return field({ name, label, type: "number", value: String(value), attrs: { step: "1" } });
  }
  const options = levels.map((level) => [
    String(level.score),
    `${level.score}${level.descriptor ? ` – ${level.descriptor}` : ""}${level.score === criterion.automatic_score ? " (automatic)" : ""}`,
  ]);
  return field({ name, label, type: "select", value: String(value), options });
}

function criterionEditor(criterion, index, { turns, levels, drafts, onChange }) {
  const changed = criterion.score !== criterion.automatic_score;
  const draft = drafts.get(criterion.name);
  const score = scoreControl(criterion, index, levels, draft?.score ?? criterion.score);
  const comment = field({
    name: `criteria.${index}.comment`,
    label: `Comment for the student on ${criterion.name}`,
    type: "textarea",
    value: draft?.comment ?? (criterion.comment || ""),
    hint: "Optional. The student sees it with the score once you release the feedback.",
    attrs: { rows: 2, maxlength: "2000" },
  });
  const update = () => {
    drafts.set(criterion.name, { score: Number(score.control.value), comment: comment.control.value.trim() });
    onChange();
  };
  score.control.addEventListener("change", update);
  comment.control.addEventListener("input", update);
  return el("article", { class: "criterion-result", dataset: { criterion: criterion.name, changed: String(changed) } },
    el("h4", { class: "criterion-result__name", text: criterion.name }),
    el("dl", { class: "criterion-result__scores" },
      el("dt", { text: "Automatic" }),
      el("dd", { class: "score--automatic", text: scoreText(criterion.automatic_score, levels) }),
      el("dt", { text: "Final" }),
      el("dd", { class: "score--final" },
        scoreText(criterion.score, levels), " ",
        el("span", { class: "score-change", dataset: { changed: String(changed) }, text: changed ? "changed by you" : "kept" })),
    ),
    criterionBody({ ...criterion, comment: null }, turns, { sub: "h5", rationaleLabel: "Why the automatic score" }),
    el("div", { class: "criterion-result__edit" }, score.wrapper, comment.wrapper),
  );
}

/**
 * The criteria as one form. `levelsOf(name)` gives a criterion's levels ([] when unknown:
 * a number input then); `onSaved(evaluation)` gets the server's answer.
 */
export function criteriaForm(evaluation, { sessionId, turns, levelsOf, drafts, onSaved, announce }) {
  const criteria = evaluation.criteria || [];
  const alert = formAlert();
  const state = el("span", { class: "small muted feedback-form__state", role: "status" });
  const save = el("button", { type: "submit", class: "primary", text: "Save scores and comments" });
  const showDirty = () => {
    const dirty = hasUnsavedDrafts(evaluation, drafts);
    form.dataset.dirty = String(dirty);
    setText(state, dirty ? "Unsaved changes." : "");
  };
  const form = el("form", { class: "feedback-form", novalidate: true },
    criteria.map((criterion, index) => criterionEditor(criterion, index, {
      turns, levels: sortedLevels(levelsOf(criterion.name)), drafts, onChange: showDirty,
    })),
    alert,
    el("div", { class: "button-row" }, save, state),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    setText(alert, "");
    const changes = reviewChanges(criteria, drafts);
    if (!changes.length) {
      setText(state, "Nothing changed.");
      return;
    }
    try {
      const saved = await busy(save, () => api("PATCH", `/api/sessions/${encodeURIComponent(sessionId)}/evaluation`, { criteria: changes }));
      drafts.clear();
      announce("Scores and comments saved.");
      onSaved(saved);
    } catch (error) {
      if (error.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
      showApiError(form, alert, error);
    }
  });
  showDirty();
  return form;
}
