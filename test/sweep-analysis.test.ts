// The sweep's arithmetic on synthetic rounds: per-point figures, paired gains,
// the fixed-sequence crossover, and the bounded capacity search.
import { describe, expect, test } from "bun:test";
import { noErrors } from "../bench/results/errors.ts";
import { judgeProbe, searchCapacity } from "../bench/run/capacity-search.ts";
import { isStalled as stalled } from "../bench/run/rounds.ts";
import { withoutServerCpu } from "../bench/run/sweep-context.ts";
import { seededRandom } from "../bench/stats/stats.ts";
import type { BackendResult, CapacityProbe, ScenarioResult } from "../bench/results/schema.ts";
import { crossoverOf, pairGain, STRESS_THRESHOLD, sweepCrossovers, sweepPoints, type SweepInput } from "../bench/verdict/sweep.ts";

const pair = { baseline: "epoll", candidate: "uring" };

/** A backend whose rounds have the given throughputs (and client utilisations). */
function backend(name: string, tps: number[], opts: { util?: number[]; p99?: number[]; failure?: string; mismatch?: number } = {}): BackendResult {
  const sorted = [...tps].sort((a, b) => a - b);
  return {
    backend: name,
    rounds: tps.map((t, i) => ({
      round: i + 1,
      throughput: t,
      latency: { n: 100, p50: 10, p95: 20, p99: opts.p99?.[i] ?? 30, p999: 40, mean: 12, min: 5, max: 50 },
      errors: noErrors(),
      client_util: opts.util?.[i] ?? 0.5,
      client_bound: (opts.util?.[i] ?? 0.5) >= 0.9,
    })),
    headline: sorted[Math.floor(sorted.length / 2)],
    range: [sorted[0], sorted[sorted.length - 1]],
    costs: { requests: 1000, cpu_us: 4.2, user_us: 2, sys_us: 2.2, vol_ctx: 0.1, invol_ctx: 0, syscalls: null },
    errors: { ...noErrors(), mismatch: opts.mismatch ?? 0 },
    ...(opts.failure ? { failure: opts.failure } : {}),
  };
}

/** One connection count's scenario result with one (window 8, payload 32) variant. */
function atCount(connections: number, backends: BackendResult[]): SweepInput {
  const result: ScenarioResult = {
    id: 7,
    slug: `sweep-${connections}`,
    name: "sweep",
    status: "ok",
    variants: [{ key: "w8-p32", label: "", params: { connections, window: 8, payload: 32, client: "c" }, metric: "throughput, msg/s", higherIsBetter: true, backends }],
  };
  return { connections, result };
}

/** Rounds of `ratio` × the baseline with a little seeded noise. */
function rounds(base: number, ratio: number, n: number, seed: number, noise = 0.02): [number[], number[]] {
  const rnd = seededRandom(seed);
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < n; i++) {
    const drift = 1 + (rnd() - 0.5) * 0.2; // shared by both in a round: cancels in the pair
    b.push(base * drift * (1 + (rnd() - 0.5) * noise));
    c.push(base * ratio * drift * (1 + (rnd() - 0.5) * noise));
  }
  return [b, c];
}

function sweep(ratios: Record<number, number>, n = 5): SweepInput[] {
  return Object.entries(ratios).map(([conns, ratio], i) => {
    const [b, c] = rounds(10000, ratio, n, 17 + i);
    return atCount(Number(conns), [backend("epoll", b), backend("uring", c)]);
  });
}

describe("per-point figures", () => {
  test("medians, client-bound by majority of rounds, errors keep the gain out", () => {
    const pts = sweepPoints(
      [atCount(64, [backend("epoll", [100, 110, 120], { util: [0.95, 0.97, 0.5], p99: [10, 30, 20] }), backend("uring", [130, 140, 150])])],
      [pair],
      0.95,
    );
    expect(pts).toHaveLength(1);
    const [e, u] = pts[0].backends;
    expect(e.throughput).toBe(110);
    expect(e.p99_us).toBe(20);
    expect(e.client_bound).toBe(true);
    expect(e.client_util).toBe(0.95);
    expect(u.client_bound).toBe(false);
    expect(pts[0].gains[0].estimate_pct).toBeGreaterThan(20);
    expect(pts[0].gains[0].rounds).toBe(3);

    const bad = pairGain(backend("epoll", [100, 100, 100], { mismatch: 1 }), backend("uring", [200, 200, 200]), pair, 0.95);
    expect(bad.estimate_pct).toBeNull();
    expect(bad.ci).toBeNull();
  });

  test("a shared drift cancels: a true 1.5x is found within a narrow interval", () => {
    const [b, c] = rounds(10000, 1.5, 6, 3);
    const g = pairGain(backend("epoll", b), backend("uring", c), pair, 0.95);
    expect(g.ci![0]).toBeGreaterThan(45);
    expect(g.ci![1]).toBeLessThan(55);
  });
});

