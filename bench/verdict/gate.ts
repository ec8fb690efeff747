// The guide's decision gate, evaluated from the results only. Each criterion
// (criteria.ts) compares candidate and baseline round by round: the
// per-round log-ratio of the same round cancels the drift both shared, and a
// t-interval on those log-ratios gives the improvement's interval (its
// coverage is checked on synthetic rounds in test/paired.test.ts, the whole
// procedure with its looks in test/gate-calibration.test.ts). An interval
// wholly above or below the threshold decides; one that spans it leaves the
// criterion undecided, with what more rounds could do. A decision that one
// round carries is marked fragile, never erased. A throughput that the load
// client limited is set aside as CLIENT-BOUND: it measures the client. A
// round a platform stall hit is not used. The verdict follows from how many
// criteria pass; the A/A control (control.ts) says which criteria to trust.
import { failKind, judge, pairedRounds, pairedSign, pairedT, requiredRounds, resolvablePct, tooNoisy, type PairedInterval } from "../stats/paired.ts";
import { median } from "../stats/stats.ts";
import type { BackendResult, Criterion, CriterionStatus, Gate, InformationalRow, RoundResult, ScenarioResult } from "../results/schema.ts";
import { errorCount, errorText } from "../results/errors.ts";
import { mostlyClientBound } from "../results/summary.ts";
import { findScenario, headlineVariantOf, SCENARIOS } from "../scenarios/index.ts";
import { CRITERIA, DEFAULT_MAX_ROUNDS, GATE_PASSES_NEEDED, PHASE0_EXPECTED, type CriterionDef, type CriterionPart } from "./criteria.ts";
import { describeVerdict } from "./verdict-text.ts";

export { GATE_PASSES_NEEDED, PHASE0_EXPECTED };

export interface GateOptions {
  /** Confidence of every interval (a Bonferroni share of 95% over the planned looks). */
  confidence: number;
  /** The most paired rounds the run allows a gated scenario: what "more rounds" can reach. */
  maxRounds?: number;
  /** Whether throughput criteria are set aside when the client was the limit (not in the A/A control: two equal servers behind one client still compare). */
  clientBound?: boolean;
}

export interface GatePair {
  baseline: string;
  candidate: string;
  kind: "headline" | "pair" | "control";
  /** Why this pair is gated (for the headline: why it is the headline). */
  why?: string;
}

/** Only what the gate reads of the results. */
export type GateInput = { scenarios: ScenarioResult[]; backends: { name: string; available: boolean; reason?: string; hint?: string }[] };

/** One figure of a criterion (C3 has two) as evaluated: its interval, status and per-round log-ratios. */
export interface PartResult {
  label: string;
  interval: PairedInterval;
  status: "PASS" | "FAIL" | "INCONCLUSIVE";
  fragile: boolean;
  d: number[];
  dropped: number;
}

export interface Evaluated {
  criterion: Criterion;
  parts: PartResult[];
  def: CriterionDef;
}

