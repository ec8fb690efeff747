// The guide's decision gate, evaluated from BenchResults only: four criteria,
// each the candidate's improvement over the baseline with a seeded 95%
// bootstrap interval over rounds, and a verdict from how many of them hold.
// Also the guide's Phase 0 check (epoll against the baseline, expected 15-30%).
import type { InformationalRow, BackendResult, BenchResults, Criterion, CriterionStatus, Gate, RoundResult, ScenarioResult, VariantResult } from "../results/schema.ts";
import { bootstrapReplicates, bootstrapTwoSample, improvementHigherBetter, improvementLowerBetter, median, percentileInterval } from "../measure/stats.ts";

/** The guide asks for at least this many passing criteria. */
export const GATE_PASSES_NEEDED = 2;
/** Phase 0: the epoll server should be this much better than the baseline, %. */
export const PHASE0_EXPECTED: [number, number] = [15, 30];
/** Largest --rounds the bench accepts; beyond it more rounds are not a practical answer. */
const MAX_ROUNDS = 1000;
const DEFAULT_ITERATIONS = 5000;

export interface GateOptions {
  seed: number;
  /** Bootstrap resamples per interval (default 5000). */
  iterations?: number;
}

/** What more rounds would likely do to an INCONCLUSIVE criterion if its estimate holds. */
interface Projection {
  rounds: number;
  outcome: "PASS" | "FAIL";
}

interface Evaluated {
  criterion: Criterion;
  projection?: Projection;
  /** Rounds currently behind the interval (fewest of either backend). */
  rounds?: number;
}

interface Measure {
  /** Improvement %, positive: candidate better. */
  est: number;
  lo: number;
  hi: number;
  rounds: number;
}

type Lookup = { ok: true; pairs: { key: string; base: BackendResult; cand: BackendResult }[] } | { ok: false; status: CriterionStatus; note: string };

interface Spec {
  id: string;
  name: string;
  metric: string;
  threshold: number;
}

const SPECS = {
  C1: { id: "C1", name: "Single ping-pong latency", metric: "scenario 1 p50 latency, geometric mean over 10B, 100B, 1000B", threshold: 10 },
  C2: { id: "C2", name: "Persistent-connection throughput", metric: "scenario 2 throughput, msg/s", threshold: 15 },
  C3: { id: "C3", name: "Latency percentiles under load", metric: "scenario 4 p95 and p99 latency (corrected), µs", threshold: 15 },
  C4: { id: "C4", name: "Throughput stress", metric: "scenario 6 throughput, msg/s", threshold: 20 },
} satisfies Record<string, Spec>;

