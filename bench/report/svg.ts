// Latency distribution plot as one standalone SVG, drawn the way HdrHistogram
// plots are: x is the percentile on a log scale of 1/(1-p), so the tail gets
// as much room as the body; y is latency in µs on a log scale, so a 20%
// difference looks the same at 10 µs as at 10 ms. Per series two panels: the
// distributions (a line per backend, its own colour and dash, the headline
// gate's pair thicker, markers at p50 and p99) and each backend's ratio to the
// headline baseline at every percentile (1.00: the same). No dependencies.
import type { BenchResults } from "../results/schema.ts";
import { findScenario, headlineVariantOf } from "../scenarios/index.ts";

export interface LatencyLine {
  backend: string;
  /** Latency samples in µs, any order. */
  samplesUs?: Float64Array;
  /** Or known percentiles (p in 0..1, e.g. 0.5, 0.99; p 0 is the minimum, 1 the maximum), e.g. from the results JSON. */
  quantiles?: { p: number; us: number }[];
}

export interface LatencySeries {
  title: string;
  lines: LatencyLine[];
}

export interface LatencyPlotOptions {
  /** The headline gate's baseline: the ratio panel's reference (= 1.00), and drawn thick. */
  baseline?: string;
  /** The headline gate's candidate: drawn thick. */
  candidate?: string;
}

const WIDTH = 760;
const PANEL_H = 320;
const RATIO_H = 220;
const M = { left: 72, right: 170, top: 36, bottom: 52 };
const MAX_POINTS = 500;
/** Ten colours that stay apart (Tableau 10), and dash patterns, so every backend differs in both. */
export const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
export const DASHES = ["", "7 3", "2 2", "9 3 2 3", "4 4", "1 3", "12 4", "6 2 2 2 2 2"];
const THICK = 3;
const THIN = 1.4;
/** Where the markers go: p50 and p99 as x = log10(1/(1-p)). */
const MARKS = [
  { name: "p50", x: Math.log10(2) },
  { name: "p99", x: 2 },
];

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

/** Points of known percentiles; the maximum (p = 1) is put one decade past the highest finite one. */
export function quantilePoints(qs: { p: number; us: number }[]): { x: number; y: number }[] {
  const finite = qs.filter((q) => q.p < 1 && q.p >= 0 && Number.isFinite(q.us)).sort((a, b) => a.p - b.p);
  const pts = finite.map((q) => ({ x: Math.log10(1 / (1 - q.p)), y: q.us }));
  const max = qs.find((q) => q.p === 1 && Number.isFinite(q.us));
  if (max && pts.length) pts.push({ x: pts[pts.length - 1].x + 1, y: max.us });
  return pts.filter((p) => p.y > 0);
}

function linePoints(l: LatencyLine): { x: number; y: number }[] {
  if (l.samplesUs) return percentilePoints(l.samplesUs).filter((p) => p.y > 0);
  return quantilePoints(l.quantiles ?? []);
}

/** The line's latency at x, interpolated in log latency; undefined outside its points. */
export function valueAt(pts: { x: number; y: number }[], x: number): number | undefined {
  if (!pts.length || x < pts[0].x - 1e-12 || x > pts[pts.length - 1].x + 1e-12) return undefined;
  let i = 0;
  while (i < pts.length - 1 && pts[i + 1].x < x) i++;
  const a = pts[i], b = pts[Math.min(i + 1, pts.length - 1)];
  if (b.x === a.x) return a.y;
  const t = Math.min(1, Math.max(0, (x - a.x) / (b.x - a.x)));
  return Math.exp(Math.log(a.y) + t * (Math.log(b.y) - Math.log(a.y)));
}

/** Log-axis ticks between lo and hi (> 0): every decade, with 2 and 5 when the range spans at most two decades. */
export function logTicks(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  const d0 = Math.floor(Math.log10(lo) + 1e-9);
  const d1 = Math.max(d0 + 1, Math.ceil(Math.log10(hi) - 1e-9));
  const ticks: number[] = [];
  const mults = d1 - d0 <= 2 ? [1, 2, 5] : [1];
  for (let d = d0; d <= d1; d++) for (const m of mults) if (m === 1 || d < d1) ticks.push(Number((m * 10 ** d).toPrecision(6)));
  return { min: 10 ** d0, max: 10 ** d1, ticks };
}

