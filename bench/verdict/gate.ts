// The guide's decision gate, evaluated from the results only. Each criterion
// (criteria.ts) compares candidate and baseline round by round: the
// per-round log-ratio of the same round cancels the drift both shared, and a
// t-interval on those log-ratios gives the improvement's interval (its
// coverage is checked on synthetic rounds in test/paired.test.ts). A decision
// must survive leaving out any one round, and a round a platform stall hit
// is not used. The verdict follows from how many criteria pass.
import { failKind, judge, pairedRounds, pairedSign, pairedT, requiredRounds, type PairedInterval } from "../measure/paired.ts";
import type { BackendResult, BenchResults, Criterion, CriterionStatus, Gate, InformationalRow, RoundResult, ScenarioResult } from "../results/schema.ts";
import { findScenario } from "../scenarios/index.ts";
import { CRITERIA, GATE_PASSES_NEEDED, PHASE0_EXPECTED, type CriterionDef, type CriterionPart } from "./criteria.ts";

export { GATE_PASSES_NEEDED, PHASE0_EXPECTED };

export interface GateOptions {
  /** Confidence of every interval (a Bonferroni share of 95% over the planned looks). */
  confidence: number;
  /** At the end of the run: an undecided interval wider than its threshold is NOT ASSESSABLE (more rounds are not what it lacks). */
  final?: boolean;
}

export interface GatePair {
  baseline: string;
  candidate: string;
  kind: "headline" | "pair" | "control";
}

/** Only what the gate reads of the results. */
export type GateInput = Pick<BenchResults, "scenarios" | "backends">;

interface Evaluated {
  criterion: Criterion;
  /** Rounds that would likely settle an INCONCLUSIVE criterion, and which way. */
  projection?: { rounds: number; outcome: "PASS" | "FAIL" };
}

