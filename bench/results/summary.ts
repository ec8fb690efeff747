// Turning per-round measurements into the compared figures: the headline per
// backend with its bootstrap interval, and the ratio to the baseline.
import { addErrors, noErrors, type ClientErrors } from "../clients/ping-pong.ts";
import type { BackendResult, RoundResult } from "./schema.ts";
import { bootstrapOneSample, bootstrapTwoSample, median } from "../measure/stats.ts";


export function roundHeadline(r: RoundResult): number {
  return r.latency ? r.latency.p50 : (r.throughput ?? NaN);
}

export function sumErrors(rounds: RoundResult[]): ClientErrors {
  const e = noErrors();
  for (const r of rounds) addErrors(e, r.errors);
  return e;
}

/** Fills headline, ci95 and relative for every backend of a variant. */
export function compareToBaseline(results: BackendResult[], baseline: string, seed: number): void {
  const base = results.find((r) => r.backend === baseline && !r.failure);
  const baseVals = base ? base.rounds.map(roundHeadline).filter(Number.isFinite) : [];
  for (const r of results) {
    const vals = r.rounds.map(roundHeadline).filter(Number.isFinite);
    r.headline = median(vals);
    const self = bootstrapOneSample(vals, median, { seed });
    r.ci95 = [self.lo, self.hi];
    if (baseVals.length && vals.length && !r.failure) {
      const rel = bootstrapTwoSample(baseVals, vals, (b, c) => median(c) / median(b), { seed });
      r.relative = { ratio: rel.estimate, ci95: [rel.lo, rel.hi] };
    }
  }
}
