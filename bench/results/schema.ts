// The result data: JSON is the source of truth; the terminal and markdown
// tables are renderings of it (bench/report/report.ts). Field meanings are
// documented in the README ("Results JSON").
import type { CostSample, RequestCosts, ResourceSnapshot } from "../measure/accounting.ts";
import type { ClientErrors } from "../results/errors.ts";
import type { MachineContext, Placement } from "../measure/machine.ts";
import type { LatencySummary } from "../stats/stats.ts";
import type { CapacityResult, IdleResult, SweepResults } from "./sweep-schema.ts";
import type { CoreScalingResults } from "./core-scaling-schema.ts";
import type { RunWarning } from "./warnings.ts";

export type * from "./sweep-schema.ts";
export type * from "./core-scaling-schema.ts";

/** 3: criteria carry `ci` (was `ci95`) with its `confidence`; gates `trusted`; the A/A control's states; CLIENT-BOUND; relative figures paired; warnings coded. */
export const SCHEMA = "iouring-bench/3";

/** One backend in one round of one variant. */
export interface RoundResult {
  round: number;
  /** Latency in µs (latency scenarios; scenario 4: from each request's intended send time). */
  latency?: LatencySummary;
  /** Scenario 4: latency from the actual send time (what a closed-loop tool would report), µs. */
  uncorrected?: LatencySummary;
  /** Completed requests per second (throughput scenarios). */
  throughput?: number;
  /** Scenario-specific figures of this round (names documented in the README), e.g. connect_p50_us. */
  extra?: Record<string, number>;
  /** The server's CPU and context switches over exactly the measured interval. */
  costs?: CostSample;
  errors: ClientErrors;
  /** A platform stall (steal time or a hiccup above the bound) hit this unit even after its repeats. */
  stalled?: boolean;
  /** How many times this unit was measured again because a stall hit it. */
  repeats?: number;
  /** The client thread's CPU time over the measured interval's wall time (1: always busy). */
  client_util?: number;
  /** client_util reached CLIENT_BOUND_UTIL: the figure may be the client's limit, not the server's. */
  client_bound?: boolean;
  /** With several load threads: each one's CPU, its CPU share over the interval, and the requests it completed (client_util is the busiest's). */
  client_threads?: { cpu: number | null; ran_on?: number; util: number; completed: number }[];
}

/** A unit that a platform stall hit (the vCPU was not running): steal time and the hiccup meter's worst lateness, ms. */
export interface StallEvent {
  round: number;
  backend: string;
  stealMs: number;
  hiccupMs: number;
  /** True when the unit was measured again (its figures were dropped). */
  repeated: boolean;
  /** What a remote server's host saw on its own CPUs over the unit's measured intervals (serve's control channel). */
  serverHost?: { stealMs: number; hiccupMs: number };
}

export interface BackendResult {
  backend: string;
  rounds: RoundResult[];
  /** Percentiles over every sample of every round, µs. */
  pooled?: LatencySummary;
  /** Scenario 4: pooled percentiles from the actual send time, µs. */
  pooledUncorrected?: LatencySummary;
  /** Medians over rounds of each `extra` figure. */
  extra?: Record<string, number>;
  /** Per request, over all rounds: server CPU (µs), context switches, syscalls (counting pass). */
  costs?: RequestCosts;
  /** The server's descriptors and memory before the scenario's first round and after its last. */
  resources?: { before: ResourceSnapshot | null; after: ResourceSnapshot | null };
  /** Round-level figure compared across backends: median of the rounds' p50 (latency) or throughput. */
  headline: number;
  /** The lowest and highest of the rounds' figures (stalled rounds left out); NaN without rounds. */
  range: [number, number];
  /** Against the baseline, paired round by round as the gates are (the baseline's own is 1). */
  relative?: RelativeFigure;
  errors: ClientErrors;
  /** Set when this backend could not be measured in this variant. */
  failure?: string;
  /** Set when this backend does not do what the variant asks (e.g. "echo only" in order mode): not a failure, nothing to measure. */
  unsupported?: string;
}

