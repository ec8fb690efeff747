// Do repeated runs agree as their intervals say? (bench/report/agreement.ts and
// `compare --agreement`): on synthetic runs whose estimates scatter exactly as
// their intervals state, the coverage is near the expected share and the
// variance ratio near 1; runs that differ by more (an offset per run, as one
// server process per run gave here) are found out; a pass beside a failure is
// a flip.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { tQuantile } from "../bench/stats/student-t.ts";
import { seededRandom } from "../bench/stats/stats.ts";
import { agreement, agreementTables, chanceRatio } from "../bench/report/agreement.ts";
import { renderTerminal } from "../bench/report/terminal.ts";
import type { BenchResults, Criterion } from "../bench/results/schema.ts";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";

const CONF = 0.95;
const ROUNDS = 10;

function normal(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(rnd(), 1e-12))) * Math.cos(2 * Math.PI * rnd());
}

/** A run whose C1 estimate is truth + offset + its own error, with the interval a t-interval of SE `se` states. */
function run(estimate: number, se: number, status: Criterion["status"] = "FAIL"): BenchResults {
  const half = tQuantile(1 - (1 - CONF) / 2, ROUNDS - 1) * se;
  const c: Criterion = { id: "C1", name: "c1", metric: "m", threshold_pct: 10, improvement_pct: estimate, ci: [estimate - half, estimate + half], status, note: "", rounds: ROUNDS, confidence: CONF };
  return {
    schema: "iouring-bench/3",
    context: SYNTHETIC_CONTEXT,
    config: {},
    backends: [],
    baseline: "a",
    scenarios: [],
    warnings: [],
    gates: [{ kind: "headline", baseline: "a", candidate: "b", verdict: "DO NOT PROCEED", reason: "", criteria: [c], trusted: true }],
  };
}

function runs(n: number, offsetSd: number, seed: number) {
  const rnd = seededRandom(seed);
  const se = 0.5;
  return Array.from({ length: n }, (_, i) => ({ label: `r${i + 1}`, results: run(3 + offsetSd * normal(rnd) + se * normal(rnd), se) }));
}

describe("agreement between runs", () => {
  test("honest runs: the share of intervals holding another run's estimate is near the expected share, the variance ratio near 1", () => {
    // Many runs, so the shares are steady.
    const [a] = agreement(runs(60, 0, 1));
    expect(a.pairs).toBe(60 * 59);
    expect(a.expectedShare!).toBeCloseTo(0.89, 1); // 2Φ(2.26/√2) - 1 for equal 95% intervals at 10 rounds
    expect(Math.abs(a.covered / a.pairs - a.expectedShare!)).toBeLessThan(0.06);
    expect(a.varianceRatio!).toBeGreaterThan(0.6);
    expect(a.varianceRatio!).toBeLessThan(1.5);
    expect(a.flipped).toBe(false);
  });

  test("runs that differ by more than their intervals (an offset per run three times the stated error) are found out", () => {
    const [a] = agreement(runs(8, 1.5, 2));
    expect(a.varianceRatio!).toBeGreaterThan(chanceRatio(7));
    expect(a.covered / a.pairs).toBeLessThan(a.expectedShare! - 0.2);
    const table = renderTerminal(agreementTables([a]).at(-1)!);
    expect(table).toContain("beyond chance");
  });

  test("a pass beside a failure is a flip; the chance ratio is F's 95% point", () => {
    const [a] = agreement([
      { label: "x", results: run(12, 0.5, "PASS") },
      { label: "y", results: run(8, 0.5, "FAIL") },
    ]);
    expect(a.flipped).toBe(true);
    expect(a.varianceRatio).toBeNull(); // two runs: no variance ratio
    expect(chanceRatio(4)).toBeCloseTo(2.372, 1);
    expect(chanceRatio(7)).toBeCloseTo(2.010, 1);
  });

  test("bun run compare with three files prints the agreement tables", () => {
    const dir = mkdtempSync(join(tmpdir(), "iob-agree-"));
    try {
      const files = runs(3, 0, 3).map((r, i) => {
        const f = join(dir, `r${i}.json`);
        writeFileSync(f, JSON.stringify(r.results));
        return f;
      });
      const p = Bun.spawnSync([process.execPath, join(ROOT, "bench/cli/compare.ts"), ...files], { stdout: "pipe", stderr: "pipe" });
      expect(p.exitCode).toBe(0);
      const out = p.stdout.toString();
      expect(out).toContain("a → b: each run's estimate and interval");
      expect(out).toContain("Do the runs agree as their intervals say?");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
