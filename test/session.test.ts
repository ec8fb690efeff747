// The run as a whole, with real servers and real child processes: gates
// between servers you run yourself (--target LABEL=HOST:PORT, costs read
// from the process found by its port), both idle modes with the PM QoS
// request held and released, paused servers, and the headline choice.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readPmQos } from "../bench/measure/quiet.ts";
import { resolveGates } from "../bench/verdict/pairs.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { ROOT } from "../ffi/build.ts";
import { benchEnv, startServer, testDir } from "./helpers.ts";

const BENCH = join(ROOT, "bench/cli/bench.ts");

function bench(args: string[]) {
  const dir = testDir("iob-s-");
  const r = Bun.spawnSync([process.execPath, BENCH, "--micro", "off", "--syscalls", "off", "--json", join(dir, "r.json"), ...args], { stdout: "pipe", stderr: "pipe", timeout: 120000, env: benchEnv() });
  if (r.exitCode !== 0) throw new Error(`bench exited ${r.exitCode}: ${r.stderr.toString().slice(-1500)}`);
  return { json: JSON.parse(readFileSync(join(dir, "r.json"), "utf8")), out: r.stdout.toString(), err: r.stderr.toString() };
}

const procState = (pid: number) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1][0];

describe("gates between servers you run yourself", () => {
  let a: ServerProcess, b: ServerProcess;
  beforeAll(async () => {
    [a, b] = await Promise.all([startServer("epoll"), startServer("bun")]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  test("--target current=...,proto=... --baseline current --candidate proto: a gate between them, their costs read from /proc, never paused", () => {
    const { json, out } = bench(["--target", `current=127.0.0.1:${a.port},proto=127.0.0.1:${b.port}`, "--baseline", "current", "--candidate", "proto", "--scenarios", "ping-pong", "--rounds", "3", "--iterations", "300", "--warmup", "30"]);
    expect(json.context.targets.map((t: { label: string }) => t.label)).toEqual(["current", "proto"]);
    expect(json.backends.map((x: { name: string }) => x.name)).toEqual(["current", "proto"]);
    expect(json.backends[0].description).toContain(`pid ${a.pid}`);
    expect(json.gate.kind).toBe("headline");
    expect([json.gate.baseline, json.gate.candidate]).toEqual(["current", "proto"]);
    expect(json.gate.criteria[0].status).not.toBe("NOT EVALUATED");
    expect(json.gates.some((g: { kind: string }) => g.kind === "control")).toBe(false); // no local server to duplicate
    const v = json.scenarios[0].variants[0];
    for (const x of v.backends) {
      expect(x.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
      expect(x.costs.cpu_us).toBeGreaterThan(0); // found by its listening port
    }
    expect(out).toMatch(/^targets\s+current at 127\.0\.0\.1:\d+, proto at 127\.0\.0\.1:\d+/m);
    // Ours to measure, not to signal: both still run.
    expect(procState(a.pid)).not.toBe("T");
    expect(procState(b.pid)).not.toBe("T");
  }, 130000);
});

describe("the quiet machine", () => {
  test("--cpu-idle both: a run with CPUs kept polling and one without, a gate each, the PM QoS request released at the end", () => {
    const before = readPmQos();
    const { json } = bench(["--backends", "epoll", "--control", "off", "--scenarios", "ping-pong", "--rounds", "2", "--iterations", "200", "--warmup", "20", "--cpu-idle", "both"]);
    expect(json.placements.map((p: { cpuIdle: string }) => p.cpuIdle)).toEqual(["poll", "default"]);
    for (const p of json.placements) expect(p.gate).toBeDefined();
    expect(json.context.cpuIdle.requested).toBe("poll then default");
    if (before !== null && process.getuid?.() === 0) {
      expect(json.context.cpuIdle.pmQos).toStartWith("held at 0");
      expect(readPmQos()).toBe(before);
    } else expect(json.context.cpuIdle.pmQos).toStartWith("not held");
  }, 130000);

  test("a paused server takes no CPU (state T) and a stats request resumes it", async () => {
    const s = await startServer("epoll");
    try {
      s.pause();
      await Bun.sleep(20);
      expect(procState(s.pid)).toBe("T");
      expect(s.paused).toBe(true);
      const st = await s.stats();
      expect(st).not.toBeNull();
      expect(procState(s.pid)).not.toBe("T");
      s.pause();
    } finally {
      const r = await s.stop(); // resumes before SIGTERM: a clean exit with its summary
      expect(r.exitCode).toBe(0);
      expect(r.summary).not.toBeNull();
    }
  });
});

describe("the headline gate", () => {
  const plan = { baseline: undefined, candidate: undefined, gatePairs: undefined, control: true };
  test("tokio against c-uring when both run; bun and epoll against uring beside it; the A/A control last", () => {
    const pairs = resolveGates(plan, ["bun", "epoll", "uring", "c-uring", "tokio", "tokio#2"]);
    expect(pairs.map((p) => `${p.kind}:${p.baseline}->${p.candidate}`)).toEqual(["headline:tokio->c-uring", "pair:bun->uring", "pair:epoll->uring", "control:tokio->tokio#2"]);
  });
  test("without tokio: epoll against uring", () => {
    expect(resolveGates(plan, ["bun", "epoll", "uring", "epoll#2"])[0]).toMatchObject({ baseline: "epoll", candidate: "uring", kind: "headline" });
    expect(resolveGates(plan, ["bun", "epoll", "uring"])[0].why).toContain("the guide's pair did not run");
  });
  test("--candidate alone keeps a running baseline; --baseline/--candidate override", () => {
    expect(resolveGates({ ...plan, candidate: "uring" }, ["bun", "uring"])[0].baseline).toBe("bun");
    expect(resolveGates({ ...plan, baseline: "bun", candidate: "uring-defer" }, ["bun", "uring-defer"])[0]).toEqual({ baseline: "bun", candidate: "uring-defer", kind: "headline", why: "asked for with --baseline/--candidate" });
  });
  test("uring unavailable: the headline still asks for it (and says NOT EVALUATED), not some other pair", () => {
    expect(resolveGates(plan, ["bun", "epoll"])[0]).toMatchObject({ baseline: "epoll", candidate: "uring", kind: "headline" });
  });
  test("many cores: the thread-per-core pair heads a run without the one-core pair, and says why; with both pairs, one core stays the headline", () => {
    const mt = resolveGates(plan, ["c-epoll-mt", "c-uring-mt", "tokio-mt"])[0];
    expect(mt).toMatchObject({ baseline: "tokio-mt", candidate: "c-uring-mt", kind: "headline" });
    expect(mt.why).toContain("many cores");
    const both = resolveGates({ ...plan, gatePairs: [["tokio-mt", "c-uring-mt"]] }, ["tokio", "c-uring", "tokio-mt", "c-uring-mt"]);
    expect(both.map((p) => `${p.kind}:${p.baseline}->${p.candidate}`)).toEqual(["headline:tokio->c-uring", "pair:tokio-mt->c-uring-mt"]);
    expect(both[0].why).toContain("where the guide's numbers were made");
    expect(both[1].why).toBe("asked for with --gate-pairs");
  });
});
