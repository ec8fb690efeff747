// Turning per-round measurements into the compared figures: the headline per
// backend with its bootstrap interval, and the ratio to the baseline.
import { addErrors, noErrors, type ClientErrors } from "../clients/ping-pong.ts";
import type { BackendResult, RoundResult } from "./schema.ts";
import { bootstrapOneSample, bootstrapTwoSample, median } from "../measure/stats.ts";


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

/** Fills headline, ci95 and relative for every backend of a variant. */
export function compareToBaseline(results: BackendResult[], baseline: string, seed: number, higherIsBetter?: boolean): void {
  const pick = (r: RoundResult) => roundHeadline(r, higherIsBetter);
  const base = results.find((r) => r.backend === baseline && !r.failure);
  const baseVals = base ? base.rounds.map(pick).filter(Number.isFinite) : [];
  for (const r of results) {
    const vals = r.rounds.map(pick).filter(Number.isFinite);
    r.headline = median(vals);
    const self = bootstrapOneSample(vals, median, { seed });
    r.ci95 = [self.lo, self.hi];
    if (baseVals.length && vals.length && !r.failure) {
      const rel = bootstrapTwoSample(baseVals, vals, (b, c) => median(c) / median(b), { seed });
      r.relative = { ratio: rel.estimate, ci95: [rel.lo, rel.hi] };
    }
  }
}
