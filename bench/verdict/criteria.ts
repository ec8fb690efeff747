// The guide's decision criteria as data: a criterion is one row. Each reads
// one scenario (by slug), some or all of its variants, and one or more
// per-round figures that must all pass; the gate (gate.ts) pairs candidate
// and baseline round by round and compares the improvement with the
// threshold.
import type { RoundResult } from "../results/schema.ts";

export interface CriterionPart {
  /** Shown in notes when a criterion has several parts ("p95", "p99"). */
  label: string;
  pick: (r: RoundResult) => number | undefined;
  /**
   * How the per-round log-ratios become an interval: "t" (their mean, a
   * t-interval) or "sign" (their median, the sign test's distribution-free
   * interval) for figures that flip between modes from round to round, as a
   * tail percentile does when a round meets a millisecond hiccup or not.
   */
  method?: "t" | "sign";
}

export interface CriterionDef {
  id: string;
  name: string;
  /** What is compared, for people. */
  metric: string;
  /** The scenario it reads (bench/scenarios/index.ts). */
  scenario: string;
  /** Variant keys it combines (geometric mean per round), or every variant the scenario has. */
  variants: "all" | string[];
  /** Every part must pass; one failing part fails the criterion. */
  parts: CriterionPart[];
  higherIsBetter: boolean;
  /** The improvement, %, it must exceed. */
  threshold: number;
  /**
   * A closed-loop throughput: when the load client was the limit in most of
   * its rounds, the figure is the client's and the criterion is CLIENT-BOUND.
   */
  clientSensitive?: boolean;
}

const p50: CriterionPart = { label: "p50", pick: (r) => r.latency?.p50 };
const throughput: CriterionPart = { label: "throughput", pick: (r) => r.throughput };

export const CRITERIA: readonly CriterionDef[] = [
  { id: "C1", name: "Single ping-pong latency", metric: "scenario 1 p50 latency, geometric mean over the payload sizes", scenario: "ping-pong", variants: "all", parts: [p50], higherIsBetter: false, threshold: 10 },
  { id: "C2", name: "Persistent-connection throughput", metric: "scenario 2 throughput, msg/s", scenario: "persistent-throughput", variants: ["window"], parts: [throughput], higherIsBetter: true, threshold: 15, clientSensitive: true },
  {
    id: "C3",
    name: "Latency percentiles under load",
    metric: "scenario 4 p95 and p99 latency (corrected), µs",
    scenario: "latency-under-load",
    variants: ["open-loop"],
    parts: [
      { label: "p95", pick: (r) => r.latency?.p95, method: "sign" },
      { label: "p99", pick: (r) => r.latency?.p99, method: "sign" },
    ],
    higherIsBetter: false,
    threshold: 15,
  },
  { id: "C4", name: "Throughput stress", metric: "scenario 6 throughput, msg/s", scenario: "throughput-stress", variants: ["stress"], parts: [throughput], higherIsBetter: true, threshold: 20, clientSensitive: true },
];

/** The guide asks for at least this many passing criteria. */
export const GATE_PASSES_NEEDED = 2;
/** Phase 0: the epoll server should be this much better than the baseline, %. */
export const PHASE0_EXPECTED: [number, number] = [15, 30];
/** Every interval of a run together: 95%, split over the planned looks. */
export const FAMILY_CONFIDENCE = 0.95;
/** The most paired rounds of a gated scenario when the run does not say (bench's --max-rounds default). */
export const DEFAULT_MAX_ROUNDS = 20;

/**
 * The A/A control's margin for a criterion, as a share of its threshold: two
 * instances of one server "do not differ" when their difference is inside
 * ±threshold/4 (C1 ±2.5%, C2 and C3 ±3.75%, C4 ±5%). A quarter of the
 * threshold is small enough that a machine which makes such offsets between
 * identical servers cannot fake a pass (the candidate still needs the whole
 * threshold), and large enough that the control can be decided in the rounds a
 * run has (C1's rounds spread by about 1.5% here, so 6 rounds settle ±2.5%).
 */
export const CONTROL_MARGIN_SHARE = 0.25;

export function controlMargin(def: Pick<CriterionDef, "threshold">): number {
  return def.threshold * CONTROL_MARGIN_SHARE;
}

/** Scenarios some criterion reads. */
export function gatedScenarios(): Set<string> {
  return new Set(CRITERIA.map((c) => c.scenario));
}
