// A small inline SVG line chart of the client's trust (0..100) over the student's turns.
// Pure DOM building with createElementNS: numbers and fixed words only, no HTML, no inline
// styles (the CSP allows none); colours come from classes in teacher.css.

const SVG_NS = "http://www.w3.org/2000/svg";
/** viewBox units; the SVG scales to its box's width (height follows, aspect kept). */
const WIDTH = 320;
const HEIGHT = 96;
/** Room for the 0/100 labels on the left, the value label on the right, turns below. */
const PAD = Object.freeze({ left: 26, right: 30, top: 10, bottom: 16 });
const TRUST_MAX = 100;

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = String(text);
  return node;
}

const round = (n) => Math.round(n * 10) / 10;

/**
 * What the chart says in words (its accessible name; also handy for a caption).
 * @param {{turn: number, trust: number}[]} points in order
 */
export function trustSummary(points) {
  if (!points.length) return "No trust readings yet.";
  const values = points.map((p) => p.trust);
  const now = values[values.length - 1];
  const turns = points[points.length - 1].turn;
  const span = turns === 1 ? "1 turn" : `${turns} turns`;
  return `Trust over ${span}: now ${now} of ${TRUST_MAX}; lowest ${Math.min(...values)}, highest ${Math.max(...values)}.`;
}

/**
 * An <svg role="img"> line chart: x = turn, y = trust 0..100, a dot and the value at the
 * latest point, the lowest and highest values marked, dashed guides at 0, 50 and 100.
 * @param {{turn: number, trust: number}[]} points in seq order (turns never decrease)
 * @returns {SVGSVGElement}
 */
export function trustChart(points) {
  const summary = trustSummary(points);
  const chart = svg("svg", {
    class: "trust-chart__svg",
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    role: "img",
    "aria-label": summary,
    focusable: "false",
  });
  chart.append(svg("title", {}, summary));
  const innerW = WIDTH - PAD.left - PAD.right;
  const innerH = HEIGHT - PAD.top - PAD.bottom;
  const lastTurn = Math.max(1, ...points.map((p) => p.turn));
  const x = (turn) => round(PAD.left + (turn / lastTurn) * innerW);
  const y = (trust) => round(PAD.top + (1 - Math.min(TRUST_MAX, Math.max(0, trust)) / TRUST_MAX) * innerH);

  for (const level of [0, 50, TRUST_MAX]) {
    chart.append(svg("line", { class: "trust-chart__guide", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(level), y2: y(level) }));
  }
  chart.append(
    svg("text", { class: "trust-chart__axis", x: PAD.left - 4, y: y(TRUST_MAX) + 3, "text-anchor": "end" }, TRUST_MAX),
    svg("text", { class: "trust-chart__axis", x: PAD.left - 4, y: y(0) + 3, "text-anchor": "end" }, 0),
    svg("text", { class: "trust-chart__axis", x: PAD.left, y: HEIGHT - 3, "text-anchor": "start" }, "turn 0"),
    svg("text", { class: "trust-chart__axis", x: WIDTH - PAD.right, y: HEIGHT - 3, "text-anchor": "end" }, `turn ${lastTurn}`),
  );
  if (!points.length) return chart;

  const coords = points.map((p) => `${x(p.turn)},${y(p.trust)}`).join(" ");
  chart.append(svg("polyline", { class: "trust-chart__line", points: coords }));

  const values = points.map((p) => p.trust);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const last = points[points.length - 1];
  // The latest value has its own label; an extreme it already shows is not repeated.
  if (high !== low) {
    const highest = points.find((p) => p.trust === high);
    const lowest = points.find((p) => p.trust === low);
    // Above the highest point and below the lowest, unless that would leave the plot.
    const highY = y(high) - 4 < PAD.top ? y(high) + 10 : y(high) - 4;
    const lowY = y(low) + 10 > HEIGHT - PAD.bottom ? y(low) - 4 : y(low) + 10;
    if (last.trust !== high) {
      chart.append(svg("text", { class: "trust-chart__extreme", x: x(highest.turn), y: highY, "text-anchor": "middle" }, `max ${high}`));
    }
    if (last.trust !== low) {
      chart.append(svg("text", { class: "trust-chart__extreme", x: x(lowest.turn), y: lowY, "text-anchor": "middle" }, `min ${low}`));
    }
  }
  chart.append(
    svg("circle", { class: "trust-chart__now", cx: x(last.turn), cy: y(last.trust), r: 3 }),
    svg("text", { class: "trust-chart__value", x: x(last.turn) + 5, y: y(last.trust) + 4, "text-anchor": "start" }, last.trust),
  );
  return chart;
}
