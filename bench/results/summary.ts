// Turning per-round measurements into the compared figures: the headline per
// backend (the median over its rounds, with their range) and its figure
// against the baseline, paired round by round as the gates pair them, at
// the gates' confidence, so that every table in the report tells one story.
import { addErrors, noErrors, type ClientErrors } from "../results/errors.ts";
import type { BackendResult, RelativeFigure, RoundResult } from "./schema.ts";
import { median } from "../stats/stats.ts";
import { pairedT } from "../stats/paired.ts";

/** Below this many paired rounds a relative figure is a range (lowest to highest ratio), not an interval. */
export const MIN_INTERVAL_ROUNDS = 5;

/**
 * A round's compared figure: its throughput when higher is better (a
 * throughput variant whose rounds also carry latency, as the sweep's do),
 * else its p50 latency; either falls back to the other.
 */
export function roundHeadline(r: RoundResult, higherIsBetter?: boolean): number {
  if (higherIsBetter && r.throughput !== undefined) return r.throughput;
  return r.latency ? r.latency.p50 : (r.throughput ?? NaN);
}

/** Most of these rounds were client-bound (the client busy >= CLIENT_BOUND_UTIL of their interval). */
export function mostlyClientBound(rounds: RoundResult[]): boolean {
  return rounds.filter((r) => r.client_bound).length * 2 > rounds.length;
}

export function sumErrors(rounds: RoundResult[]): ClientErrors {
  const e = noErrors();
  for (const r of rounds) addErrors(e, r.errors);
  return e;
}

const usable = (x: number) => Number.isFinite(x) && x > 0;

/**
 * The per-round log-ratios ln(backend / baseline) of two backends' rounds,
 * matched by round number; rounds a stall hit on either side, or without a
 * usable figure, are left out (as the gates leave them out).
 */
export function pairedLogs(base: BackendResult, other: BackendResult, higherIsBetter?: boolean): number[] {
  const byRound = new Map(base.rounds.filter((r) => !r.stalled).map((r) => [r.round, roundHeadline(r, higherIsBetter)]));
  const d: number[] = [];
  for (const r of other.rounds) {
    if (r.stalled) continue;
    const b = byRound.get(r.round);
    const c = roundHeadline(r, higherIsBetter);
    if (b !== undefined && usable(b) && usable(c)) d.push(Math.log(c / b));
  }
  return d;
}

/** A backend against the baseline from paired log-ratios: an interval from MIN_INTERVAL_ROUNDS on, a range below. */
export function relativeFigure(d: number[], confidence: number): RelativeFigure | undefined {
  if (!d.length) return undefined;
  const n = d.length;
  if (n >= MIN_INTERVAL_ROUNDS) {
    // higher-is-better: the interval of exp(mean d) - 1 in %, turned back into a ratio.
    const i = pairedT(d, confidence, true);
    return { ratio: 1 + i.estimatePct / 100, interval: [1 + i.lo / 100, 1 + i.hi / 100], kind: "ci", confidence, rounds: n };
  }
  const ratio = Math.exp(d.reduce((s, x) => s + x, 0) / n);
  return { ratio, interval: n >= 2 ? [Math.exp(Math.min(...d)), Math.exp(Math.max(...d))] : null, kind: "range", rounds: n };
}

/** Fills headline, range and relative for every backend of a variant. */
export function compareToBaseline(results: BackendResult[], baseline: string, confidence: number, higherIsBetter?: boolean): void {
  const pick = (r: RoundResult) => roundHeadline(r, higherIsBetter);
  const base = results.find((r) => r.backend === baseline && !r.failure);
  for (const r of results) {
    const vals = r.rounds.filter((x) => !x.stalled).map(pick).filter(Number.isFinite);
    r.headline = median(vals);
    r.range = vals.length ? [Math.min(...vals), Math.max(...vals)] : [NaN, NaN];
    delete r.relative;
    if (base && !r.failure) {
      const rel = r === base ? { ratio: 1, interval: null, kind: "ci" as const, confidence, rounds: vals.length } : relativeFigure(pairedLogs(base, r, higherIsBetter), confidence);
      if (rel) r.relative = rel;
    }
  }
}