const fin = (x: number | undefined | null): x is number => x !== undefined && x !== null && Number.isFinite(x);
const pct = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}%`;
function backendErrorText(b: BackendResult): string {
  if (b.failure) return `failed (${b.failure})`;
  return errorText(b.errors) || "errors in rounds";
}

function hasErrors(b: BackendResult): boolean {
  return Boolean(b.failure) || errorCount(b.errors) > 0 || b.rounds.some((r) => errorCount(r.errors) > 0);
}

type VariantPair = { key: string; base: BackendResult; cand: BackendResult };
type Found = { ok: true; s: ScenarioResult; pairs: VariantPair[] } | { ok: false; status: CriterionStatus; note: string };

/** The variants and both backends a criterion reads, or why they cannot be compared. */
function lookup(r: GateInput, def: CriterionDef, baseline: string, candidate: string): Found {
  const s = r.scenarios.find((x) => x.slug === def.scenario);
  const name = `scenario ${s?.id ?? findScenario(def.scenario)?.number ?? def.scenario}`;
  if (!s) return { ok: false, status: "NOT EVALUATED", note: `${name} was not run` };
  if (s.status === "skipped") return { ok: false, status: "NOT EVALUATED", note: `${name} was skipped${s.note ? `: ${s.note}` : ""}` };
  const keys = def.variants === "all" ? s.variants.map((v) => v.key) : def.variants;
  const pairs: VariantPair[] = [];
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
  const bad = pairs.flatMap((p) => [p.base, p.cand].filter(hasErrors).map((b) => `${b.backend} ${p.key}: ${backendErrorText(b)}`));
  if (bad.length) return { ok: false, status: "INVALID", note: `errors in ${name}: ${bad.join("; ")}` };
  if (s.status === "failed") return { ok: false, status: "INVALID", note: `${name} failed${s.note ? `: ${s.note}` : ""}` };
  if (missing.length || !pairs.length) return { ok: false, status: "NOT EVALUATED", note: [...new Set(missing)].join("; ") || `${name} has no variants` };
  return { ok: true, s, pairs };
}

/** The round numbers both backends have in every variant, in order. */
function commonRounds(pairs: VariantPair[]): number[] {
  const roundsOf = (b: BackendResult) => new Set(b.rounds.map((r) => r.round));
  return [...roundsOf(pairs[0].base)].filter((n) => pairs.every((p) => roundsOf(p.base).has(n) && roundsOf(p.cand).has(n))).sort((a, b) => a - b);
}

const roundOf = (b: BackendResult, n: number) => b.rounds.find((x) => x.round === n);

/** Per-variant, per-round values aligned on the round number; a stalled round is NaN (dropped by the pairing). */
function aligned(pairs: VariantPair[], rounds: number[], pick: (r: RoundResult) => number | undefined): { base: number[][]; cand: number[][] } {
  const value = (b: BackendResult, n: number) => {
    const r = roundOf(b, n);
    return !r || r.stalled ? NaN : (pick(r) ?? NaN);
  };
  return { base: pairs.map((p) => rounds.map((n) => value(p.base, n))), cand: pairs.map((p) => rounds.map((n) => value(p.cand, n))) };
}

function judgePart(d: number[], def: CriterionDef, threshold: number, opts: GateOptions, part: CriterionPart, dropped: number): PartResult {
  const intervalOf = (x: number[]) => (part.method === "sign" ? pairedSign : pairedT)(x, opts.confidence, def.higherIsBetter);
  const interval = intervalOf(d);
  const status = judge(interval, threshold);
  // A decision one round carries is still a decision: the whole interval is on one side. It is marked, so a reader knows.
  let fragile = false;
  if (status !== "INCONCLUSIVE" && d.length >= 3)
    for (let i = 0; i < d.length && !fragile; i++) fragile = judge(intervalOf(d.filter((_, j) => j !== i)), threshold) !== status;
  return { label: part.label, interval, status, fragile, d, dropped };
}

function criterionOf(def: CriterionDef, threshold: number, status: CriterionStatus, note: string, i?: PairedInterval): Criterion {
  const c: Criterion = {
    id: def.id,
    name: def.name,
    metric: def.metric,
    threshold_pct: threshold,
    improvement_pct: i && fin(i.estimatePct) ? i.estimatePct : null,
    ci: i && fin(i.lo) && fin(i.hi) ? [i.lo, i.hi] : null,
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

/** The server CPU per request (µs) over the given rounds, from their cost samples. */
function cpuPerRequest(b: BackendResult, rounds: number[]): number | null {
  let ns = 0;
  let req = 0;
  for (const n of rounds) {
    const c = roundOf(b, n)?.costs;
    if (c && c.requests > 0) {
      ns += c.cpuNs;
      req += c.requests;
    }
  }
  return req > 0 ? ns / 1000 / req : null;
}

/** CLIENT-BOUND when either side's load client was the limit in most of the rounds the interval used. */
function clientBoundOf(pairs: VariantPair[], rounds: number[]): Criterion["client_bound"] | undefined {
  const side = (get: (p: VariantPair) => BackendResult) => {
    const rs = pairs.flatMap((p) => rounds.map((n) => roundOf(get(p), n)).filter((r): r is RoundResult => r !== undefined));
    const utils = rs.map((r) => r.client_util).filter(fin);
    return { bound: mostlyClientBound(rs), util: utils.length ? median(utils) : null, cpu: pairs.length === 1 ? cpuPerRequest(get(pairs[0]), rounds) : null };
  };
  const b = side((p) => p.base);
  const c = side((p) => p.cand);
  if (!b.bound && !c.bound) return undefined;
  return {
    bound: [...(b.bound ? (["baseline"] as const) : []), ...(c.bound ? (["candidate"] as const) : [])],
    baseline_client_util: b.util,
    candidate_client_util: c.util,
    baseline_cpu_us: b.cpu,
    candidate_cpu_us: c.cpu,
  };
}

/** The status of a criterion of several figures: any FAIL fails it, all PASS passes it, else undecided. */
function combined(parts: PartResult[]): "PASS" | "FAIL" | "INCONCLUSIVE" {
  const s = parts.map((p) => p.status);
  return s.includes("FAIL") ? "FAIL" : s.every((x) => x === "PASS") ? "PASS" : "INCONCLUSIVE";
}

export function evaluateCriterion(r: GateInput, def: CriterionDef, baseline: string, candidate: string, opts: GateOptions, threshold = def.threshold): Evaluated {
  const found = lookup(r, def, baseline, candidate);
  if (!found.ok) return { criterion: criterionOf(def, threshold, found.status, found.note), parts: [], def };
  const rounds = commonRounds(found.pairs);
  const kept = new Set<number>();
  const parts = def.parts.map((part) => {
    const a = aligned(found.pairs, rounds, part.pick);
    const pr = pairedRounds(a.base, a.cand);
    for (const i of pr.kept) kept.add(rounds[i]);
    return judgePart(pr.d, def, threshold, opts, part, pr.dropped.length);
  });
  let status: CriterionStatus = combined(parts);
  // The part shown: the weakest of those with the criterion's status.
  const deciding = parts.filter((p) => p.status === status);
  const shown = (deciding.length ? deciding : parts).reduce((a, b) => (a.interval.estimatePct <= b.interval.estimatePct ? a : b));
  const bound = def.clientSensitive && opts.clientBound !== false ? clientBoundOf(found.pairs, [...kept].sort((a, b) => a - b)) : undefined;
  if (bound) status = "CLIENT-BOUND";

  const kind = shown.interval.method === "paired-sign" ? "sign-test interval of the median per-round ratio" : "paired t-interval";
  const conf = `${(opts.confidence * 100).toFixed(1)}% ${kind} over ${shown.interval.n} rounds`;
  const perPart = parts.length > 1 ? `${parts.map((p) => `${p.label} ${pct(p.interval.estimatePct)} ${p.status}${p.fragile ? " (fragile)" : ""}`).join("; ")}; all must pass; ` : "";
  const sizes = found.pairs.length > 1 ? `per ${found.pairs.map((p) => p.key).join("/")}: geometric mean of the per-round ratios; ` : "";
  const stalled = Math.max(...parts.map((p) => p.dropped));
  const fragile = parts.some((p) => p.fragile && p.status === status);
  const where =
    status === "CLIENT-BOUND"
      ? clientBoundNote(bound!, baseline, candidate)
      : status === "PASS"
        ? `whole interval above ${threshold}%`
        : status === "FAIL"
          ? shown.interval.hi < 0
            ? "whole interval below 0: the candidate is worse"
            : `whole interval below ${threshold}%: not better by enough`
          : `interval spans ${threshold}%`;
  const fragileNote = fragile ? "; fragile: with one round left out the interval would reach the threshold" : "";
  const note = `${sizes}${perPart}${conf}${stalled ? ` (${stalled} stalled round${stalled > 1 ? "s" : ""} left out)` : ""}; ${where}${fragileNote}`;
  const c = criterionOf(def, threshold, status, note, shown.interval);
  if (status === "FAIL" && shown.interval.hi >= 0) c.fail_kind = "not better enough";
  if (fragile) c.fragile = true;
  if (bound) c.client_bound = bound;
  if (parts.length > 1) c.parts = parts.map((p) => ({ label: p.label, improvement_pct: fin(p.interval.estimatePct) ? p.interval.estimatePct : null, ci: fin(p.interval.lo) && fin(p.interval.hi) ? [p.interval.lo, p.interval.hi] : null, status: p.status, ...(p.fragile ? { fragile: true } : {}) }));
  if (status === "INCONCLUSIVE") c.undecided = undecidedOf(parts, def, threshold, opts);
  return { criterion: c, parts, def };
}

function clientBoundNote(b: NonNullable<Criterion["client_bound"]>, baseline: string, candidate: string): string {
  const util = (x: number | null) => (x === null ? "n/a" : `${Math.round(x * 100)}%`);
  const cpu = (x: number | null) => (x === null ? "n/a" : `${x.toFixed(2)} µs`);
  const who = b.bound.map((s) => (s === "baseline" ? baseline : candidate)).join(" and ");
  return `CLIENT-BOUND: the load client was the limit in most rounds of ${who} (client CPU ${baseline} ${util(b.baseline_client_util)}, ${candidate} ${util(b.candidate_client_util)}), so the figure is the client's, not the servers'; server CPU per message at this load: ${baseline} ${cpu(b.baseline_cpu_us)}, ${candidate} ${cpu(b.candidate_cpu_us)}; not counted in the verdict: give the client more CPUs or run it on another host`;
}

/** What more rounds could do for an undecided criterion: the open part furthest from settling decides. */
function undecidedOf(parts: PartResult[], def: CriterionDef, threshold: number, opts: GateOptions): NonNullable<Criterion["undecided"]> {
  const max = opts.maxRounds ?? DEFAULT_MAX_ROUNDS;
  const open = parts.filter((p) => p.status === "INCONCLUSIVE");
  const each = open.map((p) => {
    const rounds = requiredRounds(p.d, threshold, opts.confidence, def.higherIsBetter);
    return {
      rounds: Number.isFinite(rounds) ? rounds : null,
      likely: (p.interval.estimatePct > threshold ? "PASS" : "FAIL") as "PASS" | "FAIL",
      resolvable: resolvablePct(p.interval.sdLog, max, threshold, opts.confidence, def.higherIsBetter),
      noisy: tooNoisy(p.interval.sdLog, max, threshold, opts.confidence, def.higherIsBetter),
    };
  });
  // A FAIL in any part fails the criterion: the soonest likely FAIL settles it; else every part must pass.
  const fails = each.filter((e) => e.likely === "FAIL" && e.rounds !== null);
  const pick = fails.length ? fails.reduce((a, b) => (a.rounds! <= b.rounds! ? a : b)) : each.reduce((a, b) => ((a.rounds ?? Infinity) >= (b.rounds ?? Infinity) ? a : b));
  const resolvable = Math.max(...each.map((e) => e.resolvable).filter(Number.isFinite));
  return {
    rounds_to_settle: pick.rounds,
    likely: pick.likely,
    max_rounds: max,
    resolvable_pct: Number.isFinite(resolvable) ? resolvable : null,
    too_noisy: each.some((e) => e.noisy),
  };
}

export function evaluateAll(r: GateInput, baseline: string, candidate: string, opts: GateOptions, threshold?: number): Evaluated[] {
  return CRITERIA.map((def) => evaluateCriterion(r, def, baseline, candidate, opts, threshold ?? def.threshold));
}

function bandNote(c: Criterion): string {
  const [lo, hi] = PHASE0_EXPECTED;
  const band = `expected ${lo}-${hi}%`;
  if (c.improvement_pct === null) return `${band}; ${c.note}`;
  const where = c.improvement_pct < lo ? "below" : c.improvement_pct > hi ? "above" : "within";
  return `${band}: ${where} the band; ${c.note}`;
}

export const GATE_METHOD =
  "paired: per-round log-ratios of candidate to baseline from the same round, each round with fresh server processes; a t-interval of their mean (C3's tail percentiles: a sign-test interval of their median), at a Bonferroni share of 95% over the planned looks; an interval wholly beyond the threshold decides (fragile when one round carries it); rounds hit by a platform stall are left out";

/** The guide's decision gate for candidate against baseline (not the A/A control: see control.ts). Deterministic. */
export function evaluateGate(r: GateInput, pair: GatePair, opts: GateOptions): Gate {
  const evals = evaluateAll(r, pair.baseline, pair.candidate, opts);
  const gate: Gate = {
    kind: pair.kind,
    ...(pair.why ? { why: pair.why } : {}),
    baseline: pair.baseline,
    candidate: pair.candidate,
    ...describeVerdict(evals.map((e) => e.criterion), pair.baseline, pair.candidate, r.backends),
    criteria: evals.map((e) => e.criterion),
    informational: informationalRows(r, pair.baseline, pair.candidate),
    method: GATE_METHOD,
    trusted: true,
  };
  const epoll = "epoll";
  if (pair.baseline !== epoll && r.backends.some((b) => b.name === epoll)) {
    const rows = evaluateAll(r, pair.baseline, epoll, opts, PHASE0_EXPECTED[0]).map((e) => ({ ...e.criterion, note: bandNote(e.criterion) }));
    gate.phase0 = { backend: epoll, expected_pct: [...PHASE0_EXPECTED], rows };
  }
  return gate;
}

/** Below this, a per-request count (context switches, system calls, CPU µs) is too near zero for a percentage change to mean anything. */
export const CHANGE_FLOOR = 0.05;

/** The scenarios whose per-request costs are compared with the guide's expectations (their headline variant). */
const COST_VIEWS = SCENARIOS.flatMap((d) => (d.report.costView ? [{ scenario: d.slug, label: d.report.costView }] : []));

/**
 * The guide's expectations on per-request costs, measured for one pair.
 * Changes are candidate against baseline in %; the expectations are ranges
 * of reduction, so -30 means 30% less.
 */
export function informationalRows(r: GateInput, baseline: string, candidate: string): InformationalRow[] {
  const rows: InformationalRow[] = [];
  for (const view of COST_VIEWS) {
    const s = r.scenarios.find((x) => x.slug === view.scenario);
    const v = s && headlineVariantOf(s);
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