const fin = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`;
const ERROR_KEYS = ["timeout", "closed", "mismatch", "io"] as const;
const errorSum = (e: BackendResult["errors"]) => ERROR_KEYS.reduce((s, k) => s + e[k], 0);

function errorText(b: BackendResult): string {
  if (b.failure) return `failed (${b.failure})`;
  return ERROR_KEYS.filter((k) => b.errors[k] > 0).map((k) => `${b.errors[k]} ${k}`).join(", ") || "errors in rounds";
}

function hasErrors(b: BackendResult): boolean {
  return Boolean(b.failure) || errorSum(b.errors) > 0 || b.rounds.some((r) => errorSum(r.errors) > 0);
}

type Found = { ok: true; s: ScenarioResult; pairs: { key: string; base: BackendResult; cand: BackendResult }[] } | { ok: false; status: CriterionStatus; note: string };

/** The variants and both backends a criterion reads, or why they cannot be compared. */
function lookup(r: GateInput, def: CriterionDef, baseline: string, candidate: string): Found {
  const s = r.scenarios.find((x) => x.slug === def.scenario);
  const name = `scenario ${s?.id ?? findScenario(def.scenario)?.number ?? def.scenario}`;
  if (!s) return { ok: false, status: "NOT EVALUATED", note: `${name} was not run` };
  if (s.status === "skipped") return { ok: false, status: "NOT EVALUATED", note: `${name} was skipped${s.note ? `: ${s.note}` : ""}` };
  const keys = def.variants === "all" ? s.variants.map((v) => v.key) : def.variants;
  const pairs: { key: string; base: BackendResult; cand: BackendResult }[] = [];
  const missing: string[] = [];
  const why = (backend: string, key: string) => {
    const info = r.backends.find((b) => b.name === backend);
    if (!info) return `${backend} was not among the backends run`;
    if (!info.available) return `${backend} is unavailable (${info.reason ?? "no reason given"})`;
    return `${backend} has no results in ${name}${s.variants.length > 1 ? ` (${key})` : ""}`;
  };
  for (const key of keys) {
    const v = s.variants.find((x) => x.key === key);
    if (!v) {
      missing.push(`${name} has no ${key} variant`);
      continue;
    }
    const base = v.backends.find((b) => b.backend === baseline);
    const cand = v.backends.find((b) => b.backend === candidate);
    if (!base) missing.push(why(baseline, key));
    if (!cand) missing.push(why(candidate, key));
    const unsupported = [base, cand].filter((b) => b?.unsupported);
    for (const b of unsupported) missing.push(`${b!.backend} does not serve ${name}${s.variants.length > 1 ? ` (${key})` : ""}: ${b!.unsupported}`);
    if (base && cand && !unsupported.length) pairs.push({ key, base, cand });
  }
  // Errors first: they make whatever was measured untrustworthy.
  const bad = pairs.flatMap((p) => [p.base, p.cand].filter(hasErrors).map((b) => `${b.backend} ${p.key}: ${errorText(b)}`));
  if (bad.length) return { ok: false, status: "INVALID", note: `errors in ${name}: ${bad.join("; ")}` };
  if (s.status === "failed") return { ok: false, status: "INVALID", note: `${name} failed${s.note ? `: ${s.note}` : ""}` };
  if (missing.length || !pairs.length) return { ok: false, status: "NOT EVALUATED", note: [...new Set(missing)].join("; ") || `${name} has no variants` };
  return { ok: true, s, pairs };
}

/** Per-variant, per-round values aligned on the round number; a stalled round is NaN (dropped by the pairing). */
function aligned(pairs: { base: BackendResult; cand: BackendResult }[], pick: (r: RoundResult) => number | undefined): { base: number[][]; cand: number[][]; rounds: number[] } {
  const roundsOf = (b: BackendResult) => new Set(b.rounds.map((r) => r.round));
  let common = [...roundsOf(pairs[0].base)].filter((n) => pairs.every((p) => roundsOf(p.base).has(n) && roundsOf(p.cand).has(n)));
  common = common.sort((a, b) => a - b);
  const value = (b: BackendResult, n: number) => {
    const r = b.rounds.find((x) => x.round === n);
    return !r || r.stalled ? NaN : (pick(r) ?? NaN);
  };
  return { base: pairs.map((p) => common.map((n) => value(p.base, n))), cand: pairs.map((p) => common.map((n) => value(p.cand, n))), rounds: common };
}

interface PartResult {
  label: string;
  interval: PairedInterval;
  status: CriterionStatus;
  note?: string;
  d: number[];
}

function judgePart(d: number[], def: CriterionDef, threshold: number, opts: GateOptions, part: CriterionPart): PartResult {
  const label = part.label;
  const intervalOf = (x: number[]) => (part.method === "sign" ? pairedSign : pairedT)(x, opts.confidence, def.higherIsBetter);
  const interval = intervalOf(d);
  if (interval.n < 2) return { label, interval, status: "INCONCLUSIVE", note: "too few paired rounds for an interval", d };
  let status: CriterionStatus = judge(interval, threshold);
  let note: string | undefined;
  // No single round may decide: the decision must hold with any one round left out.
  if (status !== "INCONCLUSIVE" && d.length >= 3) {
    for (let i = 0; i < d.length; i++) {
      const rest = d.filter((_, j) => j !== i);
      if (judge(intervalOf(rest), threshold) !== status) {
        note = `${status} rests on one round; left undecided`;
        status = "INCONCLUSIVE";
        break;
      }
    }
  }
  if (status === "INCONCLUSIVE" && opts.final && (interval.hi - interval.lo) / 2 > threshold)
    return { label, interval, status: "NOT ASSESSABLE", note: `its rounds spread ±${((interval.hi - interval.lo) / 2).toFixed(0)}%, more than the ${threshold}% to be resolved`, d };
  return { label, interval, status, note, d };
}

function criterionOf(def: CriterionDef, threshold: number, status: CriterionStatus, note: string, i?: PairedInterval): Criterion {
  const c: Criterion = {
    id: def.id,
    name: def.name,
    metric: def.metric,
    threshold_pct: threshold,
    improvement_pct: i && fin(i.estimatePct) ? i.estimatePct : null,
    ci95: i && fin(i.lo) && fin(i.hi) ? [i.lo, i.hi] : null,
    status,
    note,
  };
  if (i) {
    c.rounds = i.n;
    c.confidence = i.confidence;
  }
  if (status === "FAIL" && i) c.fail_kind = failKind(i);
  return c;
}

export function evaluateCriterion(r: GateInput, def: CriterionDef, baseline: string, candidate: string, opts: GateOptions, threshold = def.threshold): Evaluated {
  const found = lookup(r, def, baseline, candidate);
  if (!found.ok) return { criterion: criterionOf(def, threshold, found.status, found.note) };
  const parts = def.parts.map((part) => {
    const a = aligned(found.pairs, part.pick);
    const pr = pairedRounds(a.base, a.cand);
    return { ...judgePart(pr.d, def, threshold, opts, part), dropped: pr.dropped.length };
  });
  const statuses = parts.map((p) => p.status);
  const status: CriterionStatus = statuses.includes("FAIL")
    ? "FAIL"
    : statuses.every((s) => s === "PASS")
      ? "PASS"
      : statuses.includes("INCONCLUSIVE")
        ? "INCONCLUSIVE"
        : "NOT ASSESSABLE";
  // The part that decides is shown: the weakest of those with the criterion's status.
  const deciding = parts.filter((p) => p.status === status);
  const shown = (deciding.length ? deciding : parts).reduce((a, b) => (a.interval.estimatePct <= b.interval.estimatePct ? a : b));
  const kind = shown.interval.method === "paired-sign" ? "sign-test interval of the median per-round ratio" : "paired t-interval";
  const conf = `${(opts.confidence * 100).toFixed(1)}% ${kind} over ${shown.interval.n} rounds`;
  const perPart = parts.length > 1 ? parts.map((p) => `${p.label} ${pct(p.interval.estimatePct)} ${p.status}${p.note ? ` (${p.note})` : ""}`).join("; ") + "; all must pass; " : shown.note ? `${shown.note}; ` : "";
  const sizes =
    found.pairs.length > 1
      ? `per ${found.pairs.map((p) => p.key).join("/")}: geometric mean of the per-round ratios; `
      : "";
  const stalled = Math.max(...parts.map((p) => p.dropped));
  const where = status === "PASS" ? `whole interval above ${threshold}%` : status === "FAIL" ? (shown.interval.hi < 0 ? "whole interval below 0: the candidate is worse" : `whole interval below ${threshold}%: not better by enough`) : status === "INCONCLUSIVE" ? `interval spans ${threshold}%` : "not assessable on this machine";
  const note = `${sizes}${perPart}${conf}${stalled ? ` (${stalled} stalled round${stalled > 1 ? "s" : ""} left out)` : ""}; ${where}`;
  const ev: Evaluated = { criterion: criterionOf(def, threshold, status, note, shown.interval) };
  if (status === "INCONCLUSIVE") {
    const open = parts.filter((p) => p.status === "INCONCLUSIVE");
    const proj = open.map((p) => ({ rounds: requiredRounds(p.d, threshold, opts.confidence, def.higherIsBetter), outcome: (p.interval.estimatePct > threshold ? "PASS" : "FAIL") as "PASS" | "FAIL" }));
    const fails = proj.filter((p) => p.outcome === "FAIL");
    ev.projection = fails.length ? { rounds: Math.min(...fails.map((p) => p.rounds)), outcome: "FAIL" } : { rounds: Math.max(...proj.map((p) => p.rounds)), outcome: "PASS" };
  }
  return ev;
}

function evaluateAll(r: GateInput, baseline: string, candidate: string, opts: GateOptions, threshold?: number): Evaluated[] {
  return CRITERIA.map((def) => evaluateCriterion(r, def, baseline, candidate, opts, threshold ?? def.threshold));
}

const list = (xs: string[]) => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`);
const ids = (cs: Criterion[]) => list(cs.map((c) => c.id));
const UNKNOWN: CriterionStatus[] = ["INVALID", "NOT EVALUATED"];