const fin = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`;
const ciText = (m: Measure) => (fin(m.lo) ? ` [${pct(m.lo)}, ${pct(m.hi)}]` : " (no interval)");

function errorText(b: BackendResult): string {
  if (b.failure) return `failed (${b.failure})`;
  const e = Object.entries(b.errors).filter(([, c]) => c > 0);
  return e.map(([k, c]) => `${c} ${k}`).join(", ");
}

function hasErrors(b: BackendResult): boolean {
  return Boolean(b.failure) || b.errors.timeout + b.errors.closed + b.errors.mismatch + b.errors.io > 0 || b.rounds.some((r) => r.errors.timeout + r.errors.closed + r.errors.mismatch + r.errors.io > 0);
}

function whyMissing(results: BenchResults, backend: string, s: ScenarioResult, key: string): string {
  const info = results.backends.find((b) => b.name === backend);
  if (!info) return `${backend} was not among the backends run`;
  if (!info.available) return `${backend} is unavailable (${info.reason ?? "no reason given"})`;
  return `${backend} has no results in scenario ${s.id}${s.variants.length > 1 ? ` (${key})` : ""}`;
}

/** Finds the variants and both backends of a scenario, or says why they cannot be compared. */
function lookup(results: BenchResults, id: number, keys: string[], baseline: string, candidate: string): Lookup {
  const s = results.scenarios.find((x) => x.id === id);
  if (!s) return { ok: false, status: "NOT EVALUATED", note: `scenario ${id} was not run` };
  if (s.status === "skipped") return { ok: false, status: "NOT EVALUATED", note: `scenario ${id} was skipped${s.note ? `: ${s.note}` : ""}` };
  const pairs: { key: string; base: BackendResult; cand: BackendResult }[] = [];
  const missing: string[] = [];
  for (const key of keys) {
    const v: VariantResult | undefined = s.variants.find((x) => x.key === key);
    if (!v) {
      missing.push(`scenario ${id} has no ${key} variant`);
      continue;
    }
    const base = v.backends.find((b) => b.backend === baseline);
    const cand = v.backends.find((b) => b.backend === candidate);
    if (!base) missing.push(whyMissing(results, baseline, s, key));
    if (!cand) missing.push(whyMissing(results, candidate, s, key));
    if (base && cand) pairs.push({ key, base, cand });
  }
  // Errors first: they make whatever was measured untrustworthy.
  const bad: string[] = [];
  for (const p of pairs)
    for (const b of [p.base, p.cand]) if (hasErrors(b)) bad.push(`${b.backend} ${p.key}: ${errorText(b) || "errors in rounds"}`);
  if (bad.length) return { ok: false, status: "INVALID", note: `errors in scenario ${id}: ${bad.join("; ")}` };
  if (s.status === "failed") return { ok: false, status: "INVALID", note: `scenario ${id} failed${s.note ? `: ${s.note}` : ""}` };
  if (missing.length) return { ok: false, status: "NOT EVALUATED", note: [...new Set(missing)].join("; ") };
  return { ok: true, pairs };
}

function values(b: BackendResult, pick: (r: RoundResult) => number | undefined): number[] {
  return b.rounds.map(pick).filter(fin);
}

/** Two-sample improvement with its interval. */
function measure(base: number[], cand: number[], higherIsBetter: boolean, seed: number, iterations: number): Measure {
  const r = bootstrapTwoSample(base, cand, higherIsBetter ? improvementHigherBetter : improvementLowerBetter, { seed, iterations });
  return { est: r.estimate, lo: r.lo, hi: r.hi, rounds: Math.min(base.length, cand.length) };
}

/** C1: geometric mean over sizes of median(candidate)/median(baseline), rounds resampled within each size. */
function measureGeomean(sets: { base: number[]; cand: number[] }[], seed: number, iterations: number): Measure & { perSize: number[] } {
  const ratio = (b: number[], c: number[]) => median(c) / median(b);
  const reps = sets.map((s, i) => bootstrapReplicates([s.base, s.cand], ([b, c]) => ratio(b, c), { seed: seed + 7919 * (i + 1), iterations }));
  const geo = (xs: number[]) => Math.exp(xs.reduce((acc, x) => acc + Math.log(x), 0) / xs.length);
  const est = (1 - geo(reps.map((r) => r.estimate))) * 100;
  const rounds = Math.min(...sets.map((s) => Math.min(s.base.length, s.cand.length)));
  const perSize = reps.map((r) => (1 - r.estimate) * 100);
  if (reps.some((r) => r.replicates === null)) return { est, lo: NaN, hi: NaN, rounds, perSize };
  const combined = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) combined[i] = geo(reps.map((r) => r.replicates![i]));
  const [ratioLo, ratioHi] = percentileInterval(combined);
  // improvement = (1 - ratio) * 100 falls as the ratio rises: the bounds swap.
  return { est, lo: (1 - ratioHi) * 100, hi: (1 - ratioLo) * 100, rounds, perSize };
}

function judge(m: Measure, threshold: number): CriterionStatus {
  if (!fin(m.est) || !fin(m.lo) || !fin(m.hi)) return "INCONCLUSIVE";
  if (m.lo > threshold) return "PASS";
  if (m.hi < threshold) return "FAIL";
  return "INCONCLUSIVE";
}

/**
 * Rounds that would likely settle an INCONCLUSIVE measure if its estimate
 * holds: the side of the interval facing the threshold shrinks as
 * sqrt(n_current / n), so it clears the threshold once
 * n > n_current * (side / distance)^2.
 */
function project(m: Measure, threshold: number): Projection {
  const outcome = m.est > threshold ? "PASS" : "FAIL";
  if (!fin(m.lo) || !fin(m.hi) || m.rounds < 2) return { rounds: Math.max(5, m.rounds + 2), outcome };
  const side = outcome === "PASS" ? m.est - m.lo : m.hi - m.est;
  const distance = Math.abs(m.est - threshold);
  if (distance < 1e-9) return { rounds: Infinity, outcome };
  const n = Math.ceil(m.rounds * (side / distance) ** 2);
  return { rounds: Math.max(3, m.rounds + 1, n), outcome };
}

function criterion(spec: Spec, threshold: number, status: CriterionStatus, note: string, m?: Measure): Criterion {
  return {
    id: spec.id,
    name: spec.name,
    metric: spec.metric,
    threshold_pct: threshold,
    improvement_pct: m && fin(m.est) ? m.est : null,
    ci95: m && fin(m.lo) && fin(m.hi) ? [m.lo, m.hi] : null,
    status,
    note,
  };
}

function statusNote(status: CriterionStatus, m: Measure, threshold: number): string {
  const n = `${m.rounds} rounds`;
  if (!fin(m.lo)) return `${n}: too few for an interval`;
  if (status === "PASS") return `${n}; whole interval above ${threshold}%`;
  if (status === "FAIL") return `${n}; whole interval below ${threshold}%`;
  return `${n}; interval spans ${threshold}%`;
}

function single(spec: Spec, threshold: number, found: Lookup, pick: (r: RoundResult) => number | undefined, higher: boolean, seed: number, iterations: number): Evaluated {
  if (!found.ok) return { criterion: criterion(spec, threshold, found.status, found.note) };
  const { base, cand } = found.pairs[0];
  const b = values(base, pick);
  const c = values(cand, pick);
  if (!b.length || !c.length) return { criterion: criterion(spec, threshold, "NOT EVALUATED", `no measured rounds (${b.length ? cand.backend : base.backend})`) };
  const m = measure(b, c, higher, seed, iterations);
  const status = judge(m, threshold);
  return {
    criterion: criterion(spec, threshold, status, statusNote(status, m, threshold), m),
    projection: status === "INCONCLUSIVE" ? project(m, threshold) : undefined,
    rounds: m.rounds,
  };
}

function evalC1(results: BenchResults, baseline: string, candidate: string, threshold: number, seed: number, iterations: number): Evaluated {
  const keys = ["10B", "100B", "1000B"];
  const found = lookup(results, 1, keys, baseline, candidate);
  if (!found.ok) return { criterion: criterion(SPECS.C1, threshold, found.status, found.note) };
  const pick = (r: RoundResult) => r.latency?.p50;
  const sets = found.pairs.map((p) => ({ key: p.key, base: values(p.base, pick), cand: values(p.cand, pick) }));
  const empty = sets.find((s) => !s.base.length || !s.cand.length);
  if (empty) return { criterion: criterion(SPECS.C1, threshold, "NOT EVALUATED", `no measured rounds in ${empty.key}`) };
  const m = measureGeomean(sets, seed, iterations);
  const status = judge(m, threshold);
  const sizes = sets.map((s, i) => `${s.key} ${pct(m.perSize[i])}`).join(", ");
  return {
    criterion: criterion(SPECS.C1, threshold, status, `per size ${sizes}; ${statusNote(status, m, threshold)}`, m),
    projection: status === "INCONCLUSIVE" ? project(m, threshold) : undefined,
    rounds: m.rounds,
  };
}

/** C3: p95 and p99 must both pass; the smaller improvement is reported. */
function evalC3(results: BenchResults, baseline: string, candidate: string, threshold: number, seed: number, iterations: number): Evaluated {
  const found = lookup(results, 4, ["open-loop"], baseline, candidate);
  if (!found.ok) return { criterion: criterion(SPECS.C3, threshold, found.status, found.note) };
  const { base, cand } = found.pairs[0];
  const parts = (["p95", "p99"] as const).map((q, i) => {
    const b = values(base, (r) => r.latency?.[q]);
    const c = values(cand, (r) => r.latency?.[q]);
    if (!b.length || !c.length) return { q, m: null, status: "NOT EVALUATED" as CriterionStatus };
    const m = measure(b, c, false, seed + 31 * (i + 1), iterations);
    return { q, m, status: judge(m, threshold) };
  });
  if (parts.some((p) => !p.m)) return { criterion: criterion(SPECS.C3, threshold, "NOT EVALUATED", "no measured rounds") };
  const ms = parts.map((p) => p.m!);
  const statuses = parts.map((p) => p.status);
  const status: CriterionStatus = statuses.every((s) => s === "PASS") ? "PASS" : statuses.includes("FAIL") ? "FAIL" : "INCONCLUSIVE";
  const smaller = ms[0].est <= ms[1].est ? ms[0] : ms[1];
  const both = parts.map((p) => `${p.q} ${pct(p.m!.est)}${ciText(p.m!)} ${p.status}`).join("; ");
  let projection: Projection | undefined;
  if (status === "INCONCLUSIVE") {
    const open = parts.filter((p) => p.status === "INCONCLUSIVE").map((p) => project(p.m!, threshold));
    const fails = open.filter((p) => p.outcome === "FAIL");
    // One failing percentile fails C3; a pass needs every open one to pass.
    projection = fails.length ? { rounds: Math.min(...fails.map((p) => p.rounds)), outcome: "FAIL" } : { rounds: Math.max(...open.map((p) => p.rounds)), outcome: "PASS" };
  }
  return {
    criterion: criterion(SPECS.C3, threshold, status, `${both}; both must pass (${smaller.rounds} rounds)`, smaller),
    projection,
    rounds: smaller.rounds,
  };
}

function evaluateAll(results: BenchResults, baseline: string, candidate: string, opts: GateOptions, threshold?: number): Evaluated[] {
  const it = opts.iterations ?? DEFAULT_ITERATIONS;
  const s = opts.seed;
  const t = (spec: Spec) => threshold ?? spec.threshold;
  return [
    evalC1(results, baseline, candidate, t(SPECS.C1), s, it),
    single(SPECS.C2, t(SPECS.C2), lookup(results, 2, ["window"], baseline, candidate), (r) => r.throughput, true, s + 2, it),
    evalC3(results, baseline, candidate, t(SPECS.C3), s + 3, it),
    single(SPECS.C4, t(SPECS.C4), lookup(results, 6, ["stress"], baseline, candidate), (r) => r.throughput, true, s + 6, it),
  ];
}

const UNKNOWN: CriterionStatus[] = ["INVALID", "NOT EVALUATED"];

function listText(xs: string[]): string {
  return xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`;
}