/** Ratio axis around 1.00: symmetric on a log scale, R the smallest nice bound that holds every ratio. */
export function ratioAxis(ratios: number[]): { lo: number; hi: number; ticks: number[] } {
  const worst = Math.max(1, ...ratios.filter((r) => r > 0 && Number.isFinite(r)).map((r) => Math.max(r, 1 / r)));
  const NICE = [1.1, 1.25, 1.5, 2, 3, 5, 10, 20, 50, 100, 1000];
  const R = NICE.find((n) => n >= worst) ?? NICE[NICE.length - 1];
  // One tick between 1 and R, the nice value nearest the middle of the log range.
  const mid = R >= 1.5 ? NICE.filter((n) => n < R).sort((a, b) => Math.abs(2 * Math.log(a) - Math.log(R)) - Math.abs(2 * Math.log(b) - Math.log(R))).slice(0, 1) : [];
  const above = [...mid, R];
  return { lo: 1 / R, hi: R, ticks: [...above.map((x) => 1 / x).reverse(), 1, ...above] };
}

/** Where a run's latency samples are (run/pool.ts's SampleStore): per series, scenario, variant and backend, ns. */
export interface SampleSource {
  backends(series: "corrected", scenario: string, key: string): string[];
  get(series: "corrected", scenario: string, key: string, backend: string): Float64Array | undefined;
}

/**
 * The latency distribution picture's panels from a run's samples: per
 * placement run, every scenario that asks for the picture
 * (report.distribution), its headline variant, every backend that has samples.
 */
export function latencySeriesFromSamples(r: BenchResults, samples: Map<string, SampleSource>): LatencySeries[] {
  const out: LatencySeries[] = [];
  for (const [where, store] of samples) {
    const label = samples.size > 1 ? ` (${where})` : ` (${where.split("/")[0]})`;
    for (const s of r.scenarios) {
      const name = findScenario(s.slug)?.report.distribution;
      const v = name ? headlineVariantOf(s) : undefined;
      if (!v) continue;
      const backends = store.backends("corrected", s.slug, v.key);
      if (!backends.length) continue;
      out.push({
        title: `Scenario ${s.id}: ${name}${s.variants.length > 1 ? `, ${v.key}` : ""}${label}`,
        lines: backends.map((backend) => ({ backend, samplesUs: store.get("corrected", s.slug, v.key, backend)!.map((x) => x * 1e-3) })),
      });
    }
  }
  return out;
}

/**
 * The series a results JSON can give without its samples: the pooled
 * percentiles (min, p50, p95, p99, p99.9, max) of scenario 1's 100-byte
 * variant (else its first) and of scenario 4. Coarser than the samples the
 * run draws from, but enough to redraw a report from the JSON alone.
 */
export function latencySeriesFromResults(r: BenchResults): LatencySeries[] {
  const out: LatencySeries[] = [];
  for (const s of r.scenarios) {
    const v = findScenario(s.slug)?.report.distribution ? headlineVariantOf(s) : undefined;
    if (!v) continue;
    const lines = v.backends
      .filter((b) => b.pooled)
      .map((b) => {
        const p = b.pooled!;
        return { backend: b.backend, quantiles: [{ p: 0, us: p.min }, { p: 0.5, us: p.p50 }, { p: 0.95, us: p.p95 }, { p: 0.99, us: p.p99 }, { p: 0.999, us: p.p999 }, { p: 1, us: p.max }] };
      });
    if (lines.length) out.push({ title: `Scenario ${s.id}: ${s.name}, ${v.key} (pooled min, p50, p95, p99, p99.9, max)`, lines });
  }
  return out;
}

function percentileLabel(decade: number): string {
  if (decade === 0) return "0%";
  return `${(100 - 100 / 10 ** decade).toFixed(Math.max(0, decade - 2))}%`;
}

const tickText = (y: number) => (y >= 1 ? String(Number(y.toPrecision(6))) : String(Number(y.toPrecision(2))));

interface Style {
  color: string;
  dash: string;
  width: number;
}

function strokeAttrs(s: Style): string {
  return `stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}`;
}

/** A small marker: a circle at p50, a square at p99. */
function marker(name: string, x: number, y: number, color: string): string {
  return name === "p50"
    ? `<circle class="marker-p50" cx="${f(x)}" cy="${f(y)}" r="3.5" fill="white" stroke="${color}" stroke-width="1.5"/>`
    : `<rect class="marker-p99" x="${f(x - 3.5)}" y="${f(y - 3.5)}" width="7" height="7" fill="${color}" stroke="${color}"/>`;
}