/**
 * A backend's figure against the baseline's from the same rounds: the
 * geometric mean of the per-round ratios (below 1: lower; for latency, faster)
 * with a paired t interval at `confidence` (kind "ci", from 5 paired rounds
 * on), or the lowest and highest per-round ratio (kind "range", 2-4 rounds:
 * too few for an interval worth the name). Stalled rounds are left out, as
 * the gates leave them out.
 */
export interface RelativeFigure {
  ratio: number;
  interval: [number, number] | null;
  kind: "ci" | "range";
  confidence?: number;
  rounds: number;
}

export interface VariantResult {
  key: string;
  label: string;
  params: Record<string, number | string>;
  /** What the headline is: "p50 latency, µs" or "throughput, msg/s". */
  metric: string;
  higherIsBetter: boolean;
  backends: BackendResult[];
}

export interface ScenarioResult {
  /** The guide's number of the scenario (1-6). */
  id: number;
  /** Its stable name (bench/scenarios/index.ts). */
  slug: string;
  name: string;
  status: "ok" | "failed" | "skipped";
  note?: string;
  variants: VariantResult[];
  /** The order in which each round visited the backends (seeded, drawn anew per round). */
  orders?: string[][];
  /** Units hit by a platform stall. */
  stalls?: StallEvent[];
  /** How many rounds ran, how many looks at the criteria, and why it stopped. */
  sequential?: { rounds: number; looks: number; stopped: string; elapsed_s: number };
}

export interface BackendInfoResult {
  name: string;
  description: string;
  available: boolean;
  reason?: string;
  hint?: string;
  /** The server's exit summary, as counted by the server (summed over its instances). */
  serverSummary?: Record<string, string>;
  /** Server processes this backend ran: one per round with fresh servers (--fresh-servers on), else 1. */
  instances?: number;
  /** A --target's server-side figures: read on its host by serve's control channel, here by its pid, or none (client-side only). */
  figures?: "server-host" | "local" | "none";
}

/** How the A/A control's difference compares with its margin (two one-sided tests on its interval). */
export type ControlState = "equivalent" | "uninformative" | "drifted";
/** A control criterion's status: its ControlState in capitals. */
export type ControlStatus = "EQUIVALENT" | "UNINFORMATIVE" | "DRIFTED";
/**
 * PASS / FAIL: the whole interval is above / below the threshold. INCONCLUSIVE: it spans the threshold.
 * CLIENT-BOUND: a throughput criterion whose load client was the limit in most rounds (not counted).
 * INVALID: errors; NOT EVALUATED: not measured. A control gate's criteria carry a ControlStatus instead.
 */
export type CriterionStatus = "PASS" | "FAIL" | "INCONCLUSIVE" | "CLIENT-BOUND" | "INVALID" | "NOT EVALUATED" | ControlStatus;
/** A gate's verdict; the A/A control's is its overall state (DRIFTED if any criterion drifted). */
export type Verdict = "PROCEED" | "DO NOT PROCEED" | "INCONCLUSIVE" | "NOT EVALUATED" | ControlStatus;

export interface Criterion {
  id: string;
  name: string;
  metric: string;
  threshold_pct: number;
  /** Candidate's improvement over the baseline, % (positive: better). */
  improvement_pct: number | null;
  /** The interval of the improvement, %, at `confidence` (see the gate's method); null without one. */
  ci: [number, number] | null;
  status: CriterionStatus;
  note: string;
  /** FAIL only: "worse" when the whole interval is below 0, else "not better enough". */
  fail_kind?: "worse" | "not better enough";
  /** Paired rounds behind the interval. */
  rounds?: number;
  /** Two-sided confidence of `ci` (a Bonferroni share of 95% over the planned looks). */
  confidence?: number;
  /** PASS or FAIL that does not hold with some one round left out: decided, but by a margin one round carries. */
  fragile?: boolean;
  /** Criteria of several figures (C3: p95 and p99), each with its own interval and status. */
  parts?: { label: string; improvement_pct: number | null; ci: [number, number] | null; status: CriterionStatus; fragile?: boolean }[];
  /** INCONCLUSIVE: what more rounds could do, if the rounds keep their spread. */
  undecided?: {
    /** Paired rounds that would likely settle it, and which way; null when no number of rounds would. */
    rounds_to_settle: number | null;
    likely: "PASS" | "FAIL";
    /** The most rounds this run allowed, and the smallest distance from the threshold (%) that many could resolve. */
    max_rounds: number;
    resolvable_pct: number | null;
    /** Even max_rounds could not tell a candidate no better than the baseline from one at the threshold. */
    too_noisy: boolean;
  };
  /** CLIENT-BOUND: each side's load-client CPU (median share of the measured time) and server CPU per message over the paired rounds. */
  client_bound?: {
    bound: ("baseline" | "candidate")[];
    baseline_client_util: number | null;
    candidate_client_util: number | null;
    baseline_cpu_us: number | null;
    candidate_cpu_us: number | null;
  };
  /** A/A control only: how its difference compares with ±margin_pct. */
  control?: ControlState;
  margin_pct?: number;
  /** Other gates: set when the A/A control drifted on this criterion (the offset it saw). */
  untrusted?: string;
}

