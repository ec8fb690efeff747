// What the connection sweep says: per point, each backend's figures and every
// gate pair's paired throughput gain; per pair and (window, payload), the
// crossover: the fewest connections from which the candidate is ahead by more
// than the guide's stress threshold (C4).
//
// The crossover is a fixed-sequence test: the counts are tested from the most
// connections down, each at the full confidence, and the walk stops at the
// first count that does not pass. The order is fixed before any data (the
// published claim is that io_uring's lead grows with connections), so the
// chance that any count of one family passes falsely stays at 1 - confidence
// without splitting it over the counts, and the answer reads "ahead at N and
// at every count above it". Pure: results in, figures out.
import { pairedRounds, pairedT } from "../stats/paired.ts";
import { bootstrapOneSample, median } from "../stats/stats.ts";
import { errorCount, noErrors } from "../results/errors.ts";
import type { BackendResult, ScenarioResult, SweepBackend, SweepCrossover, SweepGain, SweepPoint } from "../results/schema.ts";
import { mostlyClientBound } from "../results/summary.ts";
import { CRITERIA } from "./criteria.ts";
import type { GatePair } from "./gate.ts";

/** The guide's stress threshold: C4's, throughput under many connections. */
export const STRESS_THRESHOLD = CRITERIA.find((c) => c.id === "C4")!.threshold;

export interface SweepInput {
  connections: number;
  result: ScenarioResult;
}


/** Rounds a figure is read from: measured, not stalled, with a throughput. */
const usableRounds = (b: BackendResult) => b.rounds.filter((r) => !r.stalled && r.throughput !== undefined && Number.isFinite(r.throughput));

/** The server CPU's worst real-time delay of one unit (connections, backend, round), ms, when measured. */
export type DelayOf = (connections: number, backend: string, round: number) => number | undefined;

/** The chart's band: a 95% bootstrap interval of the median throughput over the rounds (null below 2 rounds). */
function band(xs: number[]): [number, number] | null {
  if (xs.length < 2) return null;
  const b = bootstrapOneSample(xs, median, { seed: 1 });
  return Number.isFinite(b.lo) && Number.isFinite(b.hi) ? [b.lo, b.hi] : null;
}

export function backendFigures(b: BackendResult, connections: number, delayOf?: DelayOf): SweepBackend {
  const rounds = usableRounds(b);
  const delays = rounds.map((r) => delayOf?.(connections, b.backend, r.round)).filter((x): x is number => x !== undefined);
  const p99s = rounds.map((r) => r.latency?.p99).filter((x): x is number => x !== undefined && Number.isFinite(x));
  const utils = rounds.map((r) => r.client_util).filter((x): x is number => x !== undefined);
  const ok = rounds.length > 0 && !b.failure;
  return {
    backend: b.backend,
    throughput: ok && Number.isFinite(b.headline) ? b.headline : null,
    ci95: ok ? band(rounds.map((r) => r.throughput!)) : null,
    cpu_us: b.costs && Number.isFinite(b.costs.cpu_us) ? b.costs.cpu_us : null,
    p99_us: p99s.length ? median(p99s) : null,
    client_bound: mostlyClientBound(rounds),
    client_util: utils.length ? median(utils) : null,
    sched_delay_ms: delays.length ? median(delays) : null,
    rounds_throughput: rounds.map((r) => r.throughput!),
    rounds: rounds.length,
    errors: { ...noErrors(), ...b.errors },
    ...(b.failure ? { failure: b.failure } : !rounds.length && b.rounds.some((r) => r.stalled) ? { failure: "every round was hit by a platform stall (see the stalls)" } : {}),
  };
}

/** The candidate's paired throughput gain over the baseline at one point; null figures when either has errors or too few rounds. */
export function pairGain(base: BackendResult | undefined, cand: BackendResult | undefined, pair: Pick<GatePair, "baseline" | "candidate">, confidence: number): SweepGain {
  const none: SweepGain = { baseline: pair.baseline, candidate: pair.candidate, estimate_pct: null, ci: null, rounds: 0 };
  if (!base || !cand || base.failure || cand.failure || errorCount(base.errors) || errorCount(cand.errors)) return none;
  const byRound = (b: BackendResult) => new Map(usableRounds(b).map((r) => [r.round, r.throughput!]));
  const bm = byRound(base);
  const cm = byRound(cand);
  const common = [...bm.keys()].filter((n) => cm.has(n)).sort((a, b) => a - b);
  const pr = pairedRounds([common.map((n) => bm.get(n)!)], [common.map((n) => cm.get(n)!)]);
  if (pr.d.length === 0) return none;
  const t = pairedT(pr.d, confidence, true);
  return {
    ...none,
    estimate_pct: t.estimatePct,
    ci: Number.isFinite(t.lo) && Number.isFinite(t.hi) ? [t.lo, t.hi] : null,
    rounds: pr.d.length,
  };
}