function xAxis(out: string[], decades: number, sx: (x: number) => number, y0: number, y1: number) {
  for (let d = 0; d <= decades; d++) {
    const x = sx(d);
    out.push(`<line x1="${f(x)}" y1="${f(y0)}" x2="${f(x)}" y2="${f(y1)}" stroke="#eee"/>`);
    out.push(`<text x="${f(x)}" y="${f(y1 + 16)}" text-anchor="middle">${escapeXml(percentileLabel(d))}</text>`);
  }
}

function legend(out: string[], items: { label: string; style: Style }[], x1: number, y0: number) {
  items.forEach((it, i) => {
    const ly = y0 + 14 + i * 20;
    out.push(`<line x1="${f(x1 + 14)}" y1="${f(ly - 4)}" x2="${f(x1 + 44)}" y2="${f(ly - 4)}" ${strokeAttrs(it.style)}/>`);
    out.push(`<text x="${f(x1 + 50)}" y="${f(ly)}">${escapeXml(it.label)}</text>`);
  });
  if (items.some((it) => it.style.width === THICK))
    out.push(`<text x="${f(x1 + 14)}" y="${f(y0 + 14 + items.length * 20)}" font-size="10" fill="#555">thick: the headline gate</text>`);
}

type Drawn = { backend: string; pts: { x: number; y: number }[]; style: Style };

function distributionPanel(s: LatencySeries, lines: Drawn[], top: number, decades: number): string {
  const x0 = M.left, x1 = WIDTH - M.right, y0 = top + M.top, y1 = top + PANEL_H - M.bottom;
  const ys = lines.flatMap((l) => l.pts.map((p) => p.y));
  const axis = logTicks(ys.length ? Math.min(...ys) : 1, ys.length ? Math.max(...ys) : 10);
  const sx = (x: number) => x0 + (x / decades) * (x1 - x0);
  const ly = (y: number) => Math.log10(y);
  const sy = (y: number) => y1 - ((ly(y) - ly(axis.min)) / (ly(axis.max) - ly(axis.min))) * (y1 - y0);
  // Bold sans-serif is about 0.62 em per character: a long title gets a smaller font rather than clipped.
  const size = Math.min(12, Math.floor(((WIDTH - 16) / (0.62 * s.title.length)) * 10) / 10);
  const out: string[] = [`<g class="distribution">`, `<text x="${f(WIDTH / 2)}" y="${f(top + 22)}" text-anchor="middle" font-weight="bold"${size < 12 ? ` font-size="${size}"` : ""}>${escapeXml(s.title)}</text>`];
  out.push(`<rect x="${f(x0)}" y="${f(y0)}" width="${f(x1 - x0)}" height="${f(y1 - y0)}" fill="none" stroke="#999"/>`);
  xAxis(out, decades, sx, y0, y1);
  for (const t of axis.ticks) {
    const py = sy(t);
    const decade = Math.abs(Math.log10(t) - Math.round(Math.log10(t))) < 1e-9;
    out.push(`<line x1="${f(x0)}" y1="${f(py)}" x2="${f(x1)}" y2="${f(py)}" stroke="${decade ? "#ddd" : "#f2f2f2"}"/>`);
    out.push(`<text class="ytick" x="${f(x0 - 6)}" y="${f(py + 4)}" text-anchor="end">${tickText(t)}</text>`);
  }
  out.push(`<text x="${f((x0 + x1) / 2)}" y="${f(y1 + 38)}" text-anchor="middle">percentile (log scale of 1/(1-p)); ○ p50, ■ p99</text>`);
  out.push(`<text transform="translate(${f(x0 - 52)},${f((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">latency (µs, log scale)</text>`);
  for (const l of lines) {
    if (!l.pts.length) continue;
    out.push(`<polyline fill="none" ${strokeAttrs(l.style)} points="${l.pts.map((p) => `${f(sx(p.x))},${f(sy(p.y))}`).join(" ")}"/>`);
    for (const m of MARKS) {
      const y = valueAt(l.pts, m.x);
      if (y !== undefined) out.push(marker(m.name, sx(m.x), sy(y), l.style.color));
    }
  }
  legend(out, lines.map((l) => ({ label: l.pts.length ? l.backend : `${l.backend} (no samples)`, style: l.style })), x1, y0);
  out.push(`</g>`);
  return out.join("\n");
}