export interface InformationalRow {
  name: string;
  scenario: string;
  baseline_value: number | null;
  candidate_value: number | null;
  /** Candidate's change against the baseline, % (negative: fewer/less). */
  change_pct: number | null;
  expected: string;
  /** "as expected", "better than expected", "less than expected", "opposite", or "n/a (why)". */
  status: string;
}

export interface Gate {
  /** headline: the guide's question; pair: another pair asked for; control: the A/A check of the baseline against a second instance of itself. */
  kind?: "headline" | "pair" | "control";
  /** Why this pair is gated; for the headline, why it is the headline (the guide's pair on one core, the many-core pair, a fallback, or asked for). */
  why?: string;
  baseline: string;
  candidate: string;
  verdict: Verdict;
  /** Why, in one sentence; for INCONCLUSIVE, how many rounds would likely settle it. */
  reason: string;
  criteria: Criterion[];
  /**
   * The guide's expectations for per-request costs (CPU down 25-40%, context
   * switches down 30-50%, about 3 syscalls per request down to about 1),
   * measured; informational, they do not enter the verdict.
   */
  informational?: InformationalRow[];
  /** The guide's Phase 0 check: epoll against the baseline, expected 15-30% better. */
  phase0?: { backend: string; expected_pct: [number, number]; rows: Criterion[] };
  /** How the intervals were made. */
  method?: string;
  /** False when the A/A control drifted on one of this gate's criteria (those criteria carry `untrusted`). */
  trusted: boolean;
  /** Why it is not trusted: which criteria, and what the control saw. */
  untrusted?: string;
}

/** One placement's scenarios and gates (with --placement both). */
export interface PlacementRun {
  placement: Placement;
  /** poll: CPUs kept polling (PM QoS 0) during this run; default: the cpuidle governor's choice. */
  cpuIdle?: "poll" | "default";
  scenarios: ScenarioResult[];
  gate?: Gate;
  gates?: Gate[];
}

export interface BenchResults {
  schema: string;
  context: MachineContext;
  config: Record<string, unknown>;
  backends: BackendInfoResult[];
  baseline: string;
  scenarios: ScenarioResult[];
  /** The headline gate (--baseline against --candidate). */
  gate?: Gate;
  /** Micro-benchmarks (mitata), when run. */
  micro?: MicroResults;
  /** The guide's claims against this machine. */
  claims?: ClaimRow[];
  /** Every gate evaluated when --gate-pairs asked for more than one, headline first. */
  gates?: Gate[];
  /** With --placement both: every placement's run, the first being the one above. */
  placements?: PlacementRun[];
  /** With --ladder: what each io_uring feature buys (bench/verdict/ladder.ts). */
  ladder?: LadderResult;
  /** With --sweep: every backend over connection counts, windows and payloads, and where io_uring overtakes. */
  sweep?: SweepResults;
  /** The core-scaling sweep (--sweep-cores): the thread-per-core backends at each server core count. */
  core_scaling?: CoreScalingResults;
  /** With --sweep: the highest open-loop rate each backend carries with its p99 under --slo-p99. */
  capacity?: CapacityResult[];
  /** With --sweep: many idle connections and a few active ones, per backend. */
  idle?: IdleResult[];
  /** Every warning of the run: a code, what happened, what to do (results/warnings.ts). */
  warnings: RunWarning[];
}

