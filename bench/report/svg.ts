// Latency distribution plot as one standalone SVG, drawn the way HdrHistogram
// plots are: x is the percentile on a log scale of 1/(1-p), so the tail gets
// as much room as the body; y is latency in µs. One panel per series, one
// polyline per backend. No dependencies.

export interface LatencyLine {
  backend: string;
  /** Latency samples in µs, any order. */
  samplesUs: Float64Array;
}

export interface LatencySeries {
  title: string;
  lines: LatencyLine[];
}

const WIDTH = 760;
const PANEL_H = 320;
const M = { left: 72, right: 170, top: 36, bottom: 52 };
const MAX_POINTS = 500;
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f"];

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[c]!);
}

const f = (x: number) => (Math.round(x * 10) / 10).toString();

/** Percentile (x = log10(1/(1-p))) and latency points of one line, at most maxPoints, always ending at the maximum. */
export function percentilePoints(samplesUs: Float64Array, maxPoints = MAX_POINTS): { x: number; y: number }[] {
  const v = Float64Array.from(samplesUs.filter((s) => Number.isFinite(s))).sort();
  const n = v.length;
  if (n === 0) return [];
  const xMax = Math.log10(n);
  const out: { x: number; y: number }[] = [];
  let last = -1;
  const k = Math.max(2, maxPoints);
  for (let j = 0; j < k; j++) {
    // Points evenly spaced on the log axis: dense in the tail, sparse in the body.
    const i = j === k - 1 ? n - 1 : Math.min(n - 1, Math.floor((1 - 10 ** (-(j / (k - 1)) * xMax)) * n));
    if (i <= last) continue;
    last = i;
    out.push({ x: Math.log10(n / (n - i)), y: v[i] });
  }
  return out;
}

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

function percentileLabel(decade: number): string {
  if (decade === 0) return "0%";
  return `${(100 - 100 / 10 ** decade).toFixed(Math.max(0, decade - 2))}%`;
}

function panel(s: LatencySeries, top: number, colorOf: (b: string) => string): string {
  const x0 = M.left;
  const x1 = WIDTH - M.right;
  const y0 = top + M.top;
  const y1 = top + PANEL_H - M.bottom;
  const lines = s.lines.map((l) => ({ backend: l.backend, pts: percentilePoints(l.samplesUs) }));
  const all = lines.flatMap((l) => l.pts);
  const decades = Math.max(4, Math.ceil(Math.max(0, ...all.map((p) => p.x)) - 1e-9));
  const yTop = Math.max(0, ...all.map((p) => p.y));
  const step = yTop > 0 ? niceStep(yTop, 5) : 1;
  const yMax = yTop > 0 ? Math.ceil(yTop / step) * step : 1;
  const sx = (x: number) => x0 + (x / decades) * (x1 - x0);
  const sy = (y: number) => y1 - (y / yMax) * (y1 - y0);
  const out: string[] = [`<g>`, `<text x="${f((x0 + x1) / 2)}" y="${f(top + 22)}" text-anchor="middle" font-weight="bold">${escapeXml(s.title)}</text>`];
  out.push(`<rect x="${f(x0)}" y="${f(y0)}" width="${f(x1 - x0)}" height="${f(y1 - y0)}" fill="none" stroke="#999"/>`);
  for (let d = 0; d <= decades; d++) {
    const x = sx(d);
    out.push(`<line x1="${f(x)}" y1="${f(y0)}" x2="${f(x)}" y2="${f(y1)}" stroke="#eee"/>`);
    out.push(`<text x="${f(x)}" y="${f(y1 + 16)}" text-anchor="middle">${escapeXml(percentileLabel(d))}</text>`);
  }
  for (let y = 0; y <= yMax + step / 2; y += step) {
    const py = sy(y);
    out.push(`<line x1="${f(x0)}" y1="${f(py)}" x2="${f(x1)}" y2="${f(py)}" stroke="#eee"/>`);
    out.push(`<text x="${f(x0 - 6)}" y="${f(py + 4)}" text-anchor="end">${escapeXml(String(Number(y.toPrecision(6))))}</text>`);
  }
  out.push(`<text x="${f((x0 + x1) / 2)}" y="${f(y1 + 38)}" text-anchor="middle">percentile (log scale of 1/(1-p))</text>`);
  out.push(`<text transform="translate(${f(x0 - 52)},${f((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">latency (µs)</text>`);
  lines.forEach((l, i) => {
    const color = colorOf(l.backend);
    if (l.pts.length) out.push(`<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${l.pts.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(" ")}"/>`);
    const ly = y0 + 14 + i * 20;
    out.push(`<line x1="${f(x1 + 14)}" y1="${f(ly - 4)}" x2="${f(x1 + 38)}" y2="${f(ly - 4)}" stroke="${color}" stroke-width="2"/>`);
    out.push(`<text x="${f(x1 + 44)}" y="${f(ly)}">${escapeXml(l.pts.length ? l.backend : `${l.backend} (no samples)`)}</text>`);
  });
  out.push(`</g>`);
  return out.join("\n");
}

/** One SVG document: a panel per series (e.g. scenario 1 at 100 bytes, scenario 4), a line per backend. */
export function latencyDistributionSvg(series: LatencySeries[]): string {
  const names = [...new Set(series.flatMap((s) => s.lines.map((l) => l.backend)))];
  const colorOf = (b: string) => COLORS[names.indexOf(b) % COLORS.length];
  const height = Math.max(1, series.length) * PANEL_H;
  const body = series.length ? series.map((s, i) => panel(s, i * PANEL_H, colorOf)).join("\n") : `<text x="${WIDTH / 2}" y="${PANEL_H / 2}" text-anchor="middle">no latency samples</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    body,
    `</svg>`,
    "",
  ].join("\n");
}
