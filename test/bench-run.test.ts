// `bench` end to end, as a child process: the JSON is well formed, every
// backend measured, every answer verified (no errors), reports written.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { perfAvailable } from "../bench/measure/accounting.ts";
import { ROOT } from "../ffi/build.ts";
import { WARNING_CODES } from "../bench/results/warnings.ts";
import { benchEnv, testDir, URING_SKIP_REASON } from "./helpers.ts";

const BENCH = join(ROOT, "bench/cli/bench.ts");
const BACKENDS = URING_SKIP_REASON ? "bun,epoll" : "bun,epoll,uring";
const NO_ERRORS = { timeout: 0, closed: 0, mismatch: 0, io: 0 };

function bench(args: string[], timeout = 170000) {
  const r = Bun.spawnSync([process.execPath, BENCH, ...args], { stdout: "pipe", stderr: "pipe", timeout, env: benchEnv() });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("bench", () => {
  test("scenario 1 on every backend: JSON, per-request costs and syscall counts", () => {
    const dir = testDir();
    const r = bench(["--scenarios", "1", "--rounds", "2", "--iterations", "300", "--warmup", "20", "--server-warmup", "1000", "--micro", "off", "--syscalls", "on", "--control", "off", "--backends", BACKENDS, "--json", join(dir, "r.json"), "--markdown", join(dir, "r.md")]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^machine /m);
    expect(r.out).toMatch(/^placement cross-core: server on CPU 0, client on CPU 1/m);
    const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
    expect(json.schema).toBe("iouring-bench/3");
    expect(json.context.placement.mode).toBe("cross");
    const s1 = json.scenarios.find((s: { id: number }) => s.id === 1);
    expect(s1.variants.map((v: { key: string }) => v.key)).toEqual(["10B", "100B", "1000B"]);
    for (const v of s1.variants) {
      expect(v.backends.map((b: { backend: string }) => b.backend)).toEqual(BACKENDS.split(","));
      for (const b of v.backends) {
        expect(b.failure).toBeUndefined();
        expect(b.errors).toEqual(NO_ERRORS);
        expect(b.rounds.length).toBe(2);
        // Two timed rounds of 300: the counting pass's round trips must not be pooled.
        expect(b.pooled.n).toBe(600);
        expect(b.pooled.min).toBeLessThanOrEqual(b.pooled.p50);
        expect(b.pooled.p50).toBeLessThanOrEqual(b.pooled.p99);
        expect(b.costs.requests).toBe(600);
        expect(b.costs.cpu_us).toBeGreaterThan(0);
        expect(b.resources.after.fds).toBe(b.resources.before.fds);
      }
      expect(v.backends.find((b: { backend: string }) => b.backend === json.baseline).relative.ratio).toBe(1);
      if (perfAvailable().ok) {
        const sc = Object.fromEntries(v.backends.map((b: { backend: string; costs: { syscalls: number } }) => [b.backend, b.costs.syscalls]));
        // By design: epoll_wait + read + write per request; io_uring needs fewer enters.
        expect(sc.epoll).toBeGreaterThanOrEqual(2.5);
        expect(sc.epoll).toBeLessThanOrEqual(3.5);
        if (sc.uring !== undefined) expect(sc.uring).toBeLessThan(sc.epoll);
      }
    }
    for (const b of json.backends) expect(b.serverSummary.errors).toBe("0");
    expect(readFileSync(join(dir, "r.md"), "utf8")).toContain("| backend | p50 | p95 | p99 | p99.9 | mean | min | max |");
    // Every backend here runs in JavaScriptCore: each process a round renewed was primed first (the first ones are replaced unprimed).
    expect(json.config.server_warmup).toBe(1000);
    const renewed = json.backends.reduce((n: number, b: { instances: number }) => n + b.instances - 1, 0);
    expect(renewed).toBeGreaterThan(0);
    expect(r.err).toContain(`server warm-up: ${renewed} new processes primed with 1000 round trips each`);
  }, 180000);

  test("all six scenarios in quick mode: well-formed results, a gate, the verdict last, SVG and guide update", () => {
    const dir = testDir();
    const guide = join(dir, "guide.md");
    Bun.write(guide, "# Design\n\nkeep me\n");
    const r = bench(["--quick", "--rounds", "2", "--backends", BACKENDS, "--json", join(dir, "r.json"), "--svg", join(dir, "r.svg"), "--update-guide", guide]);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
    expect(json.scenarios.map((s: { id: number }) => s.id)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const s of json.scenarios) {
      expect(s.status).toBe("ok");
      for (const v of s.variants)
        for (const b of v.backends) {
          expect(b.failure).toBeUndefined();
          expect(b.errors).toEqual(NO_ERRORS);
          expect(b.rounds.length).toBe(2);
          for (const round of b.rounds) expect(round.latency?.n > 0 || round.throughput > 0).toBe(true);
        }
    }
    expect(json.gate.criteria.map((c: { id: string }) => c.id)).toEqual(["C1", "C2", "C3", "C4"]);
    // Every warning is coded, from the closed set, with its text and remedy.
    for (const w of json.warnings) {
      expect(WARNING_CODES).toContain(w.code);
      expect(typeof w.text).toBe("string");
      expect(typeof w.remedy).toBe("string");
    }
    expect(["PROCEED", "DO NOT PROCEED", "INCONCLUSIVE", "NOT EVALUATED"]).toContain(json.gate.verdict);
    // The report ends with the headline verdict: its last paragraph (wrapped to the terminal's width).
    expect(r.out.trim().split("\n\n").at(-1)).toMatch(/^Verdict \(/);
    expect(json.claims.length).toBeGreaterThan(0);
    expect(readFileSync(join(dir, "r.svg"), "utf8")).toStartWith("<svg");
    const g = readFileSync(guide, "utf8");
    expect(g).toStartWith("# Design\n\nkeep me\n");
    expect(g).toContain("<!-- iouring-bench:begin -->");
    expect(g).toContain("Decision gate");
    // The standard files went to the output folder the test gave it, not to the checkout's results/.
    expect(existsSync(join(benchEnv().IOURING_BENCH_OUT_DIR, "latest.json"))).toBe(true);
  }, 180000);

  test("a bad flag prints one line naming the fix and where the help is, and exits 2", () => {
    const r = bench(["--rounds", "zero"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("bench: --rounds must be an integer, not 'zero' (see bun run bench --help)\n");
  });
});
