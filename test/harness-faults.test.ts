// The harness under faults it must not hide: a server that corrupts answers,
// a server that dies mid-run, and a benchmark interrupted with Ctrl-C. Real
// child processes; the verdicts and exit codes are what a user would see.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { benchEnv, testDir, URING_SKIP_REASON } from "./helpers.ts";

const BENCH = join(ROOT, "bench/cli/bench.ts");
const CANDIDATE = URING_SKIP_REASON ? "epoll" : "uring";

/** Pids of `bench/cli/serve.ts` processes whose parent is `ppid`. */
function serveChildren(ppid: number): number[] {
  const r = Bun.spawnSync(["pgrep", "-P", String(ppid), "-f", "bench/cli/serve.ts"], { stdout: "pipe" });
  return r.stdout.toString().split("\n").filter(Boolean).map(Number);
}

/** Running (a zombie is dead: this sandbox's pid 1 may be slow to reap orphans). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** A long bench run with two servers, once both servers are up. */
async function benchWithTwoServers(): Promise<{ proc: ReturnType<typeof Bun.spawn>; children: number[] }> {
  const proc = Bun.spawn([process.execPath, BENCH, "--rounds", "50", "--scenarios", "1", "--micro", "off", "--control", "off", "--backends", "bun,epoll"], { stdout: "pipe", stderr: "pipe", env: benchEnv() });
  let children: number[] = [];
  for (let i = 0; i < 200 && children.length < 2; i++) {
    await Bun.sleep(50);
    children = serveChildren(proc.pid);
  }
  expect(children.length).toBe(2);
  return { proc, children };
}

describe("harness faults", () => {
  test("a server that corrupts one byte in a thousand: caught as mismatches, its criteria INVALID, never PASS", () => {
    const dir = testDir();
    const r = Bun.spawnSync(
      [process.execPath, BENCH, "--quick", "--rounds", "2", "--scenarios", "1,2,4,6", "--micro", "off", "--backends", `bun,${CANDIDATE}`, "--candidate", CANDIDATE, "--corrupt", `${CANDIDATE}:1000`, "--json", join(dir, "r.json")],
      { stdout: "pipe", stderr: "pipe", timeout: 170000, env: benchEnv() },
    );
    expect(r.exitCode).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
    for (const s of json.scenarios)
      for (const v of s.variants) {
        const bad = v.backends.find((b: { backend: string }) => b.backend === CANDIDATE);
        expect(bad.errors.mismatch).toBeGreaterThan(0);
        const good = v.backends.find((b: { backend: string }) => b.backend === "bun");
        expect(good.errors.mismatch).toBe(0);
      }
    for (const c of json.gate.criteria) expect(c.status).toBe("INVALID");
    expect(json.gate.verdict).not.toBe("PROCEED");
    expect(json.warnings.map((w: { code: string }) => w.code)).toContain("fault-injection");
  }, 180000);

  test("a server killed mid-run: its scenario is marked failed within the deadline, the rest goes on, results are written", async () => {
    const dir = testDir();
    const proc = Bun.spawn(
      [process.execPath, BENCH, "--rounds", "3", "--scenarios", "1,2", "--iterations", "20000", "--micro", "off", "--syscalls", "off", "--backends", "bun,epoll", "--control", "off", "--json", join(dir, "r.json")],
      { stdout: "pipe", stderr: "pipe", env: benchEnv() },
    );
    // Wait for epoll's server, then kill it (the A/A control is off: its epoll#2 would match too). Every
    // round starts with fresh servers, so the one found may be replaced before the kill: then find the new one.
    let killed = false;
    for (let i = 0; i < 200 && !killed; i++) {
      await Bun.sleep(50);
      const victim = serveChildren(proc.pid).find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("epoll");
        } catch {
          return false;
        }
      });
      if (!victim) continue;
      await Bun.sleep(300);
      try {
        process.kill(victim, "SIGKILL");
        killed = true;
      } catch {
        // retired by a renewal in the meantime: look again
      }
    }
    expect(killed).toBe(true);
    expect(await proc.exited).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
    const s1 = json.scenarios.find((s: { id: number }) => s.id === 1);
    const epoll = s1.variants[0].backends.find((b: { backend: string }) => b.backend === "epoll");
    const bun = s1.variants[0].backends.find((b: { backend: string }) => b.backend === "bun");
    expect(epoll.failure !== undefined || epoll.errors.closed + epoll.errors.io + epoll.errors.timeout > 0).toBe(true);
    expect(bun.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
    expect(bun.rounds.length).toBe(3);
    expect(json.scenarios.find((s: { id: number }) => s.id === 2)).toBeDefined();
  }, 180000);

  test("Ctrl-C during a run leaves no server behind", async () => {
    const { proc, children } = await benchWithTwoServers();
    proc.kill("SIGINT");
    expect(await proc.exited).toBe(130);
    for (let i = 0; i < 50 && children.some(alive); i++) await Bun.sleep(20);
    for (const pid of children) expect(alive(pid)).toBe(false);
  }, 60000);

  test("kill -9 of the benchmark: its servers follow it (parent-death signal)", async () => {
    const { proc, children } = await benchWithTwoServers();
    proc.kill("SIGKILL");
    await proc.exited;
    for (let i = 0; i < 100 && children.some(alive); i++) await Bun.sleep(20);
    for (const pid of children) expect(alive(pid)).toBe(false);
  }, 60000);
});