// The ablation ladder (bench/verdict/ladder.ts computes it, bench/report/ladder-table.ts renders it).

/** A paired improvement of one backend over another, %, positive when better. */
export interface LadderGain {
  /** The step it is measured against. */
  over: string;
  estimate_pct: number;
  /** At the ladder's confidence; NaN (null in JSON) below 2 paired rounds. */
  ci: [number, number];
  /** Paired rounds used. */
  rounds: number;
}

export interface LadderRow {
  backend: string;
  /** Median over rounds of the scenario's figure (geometric mean over its variants), or null when missing. */
  value: number | null;
  /** Over the step before it that was measured. */
  gain?: LadderGain;
  /** Over the ladder's first step that was measured. */
  cumulative?: LadderGain;
  /** Server CPU µs per request (SQPOLL's kernel thread included), requests-weighted over the variants. */
  cpu_us: number | null;
  /** System calls per request from the counting pass, or null. */
  syscalls: number | null;
  /** Why this step has no figures here (not run, unavailable, errors). */
  missing?: string;
}

export interface LadderScenario {
  id: number;
  slug: string;
  /** What the figure is, e.g. "p50 latency, µs, geometric mean over the sizes". */
  metric: string;
  higherIsBetter: boolean;
  rows: LadderRow[];
  /** The step with the best cumulative gain that costs no extra CPU (no SQPOLL thread), or null. */
  best_no_extra_cpu: string | null;
}

export interface LadderResult {
  confidence: number;
  method: string;
  steps: { backend: string; adds: string; extra_cpu: boolean }[];
  scenarios: LadderScenario[];
  /** The backend the gates use for io_uring (the step all but SQPOLL build up to). */
  gate_backend: string;
  notes: string[];
}

// Micro-benchmarks (bench/micro/index.ts runs them).

export type MicroId =
  | "js_empty"
  | "ffi_noop"
  | "getppid_ffi"
  | "getppid_c"
  | "epoll_wait"
  | "write_read"
  | "write"
  | "read"
  | "uring_nop"
  | "json_parse"
  | "json_serialize"
  | "match";

export type MicroStatus = "ok" | "check failed" | "error" | "skipped";

/** One benchmark. Times are per operation, ns; NaN (null in JSON) unless status is ok or "check failed". */
export interface MicroBenchResult {
  id: MicroId;
  group: string;
  /** The name it was declared with in mitata. */
  name: string;
  /** What is timed and how, in one sentence. */
  note: string;
  /** Operations per timed call; the times below are the call's divided by this. */
  opsPerCall: number;
  avgNs: number;
  p50Ns: number;
  p99Ns: number;
  minNs: number;
  maxNs: number;
  /** mitata samples kept (it drops the 2 fastest and 2 slowest when it has more than 12). */
  samples: number;
  /** Timed calls in the kept samples. */
  calls: number;
  /** mitata timed batches of calls: p50/p99 are percentiles of batch averages, not of single calls. */
  batched: boolean;
  status: MicroStatus;
  /** What the result check verified, or what went wrong (or why the benchmark was skipped). */
  check: string;
}

export interface MicroResults {
  schema: string;
  context: MachineContext;
  quick: boolean;
  /** How the benchmarks were run: mitata version, entry point and time budget. */
  engine: string;
  benchmarks: MicroBenchResult[];
  warnings: string[];
}

// The guide's claims against this machine (bench/verdict/claims.ts computes them).

export type ClaimVerdict = "holds" | "lower than claimed" | "higher than claimed" | "n/a";

export interface ClaimRow {
  id: "epoll_wait" | "read" | "write" | "syscall_overhead" | "network_share" | "syscalls_epoll" | "syscalls_uring" | "syscall_reduction";
  /** What the guide claims, in words. */
  claim: string;
  /** The claimed range as written in the table ("3-5 µs"). */
  claimed: string;
  /** The range the verdict uses, in `unit`. */
  range: [number, number];
  unit: string;
  /** null when not measured. */
  measured: number | null;
  /** The measured value with its unit, or "n/a (why)". */
  measuredText: string;
  verdict: ClaimVerdict;
  /** How the measured value was obtained. */
  how: string;
}