/** Each backend's latency over the baseline's at the same percentile. */
function ratioPanel(s: LatencySeries, lines: Drawn[], baseline: Drawn, top: number, decades: number): string {
  const x0 = M.left, x1 = WIDTH - M.right, y0 = top + 14, y1 = top + RATIO_H - M.bottom;
  const GRID = 200;
  const xEnd = baseline.pts[baseline.pts.length - 1].x;
  const curves = lines
    .filter((l) => l !== baseline && l.pts.length)
    .map((l) => {
      const pts: { x: number; r: number }[] = [];
      const end = Math.min(xEnd, l.pts[l.pts.length - 1].x);
      for (let i = 0; i <= GRID; i++) {
        const x = (i / GRID) * end;
        const a = valueAt(l.pts, x), b = valueAt(baseline.pts, x);
        if (a !== undefined && b !== undefined && b > 0) pts.push({ x, r: a / b });
      }
      return { l, pts };
    });
  const axis = ratioAxis(curves.flatMap((c) => c.pts.map((p) => p.r)));
  const sx = (x: number) => x0 + (x / decades) * (x1 - x0);
  const lr = (r: number) => Math.log(Math.min(axis.hi, Math.max(axis.lo, r)));
  const sy = (r: number) => y1 - ((lr(r) - Math.log(axis.lo)) / (Math.log(axis.hi) - Math.log(axis.lo))) * (y1 - y0);
  const out: string[] = [`<g class="ratio">`];
  out.push(`<rect x="${f(x0)}" y="${f(y0)}" width="${f(x1 - x0)}" height="${f(y1 - y0)}" fill="none" stroke="#999"/>`);
  xAxis(out, decades, sx, y0, y1);
  for (const t of axis.ticks) {
    const py = sy(t);
    out.push(`<line x1="${f(x0)}" y1="${f(py)}" x2="${f(x1)}" y2="${f(py)}" stroke="${t === 1 ? "#444" : "#eee"}"${t === 1 ? ' stroke-width="1.2"' : ""}/>`);
    out.push(`<text class="rtick" x="${f(x0 - 6)}" y="${f(py + 4)}" text-anchor="end">${t >= 10 ? t.toFixed(0) : t.toFixed(2)}</text>`);
  }
  out.push(`<text x="${f((x0 + x1) / 2)}" y="${f(y1 + 38)}" text-anchor="middle">${escapeXml(`÷ ${baseline.backend} at the same percentile (below 1.00: faster)`)}</text>`);
  out.push(`<text transform="translate(${f(x0 - 52)},${f((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">ratio (log scale)</text>`);
  for (const c of curves) {
    if (c.pts.length < 2) continue;
    out.push(`<polyline fill="none" ${strokeAttrs(c.l.style)} points="${c.pts.map((p) => `${f(sx(p.x))},${f(sy(p.r))}`).join(" ")}"/>`);
  }
  void s;
  out.push(`</g>`);
  return out.join("\n");
}

/** Colour, dash and width of every backend: the headline baseline and candidate first and thick, then the rest in order. */
export function backendStyles(names: string[], opts: LatencyPlotOptions = {}): Map<string, Style> {
  const head = [opts.baseline, opts.candidate].filter((b): b is string => b !== undefined && names.includes(b));
  const ordered = [...head, ...names.filter((n) => !head.includes(n))];
  return new Map(ordered.map((n, i) => [n, { color: COLORS[i % COLORS.length], dash: DASHES[i % DASHES.length], width: head.includes(n) ? THICK : THIN }]));
}

/** One SVG document: per series (e.g. scenario 1 at 100 bytes, scenario 4) the distributions and, with the baseline among them, the ratios to it. */
export function latencyDistributionSvg(series: LatencySeries[], opts: LatencyPlotOptions = {}): string {
  const names = [...new Set(series.flatMap((s) => s.lines.map((l) => l.backend)))];
  const styles = backendStyles(names, opts);
  const parts: string[] = [];
  let top = 0;
  for (const s of series) {
    const lines: Drawn[] = s.lines.map((l) => ({ backend: l.backend, pts: linePoints(l), style: styles.get(l.backend)! }));
    const decades = Math.max(4, Math.ceil(Math.max(0, ...lines.flatMap((l) => l.pts.map((p) => p.x))) - 1e-9));
    parts.push(distributionPanel(s, lines, top, decades));
    top += PANEL_H;
    const base = lines.find((l) => l.backend === opts.baseline && l.pts.length);
    if (base && lines.some((l) => l !== base && l.pts.length)) {
      parts.push(ratioPanel(s, lines, base, top, decades));
      top += RATIO_H;
    }
  }
  const height = Math.max(PANEL_H, top);
  const body = series.length ? parts.join("\n") : `<text x="${WIDTH / 2}" y="${PANEL_H / 2}" text-anchor="middle">no latency samples</text>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    body,
    `</svg>`,
    "",
  ].join("\n");
}
