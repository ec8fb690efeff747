// The core-scaling sweep (bench --sweep-cores): which counts a machine can
// measure (and why the others are left out), the efficiency and its interval
// on synthetic rounds, the table, and a real quick run of the thread-per-core
// backends at the counts this machine holds, every answer verified.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { allowedCpus } from "../bench/measure/quiet.ts";
import type { BenchResults, CoreScalingResults } from "../bench/results/schema.ts";
import { coreScalingChartSvg, coreScalingTable } from "../bench/report/core-scaling.ts";
import { placeCounts, referenceCores, scalingEfficiency } from "../bench/verdict/core-scaling.ts";
import { ROOT } from "../ffi/build.ts";
import { testDir } from "./helpers.ts";
import { checkXml } from "./xml-check.ts";

describe("which counts a machine can measure", () => {
  test("2 CPUs: 1 server core with the client on the other; 2 leaves the client nothing, 4 is more than there is", () => {
    const { placed, leftOut } = placeCounts([4, 1, 2], [0, 1], false);
    expect(placed).toEqual([{ cores: 1, server: [0], client: [1], shared: false }]);
    expect(leftOut.map((l) => l.cores)).toEqual([2, 4]);
    expect(leftOut[0].why).toContain("none of the 2 for the load client");
    expect(leftOut[0].why).toContain("--sweep-cores-shared");
    expect(leftOut[1].why).toBe("this process may use 2 CPUs");
  });

  test("asked to share: the count that leaves the client nothing runs on every CPU, marked", () => {
    const { placed } = placeCounts([1, 2], [0, 1], true);
    expect(placed[1]).toEqual({ cores: 2, server: [0, 1], client: [0, 1], shared: true });
  });

  test("16 CPUs (the set this process may use, in its order): server sets from the front, the client on the rest", () => {
    const cpus = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
    const { placed, leftOut } = placeCounts([1, 2, 4, 8], cpus, false);
    expect(placed.map((p) => [p.cores, p.server.length, p.client.length])).toEqual([[1, 1, 15], [2, 2, 14], [4, 4, 12], [8, 8, 8]]);
    expect(placed[2].server).toEqual([2, 3, 4, 5]);
    expect(leftOut).toEqual([]);
  });

  test("the reference is 1 core when measured on its own, else the fewest measured", () => {
    expect(referenceCores([{ cores: 1, shared: false }, { cores: 2, shared: false }])).toBe(1);
    expect(referenceCores([{ cores: 2, shared: false }, { cores: 4, shared: false }])).toBe(2);
    expect(referenceCores([{ cores: 1, shared: true }, { cores: 2, shared: false }])).toBe(2);
    expect(referenceCores([])).toBeNull();
  });
});

describe("scaling efficiency", () => {
  test("linear scaling is 1; 1.8x the throughput on 2 cores is 0.9; rounds without spread give a zero-width interval", () => {
    const linear = scalingEfficiency([100, 100, 100], [200, 200, 200], 1, 2);
    expect(linear.efficiency!).toBeCloseTo(1, 12);
    expect(linear.ci![0]).toBeCloseTo(1, 12);
    expect(linear.ci![1]).toBeCloseTo(1, 12);
    const e = scalingEfficiency([100, 100, 100], [180, 180, 180], 1, 2);
    expect(e.efficiency!).toBeCloseTo(0.9, 12);
    expect(e.ci![0]).toBeCloseTo(0.9, 12);
  });

  test("against 2 cores: 4 cores at 1.6x is 0.8", () => {
    expect(scalingEfficiency([50, 50], [80, 80], 2, 4).efficiency!).toBeCloseTo(0.8, 12);
  });

  test("noisy rounds: the interval holds the estimate and widens with the spread", () => {
    const tight = scalingEfficiency([100, 101, 99, 100], [190, 192, 188, 190], 1, 2);
    const loose = scalingEfficiency([100, 120, 80, 100], [190, 230, 150, 190], 1, 2);
    for (const x of [tight, loose]) {
      expect(x.ci![0]).toBeLessThan(x.efficiency!);
      expect(x.ci![1]).toBeGreaterThan(x.efficiency!);
    }
    expect(loose.ci![1] - loose.ci![0]).toBeGreaterThan(tight.ci![1] - tight.ci![0]);
  });

  test("fewer than 2 rounds at either count: no figure", () => {
    expect(scalingEfficiency([100], [200, 200], 1, 2)).toEqual({ efficiency: null, ci: null });
  });
});

const figure = (backend: string, throughput: number, efficiency: number | null, client_bound = false) => ({
  backend,
  throughput,
  ci95: [throughput * 0.98, throughput * 1.02] as [number, number],
  cpu_us: 0.4,
  p99_us: 400,
  client_bound,
  client_util: client_bound ? 0.99 : 0.5,
  sched_delay_ms: null,
  rounds_throughput: [throughput, throughput],
  rounds: 2,
  errors: { timeout: 0, closed: 0, mismatch: 0, io: 0 },
  efficiency,
  efficiency_ci: efficiency === null ? null : ([efficiency * 0.9, efficiency * 1.1] as [number, number]),
});