function verdictOf(evals: Evaluated[], baseline: string, candidate: string, r: GateInput): Pick<Gate, "verdict" | "reason"> {
  const cs = evals.map((e) => e.criterion);
  const info = r.backends.find((b) => b.name === candidate);
  if (candidate === baseline) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} is the baseline itself: choose another --baseline.` };
  if (!info) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} was not among the backends run.` };
  if (!info.available) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} is unavailable: ${info.reason ?? "no reason given"}${info.hint ? `. ${info.hint}` : ""}.` };
  const passed = cs.filter((c) => c.status === "PASS");
  const failed = cs.filter((c) => c.status === "FAIL");
  const worse = failed.filter((c) => c.fail_kind === "worse");
  const open = cs.filter((c) => c.status === "INCONCLUSIVE");
  const unknown = cs.filter((c) => UNKNOWN.includes(c.status));
  const unassessable = cs.filter((c) => c.status === "NOT ASSESSABLE");
  if (passed.length + failed.length + open.length === 0) {
    if (unassessable.length)
      return {
        verdict: "INCONCLUSIVE",
        reason: `No criterion could be decided on this machine: ${ids(unassessable)} varied from round to round by more than their thresholds${unknown.length ? ` and ${ids(unknown)} ${unknown.length > 1 ? "were" : "was"} not evaluated` : ""}. Quieten the machine (as root, --cpu-idle poll; nothing else running) or give the run a larger --budget.`,
      };
    return { verdict: "NOT EVALUATED", reason: `No criterion could be evaluated: ${cs.map((c) => `${c.id} ${c.status.toLowerCase()} (${c.note})`).join("; ")}.` };
  }
  const tally = `${passed.length} of ${cs.length} criteria pass${passed.length ? ` (${ids(passed)})` : ""}`;
  const failText = failed.length
    ? ` (${worse.length ? `${ids(worse)}: the candidate is worse` : ""}${worse.length && worse.length < failed.length ? "; " : ""}${worse.length < failed.length ? `${ids(failed.filter((c) => c.fail_kind !== "worse"))}: not better by enough` : ""})`
    : "";
  const na = unassessable.length ? `; ${ids(unassessable)} cannot be assessed on this machine (see the notes)` : "";
  if (passed.length >= GATE_PASSES_NEEDED) return { verdict: "PROCEED", reason: `${tally}; the guide needs ${GATE_PASSES_NEEDED}${na}.` };
  if (passed.length + open.length + unknown.length < GATE_PASSES_NEEDED)
    return { verdict: "DO NOT PROCEED", reason: `${tally} and at most ${passed.length + open.length + unknown.length} could; the guide needs ${GATE_PASSES_NEEDED}${failText}${na}.` };
  const parts = [open.length ? `${tally}, ${open.length} ${open.length === 1 ? "is" : "are"} inconclusive (${ids(open)})` : tally];
  if (unknown.length) parts.push(`${ids(unknown)} ${unknown.length > 1 ? "were" : "was"} not evaluated (see the notes) and could change the verdict: run ${unknown.length > 1 ? "their scenarios" : "its scenario"} without errors`);
  const advice = roundsAdvice(evals, passed.length, unknown.length);
  if (advice) parts.push(advice);
  return { verdict: "INCONCLUSIVE", reason: `${parts.join("; ")}${na}.` };
}

/** How many rounds would likely settle the verdict: the open criteria nearest to deciding first. */
function roundsAdvice(evals: Evaluated[], pass: number, unknown: number): string {
  const open = evals.filter((e) => e.criterion.status === "INCONCLUSIVE" && e.projection).sort((a, b) => a.projection!.rounds - b.projection!.rounds);
  let p = pass;
  let remaining = open.length;
  const settled: Evaluated[] = [];
  const decided = () => p >= GATE_PASSES_NEEDED || p + remaining + unknown < GATE_PASSES_NEEDED;
  for (const e of open) {
    settled.push(e);
    remaining--;
    if (e.projection!.outcome === "PASS") p++;
    if (decided()) break;
  }
  if (!settled.length) return "";
  // At least one round more than the criterion already has (the projection ignores the leave-one-out rule).
  const n = Math.max(...settled.map((e) => Math.max(e.projection!.rounds, (e.criterion.rounds ?? 0) + 1)));
  const what = list(settled.map((e) => `${e.criterion.id} (likely ${e.projection!.outcome})`));
  if (!Number.isFinite(n) || n > 1000) return `more rounds are unlikely to settle ${what}: the estimate sits too close to its threshold`;
  return `about ${n} paired rounds (--budget larger, or --max-rounds ${n}) would likely settle ${what}${decided() ? ", and with it the verdict" : ""}, if the current estimates hold`;
}

function bandNote(c: Criterion): string {
  const [lo, hi] = PHASE0_EXPECTED;
  const band = `expected ${lo}-${hi}%`;
  if (c.improvement_pct === null) return `${band}; ${c.note}`;
  const where = c.improvement_pct < lo ? "below" : c.improvement_pct > hi ? "above" : "within";
  return `${band}: ${where} the band; ${c.note}`;
}

export const GATE_METHOD = "paired: per-round log-ratios of candidate to baseline from the same round; a t-interval of their mean (C3's tail percentiles: a sign-test interval of their median), at a Bonferroni share of 95% over the planned looks; a decision must hold with any one round left out; rounds hit by a platform stall are left out";

/** The guide's decision gate for candidate against baseline. Deterministic. */
export function evaluateGate(r: GateInput, pair: GatePair, opts: GateOptions): Gate {
  const evals = evaluateAll(r, pair.baseline, pair.candidate, opts);
  const gate: Gate = {
    kind: pair.kind,
    baseline: pair.baseline,
    candidate: pair.candidate,
    ...verdictOf(evals, pair.baseline, pair.candidate, r),
    criteria: evals.map((e) => e.criterion),
    informational: informationalRows(r, pair.baseline, pair.candidate),
    method: GATE_METHOD,
  };
  const epoll = "epoll";
  if (pair.kind !== "control" && pair.baseline !== epoll && r.backends.some((b) => b.name === epoll)) {
    const rows = evaluateAll(r, pair.baseline, epoll, opts, PHASE0_EXPECTED[0]).map((e) => ({ ...e.criterion, note: bandNote(e.criterion) }));
    gate.phase0 = { backend: epoll, expected_pct: [...PHASE0_EXPECTED], rows };
  }
  return gate;
}

/**
 * What the A/A control says of the machine: nothing when every criterion of
 * the control gate stayed below its threshold with an interval around 0,
 * else why the verdicts measured beside it are not to be trusted.
 */
export function controlProblem(control: Gate): string | undefined {
  const passed = control.criteria.filter((c) => c.status === "PASS");
  if (passed.length) return `the A/A control (${control.baseline} against ${control.candidate}, the same server twice) passed ${ids(passed)}: differences this large arise from the machine alone`;
  const off = control.criteria.filter((c) => c.ci95 && (c.ci95[0] > 0 || c.ci95[1] < 0));
  if (off.length) return `the A/A control's interval excludes 0 for ${ids(off)} (${off.map((c) => `${c.id} [${pct(c.ci95![0])}, ${pct(c.ci95![1])}]`).join(", ")}): the machine drifted between two identical servers`;
  return undefined;
}

