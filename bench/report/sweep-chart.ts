// The connection sweep as a picture, one standalone SVG per window and
// payload: x is the connection count on a log scale (a tick at every count
// swept), y is throughput in msg/s on a log scale, a line per backend (its
// colour and dash as in the latency chart) over its 95% interval as a
// translucent band, client-bound points hollow, and each crossover found for
// this window and payload as a dashed vertical line. Log y because the
// question is a ratio: a candidate 20% ahead is the same vertical gap at 20k
// msg/s as at 200k, so the crossover threshold reads alike across the sweep,
// and the few-connection counts are not squashed against the axis by the
// many-connection ones. No dependencies.
import type { SweepCrossover, SweepPoint, SweepResults } from "../results/schema.ts";
import { fmtRate } from "./format.ts";
import { backendStyles, escapeXml, logTicks } from "./svg.ts";
import { clientText, fmtRateCompact, sweepBackends, sweepCombos } from "./sweep-tables.ts";

const WIDTH = 820;
const HEIGHT = 460;
const M = { left: 76, right: 230, top: 52, bottom: 84 };
const BAND_OPACITY = 0.15;

const f = (x: number) => (Math.round(x * 10) / 10).toString();

/** Stroke attributes of a backend's line. */
const stroke = (s: { color: string; dash: string; width: number }) => `stroke="${s.color}" stroke-width="${s.width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ""}`;

/**
 * The throughput axis: logTicks' 1-2-5 (or decade) ticks, the ends pulled in
 * to the ticks either side of the figures, so a sweep from 23k to 313k gets
 * 20k..500k rather than 10k..1M.
 */
export function throughputAxis(lo: number, hi: number): { min: number; max: number; ticks: number[] } {
  const all = logTicks(lo, hi).ticks;
  const min = [...all].reverse().find((t) => t <= lo) ?? all[0];
  const max = all.find((t) => t >= hi && t > min) ?? all[all.length - 1];
  return { min, max, ticks: all.filter((t) => t >= min && t <= max) };
}

/** A tick's label: 20k, 1M, 2.5M (no trailing zeros). */
export const tickText = (t: number) => fmtRateCompact(t).replace(/(\.\d*?)0+([kMG]?)$/, "$1$2").replace(/\.([kMG]?)$/, "$1");

export function sweepChartSvg(s: SweepResults, opts: { window: number; payload: number }): string {
  const { window, payload } = opts;
  const points = s.points.filter((p) => p.window === window && p.payload === payload).sort((a, b) => a.connections - b.connections);
  return throughputChartSvg({
    points,
    crossover: s.crossover,
    clientBoundUtil: s.client_bound_util,
    names: sweepBackends({ ...s, points }),
    title: `Throughput against connections: window ${window}, ${payload} B payload (load client: ${clientText(s.client)})`,
    xLabel: "connections (log scale)",
    noCrossoverUnit: "connections",
    window,
    payload,
  });
}

/** What a throughput chart draws: x is each point's `connections` (the connection sweep's count, or the core-scaling sweep's cores). */
export interface ThroughputChart {
  points: SweepPoint[];
  crossover: SweepCrossover[];
  clientBoundUtil: number;
  names: string[];
  title: string;
  xLabel: string;
  /** What the x axis counts, in the "no crossover up to N ..." line. */
  noCrossoverUnit: string;
  window: number;
  payload: number;
}

