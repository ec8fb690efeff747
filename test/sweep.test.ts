// The connection sweep end to end: `bench --sweep --quick` as a user runs it
// (a child process, real servers, the C load client), its JSON, markdown and
// chart; its flags' usage errors; and 4096 connections against every backend
// the sweep measures by default, every answer verified and no descriptor left
// open on either side. No timing is asserted.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "../bench/cli/args.ts";
import { BENCH_FLAGS, planFromFlags } from "../bench/cli/bench-plan.ts";
import { CLoadClient } from "../bench/clients/c-load.ts";
import { errorCount } from "../bench/results/errors.ts";
import type { BenchResults } from "../bench/results/schema.ts";
import { BACKENDS, commandOf } from "../bench/server/backends.ts";
import { ServerProcess } from "../bench/server/process.ts";
import { ROOT } from "../ffi/build.ts";
import { benchEnv } from "./helpers.ts";
import * as net from "../ffi/net.ts";
import { checkXml } from "./xml-check.ts";

const dir = mkdtempSync(join(tmpdir(), "iob-sweep-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[]) {
  const r = Bun.spawnSync([process.execPath, join(ROOT, "bench/cli/bench.ts"), ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: benchEnv() });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

describe("bench --sweep --quick", () => {
  const json = join(dir, "sweep.json");
  const md = join(dir, "sweep.md");
  let r: ReturnType<typeof bench>;
  let res: BenchResults;

  test("runs alone, with no verdict, and every figure verified", () => {
    r = bench(["--sweep", "--quick", "--backends", "epoll,uring", "--json", json, "--markdown", md, "--hiccup", "off"]);
    expect(r.err).not.toContain("Error:");
    expect(r.code).toBe(0);
    res = JSON.parse(readFileSync(json, "utf8"));
    expect(res.scenarios).toEqual([]);
    expect(res.gate).toBeUndefined();
    expect(r.out).toContain("No verdict");
    const s = res.sweep!;
    expect(s.connections).toEqual([1, 64, 1024]);
    expect(s.points).toHaveLength(3);
    for (const p of s.points) {
      expect(p.backends.map((b) => b.backend)).toEqual(["epoll", "uring"]);
      for (const b of p.backends) {
        expect(errorCount(b.errors)).toBe(0);
        expect(b.failure).toBeUndefined();
        expect(b.throughput!).toBeGreaterThan(0);
        expect(b.ci95![0]).toBeLessThanOrEqual(b.throughput!);
        expect(b.ci95![1]).toBeGreaterThanOrEqual(b.throughput!);
        expect(b.p99_us!).toBeGreaterThan(0);
        expect(b.cpu_us!).toBeGreaterThan(0);
        expect(b.client_util!).toBeGreaterThan(0);
        expect(typeof b.client_bound).toBe("boolean");
      }
      expect(p.gains).toEqual([expect.objectContaining({ baseline: "epoll", candidate: "uring" })]);
    }
    expect(s.crossover).toEqual([expect.objectContaining({ baseline: "epoll", candidate: "uring", window: 8, payload: 32, threshold_pct: 20 })]);
    // Nothing the client opened is left open.
    expect(s.client_fds.after).toBeLessThanOrEqual(s.client_fds.before);
  });

  test("capacity: a bounded search per backend, each probe judged", () => {
    expect(res.capacity!.map((c) => c.backend)).toEqual(["epoll", "uring"]);
    for (const c of res.capacity!) {
      expect(c.failure).toBeUndefined();
      expect(c.searches).toHaveLength(1);
      const probes = c.searches[0].probes;
      expect(probes.length).toBeGreaterThan(0);
      expect(probes.length).toBeLessThanOrEqual(5);
      for (const p of probes) if (p.ok) expect(p.p99_us!).toBeLessThanOrEqual(c.slo_p99_us);
      if (c.rate !== null) expect(probes.some((p) => p.ok && p.rate === c.rate)).toBe(true);
    }
  });

  test("idle connections: memory per connection, descriptors back after, latency alone and with them", () => {
    for (const i of res.idle!) {
      expect(i.failure).toBeUndefined();
      expect(errorCount(i.errors)).toBe(0);
      expect(i.fds.open! - i.fds.before!).toBeGreaterThanOrEqual(i.idle);
      expect(i.fds.after!).toBeLessThanOrEqual(i.fds.before!);
      expect(Number.isFinite(i.bytes_per_conn!)).toBe(true);
      expect(i.alone!.p99_us).toBeGreaterThan(0);
      expect(i.with_idle!.p99_us).toBeGreaterThan(0);
    }
  });

  test("the markdown has the crossover first and links a well-formed chart", () => {
    const text = readFileSync(md, "utf8");
    expect(text.indexOf("Crossover")).toBeGreaterThan(-1);
    expect(text.indexOf("Crossover")).toBeLessThan(text.indexOf("Many idle connections"));
    const out = benchEnv().IOURING_BENCH_OUT_DIR;
    const charts = readdirSync(out).filter((f) => f.includes("-sweep-w8-p32.svg"));
    expect(charts.length).toBeGreaterThan(0);
    const link = /\((\.\.?\/[^)]*sweep-w8-p32\.svg|[^)]*sweep-w8-p32\.svg)\)/.exec(text);
    expect(link).not.toBeNull();
    const svg = readFileSync(join(out, charts.sort().at(-1)!), "utf8");
    expect(checkXml(svg)).toEqual([]);
  });
});

