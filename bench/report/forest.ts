// The verdict as a picture: a forest plot per gate, one standalone SVG. Each
// criterion is a row: its interval as a bar, its improvement as a dot, its
// threshold as a vertical tick, coloured by status; 0 is a reference line
// through every row. One x scale for every gate, so gates compare at a glance.
// The A/A control is drawn in neutral colours with its margin as a shaded
// band instead of a threshold: it checks the machine, it is not a verdict.
// No dependencies.
import type { BenchResults, CriterionStatus, Gate } from "../results/schema.ts";
import { signed } from "./format.ts";
import { escapeXml } from "./svg.ts";

export const STATUS_COLORS: Record<CriterionStatus, string> = {
  PASS: "#2ca02c",
  FAIL: "#d62728",
  INCONCLUSIVE: "#ff7f0e",
  "CLIENT-BOUND": "#9467bd",
  INVALID: "#8c564b",
  "NOT EVALUATED": "#7f7f7f",
  // The A/A control's states: neutral blues and greys, a drift in magenta (not FAIL's red).
  EQUIVALENT: "#4e79a7",
  UNINFORMATIVE: "#a0a0a0",
  DRIFTED: "#e377c2",
};

const GATE_STATUSES: CriterionStatus[] = ["PASS", "FAIL", "INCONCLUSIVE", "CLIENT-BOUND", "INVALID", "NOT EVALUATED"];
const CONTROL_STATUSES: CriterionStatus[] = ["EQUIVALENT", "UNINFORMATIVE", "DRIFTED"];

/** A gate as the plot shows it: its heading. */
export interface ForestGate {
  title: string;
  gate: Gate;
}

const WIDTH = 900;
const X0 = 260;
const X1 = 640;
const ROW = 22;
const HEAD = 30;
/** Improvements beyond ±LIMIT % are drawn to the edge with an arrow, so one wild interval does not squash the rest. */
const LIMIT = 100;

const f = (x: number) => (Math.round(x * 10) / 10).toString();

/** A gate's heading in the plot: which kind, which pair, the verdict, and the placement when there are several. */
export function forestTitle(g: Gate, headline: boolean, placement?: string): string {
  const where = placement ? ` [${placement}]` : "";
  if (g.kind === "control") return `A/A control: ${g.candidate} vs ${g.baseline}, the same server twice: ${g.verdict.toLowerCase()} (shaded: the margin)${where}`;
  return `${headline ? "Headline gate" : "Gate"}: ${g.candidate} vs ${g.baseline}: ${g.verdict}${g.trusted === false ? " (NOT TO BE TRUSTED on some criteria)" : ""}${where}`;
}

/** Every gate of a run, per placement: the headline first, the other pairs, the A/A control last. */
export function forestGates(r: BenchResults): ForestGate[] {
  const runs = r.placements && r.placements.length > 1 ? r.placements.map((p) => ({ gate: p.gate, gates: p.gates, where: p.placement.mode as string | undefined })) : [{ gate: r.gate, gates: r.gates, where: undefined }];
  return runs.flatMap(({ gate, gates, where }) => {
    if (!gate) return [];
    const others = (gates ?? []).filter((g) => !(g.baseline === gate.baseline && g.candidate === gate.candidate));
    const ordered = [gate, ...others.filter((g) => g.kind !== "control"), ...others.filter((g) => g.kind === "control")];
    return ordered.map((g) => ({ title: forestTitle(g, g === gate, where), gate: g }));
  });
}

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const r = raw / mag;
  return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 5 ? 5 : 10) * mag;
}

/** The x scale: every interval, improvement and threshold, and 0, within ±LIMIT %. */
export function forestScale(gates: Gate[]): { lo: number; hi: number; step: number } {
  const xs = [0, ...gates.flatMap((g) => g.criteria.flatMap((c) => [...(g.kind === "control" ? [c.margin_pct ?? 0, -(c.margin_pct ?? 0)] : [c.threshold_pct]), ...(c.improvement_pct === null ? [] : [c.improvement_pct]), ...(c.ci ?? [])]))].filter(Number.isFinite);
  const lo0 = Math.max(-LIMIT, Math.min(...xs));
  const hi0 = Math.min(LIMIT, Math.max(...xs));
  const step = niceStep(Math.max(1, hi0 - lo0), 6);
  return { lo: Math.floor(lo0 / step) * step, hi: Math.ceil(hi0 / step) * step, step };
}

