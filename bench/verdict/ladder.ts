// The ablation ladder: what each io_uring feature buys. Every step is its own
// backend that adds one thing to the step before, measured in the same rounds
// as the others (`bench --ladder`), so each step's gain over the step before
// is paired as the gate pairs (gate.ts): the per-round log-ratio of the same
// round (geometric mean over a scenario's variants), a Student t interval at
// the gate's confidence, and a stalled round left out. Beside each gain, what
// the step costs per request: server CPU (SQPOLL's kernel thread included)
// and system calls. Pure: results in, LadderResult out.
import { pairedRounds, pairedT } from "../stats/paired.ts";
import { median } from "../stats/stats.ts";
import { errorCount } from "../results/errors.ts";
import type { BackendInfoResult, BackendResult, LadderGain, LadderResult, LadderRow, LadderScenario, RoundResult, ScenarioResult } from "../results/schema.ts";

export interface LadderStep {
  backend: string;
  /** What it adds to the step before, in words. */
  adds: string;
  /** Burns CPU beyond the loop's own (a polling kernel thread). */
  extraCpu?: boolean;
  /** The step it adds to, when not the one listed before it (a branch of the ladder). */
  after?: string;
}

/** The ladder, in order: each step adds one thing to the one before. */
export const LADDER_STEPS: readonly LadderStep[] = [
  { backend: "uring-basic", adds: "the naive loop: ring flags 0, no registered ring fd, waits for one completion (2 enters per request)" },
  { backend: "uring-1enter", adds: "one enter per request: waits for one completion more than the sends that finish at once" },
  { backend: "uring-taskrun", adds: "SINGLE_ISSUER|DEFER_TASKRUN (else COOP_TASKRUN|TASKRUN_FLAG)" },
  { backend: "uring", adds: "a registered ring fd: the gates' uring" },
  { backend: "uring-multishot", adds: "multishot accept and recv into a provided-buffer ring (and ring flags 0, see the note)" },
  { backend: "uring-sqpoll", adds: "SQPOLL: a kernel thread polls the submission queue (added to uring, not to uring-multishot)", extraCpu: true, after: "uring" },
];

/** The backend the gates use for io_uring. */
export const GATE_URING = "uring";

/** The figures the ladder reads: scenario 1's p50 (geometric mean over the sizes), 2's and 6's throughput. */
export const LADDER_METRICS: readonly { slug: string; metric: string; variants: "all" | string[]; higherIsBetter: boolean; pick: (r: RoundResult) => number | undefined }[] = [
  { slug: "ping-pong", metric: "p50 latency, µs, geometric mean over the sizes", variants: "all", higherIsBetter: false, pick: (r) => r.latency?.p50 },
  { slug: "persistent-throughput", metric: "throughput, msg/s", variants: ["window"], higherIsBetter: true, pick: (r) => r.throughput },
  { slug: "throughput-stress", metric: "throughput, msg/s", variants: ["stress"], higherIsBetter: true, pick: (r) => r.throughput },
];

/** The scenarios whose rounds the ladder's steps must all get (gated there). */
export const LADDER_SCENARIOS: ReadonlySet<string> = new Set(LADDER_METRICS.map((m) => m.slug));

export const LADDER_NOTES = [
  "uring-multishot runs with ring flags 0, not the taskrun flags of the step before: with SINGLE_ISSUER|DEFER_TASKRUN, and with SQPOLL, its multishot recv at times stopped reading from a peer that never reads instead of cutting it off at --max-pending (test/faults.test.ts; not yet understood). Its gain is multishot minus the taskrun flags, and SQPOLL is measured on uring instead.",
  "SQPOLL's kernel thread polls a CPU of its own: its CPU per request is counted as the server's, and a cross-core round trip gains from the server's CPU never idling.",
];

type Input = { scenarios: ScenarioResult[]; backends: Pick<BackendInfoResult, "name" | "available" | "reason">[] };

const errorsOf = (b: BackendResult) => errorCount(b.errors) + b.rounds.reduce((s, r) => s + errorCount(r.errors), 0);

/** Why a step has no figures in a scenario, or undefined when it has them. */
function missingWhy(r: Input, s: ScenarioResult | undefined, slug: string, backend: string, results: (BackendResult | undefined)[]): string | undefined {
  if (!s) return `scenario ${slug} was not run`;
  if (s.status === "skipped") return `scenario ${s.id} was skipped`;
  const info = r.backends.find((b) => b.name === backend);
  if (!info) return "not run";
  if (!info.available) return `unavailable${info.reason ? ` (${info.reason})` : ""}`;
  if (!results.length || results.some((b) => !b)) return `no results in scenario ${s.id}`;
  const failed = results.find((b) => b!.failure);
  if (failed) return `failed (${failed.failure})`;
  const errors = results.reduce((n, b) => n + errorsOf(b!), 0);
  if (errors) return `${errors} error${errors > 1 ? "s" : ""} in scenario ${s.id}: its figures are not used`;
  return undefined;
}

/** A step's per-variant, per-round values by round number (NaN for a stalled round). */
function byRound(results: BackendResult[], pick: (r: RoundResult) => number | undefined): Map<number, number>[] {
  return results.map((b) => new Map(b.rounds.map((r) => [r.round, r.stalled ? NaN : (pick(r) ?? NaN)])));
}