describe("crossover (fixed sequence from the most connections down)", () => {
  test("found at the smallest count of the run of passes that reaches the top", () => {
    const pts = sweepPoints(sweep({ 1: 1.0, 8: 1.3, 64: 1.05, 256: 1.4, 1024: 1.5, 4096: 1.6 }), [pair], 0.95);
    const x = crossoverOf(pts, pair, 8, 32, STRESS_THRESHOLD);
    // 8 passes on its own, but 64 does not: the crossover is 256, the start of the run that reaches 4096.
    expect(x.connections).toBe(256);
    expect(x.holds_above).toBe(true);
    expect(x.ci![0]).toBeGreaterThan(STRESS_THRESHOLD);
    expect(x.max_connections).toBe(4096);
    expect(x.note).toContain("from 256 connections");
  });

  test("none when the most connections do not pass, with the figure there", () => {
    const pts = sweepPoints(sweep({ 1: 1.5, 64: 1.5, 4096: 1.1 }), [pair], 0.95);
    const x = crossoverOf(pts, pair, 8, 32, STRESS_THRESHOLD);
    expect(x.connections).toBeNull();
    expect(x.note).toContain("no crossover up to 4096 connections");
    // 1 and 64 pass on their own: said, but not called a crossover.
    expect(x.ahead_at).toEqual([1, 64]);
    expect(x.note).toContain("ahead by more than 20% at 1 (");
    expect(x.note).toContain("alone, each interval on its own, not a crossover");
    expect(x.estimate_pct!).toBeGreaterThan(5);
    expect(x.estimate_pct!).toBeLessThan(15);
  });

  test("an A/A sweep almost never shows a crossover (simulated false crossovers at most ~5%)", () => {
    let falses = 0;
    const trials = 300;
    for (let t = 0; t < trials; t++) {
      // A true gain exactly at the threshold: the hardest null case.
      const at = 1 + STRESS_THRESHOLD / 100;
      const inputs = [1, 8, 64, 256, 1024, 4096].map((n, i) => {
        const [b, c] = rounds(10000, at, 4, 1000 * t + i, 0.08);
        return atCount(n, [backend("epoll", b), backend("uring", c)]);
      });
      const x = crossoverOf(sweepPoints(inputs, [pair], 0.95), pair, 8, 32, STRESS_THRESHOLD);
      if (x.connections !== null) falses++;
    }
    expect(falses / trials).toBeLessThan(0.08);
  });

  test("every pair and (window, payload) gets an entry; a pair without figures says why", () => {
    const inputs = sweep({ 1: 1, 64: 1 });
    const xs = sweepCrossovers(sweepPoints(inputs, [pair, { baseline: "bun", candidate: "uring" }], 0.95), [pair, { baseline: "bun", candidate: "uring" }]);
    expect(xs).toHaveLength(2);
    expect(xs[1].connections).toBeNull();
    expect(xs[1].note).toContain("no point with figures for both");
  });
});

