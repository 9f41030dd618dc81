// "Progress": how far the teacher agreed with the automatic grader, per rubric criterion
// (`GET /api/agreement`), and each student's skills over their sessions (`GET
// /api/progress`) as small line charts with the fair and good thresholds. The API's own
// SVG strings are not used: charts are drawn here from the series (line-chart.js).

import { get } from "../api.js";
import { el, setText } from "../dom.js";
import { chartNumber, lineChart } from "./line-chart.js";

const percent = (share) => (typeof share === "number" && Number.isFinite(share) ? `${Math.round(share * 100)} %` : "–");
const points2 = (n) => (typeof n === "number" && Number.isFinite(n) ? (Math.round(n * 100) / 100).toString() : "–");

function shortDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso || "") : date.toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

/** Kappa in words beside its number: Landis and Koch's bands, the usual reading. */
function kappaWords(kappa) {
  if (kappa < 0) return "less than chance";
  if (kappa < 0.2) return "slight";
  if (kappa < 0.4) return "fair";
  if (kappa < 0.6) return "moderate";
  if (kappa < 0.8) return "substantial";
  return "almost perfect";
}

function kappaCell(row) {
  if (typeof row.kappa === "number" && Number.isFinite(row.kappa)) {
    return el("td", { class: "num", dataset: { kappa: String(row.kappa) } }, `${points2(row.kappa)} `,
      el("span", { class: "muted small", text: `(${kappaWords(row.kappa)})` }));
  }
  return el("td", { class: "kappa-undefined" }, "Not defined",
    row.kappa_note ? el("span", { class: "muted small", text: `: ${row.kappa_note}` }) : null);
}

/** Agreement rows grouped by rubric (`{rubrics: [{name, sessions, criteria}]}`). */
function agreementGroups(data) {
  const groups = data?.rubrics;
  if (Array.isArray(groups)) {
    return groups.map((g) => ({ title: g.name || "Rubric", sessions: g.sessions, rows: g.criteria || [] }));
  }
  return [];
}

function agreementTable({ title, sessions, rows }) {
  return el("div", { class: "agreement__group" },
    el("h3", { text: title }),
    Number.isInteger(sessions)
      ? el("p", { class: "small muted", text: `${sessions} reviewed session${sessions === 1 ? "" : "s"}` })
      : null,
    el("div", { class: "table-wrap" },
      el("table", { class: "agreement" },
        el("caption", { class: "visually-hidden", text: `Agreement with the automatic grader: ${title}` }),
        el("thead", {}, el("tr", {},
          el("th", { scope: "col", text: "Criterion" }),
          el("th", { scope: "col", class: "num", text: "Reviewed sessions" }),
          el("th", { scope: "col", class: "num", text: "Kept the automatic score" }),
          el("th", { scope: "col", class: "num", text: "Mean difference (points)" }),
          el("th", { scope: "col", text: "Weighted kappa" }),
        )),
        el("tbody", {}, rows.length
          ? rows.map((row) => el("tr", { dataset: { criterion: row.criterion || row.name } },
            el("th", { scope: "row", text: row.criterion || row.name }),
            el("td", { class: "num", text: String(row.n ?? 0) }),
            el("td", { class: "num", text: percent(row.kept_share) }),
            el("td", { class: "num", text: points2(row.mean_abs_difference) }),
            kappaCell(row),
          ))
          : el("tr", {}, el("td", { colspan: "5", class: "empty", text: "No reviewed sessions yet." }))),
      ),
    ),
  );
}

/** One series as chart points: [{label, value}] (value already on the chart's scale). */
function seriesPoints(series) {
  return (series.points || []).map((p) => ({ label: shortDate(p.at), value: p.value }));
}

function studentCard(student) {
  const series = student.series || [];
  const sessions = series[0]?.points?.length || 0;
  return el("article", { class: "card progress-student", dataset: { student: student.key || student.name } },
    el("h3", {}, student.name, student.email ? el("span", { class: "muted small", text: ` <${student.email}>` }) : null),
    el("p", { class: "small muted", text: `${sessions} evaluated session${sessions === 1 ? "" : "s"}` }),
    el("div", { class: "progress-charts" }, series.map((s) => {
      const label = s.label || s.metric;
      const thresholds = s.thresholds || {};
      const points = seriesPoints(s);
      const latest = [...points].reverse().find((p) => typeof p.value === "number");
      return el("figure", { class: "line-chart", dataset: { metric: s.metric } },
        el("figcaption", {},
          el("span", { class: "line-chart__title", text: label }),
          el("span", { class: "muted small", text: ` · latest ${latest ? chartNumber(latest.value) : "–"} · fair from ${chartNumber(thresholds.fair)}, good from ${chartNumber(thresholds.good)}` })),
        lineChart(label, points, thresholds));
    })),
  );
}

export async function renderProgress(view, ctx) {
  const alert = el("div", { class: "alert alert--error", role: "alert" });
  const agreementBox = el("div", {}, el("p", { class: "muted", text: "Loading…" }));
  const progressBox = el("div", { class: "progress-students" }, el("p", { class: "muted", text: "Loading…" }));
  view.append(
    el("div", { class: "view-head" }, el("h1", { text: "Progress" })),
    alert,
    el("section", { class: "card agreement-card", "aria-labelledby": "agreement-title" },
      el("h2", { id: "agreement-title", text: "Your scores and the automatic grader" }),
      el("p", { class: "small muted", text: "Per criterion, over the sessions you reviewed: how often you kept the automatic score, by how many points you changed it on average, and Cohen's weighted kappa (linear weights over the levels: 1 is full agreement, 0 no better than chance)." }),
      agreementBox),
    el("section", { class: "progress-section", "aria-labelledby": "progress-title" },
      el("h2", { id: "progress-title", text: "Students over time" }),
      el("p", { class: "small muted", text: "Each evaluated session is a point; dashed lines mark the fair and good thresholds." }),
      progressBox),
  );
  const [agreement, progress] = await Promise.allSettled([get("/api/agreement"), get("/api/progress")]);
  if (!ctx.alive()) return;
  const failed = [agreement, progress].find((r) => r.status === "rejected");
  if (failed?.reason?.status === 401) window.dispatchEvent(new Event("vc:unauthorized"));
  if (agreement.status === "fulfilled") {
    const groups = agreementGroups(agreement.value);
    agreementBox.replaceChildren(...(groups.length
      ? groups.map(agreementTable)
      : [el("p", { class: "muted", text: "No reviewed sessions yet: change a score or release an evaluation first." })]));
  } else {
    agreementBox.replaceChildren(el("p", { class: "alert alert--error", text: `Agreement could not be loaded: ${agreement.reason.message}` }));
  }
  if (progress.status === "fulfilled") {
    const students = progress.value?.students || progress.value?.items || [];
    progressBox.replaceChildren(...(students.length
      ? students.map(studentCard)
      : [el("p", { class: "muted", text: "No evaluated sessions yet." })]));
  } else {
    progressBox.replaceChildren(el("p", { class: "alert alert--error", text: `Progress could not be loaded: ${progress.reason.message}` }));
  }
  setText(alert, "");
}