function gain(over: string, base: Map<number, number>[], cand: Map<number, number>[], higherIsBetter: boolean, confidence: number): LadderGain {
  const common = [...base[0].keys()].filter((n) => base.every((m) => m.has(n)) && cand.every((m) => m.has(n))).sort((a, b) => a - b);
  const pr = pairedRounds(
    base.map((m) => common.map((n) => m.get(n)!)),
    cand.map((m) => common.map((n) => m.get(n)!)),
  );
  const iv = pairedT(pr.d, confidence, higherIsBetter);
  return { over, estimate_pct: iv.estimatePct, ci: [iv.lo, iv.hi], rounds: iv.n };
}

/** Requests-weighted mean over the variants of a per-request cost, or null when none has it. */
function weighted(results: BackendResult[], pick: (c: NonNullable<BackendResult["costs"]>) => number | null): number | null {
  let sum = 0;
  let n = 0;
  for (const b of results) {
    const v = b.costs ? pick(b.costs) : null;
    if (v === null || !Number.isFinite(v) || !b.costs!.requests) continue;
    sum += v * b.costs!.requests;
    n += b.costs!.requests;
  }
  return n ? sum / n : null;
}

/** Geometric mean over the variants of each variant's median over rounds. */
function headline(maps: Map<number, number>[]): number | null {
  const meds = maps.map((m) => median([...m.values()].filter((x) => Number.isFinite(x) && x > 0)));
  if (!meds.length || meds.some((x) => !Number.isFinite(x) || x <= 0)) return null;
  return Math.exp(meds.reduce((s, x) => s + Math.log(x), 0) / meds.length);
}

/**
 * Each step's gain over the step before that has figures, and over the first
 * that has them, per scenario of LADDER_METRICS that ran. A step that did not
 * run, is unavailable or had errors is a row saying why; the next step is then
 * compared with the one before it (the row names which). `confidence` is the
 * gates' (a Bonferroni share of 95%).
 */
export function evaluateLadder(results: Input, steps: readonly LadderStep[], confidence: number): LadderResult {
  const scenarios: LadderScenario[] = [];
  for (const m of LADDER_METRICS) {
    const s = results.scenarios.find((x) => x.slug === m.slug);
    if (!s) continue;
    const keys = m.variants === "all" ? s.variants.map((v) => v.key) : m.variants;
    const variants = keys.map((k) => s.variants.find((v) => v.key === k));
    let previous: { backend: string; maps: Map<number, number>[] } | undefined;
    let first: typeof previous;
    const measured = new Map<string, NonNullable<typeof previous>>();
    const rows: LadderRow[] = [];
    for (const step of steps) {
      const found = variants.map((v) => v?.backends.find((b) => b.backend === step.backend));
      const missing = variants.some((v) => !v) ? `scenario ${s.id} has no ${keys.join("/")} variant` : missingWhy(results, s, m.slug, step.backend, found);
      const present = found.filter((b): b is BackendResult => b !== undefined);
      const row: LadderRow = {
        backend: step.backend,
        value: null,
        cpu_us: weighted(present, (c) => c.cpu_us),
        syscalls: weighted(present, (c) => c.syscalls),
      };
      if (missing) {
        row.missing = missing;
        rows.push(row);
        continue;
      }
      const maps = byRound(present, m.pick);
      row.value = headline(maps);
      // A branch adds to the step it names, when that one has figures.
      const base = (step.after && measured.get(step.after)) || previous;
      if (base) row.gain = gain(base.backend, base.maps, maps, m.higherIsBetter, confidence);
      if (first && first !== base) row.cumulative = gain(first.backend, first.maps, maps, m.higherIsBetter, confidence);
      else if (first) row.cumulative = row.gain;
      previous = { backend: step.backend, maps };
      measured.set(step.backend, previous);
      first ??= previous;
      rows.push(row);
    }
    // The best that costs no extra CPU: the highest cumulative gain (the first step counts as 0).
    let best: string | null = null;
    let bestPct = -Infinity;
    for (const row of rows) {
      const step = steps.find((x) => x.backend === row.backend)!;
      if (step.extraCpu || row.missing) continue;
      const pct = row.cumulative?.estimate_pct ?? (first?.backend === row.backend ? 0 : NaN);
      if (Number.isFinite(pct) && pct > bestPct) {
        bestPct = pct;
        best = row.backend;
      }
    }
    scenarios.push({ id: s.id, slug: s.slug, metric: m.metric, higherIsBetter: m.higherIsBetter, rows, best_no_extra_cpu: best });
  }
  return {
    confidence,
    method: `paired t-interval at ${(confidence * 100).toFixed(1)}% on the per-round log-ratios of the same round (geometric mean over the variants), stalled rounds left out`,
    steps: steps.map((x) => ({ backend: x.backend, adds: x.adds, extra_cpu: Boolean(x.extraCpu) })),
    scenarios,
    gate_backend: GATE_URING,
    notes: [...LADDER_NOTES],
  };
}

/** The first step whose system calls per request are within 1 ± 0.5, from per-backend counts; undefined when none is. */
export function firstStepNearOneSyscall(counts: Record<string, number>, steps: readonly LadderStep[] = LADDER_STEPS): LadderStep | undefined {
  return steps.find((s) => counts[s.backend] !== undefined && Number.isFinite(counts[s.backend]) && Math.abs(counts[s.backend] - 1) <= 0.5);
}
