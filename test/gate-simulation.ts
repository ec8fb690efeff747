// The gate's whole procedure on simulated rounds, as a run does it: rounds
// come in blocks, at each planned look (6/13/20; a scenario read with the sign
// test first looks at 7) every gate's criteria and the A/A control are
// evaluated by the real code (verdict/gate.ts, verdict/control.ts), the
// scenario stops once everything reading it is settled, and the final
// statuses are those of evaluateGatePairs. Used by gate-calibration.test.ts,
// and runnable on its own for the README's figures:
//   bun test/gate-simulation.ts [simulations]
import { lookConfidence, minSignRounds } from "../bench/stats/paired.ts";
import { seededRandom } from "../bench/stats/stats.ts";
import type { BackendResult, Criterion, RoundResult, ScenarioResult } from "../bench/results/schema.ts";
import { evaluateGatePairs, scenarioSettled } from "../bench/verdict/control.ts";
import { CRITERIA, FAMILY_CONFIDENCE, type CriterionDef } from "../bench/verdict/criteria.ts";
import type { GatePair } from "../bench/verdict/gate.ts";

export const LOOKS = [6, 13, 20];
export const CONFIDENCE = lookConfidence(FAMILY_CONFIDENCE, LOOKS.length);

/** How one simulated pair differs: the true per-round log-ratio's mean and spread (fresh servers each round). */
export interface Truth {
  /** True improvement of the candidate, % (the A/A control's second instance: its true offset). */
  improvementPct: number;
  /** Offset of the control's second instance, % (0: identical servers). */
  controlOffsetPct: number;
  /** SD of a per-round log-ratio (instance and round noise together). */
  sd: number;
  /** For tail percentiles: a share of rounds that meet a hiccup, and how much it multiplies that round's figure. */
  hiccup?: { share: number; factor: number };
}

export interface Outcome {
  gate: Criterion;
  control: Criterion;
  rounds: number;
}