/** One SVG: a block of rows per gate, the shared improvement axis at the bottom, a legend of the statuses. */
export function gatesForestSvg(gates: ForestGate[]): string {
  const { lo, hi, step } = forestScale(gates.map((g) => g.gate));
  const sx = (x: number) => X0 + ((Math.min(hi, Math.max(lo, x)) - lo) / (hi - lo)) * (X1 - X0);
  const out: string[] = [];
  let y = 40;
  const plotTop = y;
  for (const { title, gate } of gates) {
    out.push(`<g class="gate${gate.kind === "control" ? " control" : ""}">`);
    out.push(`<text x="10" y="${f(y + 18)}" font-weight="bold">${escapeXml(title)}</text>`);
    y += HEAD;
    for (const c of gate.criteria) {
      const color = STATUS_COLORS[c.status];
      const mid = y + ROW / 2;
      out.push(`<g class="criterion" fill="${color}">`);
      out.push(`<text x="10" y="${f(mid + 4)}" fill="#000">${escapeXml(`${c.id} ${c.name}`.slice(0, 40))}</text>`);
      if (gate.kind === "control" && c.margin_pct !== undefined) {
        // The margin the two instances must stay within.
        out.push(`<rect class="margin" x="${f(sx(-c.margin_pct))}" y="${f(y + 2)}" width="${f(sx(c.margin_pct) - sx(-c.margin_pct))}" height="${f(ROW - 4)}" fill="#4e79a7" fill-opacity="0.12" stroke="none"/>`);
      } else {
        // The threshold this criterion must clear.
        out.push(`<line class="threshold" x1="${f(sx(c.threshold_pct))}" y1="${f(y + 2)}" x2="${f(sx(c.threshold_pct))}" y2="${f(y + ROW - 2)}" stroke="#000" stroke-width="2"/>`);
      }
      if (c.ci && c.improvement_pct !== null) {
        const [a, b] = c.ci;
        out.push(`<rect class="interval" x="${f(sx(a))}" y="${f(mid - 4)}" width="${f(Math.max(1, sx(b) - sx(a)))}" height="8" fill-opacity="0.45" stroke="${color}"/>`);
        if (a < lo) out.push(`<path class="clipped" d="M${f(X0 - 8)},${f(mid)} L${f(X0 - 1)},${f(mid - 5)} L${f(X0 - 1)},${f(mid + 5)} Z"/>`);
        if (b > hi) out.push(`<path class="clipped" d="M${f(X1 + 8)},${f(mid)} L${f(X1 + 1)},${f(mid - 5)} L${f(X1 + 1)},${f(mid + 5)} Z"/>`);
        out.push(`<circle class="estimate" cx="${f(sx(c.improvement_pct))}" cy="${f(mid)}" r="4" stroke="#000" stroke-width="0.8"/>`);
        out.push(`<text x="${f(X1 + 14)}" y="${f(mid + 4)}">${escapeXml(`${signed(c.improvement_pct)} [${signed(a)}, ${signed(b)}] ${c.status}`)}</text>`);
      } else {
        out.push(`<text x="${f(X1 + 14)}" y="${f(mid + 4)}">${escapeXml(c.status)}</text>`);
        out.push(`<text x="${f(X0 + 6)}" y="${f(mid + 4)}" font-size="10">${escapeXml(c.note.slice(0, 60) || "no interval")}</text>`);
      }
      out.push(`</g>`);
      y += ROW;
    }
    out.push(`</g>`);
    y += 8;
  }
  const plotBottom = y;
  // 0: no difference. Drawn over every row.
  const grid: string[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) {
    const x = sx(t);
    grid.push(`<line x1="${f(x)}" y1="${f(plotTop)}" x2="${f(x)}" y2="${f(plotBottom)}" stroke="#eee"/>`);
    grid.push(`<text class="xtick" x="${f(x)}" y="${f(plotBottom + 16)}" text-anchor="middle">${signed(Number(t.toPrecision(6))).replace(".0", "")}</text>`);
  }
  grid.push(`<line class="zero" x1="${f(sx(0))}" y1="${f(plotTop)}" x2="${f(sx(0))}" y2="${f(plotBottom)}" stroke="#444" stroke-dasharray="4 3"/>`);
  grid.push(`<text x="${f((X0 + X1) / 2)}" y="${f(plotBottom + 34)}" text-anchor="middle">improvement of the candidate over the baseline, % (positive: better); bar: the interval; tick: the threshold</text>`);
  y = plotBottom + 56;
  const legend: string[] = [];
  const hasControl = gates.some((g) => g.gate.kind === "control");
  for (const [title, statuses] of [["gates", GATE_STATUSES], ...(hasControl ? [["A/A control", CONTROL_STATUSES]] : [])] as [string, CriterionStatus[]][]) {
    let lx = 10;
    legend.push(`<text x="${lx}" y="${f(y)}" font-style="italic">${escapeXml(title)}:</text>`);
    lx += 18 + title.length * 7;
    for (const status of statuses) {
      legend.push(`<rect x="${lx}" y="${f(y - 9)}" width="10" height="10" fill="${STATUS_COLORS[status]}"/>`, `<text x="${lx + 14}" y="${f(y)}">${escapeXml(status)}</text>`);
      lx += 24 + status.length * 7.5;
    }
    y += 18;
  }
  const height = Math.round(y);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" font-weight="bold" font-size="14">The decision gates: each criterion's improvement and interval against its threshold</text>`,
    ...(gates.length ? [...grid, ...out, ...legend] : [`<text x="${WIDTH / 2}" y="60" text-anchor="middle">no gate was evaluated</text>`]),
    `</svg>`,
    "",
  ].join("\n");
}
