// A small SVG line chart of one skill metric over a student's sessions, with its fair and
// good thresholds as dashed lines. Built with createElementNS from numbers and our own
// words: the server's SVG strings are never put into the page. No inline styles (the CSP
// allows none): colours come from classes in teacher.css.

const SVG_NS = "http://www.w3.org/2000/svg";
/** viewBox units; the SVG scales to its box's width (height follows, aspect kept). */
const WIDTH = 320;
const HEIGHT = 140;
/** Room for y labels on the left, threshold names on the right, dates below. */
const PAD = Object.freeze({ left: 30, right: 52, top: 10, bottom: 20 });
/** Dates drawn at most under the x axis; beyond this every n-th one, so none overlap. */
const MAX_X_LABELS = 5;
const NICE = [1, 2, 2.5, 5, 10];

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = String(text);
  return node;
}

const round = (n) => Math.round(n * 10) / 10;
const finite = (value) => typeof value === "number" && Number.isFinite(value);

/** 67.5 -> "68", 1.25 -> "1.25", 0.5 -> "0.5". */
export function chartNumber(value) {
  if (!finite(value)) return "–";
  return Math.abs(value) >= 10 ? String(Math.round(value)) : String(Math.round(value * 100) / 100);
}

function niceCeiling(value) {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  return NICE.map((n) => n * power).find((n) => n >= value * (1 - 1e-9)) ?? 10 * power;
}

/**
 * The chart in words (its accessible name).
 * @param {string} title e.g. "% open questions"
 * @param {{label: string, value: number|null}[]} points in time order
 * @param {{fair?: number, good?: number}} thresholds
 */
export function chartSummary(title, points, thresholds) {
  const values = points.map((p) => p.value).filter(finite);
  const bench = ["fair", "good"].filter((name) => finite(thresholds?.[name]))
    .map((name) => `${name} from ${chartNumber(thresholds[name])}`).join(", ");
  const sessions = points.length === 1 ? "1 session" : `${points.length} sessions`;
  if (!values.length) return `${title} over ${sessions}: not measured${bench ? ` (${bench})` : ""}.`;
  const latest = [...points].reverse().find((p) => finite(p.value));
  return `${title} over ${sessions}: latest ${chartNumber(latest.value)} (${latest.label})` +
    `${bench ? `; ${bench}` : ""}; lowest ${chartNumber(Math.min(...values))}, highest ${chartNumber(Math.max(...values))}.`;
}

/**
 * An <svg role="img"> line chart: x = session (in order), y from 0; each threshold a dashed
 * line with its name; a gap in the line where a session had nothing to measure.
 * @returns {SVGSVGElement}
 */
export function lineChart(title, points, thresholds = {}) {
  const summary = chartSummary(title, points, thresholds);
  const chart = svg("svg", { class: "line-chart__svg", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summary, focusable: "false" });
  chart.append(svg("title", {}, summary));
  const lines = Object.entries(thresholds || {}).filter(([, v]) => finite(v)).sort((a, b) => a[1] - b[1]);
  const values = points.map((p) => p.value).filter(finite);
  const top = niceCeiling(Math.max(0, ...values, ...lines.map(([, v]) => v)));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const x = (i) => round(PAD.left + (points.length > 1 ? (i / (points.length - 1)) * innerW : innerW / 2));
  const y = (v) => round(PAD.top + (1 - Math.min(top, Math.max(0, v)) / top) * innerH);

  chart.append(
    svg("line", { class: "line-chart__axis-line", x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: PAD.top + innerH }),
    svg("line", { class: "line-chart__axis-line", x1: PAD.left, x2: PAD.left + innerW, y1: PAD.top + innerH, y2: PAD.top + innerH }),
  );
  for (const tick of [0, top / 2, top]) {
    chart.append(svg("text", { class: "line-chart__axis", x: PAD.left - 4, y: y(tick) + 3, "text-anchor": "end" }, chartNumber(tick)));
  }
  for (const [name, value] of lines) {
    chart.append(
      svg("line", { class: `line-chart__threshold line-chart__threshold--${name}`, x1: PAD.left, x2: PAD.left + innerW, y1: y(value), y2: y(value) }),
      svg("text", { class: "line-chart__threshold-label", x: PAD.left + innerW + 4, y: y(value) + 3, "text-anchor": "start" }, `${name} ${chartNumber(value)}`),
    );
  }
  // One polyline per run of measured sessions: an unmeasured one breaks the line.
  let run = [];
  const flush = () => {
    if (run.length > 1) chart.append(svg("polyline", { class: "line-chart__line", points: run.join(" ") }));
    run = [];
  };
  points.forEach((point, i) => {
    if (finite(point.value)) run.push(`${x(i)},${y(point.value)}`);
    else flush();
  });
  flush();
  const every = Math.max(1, Math.ceil(points.length / MAX_X_LABELS));
  points.forEach((point, i) => {
    if (finite(point.value)) {
      const dot = svg("circle", { class: "line-chart__dot", cx: x(i), cy: y(point.value), r: 3 });
      dot.append(svg("title", {}, `${point.label}: ${chartNumber(point.value)}`));
      chart.append(dot);
    }
    if (i % every === 0 || i === points.length - 1) {
      const anchor = points.length === 1 ? "middle" : i === 0 ? "start" : i === points.length - 1 ? "end" : "middle";
      chart.append(svg("text", { class: "line-chart__axis", x: x(i), y: HEIGHT - 5, "text-anchor": anchor }, point.label));
    }
  });
  return chart;
}
