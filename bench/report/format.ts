// Cell formatting shared by the report's tables: numbers, rates, ratios
// against the baseline, error counts, and the small lookups the tables share.
import { errorCount } from "../results/errors.ts";
import { median } from "../stats/stats.ts";
import type { BackendResult, VariantResult } from "../results/schema.ts";

export function fmtNum(x: number | undefined, digits = 1): string {
  if (x === undefined || !Number.isFinite(x)) return "n/a";
  if (Math.abs(x) >= 100000) return Math.round(x).toLocaleString("en-US");
  return x.toFixed(digits);
}

/** A count per second: whole numbers with thousands separators. */
export function fmtRate(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return "n/a";
  return Math.round(x).toLocaleString("en-US");
}

/** ns with 3 significant digits (e.g. 4.12, 41.2, 412, 4120). */
export function fmtNs(ns: number): string {
  if (!Number.isFinite(ns)) return "-";
  if (ns >= 1000) return Math.round(ns).toString();
  if (ns >= 100) return ns.toFixed(0);
  if (ns >= 10) return ns.toFixed(1);
  return ns.toFixed(2);
}

/** A percentage change with its sign, one decimal. */
export const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;

/**
 * A backend against the baseline, paired round by round: "0.97 [0.96, 0.98]"
 * (an interval at the gates' confidence) or "0.97 (0.95–0.99)" (2-4 rounds:
 * the lowest and highest per-round ratio, too few for an interval).
 */
export function fmtRatio(b: BackendResult, baseline: string): string {
  if (b.backend === baseline && b.relative) return "1.00 (baseline)";
  const r = b.relative;
  if (!r) return "n/a";
  if (!r.interval || !r.interval.every(Number.isFinite)) return r.ratio.toFixed(2);
  const [lo, hi] = r.interval;
  return r.kind === "ci" ? `${r.ratio.toFixed(2)} [${lo.toFixed(2)}, ${hi.toFixed(2)}]` : `${r.ratio.toFixed(2)} (${lo.toFixed(2)}–${hi.toFixed(2)})`;
}

/** The confidence of a variant's paired ratios, as text ("98.3%"), or undefined when none has an interval. */
export function ratioConfidence(vs: (VariantResult | undefined)[]): string | undefined {
  const c = vs.flatMap((v) => v?.backends ?? []).find((b) => b.relative?.kind === "ci" && b.relative.interval && b.relative.confidence !== undefined)?.relative?.confidence;
  return c === undefined ? undefined : `${(c * 100).toFixed(1).replace(/\.0$/, "")}%`;
}

/** What the ratio column means, for a table's notes. */
export function ratioNote(vs: (VariantResult | undefined)[], baseline: string, better: string): string {
  const conf = ratioConfidence(vs);
  return `vs ${baseline}: paired round by round as the gates pair them (stalled rounds left out), the geometric mean of the per-round ratios${conf ? ` with its ${conf} interval in brackets (the gates' confidence)` : ""}; with 2-4 rounds, the lowest and highest ratio in parentheses instead: too few rounds for an interval. ${better}`;
}

export function errorsCell(b: BackendResult): string {
  const n = errorCount(b.errors);
  if (b.unsupported) return `n/a (${b.unsupported})`;
  if (b.failure) return `FAILED: ${b.failure}`;
  if (n === 0) return "0";
  return Object.entries(b.errors)
    .filter(([, c]) => c > 0)
    .map(([k, c]) => `${c} ${k}`)
    .join(", ");
}

/** Errors of a backend in several variants, each named ("new: 1 closed"); "0" when there are none. */
export function combinedErrors(parts: [string, BackendResult | undefined][]): string {
  const cells = parts.filter(([, b]) => b).map(([k, b]) => [k, errorsCell(b!)] as const);
  if (cells.every(([, c]) => c === "0")) return "0";
  return cells.filter(([, c]) => c !== "0").map(([k, c]) => `${k}: ${c}`).join("; ");
}

/** The headline (median over rounds) with the lowest and highest round in parentheses. */
export function headlineCell(b: BackendResult | undefined, fmt: (x: number) => string): string {
  if (!b || b.failure || !Number.isFinite(b.headline)) return "n/a";
  const [lo, hi] = b.range ?? [NaN, NaN];
  return Number.isFinite(lo) && Number.isFinite(hi) && fmt(lo) !== fmt(hi) ? `${fmt(b.headline)} (${fmt(lo)}–${fmt(hi)})` : fmt(b.headline);
}

/** A scenario-specific figure: the backend's median over rounds, else the median of its rounds' values. */
export function extraOf(b: BackendResult | undefined, key: string): number | undefined {
  if (!b) return undefined;
  const v = b.extra?.[key];
  if (v !== undefined && Number.isFinite(v)) return v;
  const xs = b.rounds.map((r) => r.extra?.[key]).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return xs.length ? median(xs) : undefined;
}

export function paramsText(v: VariantResult): string {
  const e = Object.entries(v.params);
  return e.length ? ` Parameters: ${e.map(([k, x]) => `${k} ${x}`).join(", ")}.` : "";
}

export function roundsOf(vs: (VariantResult | undefined)[]): number {
  return Math.max(0, ...vs.flatMap((v) => (v ? v.backends.map((b) => b.rounds.length) : [])));
}

/** Backends of several variants, in first-seen order. */
export function backendNames(vs: (VariantResult | undefined)[]): string[] {
  return [...new Set(vs.flatMap((v) => (v ? v.backends.map((b) => b.backend) : [])))];
}

import { CHANGE_FLOOR } from "../verdict/gate.ts";

export { CHANGE_FLOOR };

/**
 * A figure's change from baseline to candidate as "+12.3%", or "—" when the
 * baseline is below `floor` (a change from 0.0005 to 0.0008 is not +60% of
 * anything anyone pays for); "n/a" when either is missing.
 */
export function changeCell(baseline: number | null | undefined, candidate: number | null | undefined, changePct: number | null | undefined, floor = CHANGE_FLOOR): string {
  if (baseline == null || candidate == null) return "n/a";
  if (Math.abs(baseline) < floor) return "—";
  if (changePct == null || !Number.isFinite(changePct)) return "n/a";
  return `${signed(changePct)}%`;
}