function listIds(cs: Criterion[]): string {
  return listText(cs.map((c) => c.id));
}

function decided(pass: number, open: number, unknown: number): boolean {
  return pass >= GATE_PASSES_NEEDED || pass + open + unknown < GATE_PASSES_NEEDED;
}

/** How many rounds would likely settle the verdict: resolve the open criteria nearest to deciding first. */
function roundsAdvice(evals: Evaluated[], pass: number, unknown: number): string {
  const open = evals.filter((e) => e.criterion.status === "INCONCLUSIVE" && e.projection).sort((a, b) => a.projection!.rounds - b.projection!.rounds);
  let p = pass;
  let remaining = open.length;
  const settled: Evaluated[] = [];
  for (const e of open) {
    settled.push(e);
    remaining--;
    if (e.projection!.outcome === "PASS") p++;
    if (decided(p, remaining, unknown)) break;
  }
  if (!settled.length) return "";
  const n = settled[settled.length - 1].projection!.rounds;
  const what = listText(settled.map((e) => `${e.criterion.id} (likely ${e.projection!.outcome})`));
  const verdictSettles = decided(p, remaining, unknown);
  if (!Number.isFinite(n) || n > MAX_ROUNDS)
    return `more rounds are unlikely to settle ${what}: the estimate sits too close to its threshold (it would take more than ${MAX_ROUNDS} rounds)`;
  const cur = Math.max(...settled.map((e) => e.rounds ?? 0));
  return `about ${n} rounds (--rounds ${n}, now ${cur}) would likely settle ${what}${verdictSettles ? ", and with it the verdict" : ""}, if the current estimates hold`;
}

