// The results belong to the user: a run writes into --out-dir (or
// $IOURING_BENCH_OUT_DIR, else results/ in the checkout), latest.json only
// when the run finished, and the test suite writes nothing into results/ and
// leaves nothing behind in the temporary folder (checked here by running test
// files that start the bench in a child `bun test` with a temporary folder of
// its own).
import { describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { benchEnv, testDir } from "./helpers.ts";

const BENCH = join(ROOT, "bench/cli/bench.ts");
const CHEAP = ["--scenarios", "1", "--backends", "epoll", "--rounds", "2", "--iterations", "50", "--warmup", "10", "--micro", "off", "--syscalls", "off", "--control", "off", "--hiccup", "off"];

function bench(args: string[], env: Record<string, string>) {
  const r = Bun.spawnSync([process.execPath, BENCH, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 60_000, env });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

/** Every file under a folder with its size and modification time: what "byte-identical and untouched" is checked against. */
function snapshot(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .sort()
    .map((f) => {
      const s = statSync(join(dir, f));
      return `${f} ${s.size} ${s.mtimeMs}`;
    });
}

describe("where the results go", () => {
  test("--out-dir, else $IOURING_BENCH_OUT_DIR: every standard file lands there, latest.json with it; results/ is untouched", () => {
    const before = snapshot(join(ROOT, "results"));
    const viaEnv = testDir("iob-env-");
    const r = bench(CHEAP, benchEnv({ IOURING_BENCH_OUT_DIR: viaEnv }));
    expect(r.code).toBe(0);
    const files = readdirSync(viaEnv);
    expect(files.some((f) => /^bench-.*\.json$/.test(f))).toBe(true);
    expect(files.some((f) => /^bench-.*\.md$/.test(f))).toBe(true);
    expect(files).toContain("latest.json");
    expect(r.err).toContain(`results: ${viaEnv}/bench-`);
    // The flag wins over the variable.
    const viaFlag = testDir("iob-flag-");
    expect(bench([...CHEAP, "--out-dir", viaFlag], benchEnv({ IOURING_BENCH_OUT_DIR: viaEnv })).code).toBe(0);
    expect(readdirSync(viaFlag)).toContain("latest.json");
    expect(readdirSync(viaEnv).filter((f) => f.endsWith(".json")).length).toBe(2); // its first run's file and latest.json
    expect(snapshot(join(ROOT, "results"))).toEqual(before);
  }, 120_000);

  test("a run that did not finish writes its files but leaves latest.json alone", () => {
    const dir = testDir("iob-stop-");
    const first = bench(CHEAP, benchEnv({ IOURING_BENCH_OUT_DIR: dir }));
    expect(first.code).toBe(0);
    const latest = readFileSync(join(dir, "latest.json"), "utf8");
    // No server can start (io_uring refused): the run stops early, exit 1.
    const stopped = bench(["--scenarios", "1", "--backends", "uring", "--rounds", "2", "--micro", "off", "--control", "off"], benchEnv({ IOURING_BENCH_OUT_DIR: dir, IOURING_BENCH_FORCE_NO_URING: "1" }));
    expect(stopped.code).toBe(1);
    expect(readdirSync(dir).filter((f) => /^bench-.*\.json$/.test(f)).length).toBe(2);
    expect(readFileSync(join(dir, "latest.json"), "utf8")).toBe(latest);
  }, 120_000);

  test("--json - puts the JSON alone on standard output, the report on standard error", () => {
    const r = bench([...CHEAP, "--json", "-"], benchEnv());
    expect(r.code).toBe(0);
    const json = JSON.parse(r.out);
    expect(json.schema).toBe("iouring-bench/3");
    expect(r.err).toContain("Verdict");
  }, 60_000);

  test("--exit-code: the verdict as the exit code (one backend: no gate to evaluate, undecided, 4)", () => {
    const r = bench([...CHEAP, "--exit-code"], benchEnv());
    expect(r.code).toBe(4);
  }, 60_000);
});

describe("the test suite leaves the user's files and the temporary folder as it found them", () => {
  test("test files that start the bench, run in a child with a temporary folder of its own: results/ untouched, nothing left in it", () => {
    const before = snapshot(join(ROOT, "results"));
    const tmp = mkdtempSync(join(tmpdir(), "iob-hygiene-"));
    try {
      const r = Bun.spawnSync([process.execPath, "test", "--timeout", "120000", "test/known-answer.test.ts", "test/agreement.test.ts"], {
        cwd: ROOT,
        stdout: "pipe",
        stderr: "pipe",
        timeout: 170_000,
        env: { ...(process.env as Record<string, string>), TMPDIR: tmp },
      });
      // On failure, what the child said: which of its tests failed, and why.
      expect({ exit: r.exitCode, tail: r.exitCode === 0 ? "" : r.stderr.toString().slice(-3000) }).toEqual({ exit: 0, tail: "" });
      expect(r.stderr.toString()).toMatch(/\b0 fail\b/);
      expect(readdirSync(tmp)).toEqual([]);
      expect(snapshot(join(ROOT, "results"))).toEqual(before);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 180_000);
});