describe("capacity search", () => {
  /** A server whose p99 stays at 100 µs below `limit` req/s and explodes above it. */
  const server = (limit: number, clientLimit = Infinity) => (rate: number): CapacityProbe =>
    judgeProbe({ rate, achieved: Math.min(rate, limit), sent: 1000, completed: 1000, errors: 0, p99Us: rate <= limit ? 100 : 50000, sloUs: 1000, clientBound: rate > clientLimit });

  test("brackets by doubling, then bisects to the precision asked, never above the limit", async () => {
    const s = await searchCapacity({ startRate: 5000, minRate: 100, maxRate: 1e7, precision: 1.1, maxProbes: 20 }, server(37000));
    expect(s.rate!).toBeLessThanOrEqual(37000);
    expect(s.rate!).toBeGreaterThan(37000 / 1.1);
    expect(s.limited_by).toBe("slo");
    expect(s.probes.length).toBeLessThanOrEqual(20);
  });

  test("halves from a start above the limit", async () => {
    const s = await searchCapacity({ startRate: 1e6, minRate: 100, maxRate: 1e7, precision: 1.2, maxProbes: 20 }, server(20000));
    expect(s.rate!).toBeLessThanOrEqual(20000);
    expect(s.rate!).toBeGreaterThan(20000 / 1.2);
  });

  test("the probe budget ends the search with the best pass so far", async () => {
    const s = await searchCapacity({ startRate: 1000, minRate: 100, maxRate: 1e7, precision: 1.01, maxProbes: 6 }, server(50000));
    expect(s.probes).toHaveLength(6);
    expect(s.limited_by).toBe("budget");
    expect(s.rate!).toBeLessThanOrEqual(50000);
  });

  test("a saturated client ends the search: the answer is a lower bound, marked", async () => {
    const s = await searchCapacity({ startRate: 1000, minRate: 100, maxRate: 1e7, precision: 1.05, maxProbes: 20 }, server(1e6, 30000));
    expect(s.limited_by).toBe("client");
    // The client cannot keep the schedule above 30 000 req/s: the answer is the best rate it could drive, at least that.
    expect(s.rate!).toBeLessThanOrEqual(30000);
    expect(s.rate!).toBeGreaterThan(30000 / 1.05);
  });

  test("a client that cannot drive the first rate makes the search go down, not stop", async () => {
    const s = await searchCapacity({ startRate: 300000, minRate: 100, maxRate: 1e7, precision: 1.1, maxProbes: 20 }, server(1e6, 40000));
    expect(s.probes[0].client_bound).toBe(true);
    expect(s.rate!).toBeGreaterThan(40000 / 1.1);
    expect(s.limited_by).toBe("client");
  });

  test("nothing passes: no capacity, and why", async () => {
    const s = await searchCapacity({ startRate: 1000, minRate: 100, maxRate: 1e7, precision: 1.1, maxProbes: 20 }, server(10));
    expect(s.rate).toBeNull();
    expect(s.limited_by).toBe("slo");
    expect(s.probes[s.probes.length - 1].rate).toBe(100);
  });

  test("a probe with errors or unanswered requests never passes", () => {
    expect(judgeProbe({ rate: 1, achieved: 1, sent: 10, completed: 9, errors: 0, p99Us: 5, sloUs: 1000, clientBound: false }).ok).toBe(false);
    expect(judgeProbe({ rate: 1, achieved: 1, sent: 10, completed: 10, errors: 1, p99Us: 5, sloUs: 1000, clientBound: false }).why).toContain("errors");
    expect(judgeProbe({ rate: 1, achieved: 1, sent: 10, completed: 10, errors: 0, p99Us: null, sloUs: 1000, clientBound: false }).ok).toBe(false);
    expect(() => searchCapacity({ startRate: 1, minRate: 0, maxRate: 1, precision: 1.1, maxProbes: 1 }, () => ({}) as CapacityProbe)).toThrow(RangeError);
  });
});

describe("what counts as a platform stall in the sweep", () => {
  test("the server CPU's hiccup is the server's own: kept as its delay, left out of the stall rule", () => {
    const seen = { stealMs: 0, hiccupMs: 11, hiccupByCpu: { 0: 11, 1: 0.4 } };
    const { reading, serverMs } = withoutServerCpu(seen, 0);
    expect(serverMs).toBe(11);
    expect(reading.hiccupMs).toBe(0.4);
    expect(stalled(reading, 5)).toBe(false);
    // Steal time and the client CPU's hiccups still are stalls.
    expect(stalled(withoutServerCpu({ stealMs: 20, hiccupMs: 1, hiccupByCpu: { 0: 1, 1: 1 } }, 0).reading, 5)).toBe(true);
    expect(stalled(withoutServerCpu({ stealMs: 0, hiccupMs: 9, hiccupByCpu: { 0: 1, 1: 9 } }, 0).reading, 5)).toBe(true);
    // Servers not pinned: nothing is known to be the server's, the reading stays as it was.
    expect(withoutServerCpu(seen, null).reading).toEqual(seen);
  });

  test("the delay is a per-point figure: the median over the rounds measured", () => {
    const [b, c] = rounds(10000, 1.1, 3, 5);
    const delay = (n: number, backend: string, round: number) => (backend === "uring" ? [10, 12, 30][round - 1] : 0.5);
    const p = sweepPoints([atCount(4096, [backend("epoll", b), backend("uring", c)])], [pair], 0.95, delay)[0];
    expect(p.backends.map((x) => x.sched_delay_ms)).toEqual([0.5, 12]);
    expect(sweepPoints([atCount(4096, [backend("epoll", b)])], [], 0.95)[0].backends[0].sched_delay_ms).toBeNull();
  });
});