/** Every point of the sweep, in connection order, then window, then payload. */
export function sweepPoints(inputs: SweepInput[], pairs: Pick<GatePair, "baseline" | "candidate">[], confidence: number, delayOf?: DelayOf): SweepPoint[] {
  const points: SweepPoint[] = [];
  for (const { connections, result } of [...inputs].sort((a, b) => a.connections - b.connections)) {
    for (const v of result.variants) {
      const window = Number(v.params.window);
      const payload = Number(v.params.payload);
      const find = (name: string) => v.backends.find((b) => b.backend === name);
      points.push({
        connections,
        window,
        payload,
        backends: v.backends.map((b) => backendFigures(b, connections, delayOf)),
        gains: pairs.map((p) => pairGain(find(p.baseline), find(p.candidate), p, confidence)),
      });
    }
  }
  return points.sort((a, b) => a.window - b.window || a.payload - b.payload || a.connections - b.connections);
}

const pct = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(1)}%`;
const interval = (ci: [number, number]) => `[${pct(ci[0])}, ${pct(ci[1])}]`;

/** The crossover of one pair at one (window, payload), by the fixed-sequence walk from the most connections down. */
export function crossoverOf(points: SweepPoint[], pair: Pick<GatePair, "baseline" | "candidate">, window: number, payload: number, thresholdPct: number): SweepCrossover {
  const curve = points
    .filter((p) => p.window === window && p.payload === payload)
    .map((p) => ({ connections: p.connections, gain: p.gains.find((g) => g.baseline === pair.baseline && g.candidate === pair.candidate) }))
    .filter((x): x is { connections: number; gain: SweepGain } => x.gain !== undefined && x.gain.ci !== null && x.gain.estimate_pct !== null)
    .sort((a, b) => a.connections - b.connections);
  const base = { baseline: pair.baseline, candidate: pair.candidate, window, payload, threshold_pct: thresholdPct };
  const what = `${pair.candidate} over ${pair.baseline}, ${window} in flight, ${payload} B`;
  if (!curve.length) {
    return { ...base, connections: null, estimate_pct: null, ci: null, holds_above: null, max_connections: 0, ahead_at: [], note: `${what}: no point with figures for both (errors, failures or too few rounds)` };
  }
  const top = curve[curve.length - 1];
  let at: (typeof curve)[number] | undefined;
  for (let i = curve.length - 1; i >= 0; i--) {
    if (curve[i].gain.ci![0] > thresholdPct) at = curve[i];
    else break;
  }
  // Counts whose own interval is above the threshold: each at 95% alone, not corrected for the others.
  const ahead = curve.filter((x) => x.gain.ci![0] > thresholdPct).map((x) => x.connections);
  if (!at) {
    const alone = curve.filter((x) => ahead.includes(x.connections));
    return {
      ...base,
      connections: null,
      estimate_pct: top.gain.estimate_pct,
      ci: top.gain.ci,
      holds_above: null,
      max_connections: top.connections,
      ahead_at: ahead,
      note:
        `${what}: no crossover up to ${top.connections} connections (there ${pct(top.gain.estimate_pct!)} ${interval(top.gain.ci!)}, threshold +${thresholdPct}%)` +
        (alone.length
          ? `; ahead by more than ${thresholdPct}% at ${alone.map((x) => `${x.connections} (${pct(x.gain.estimate_pct!)} ${interval(x.gain.ci!)})`).join(", ")} alone, each interval on its own, not a crossover`
          : ""),
    };
  }
  return {
    ...base,
    connections: at.connections,
    estimate_pct: at.gain.estimate_pct,
    ci: at.gain.ci,
    holds_above: true,
    max_connections: top.connections,
    ahead_at: ahead,
    note: `${what}: ahead by more than ${thresholdPct}% from ${at.connections} connections (${pct(at.gain.estimate_pct!)} ${interval(at.gain.ci!)}) and at every count above it up to ${top.connections}`,
  };
}

/** Every pair's crossover at every (window, payload) swept. */
export function sweepCrossovers(points: SweepPoint[], pairs: Pick<GatePair, "baseline" | "candidate">[], thresholdPct = STRESS_THRESHOLD): SweepCrossover[] {
  const combos = [...new Map(points.map((p) => [`${p.window}/${p.payload}`, { window: p.window, payload: p.payload }])).values()];
  return pairs.flatMap((pair) => combos.map((c) => crossoverOf(points, pair, c.window, c.payload, thresholdPct)));
}