function normal(rnd: () => number): number {
  // Box-Muller: enough for a simulation.
  const u = Math.max(rnd(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rnd());
}

const noErr = () => ({ timeout: 0, closed: 0, mismatch: 0, io: 0 });

/** A per-round figure for a backend whose value is `log` on the log scale, with the round's shared drift. */
function figure(def: CriterionDef, base: number, log: number, shared: number, rnd: () => number, hiccup?: Truth["hiccup"]): RoundResult["latency"] | number {
  let x = base * Math.exp(shared + log);
  if (hiccup && rnd() < hiccup.share) x *= def.higherIsBetter ? 1 / hiccup.factor : hiccup.factor;
  return x;
}

/** The log-ratio (candidate over baseline) at which a criterion improves by pct. */
function logFor(def: CriterionDef, pct: number): number {
  return def.higherIsBetter ? Math.log1p(pct / 100) : Math.log1p(-pct / 100);
}

function scenarioOf(def: CriterionDef, rounds: Map<string, number[]>): ScenarioResult {
  const key = def.variants === "all" ? "100B" : def.variants[0];
  const backends: BackendResult[] = [...rounds].map(([name, xs]) => ({
    backend: name,
    rounds: xs.map((x, i): RoundResult => {
      const r: RoundResult = { round: i + 1, errors: noErr() };
      if (def.higherIsBetter) r.throughput = x;
      else r.latency = { n: 1000, p50: x, p95: x, p99: x, p999: x, mean: x, min: x, max: x };
      return r;
    }),
    headline: NaN,
    range: [NaN, NaN],
    errors: noErr(),
  }));
  return { id: 0, slug: def.scenario, name: def.name, status: "ok", variants: [{ key, label: key, params: {}, metric: "m", higherIsBetter: def.higherIsBetter, backends }] };
}

const PAIRS: GatePair[] = [
  { baseline: "base", candidate: "cand", kind: "headline" },
  { baseline: "base", candidate: "base#2", kind: "control" },
];
const BACKENDS = ["base", "cand", "base#2"].map((name) => ({ name, available: true }));

/** One simulated run of one criterion's scenario with its looks; the final gate and control criterion. */
export function simulateOnce(def: CriterionDef, truth: Truth, rnd: () => number): Outcome {
  const sign = def.parts.some((p) => p.method === "sign");
  const looks = [Math.max(LOOKS[0], sign ? minSignRounds(CONFIDENCE) : 0), ...LOOKS.slice(1)];
  const max = looks[looks.length - 1];
  const series = new Map<string, number[]>([["base", []], ["cand", []], ["base#2", []]]);
  const mu = logFor(def, truth.improvementPct);
  const off = logFor(def, truth.controlOffsetPct);
  const half = truth.sd / Math.SQRT2;
  let n = 0;
  for (;;) {
    n++;
    const shared = 0.05 * normal(rnd);
    series.get("base")!.push(figure(def, 100, half * normal(rnd), shared, rnd, truth.hiccup) as number);
    series.get("cand")!.push(figure(def, 100, mu + half * normal(rnd), shared, rnd, truth.hiccup) as number);
    series.get("base#2")!.push(figure(def, 100, off + half * normal(rnd), shared, rnd, truth.hiccup) as number);
    if (looks.includes(n)) {
      const r = { scenarios: [scenarioOf(def, series)], backends: BACKENDS };
      if (n === max || scenarioSettled(r, def.scenario, PAIRS, { confidence: CONFIDENCE, maxRounds: max }).settled) break;
    }
  }
  const gates = evaluateGatePairs({ scenarios: [scenarioOf(def, series)], backends: BACKENDS }, PAIRS, { confidence: CONFIDENCE, maxRounds: max });
  const pick = (i: number) => gates[i].criteria.find((c) => c.id === def.id)!;
  return { gate: pick(0), control: pick(1), rounds: n };
}

export interface Rates {
  pass: number;
  fail: number;
  inconclusive: number;
  equivalent: number;
  uninformative: number;
  drifted: number;
  meanRounds: number;
}

/** Shares of each outcome over `sims` simulated runs (seeded: the same numbers every time). */
export function simulate(def: CriterionDef, truth: Truth, sims: number, seed = 1): Rates {
  const rnd = seededRandom(seed);
  const count = { pass: 0, fail: 0, inconclusive: 0, equivalent: 0, uninformative: 0, drifted: 0, rounds: 0 };
  for (let i = 0; i < sims; i++) {
    const o = simulateOnce(def, truth, rnd);
    if (o.gate.status === "PASS") count.pass++;
    else if (o.gate.status === "FAIL") count.fail++;
    else count.inconclusive++;
    count[o.control.control!]++;
    count.rounds += o.rounds;
  }
  return {
    pass: count.pass / sims,
    fail: count.fail / sims,
    inconclusive: count.inconclusive / sims,
    equivalent: count.equivalent / sims,
    uninformative: count.uninformative / sims,
    drifted: count.drifted / sims,
    meanRounds: count.rounds / sims,
  };
}

/**
 * Per-round spreads measured on the 2-vCPU VM with a fresh server per round
 * (README, "Method"): C1's ping-pong ratio about 1.5% per round, the
 * throughputs about 2.5%; C3's tail percentiles are bimodal (a round meets a
 * millisecond hiccup or not), simulated as 20% of rounds tripled.
 */
export const MEASURED: Record<string, Omit<Truth, "improvementPct" | "controlOffsetPct">> = {
  C1: { sd: 0.015 },
  C2: { sd: 0.025 },
  C3: { sd: 0.03, hiccup: { share: 0.2, factor: 3 } },
  C4: { sd: 0.025 },
};

export const byId = (id: string) => CRITERIA.find((c) => c.id === id)!;

if (import.meta.main) {
  const sims = Number(process.argv[2] ?? 2000);
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  for (const def of CRITERIA) {
    const m = MEASURED[def.id];
    for (const [what, truth] of [
      ["identical servers, no gain", { ...m, improvementPct: 0, controlOffsetPct: 0 }],
      ["control offset 0.5%", { ...m, improvementPct: 0, controlOffsetPct: 0.5 }],
      [`gain at the threshold (${def.threshold}%)`, { ...m, improvementPct: def.threshold, controlOffsetPct: 0 }],
      [`gain 2x the threshold`, { ...m, improvementPct: 2 * def.threshold, controlOffsetPct: 0 }],
      [`control offset 4x the margin`, { ...m, improvementPct: 0, controlOffsetPct: def.threshold }],
    ] as [string, Truth][]) {
      const r = simulate(def, truth, sims);
      console.log(
        `${def.id} ${what}: PASS ${pct(r.pass)} FAIL ${pct(r.fail)} undecided ${pct(r.inconclusive)} | control equivalent ${pct(r.equivalent)} uninformative ${pct(r.uninformative)} drifted ${pct(r.drifted)} | rounds ${r.meanRounds.toFixed(1)}`,
      );
    }
  }
}