describe("sweep flags", () => {
  const plan = (argv: string[]) => planFromFlags(parseArgs(argv, BENCH_FLAGS), argv, () => {});

  test("--sweep alone: no scenarios, no A/A control, the gates' backends; --scenarios all adds every scenario", () => {
    const alone = plan(["--sweep"]);
    expect(alone.scenarios).toEqual([]);
    expect(alone.control).toBe(false);
    expect([...alone.backends].sort()).toEqual(["bun", "c-uring", "epoll", "tokio", "uring"]);
    expect(alone.sweep!.connections).toEqual([1, 8, 64, 256, 1024, 4096]);
    expect(alone.sweep!.parts).toEqual(["points", "capacity", "idle"]);
    const both = plan(["--sweep", "--scenarios", "all", "--slo-p99", "0.5", "--sweep-connections", "4096,1,64"]);
    expect(both.scenarios.map((x) => x.def.number)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(both.sweep!.capacity.sloUs).toBe(500);
    expect(both.sweep!.connections).toEqual([1, 64, 4096]);
    expect(plan(["--sweep", "--backends", "epoll,uring"]).sweepBackends).toEqual(["epoll", "uring"]);
  });

  for (const [args, says] of [
    [["--sweep", "--sweep-connections", "0"], "--sweep-connections: '0' is not an integer from 1 to 16384"],
    [["--sweep", "--sweep-sizes", "2"], "--sweep-sizes: '2' is not an integer from 4 to 65536"],
    [["--sweep", "--sweep-parts", "points,nope"], "nope"],
    [["--slo-p99", "2"], "--slo-p99 belongs to the sweep; add --sweep"],
  ] as const) {
    test(`${args.join(" ")}: one line and exit 2`, () => {
      const r = bench([...args]);
      expect(r.code).toBe(2);
      expect(r.err).toContain(says);
      expect(r.err.trimEnd().split("\n")).toHaveLength(1);
      expect(r.err).toContain("(see bun run bench --help)");
    });
  }
});

describe("too few descriptors", () => {
  test("counts that do not fit are left out and said so, with the remedy; the rest still runs", () => {
    const json = join(dir, "short.json");
    // A hard limit of 700 (Bun raises its soft limit to the hard one, so the hard one must be low),
    // and as root without CAP_SYS_RESOURCE, so the run cannot raise it back (as in a container).
    const drop = process.getuid?.() === 0 ? ["setpriv", "--inh-caps=-sys_resource", "--bounding-set=-sys_resource"] : [];
    const r = Bun.spawnSync([...drop, "prlimit", "--nofile=700:700", process.execPath, join(ROOT, "bench/cli/bench.ts"), "--sweep", "--quick", "--sweep-parts", "points", "--backends", "epoll", "--json", json, "--hiccup", "off"], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
      env: benchEnv(),
    });
    expect(r.exitCode).toBe(0);
    const res: BenchResults = JSON.parse(readFileSync(json, "utf8"));
    expect(res.sweep!.connections).toEqual([1, 64]);
    expect(res.sweep!.nofile.soft).toBe(700);
    expect(res.sweep!.notes.join(" ")).toContain("Left out for want of descriptors (limit 700): 1024 connections.");
    expect(res.warnings.filter((w) => w.code === "sweep-descriptors").map((w) => `${w.text} ${w.remedy}`).join(" ")).toMatch(/The sweep needs 1280 descriptors but has 700: .*ulimit/);
    // A sweep alone has no gates to warn about.
    expect(res.warnings.map((w) => w.code)).not.toContain("gate-not-evaluated");
    for (const p of res.sweep!.points) expect(p.backends[0].throughput!).toBeGreaterThan(0);
  });
});

describe("4096 connections against every backend the sweep measures by default", () => {
  const limit = net.raiseNoFile(4096 + 512);
  const fds = (pid: number | "self") => readdirSync(`/proc/${pid}/fd`).length;
  for (const name of ["epoll", "uring", "c-uring", "bun", "tokio"]) {
    const a = BACKENDS[name].availability();
    const skip = !a.available ? `${name}: ${a.reason}` : limit.short ? limit.short : "";
    test.skipIf(Boolean(skip))(`${name}: every request answered and verified, every descriptor given back${skip ? ` (skipped: ${skip})` : ""}`, async () => {
      const server = await ServerProcess.start({ backend: name, command: commandOf(BACKENDS[name]) });
      try {
        const serverBefore = fds(server.pid);
        const selfBefore = fds("self");
        {
          using lc = new CLoadClient(server, 4096, 1000, 8, 10000);
          for (const payload of [32, 1000]) {
            const r = lc.closed(payload, 8, 20, 100);
            expect(r.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
            expect(r.deadConnections).toBe(0);
            expect(r.completed).toBe(r.sent);
            expect(r.completed).toBeGreaterThan(4096);
          }
        }
        expect(fds("self")).toBe(selfBefore);
        let after = fds(server.pid);
        for (let i = 0; i < 100 && after > serverBefore; i++) {
          await Bun.sleep(20);
          after = fds(server.pid);
        }
        expect(after).toBe(serverBefore);
        expect(server.exited).toBe(false);
      } finally {
        await server.stop();
      }
    });
  }
});