const SYNTHETIC: CoreScalingResults = {
  counts: [1, 2, 4],
  measured: [1, 2],
  left_out: [{ cores: 4, why: "this process may use 2 CPUs" }],
  reference_cores: 1,
  connections_per_core: 64,
  window: 8,
  payload: 32,
  duration_s: 0.15,
  warmup_s: 0.03,
  rounds: 2,
  client_bound_util: 0.9,
  method: "the method",
  points: [
    { cores: 1, server_cpus: [0], client_cpus: [1], client_threads: 1, shared: false, connections: 64, backends: [figure("c-uring-mt", 2e6, 1, true)] },
    { cores: 2, server_cpus: [0, 1], client_cpus: [0, 1], client_threads: 2, shared: true, connections: 128, backends: [figure("c-uring-mt", 2.2e6, 0.55)] },
  ],
  notes: ["Left out: 4 cores (this process may use 2 CPUs)."],
  pm_qos: "held at 0",
  elapsed_s: 1,
};

describe("the report", () => {
  test("a row per count and backend: the reference, the shared count marked, client-bound marked, where each count ran", () => {
    const t = coreScalingTable(SYNTHETIC);
    expect(t.rows.map((r) => r.slice(0, 5))).toEqual([
      ["1", "c-uring-mt", "2,000,000 †", "[1,960,000, 2,040,000]", "1 (reference)"],
      ["2 (shared)", "c-uring-mt", "2,200,000", "[2,156,000, 2,244,000]", "55%"],
    ]);
    const notes = t.notes!.join("\n");
    expect(notes).toContain("2: server CPUs 0-1, client CPUs 0-1 (2 load threads), 128 connections");
    expect(notes).toContain("Left out: 4 cores");
  });

  test("the chart: well-formed, a line per backend, the counts not measured named", () => {
    const svg = coreScalingChartSvg(SYNTHETIC);
    expect(checkXml(svg)).toEqual([]);
    expect(svg).toContain("server cores (log scale); not measured here: 4");
    expect(svg).toContain("c-uring-mt");
    expect(svg).toContain('class="point client-bound"');
  });
});

describe("bench --sweep-cores", () => {
  const bench = (...args: string[]) => Bun.spawnSync([process.execPath, join(ROOT, "bench/cli/bench.ts"), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 120_000 });

  test("its flags without --sweep-cores, or a count of 0: exit 2 with one line", () => {
    for (const [args, says] of [[["--sweep-cores-shared"], "--sweep-cores-shared belongs to the core-scaling sweep; add --sweep-cores"], [["--sweep-cores", "0"], "--sweep-cores: '0' is not an integer from 1"]] as const) {
      const r = bench(...args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.toString()).toContain(says);
    }
  });

  test("a quick run: the counts this machine holds are measured (every answer right), the others left out with the reason; table and chart written", () => {
    const out = testDir("iob-cores-");
    const allowed = allowedCpus();
    const asked = [1, 2, allowed.length + 1];
    const r = bench("--quick", "--sweep-cores", asked.join(","), "--sweep-cores-budget", "40s", "--out-dir", out, "--json", join(out, "r.json"));
    expect(r.exitCode).toBe(0);
    const res = JSON.parse(readFileSync(join(out, "r.json"), "utf8")) as BenchResults;
    const c = res.core_scaling!;
    const expected = placeCounts(asked, allowed, false);
    expect(c.measured).toEqual(expected.placed.map((p) => p.cores));
    expect(c.left_out).toEqual(expected.leftOut);
    expect(c.measured).toContain(1);
    expect(res.scenarios).toEqual([]);
    for (const p of c.points) {
      expect(p.client_cpus.some((x) => p.server_cpus.includes(x))).toBe(false);
      for (const b of p.backends) {
        if (b.failure?.includes("unavailable")) continue;
        expect(b.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
        expect(b.throughput).toBeGreaterThan(0);
        if (p.cores === c.reference_cores) expect(b.efficiency).toBeCloseTo(1, 12);
      }
    }
    const stamp = res.context.date.replace(/[:.]/g, "-");
    const md = readFileSync(join(out, `bench-${stamp}.md`), "utf8");
    expect(md).toContain("Many cores: the core-scaling sweep");
    expect(md).toContain("No verdict: this run measured the core-scaling sweep only");
    expect(md).toContain(`bench-${stamp}-cores.svg`);
    expect(checkXml(readFileSync(join(out, `bench-${stamp}-cores.svg`), "utf8"))).toEqual([]);
  }, 120_000);
});