/** Every gate, in the order given; a misbehaving A/A control marks all of them untrusted. */
export function evaluateGatePairs(r: GateInput, pairs: GatePair[], opts: GateOptions): Gate[] {
  const gates = pairs.map((p) => evaluateGate(r, p, opts));
  const control = gates.find((g) => g.kind === "control");
  const problem = control && controlProblem(control);
  if (problem) for (const g of gates) g.untrusted = problem;
  return gates;
}

/** At a look: is every criterion that reads this scenario settled in every gate? */
export function scenarioSettled(r: GateInput, slug: string, pairs: GatePair[], opts: GateOptions): { settled: boolean; note: string } {
  const defs = CRITERIA.filter((d) => d.scenario === slug);
  const open: string[] = [];
  for (const p of pairs)
    for (const d of defs) {
      const c = evaluateCriterion(r, d, p.baseline, p.candidate, opts).criterion;
      if (c.status === "INCONCLUSIVE") open.push(`${d.id} ${p.baseline}→${p.candidate}`);
    }
  return { settled: open.length === 0, note: open.length ? `still open: ${open.join(", ")}` : `${defs.map((d) => d.id).join(", ")} settled in every gate` };
}

/** Below this, a per-request count (context switches, system calls, CPU µs) is too near zero for a percentage change to mean anything. */
export const CHANGE_FLOOR = 0.05;

