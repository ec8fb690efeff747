// Report pieces computed from synthetic results: the guide's cost
// expectations, the C-twin table, per-request costs and the placement effect.
import { describe, expect, test } from "bun:test";
import type { RequestCosts } from "../bench/measure/accounting.ts";
import { noErrors } from "../bench/results/errors.ts";
import { informationalRows } from "../bench/verdict/gate.ts";
import { costsTable, placementEffectTable, twinTable } from "../bench/report/cost-tables.ts";
import type { BackendResult, BenchResults, ScenarioResult } from "../bench/results/schema.ts";
import { renderMarkdown } from "../bench/report/markdown.ts";

const costs = (cpu: number, ctx: number, syscalls: number | null): RequestCosts => ({
  requests: 1000,
  cpu_us: cpu,
  user_us: cpu / 4,
  sys_us: (3 * cpu) / 4,
  vol_ctx: ctx,
  invol_ctx: 0,
  syscalls,
  ...(syscalls === null ? { syscalls_note: "perf not installed" } : {}),
});

const backend = (name: string, headline: number, c?: RequestCosts, p50 = headline): BackendResult => ({
  backend: name,
  rounds: [],
  headline,
  range: [headline, headline],
  errors: noErrors(),
  pooled: { n: 1, p50, p95: p50, p99: p50, p999: p50, mean: p50, min: p50, max: p50 },
  ...(c ? { costs: c } : {}),
});

const SLUGS = ["", "ping-pong", "persistent-throughput", "connection-reuse", "latency-under-load", "request-overhead", "throughput-stress"];
const scenario = (id: number, key: string, bs: BackendResult[]): ScenarioResult => ({
  id,
  slug: SLUGS[id],
  name: `s${id}`,
  status: "ok",
  variants: [{ key, label: key, params: {}, metric: "m", higherIsBetter: id === 6, backends: bs }],
});

const results = (scenarios: ScenarioResult[]): BenchResults =>
  ({ schema: "iouring-bench/1", context: {} as BenchResults["context"], config: {}, backends: [], baseline: "bun", scenarios, warnings: [] }) as BenchResults;

describe("the guide's cost expectations", () => {
  const r = results([
    scenario(1, "100B", [backend("bun", 50, costs(20, 1.0, 3)), backend("uring", 45, costs(13, 0.6, 1))]),
    scenario(6, "stress", [backend("bun", 1e6, costs(2, 0.1, 0.3)), backend("uring", 1.1e6, costs(1.9, 0.12, null))]),
  ]);
  const rows = informationalRows(r, "bun", "uring");

  test("CPU 35% less and context switches 40% fewer are as expected; 3 -> 1 syscalls holds", () => {
    const s1 = rows.filter((x) => x.scenario.startsWith("1:"));
    expect(s1.map((x) => [x.name, x.status])).toEqual([
      ["CPU per request, µs", "as expected"],
      ["context switches per request", "as expected"],
      ["syscalls per request", "as expected"],
    ]);
    expect(s1[0].change_pct).toBeCloseTo(-35, 9);
  });

  test("less than expected, opposite, and n/a when a count is missing", () => {
    const s6 = rows.filter((x) => x.scenario.startsWith("6:"));
    expect(s6[0].status).toBe("less than expected");
    expect(s6[1].status).toBe("opposite");
    expect(s6[2].status).toBe("n/a (not measured for both)");
    expect(informationalRows(results([]), "bun", "uring")[0].status).toBe("n/a (scenario 1 not run)");
  });
});

test("C twins: latency and throughput ratios of each FFI loop to its C loop", () => {
  const r = results([
    scenario(1, "100B", [backend("epoll", 55), backend("c-epoll", 50), backend("uring", 50), backend("c-uring", 50)]),
    scenario(6, "stress", [backend("epoll", 800000), backend("c-epoll", 1000000)]),
  ]);
  const t = twinTable(r)!;
  expect(t.rows).toEqual([
    ["epoll / c-epoll", "1: p50, 100B", "55.0", "50.0", "1.10", "<= 1.05"],
    ["epoll / c-epoll", "6: msg/s", "800,000", "1,000,000", "0.80", ">= 0.95"],
    ["uring / c-uring", "1: p50, 100B", "50.0", "50.0", "1.00", "<= 1.05"],
  ]);
  expect(twinTable(results([scenario(1, "100B", [backend("epoll", 55)])]))).toBeUndefined();
});

test("cost table: a row per backend, n/a with the reason when syscalls were not counted", () => {
  const s = scenario(6, "stress", [backend("bun", 1, costs(2, 0.1, 0.25)), backend("uring", 1, costs(1.9, 0.12, null))]);
  s.variants[0].backends[0].resources = { before: { fds: 6, rssKiB: 40960, peakRssKiB: 40960 }, after: { fds: 6, rssKiB: 43008, peakRssKiB: 51200 } };
  const md = renderMarkdown(costsTable(s)!);
  expect(md).toContain("| stress | bun | 2.00 | 0.50 / 1.50 | 0.10 / 0.00 | 0.25 | 6 -> 6 | 42 (50) |");
  expect(md).toContain("| stress | uring | 1.90 | 0.47 / 1.42 | 0.12 / 0.00 | n/a (perf not installed) | n/a | n/a |");
});

test("placement effect: cross over same per backend and size", () => {
  const r = results([]);
  r.placements = [
    { placement: { mode: "cross", serverCpu: 0, clientCpu: 1 }, scenarios: [scenario(1, "100B", [backend("bun", 0, undefined, 60)])] },
    { placement: { mode: "same", serverCpu: 0, clientCpu: 0 }, scenarios: [scenario(1, "100B", [backend("bun", 0, undefined, 20)])] },
  ];
  expect(placementEffectTable(r)!.rows).toEqual([["100B", "bun", "60.0", "20.0", "3.00"]]);
  expect(placementEffectTable(results([]))).toBeUndefined();
});