export function throughputChartSvg(c: ThroughputChart): string {
  const { points, window, payload, names, title } = c;
  const s = { crossover: c.crossover, client_bound_util: c.clientBoundUtil };
  // The gate pair (the first crossover's, else the first gain's) drawn thick, as in the latency chart.
  const pair = s.crossover[0] ?? points.flatMap((p) => p.gains)[0];
  const styles = backendStyles(names, pair ? { baseline: pair.baseline, candidate: pair.candidate } : {});
  // A line under the plot per pair without a crossover: the picture grows to hold them all.
  const missing = s.crossover.filter((c) => c.window === window && c.payload === payload && c.connections === null).length;
  const height = HEIGHT + Math.max(0, missing - 1) * 15;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    // Bold sans-serif is about 0.62 em per character: a long title gets a smaller font rather than clipped.
    `<text x="${f(WIDTH / 2)}" y="24" text-anchor="middle" font-weight="bold" font-size="${Math.min(14, Math.floor(((WIDTH - 16) / (0.62 * title.length)) * 10) / 10)}">${escapeXml(title)}</text>`,
  ];
  const ys = points.flatMap((p) => p.backends.flatMap((b) => (b.throughput === null ? [] : [b.throughput, ...(b.ci95 ?? [])]))).filter((y) => y > 0 && Number.isFinite(y));
  if (!ys.length) {
    out.push(`<text x="${f(WIDTH / 2)}" y="${f(HEIGHT / 2)}" text-anchor="middle">${escapeXml(`no throughput figures at window ${window}, ${payload} B`)}</text>`, `</svg>`, "");
    return out.join("\n");
  }
  const x0 = M.left, x1 = WIDTH - M.right, y0 = M.top, y1 = HEIGHT - M.bottom;
  const counts = [...new Set(points.map((p) => p.connections))].filter((c) => c > 0);
  let lo = Math.log10(Math.min(...counts)), hi = Math.log10(Math.max(...counts));
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  // A little room either side so the end points are not drawn on the frame.
  const pad = (hi - lo) * 0.05;
  const sx = (c: number) => x0 + ((Math.log10(c) - lo + pad) / (hi - lo + 2 * pad)) * (x1 - x0);
  const axis = throughputAxis(Math.min(...ys), Math.max(...ys));
  const ly = Math.log10;
  const sy = (y: number) => y1 - ((ly(y) - ly(axis.min)) / (ly(axis.max) - ly(axis.min))) * (y1 - y0);

  out.push(`<rect x="${f(x0)}" y="${f(y0)}" width="${f(x1 - x0)}" height="${f(y1 - y0)}" fill="none" stroke="#999"/>`);
  for (const c of counts) {
    out.push(`<line x1="${f(sx(c))}" y1="${f(y0)}" x2="${f(sx(c))}" y2="${f(y1)}" stroke="#eee"/>`);
    out.push(`<text class="xtick" x="${f(sx(c))}" y="${f(y1 + 16)}" text-anchor="middle">${fmtRate(c)}</text>`);
  }
  for (const t of axis.ticks) {
    const decade = Math.abs(ly(t) - Math.round(ly(t))) < 1e-9;
    out.push(`<line x1="${f(x0)}" y1="${f(sy(t))}" x2="${f(x1)}" y2="${f(sy(t))}" stroke="${decade ? "#ddd" : "#f2f2f2"}"/>`);
    out.push(`<text class="ytick" x="${f(x0 - 6)}" y="${f(sy(t) + 4)}" text-anchor="end">${tickText(t)}</text>`);
  }
  out.push(`<text x="${f((x0 + x1) / 2)}" y="${f(y1 + 36)}" text-anchor="middle">${escapeXml(c.xLabel)}</text>`);
  out.push(`<text transform="translate(${f(x0 - 56)},${f((y0 + y1) / 2)}) rotate(-90)" text-anchor="middle">throughput, msg/s (log scale)</text>`);

  // Bands first, then lines, then markers: every line stays visible over every band.
  const bands: string[] = [], lines: string[] = [], markers: string[] = [];
  for (const name of names) {
    const st = styles.get(name)!;
    const series = points.map((p) => ({ c: p.connections, b: p.backends.find((x) => x.backend === name) }));
    // Runs of consecutive points with a figure; a missing one breaks the line and the band.
    const runs: (typeof series)[] = [[]];
    for (const pt of series) {
      if (pt.b && pt.b.throughput !== null && pt.b.throughput > 0) runs[runs.length - 1].push(pt);
      else if (runs[runs.length - 1].length) runs.push([]);
    }
    const drawn = runs.filter((r) => r.length);
    if (!drawn.length) continue;
    const band = drawn
      .map((r) => r.filter((pt) => pt.b!.ci95 && pt.b!.ci95[0] > 0 && pt.b!.ci95[1] > 0))
      .filter((r) => r.length >= 2)
      .map((r) => `M${r.map((pt) => `${f(sx(pt.c))},${f(sy(pt.b!.ci95![1]))}`).join(" L")} L${[...r].reverse().map((pt) => `${f(sx(pt.c))},${f(sy(pt.b!.ci95![0]))}`).join(" L")} Z`);
    if (band.length) bands.push(`<path class="band" d="${band.join(" ")}" fill="${st.color}" fill-opacity="${BAND_OPACITY}" stroke="none"/>`);
    lines.push(`<path class="series" d="${drawn.map((r) => `M${r.map((pt) => `${f(sx(pt.c))},${f(sy(pt.b!.throughput!))}`).join(" L")}`).join(" ")}" fill="none" ${stroke(st)}/>`);
    for (const pt of drawn.flat()) {
      const hollow = pt.b!.client_bound;
      markers.push(`<circle class="point${hollow ? " client-bound" : ""}" cx="${f(sx(pt.c))}" cy="${f(sy(pt.b!.throughput!))}" r="3.5" fill="${hollow ? "white" : st.color}" stroke="${st.color}" stroke-width="1.5"/>`);
    }
  }
  out.push(...bands, ...lines, ...markers);

  const here = s.crossover.filter((c) => c.window === window && c.payload === payload);
  here
    .filter((c) => c.connections !== null)
    .forEach((c, i) => {
      const x = sx(c.connections!);
      out.push(`<line class="crossover" x1="${f(x)}" y1="${f(y0)}" x2="${f(x)}" y2="${f(y1)}" stroke="#444" stroke-width="1.2" stroke-dasharray="5 4"/>`);
      // Right of the line, or left of it when the line is in the plot's right half; staggered when there are several.
      const right = x < (x0 + x1) / 2;
      out.push(`<text class="crossover-label" x="${f(right ? x + 5 : x - 5)}" y="${f(y0 + 14 + i * 15)}" text-anchor="${right ? "start" : "end"}" font-size="11">${escapeXml(`${c.candidate} > ${c.baseline} +${c.threshold_pct}% from ${fmtRate(c.connections!)}`)}</text>`);
    });
  const none = here.filter((c) => c.connections === null);
  const unit = c.noCrossoverUnit;
  none.forEach((c, i) => {
    out.push(`<text class="no-crossover" x="${f((x0 + x1) / 2)}" y="${f(y1 + 56 + i * 15)}" text-anchor="middle" font-size="11">${escapeXml(`${c.candidate} vs ${c.baseline}: no crossover above +${c.threshold_pct}% up to ${fmtRate(c.max_connections)} ${unit}`)}</text>`);
  });

  // The legend: a line per backend, then what the marks mean.
  let ly0 = y0 + 14;
  for (const name of names) {
    const st = styles.get(name)!;
    const has = points.some((p) => p.backends.some((b) => b.backend === name && b.throughput !== null));
    out.push(`<line x1="${f(x1 + 14)}" y1="${f(ly0 - 4)}" x2="${f(x1 + 44)}" y2="${f(ly0 - 4)}" ${stroke(st)}/>`);
    out.push(`<text x="${f(x1 + 50)}" y="${f(ly0)}">${escapeXml(has ? name : `${name} (no figures)`)}</text>`);
    ly0 += 20;
  }
  // What the marks mean, a row each (text y is the row's baseline, the mark sits 4 px above it).
  const key: string[] = [];
  const row = (mark: string, text: string) => {
    if (mark) key.push(mark);
    key.push(`<text x="${f(x1 + 50)}" y="${f(ly0)}" font-size="11">${escapeXml(text)}</text>`);
    ly0 += 18;
  };
  row(`<circle cx="${f(x1 + 29)}" cy="${f(ly0 - 4)}" r="3.5" fill="#555" stroke="#555" stroke-width="1.5"/>`, "median over rounds");
  row(`<circle cx="${f(x1 + 29)}" cy="${f(ly0 - 4)}" r="3.5" fill="white" stroke="#555" stroke-width="1.5"/>`, "client-bound: the load");
  row("", `client was ≥ ${Math.round(s.client_bound_util * 100)}% busy`);
  row(`<rect x="${f(x1 + 14)}" y="${f(ly0 - 8)}" width="30" height="8" fill="#555" fill-opacity="${BAND_OPACITY}"/>`, "95% interval");
  if (here.some((c) => c.connections !== null)) row(`<line x1="${f(x1 + 14)}" y1="${f(ly0 - 4)}" x2="${f(x1 + 44)}" y2="${f(ly0 - 4)}" stroke="#444" stroke-dasharray="5 4"/>`, "crossover");
  if (pair && names.includes(pair.baseline) && names.includes(pair.candidate)) key.push(`<text x="${f(x1 + 14)}" y="${f(ly0 + 4)}" font-size="10" fill="#555">thick: the gate pair</text>`);
  out.push(...key, `</svg>`, "");
  return out.join("\n");
}

/** One chart per window and payload the sweep measured. */
export function sweepChartsSvg(s: SweepResults): { window: number; payload: number; svg: string }[] {
  return sweepCombos(s).map((c) => ({ ...c, svg: sweepChartSvg(s, c) }));
}