/** Scenario/variant pairs whose per-request costs are compared with the guide's expectations. */
const COST_VIEWS: { scenario: string; variant: string; label: string }[] = [
  { scenario: "ping-pong", variant: "100B", label: "1: ping-pong, 100 B" },
  { scenario: "throughput-stress", variant: "stress", label: "6: 64 connections" },
];

/**
 * The guide's expectations on per-request costs, measured for one pair.
 * Changes are candidate against baseline in %; the expectations are ranges
 * of reduction, so -30 means 30% less.
 */
export function informationalRows(r: GateInput, baseline: string, candidate: string): InformationalRow[] {
  const rows: InformationalRow[] = [];
  for (const view of COST_VIEWS) {
    const s = r.scenarios.find((x) => x.slug === view.scenario);
    const v = s?.variants.find((x) => x.key === view.variant);
    const b = v?.backends.find((x) => x.backend === baseline)?.costs;
    const c = v?.backends.find((x) => x.backend === candidate)?.costs;
    const metric = (name: string, expected: string, lo: number, hi: number, get: (x: NonNullable<typeof b>) => number | null, absolute?: (bv: number, cv: number) => string) => {
      const bv = b ? get(b) : null;
      const cv = c ? get(c) : null;
      let status: string;
      let change: number | null = null;
      if (bv === null || cv === null || !Number.isFinite(bv) || !Number.isFinite(cv)) status = !v ? `n/a (scenario ${view.label.split(":")[0]} not run)` : "n/a (not measured for both)";
      else if (Math.abs(bv) < CHANGE_FLOOR) status = "n/a (too near zero)";
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
