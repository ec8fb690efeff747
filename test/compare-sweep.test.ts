// Two sweeps compared: a point whose throughput moved clearly is listed with
// its Welch interval, points that did not move are counted but not listed,
// and the crossover answers stand side by side.
import { describe, expect, test } from "bun:test";
import { noErrors } from "../bench/results/errors.ts";
import { compareRuns, renderComparisonTerminal } from "../bench/report/compare.ts";
import { compareSweeps } from "../bench/report/compare-sweep.ts";
import type { BenchResults, SweepBackend, SweepCrossover, SweepResults } from "../bench/results/schema.ts";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";

const backend = (name: string, rounds: number[]): SweepBackend => ({
  backend: name,
  throughput: [...rounds].sort((a, b) => a - b)[Math.floor(rounds.length / 2)],
  ci95: [Math.min(...rounds), Math.max(...rounds)],
  cpu_us: 1,
  p99_us: 100,
  client_bound: false,
  client_util: 0.5,
  sched_delay_ms: null,
  rounds_throughput: rounds,
  rounds: rounds.length,
  errors: noErrors(),
});

const crossover = (connections: number | null): SweepCrossover => ({
  baseline: "epoll",
  candidate: "uring",
  window: 8,
  payload: 32,
  threshold_pct: 20,
  connections,
  estimate_pct: 25,
  ci: [21, 29],
  holds_above: connections === null ? null : true,
  ahead_at: connections === null ? [] : [connections],
  max_connections: 1024,
  note: "",
});

function sweep(uringAt1024: number[], x: number | null): SweepResults {
  const flat = [100, 101, 99, 100, 102];
  return {
    client: "c",
    connections: [64, 1024],
    windows: [8],
    payloads: [32],
    duration_s: 0.12,
    warmup_s: 0.03,
    rounds: 5,
    confidence: 0.95,
    client_bound_util: 0.9,
    method: "",
    points: [
      { connections: 64, window: 8, payload: 32, backends: [backend("epoll", flat), backend("uring", flat)], gains: [] },
      { connections: 1024, window: 8, payload: 32, backends: [backend("epoll", flat), backend("uring", uringAt1024)], gains: [] },
    ],
    crossover: [crossover(x)],
    stalls: [],
    nofile: { needed: 1280, soft: 20000 },
    client_fds: { before: 10, after: 10 },
    elapsed_s: 30,
    notes: [],
  };
}

const results = (s: SweepResults): BenchResults => ({ schema: "iouring-bench/2", context: SYNTHETIC_CONTEXT, config: {}, backends: [], baseline: "epoll", scenarios: [], warnings: [], sweep: s });

describe("two sweeps compared", () => {
  const old = sweep([100, 101, 99, 100, 102], null);
  const neu = sweep([130, 131, 129, 130, 132], 1024);

  test("only the clear change is listed; the rest are counted", () => {
    const c = compareSweeps(old, neu, 0.95)!;
    expect(c.figures).toHaveLength(4);
    const moved = c.figures.filter((f) => f.status !== "no clear change");
    expect(moved.map((f) => [f.connections, f.backend, f.status])).toEqual([[1024, "uring", "better"]]);
    expect(moved[0].changePct).toBeCloseTo(30, 5);
    expect(moved[0].intervalPct![0]).toBeGreaterThan(25);
    expect(c.crossovers).toEqual([{ pair: "uring vs epoll", window: 8, payload: 32, old: "none up to 1024", new: "from 1024 connections", changed: true }]);
  });

  test("in the comparison report: the crossover table, the changed figure, the count", () => {
    const text = renderComparisonTerminal(compareRuns(results(old), results(neu)));
    expect(text).toContain("Sweep: the crossover in each run");
    expect(text).toContain("uring vs epoll       8     32 B  none up to 1024  from 1024 connections  yes");
    expect(text).toContain("      1,024       8     32 B  uring    100  130  +30.0%  [+28.0%, +31.8%]  better");
    expect(text).toContain("Sweep: throughput that changed clearly (msg/s)");
    expect(text).toContain("Sweep: 4 figures compared (point × backend in both runs), 1 changed clearly");
  });

  test("a sweep in one run only, or files without per-round figures: nothing invented", () => {
    expect(compareSweeps(old, undefined, 0.95)).toBeNull();
    const bare = sweep([100, 101, 99, 100, 102], null);
    for (const p of bare.points) for (const b of p.backends) (b as Partial<SweepBackend>).rounds_throughput = undefined;
    const c = compareSweeps(bare, neu, 0.95)!;
    expect(c.figures.every((f) => f.status === "n/a")).toBe(true);
  });
});