function verdictOf(evals: Evaluated[], baseline: string, candidate: string, results: BenchResults): Pick<Gate, "verdict" | "reason"> {
  const cs = evals.map((e) => e.criterion);
  const info = results.backends.find((b) => b.name === candidate);
  if (candidate === baseline) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} is the baseline itself: choose another --baseline.` };
  if (!info) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} was not among the backends run.` };
  if (!info.available) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} is unavailable: ${info.reason ?? "no reason given"}${info.hint ? `. ${info.hint}` : ""}.` };
  const passed = cs.filter((c) => c.status === "PASS");
  const failed = cs.filter((c) => c.status === "FAIL");
  const open = cs.filter((c) => c.status === "INCONCLUSIVE");
  const unknown = cs.filter((c) => UNKNOWN.includes(c.status));
  if (passed.length + failed.length + open.length === 0)
    return { verdict: "NOT EVALUATED", reason: `No criterion could be evaluated: ${cs.map((c) => `${c.id} ${c.status.toLowerCase()} (${c.note})`).join("; ")}.` };
  const tally = `${passed.length} of ${cs.length} criteria pass${passed.length ? ` (${listIds(passed)})` : ""}`;
  if (passed.length >= GATE_PASSES_NEEDED) return { verdict: "PROCEED", reason: `${tally}; the guide needs ${GATE_PASSES_NEEDED}.` };
  if (passed.length + open.length + unknown.length < GATE_PASSES_NEEDED)
    return {
      verdict: "DO NOT PROCEED",
      reason: `${tally} and at most ${passed.length + open.length + unknown.length} could; the guide needs ${GATE_PASSES_NEEDED}${failed.length ? ` (${listIds(failed)} ${failed.length > 1 ? "fail" : "fails"})` : ""}.`,
    };
  const parts = [open.length ? `${tally}, ${open.length} ${open.length === 1 ? "is" : "are"} inconclusive (${listIds(open)})` : tally];
  if (unknown.length) parts.push(`${listIds(unknown)} ${unknown.length > 1 ? "were" : "was"} not evaluated (see the notes) and could change the verdict: run ${unknown.length > 1 ? "their scenarios" : "its scenario"} without errors`);
  const advice = roundsAdvice(evals, passed.length, unknown.length);
  if (advice) parts.push(advice);
  return { verdict: "INCONCLUSIVE", reason: `${parts.join("; ")}.` };
}

function bandNote(c: Criterion): string {
  const [lo, hi] = PHASE0_EXPECTED;
  const band = `expected ${lo}-${hi}%`;
  if (c.improvement_pct === null) return `${band}; ${c.note}`;
  const where = c.improvement_pct < lo ? "below" : c.improvement_pct > hi ? "above" : "within";
  return `${band}: ${where} the band; ${c.note}`;
}

/**
 * Evaluates the guide's decision gate for candidate against baseline.
 * Deterministic for a given seed.
 */
export function evaluateGate(results: BenchResults, baseline: string, candidate: string, opts: GateOptions): Gate {
  const evals = evaluateAll(results, baseline, candidate, opts);
  const gate: Gate = {
    baseline,
    candidate,
    ...verdictOf(evals, baseline, candidate, results),
    criteria: evals.map((e) => e.criterion),
    informational: informationalRows(results, baseline, candidate),
  };
  const epoll = "epoll";
  if (baseline !== epoll && results.backends.some((b) => b.name === epoll)) {
    const rows = evaluateAll(results, baseline, epoll, opts, PHASE0_EXPECTED[0]).map((e) => ({ ...e.criterion, note: bandNote(e.criterion) }));
    gate.phase0 = { backend: epoll, expected_pct: [...PHASE0_EXPECTED], rows };
  }
  return gate;
}

/** The gate for several baseline/candidate pairs, in the order given. */
export function evaluateGatePairs(results: BenchResults, pairs: [string, string][], seed: number): Gate[] {
  return pairs.map(([baseline, candidate]) => evaluateGate(results, baseline, candidate, { seed }));
}

/** Scenario/variant pairs whose per-request costs are compared with the guide's expectations. */
const COST_VIEWS: { scenario: number; variant: string; label: string }[] = [
  { scenario: 1, variant: "100B", label: "1: ping-pong, 100 B" },
  { scenario: 6, variant: "stress", label: "6: 64 connections" },
];

/**
 * The guide's expectations on per-request costs, measured for one pair.
 * Changes are candidate against baseline in %; the expectations are ranges
 * of reduction, so -30 means 30% less.
 */
export function informationalRows(results: BenchResults, baseline: string, candidate: string): InformationalRow[] {
  const rows: InformationalRow[] = [];
  for (const view of COST_VIEWS) {
    const v = results.scenarios.find((s) => s.id === view.scenario)?.variants.find((x) => x.key === view.variant);
    const b = v?.backends.find((x) => x.backend === baseline)?.costs;
    const c = v?.backends.find((x) => x.backend === candidate)?.costs;
    const metric = (name: string, expected: string, lo: number, hi: number, get: (x: NonNullable<typeof b>) => number | null, absolute?: (bv: number, cv: number) => string) => {
      const bv = b ? get(b) : null;
      const cv = c ? get(c) : null;
      let status: string;
      let change: number | null = null;
      if (bv === null || cv === null || !Number.isFinite(bv) || !Number.isFinite(cv)) status = !v ? `n/a (scenario ${view.scenario} not run)` : "n/a (not measured for both)";
      else if (bv === 0) status = "n/a (baseline is 0)";
      else {
        change = (cv / bv - 1) * 100;
        const reduction = -change;
        status = absolute ? absolute(bv, cv) : reduction > hi ? "better than expected" : reduction >= lo ? "as expected" : reduction > 0 ? "less than expected" : "opposite";
      }
      rows.push({ name, scenario: view.label, baseline_value: bv, candidate_value: cv, change_pct: change, expected, status });
    };
    metric("CPU per request, µs", "25-40% less", 25, 40, (x) => x.cpu_us);
    metric("context switches per request", "30-50% fewer", 30, 50, (x) => x.vol_ctx + x.invol_ctx);
    metric("syscalls per request", "about 3 -> about 1", 0, 0, (x) => x.syscalls, (bv, cv) =>
      Math.abs(bv - 3) <= 0.5 && Math.abs(cv - 1) <= 0.5 ? "as expected" : cv < bv ? `fewer, not ${bv.toFixed(1)} -> 1` : "not fewer");
  }
  return rows;
}
