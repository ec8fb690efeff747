// Capacity at a latency target: the highest open-loop rate whose p99 stays
// under the target, by a bounded search. Double from a start rate until a
// probe fails, halve when the first one fails, then bisect on the log scale
// until the bracket is narrower than `precision` or the probes are spent.
// A probe the client could not keep on schedule counts as a ceiling: above it
// the answer would be the client's, so when the search ends there the
// capacity is "at least" the last pass (limited_by "client").
// Pure apart from the probe it is given.
import type { CapacityProbe } from "../results/schema.ts";

export interface CapacitySearchPlan {
  startRate: number;
  /** Never probe above this (req/s); reaching it passing ends the search. */
  maxRate: number;
  /** Never probe below this (req/s); failing there ends the search with no capacity. */
  minRate: number;
  /** Stop when hi/lo is at most this (1.1: the answer is within 10% below the true limit). */
  precision: number;
  maxProbes: number;
}

export type LimitedBy = "slo" | "errors" | "client" | "max-rate" | "budget";

export interface CapacitySearch {
  /** Highest passing rate, or null when none passed. */
  rate: number | null;
  limited_by: LimitedBy;
  probes: CapacityProbe[];
}

export async function searchCapacity(plan: CapacitySearchPlan, probe: (rate: number) => Promise<CapacityProbe> | CapacityProbe): Promise<CapacitySearch> {
  if (!(plan.minRate > 0 && plan.maxRate >= plan.minRate && plan.precision > 1 && plan.maxProbes >= 1)) throw new RangeError(`bad capacity search plan: ${JSON.stringify(plan)}`);
  const probes: CapacityProbe[] = [];
  let lo: number | null = null;
  let hi: number | null = null;
  // Why the lowest failing rate failed: the server's p99, errors, or a client that could not keep the schedule.
  let hiWhy: LimitedBy = "slo";
  /** A probe the client could not drive counts as a failure for bracketing: nothing above it can be measured. */
  const take = (p: CapacityProbe) => {
    probes.push(p);
    if (p.ok && !p.client_bound) {
      lo = Math.max(lo ?? 0, p.rate);
      return true;
    }
    if (hi === null || p.rate <= hi) {
      hi = p.rate;
      hiWhy = p.client_bound ? "client" : p.why?.startsWith("errors") ? "errors" : "slo";
    }
    return false;
  };
  let rate = Math.min(plan.maxRate, Math.max(plan.minRate, plan.startRate));
  // Bracket: double while passing, halve while failing.
  while (probes.length < plan.maxProbes && (lo === null || hi === null)) {
    const passed = take(await probe(Math.round(rate)));
    if (passed) {
      if (rate >= plan.maxRate) return { rate: lo, limited_by: "max-rate", probes };
      rate = Math.min(plan.maxRate, rate * 2);
    } else {
      if (rate <= plan.minRate) return { rate: null, limited_by: hiWhy, probes };
      rate = Math.max(plan.minRate, rate / 2);
    }
  }
  if (lo === null || hi === null) return { rate: lo, limited_by: lo === null ? hiWhy : "budget", probes };
  // Bisect on the log scale.
  while ((hi as number) / (lo as number) > plan.precision) {
    if (probes.length >= plan.maxProbes) return { rate: lo, limited_by: "budget", probes };
    take(await probe(Math.round(Math.sqrt((lo as number) * (hi as number)))));
  }
  return { rate: lo, limited_by: hiWhy, probes };
}

/** Whether one probe passed: every request sent and answered correctly, p99 under the target. */
export function judgeProbe(o: { rate: number; achieved: number; sent: number; completed: number; errors: number; p99Us: number | null; sloUs: number; clientBound: boolean }): CapacityProbe {
  const base = { rate: o.rate, achieved: o.achieved, p99_us: o.p99Us, client_bound: o.clientBound };
  if (o.errors > 0 || o.completed < o.sent) return { ...base, ok: false, why: `errors: ${o.errors} errors, ${o.sent - o.completed} of ${o.sent} unanswered` };
  if (o.p99Us === null || !(o.p99Us <= o.sloUs)) return { ...base, ok: false, why: `p99 ${o.p99Us === null ? "unknown" : `${o.p99Us.toFixed(0)} µs`} above ${o.sloUs} µs` };
  return { ...base, ok: true };
}
