// The pre-flight check: its rules on made-up machines (verdict/doctor.ts), the
// first page's truth about idle CPUs, and `bun run doctor` for real, as root
// and as a user without privileges.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { shortContext } from "../bench/report/document.ts";
import type { BenchResults } from "../bench/results/schema.ts";
import { canRun, diagnose, preflightLines, SWEEP_DESCRIPTORS, type PreflightFacts } from "../bench/verdict/doctor.ts";
import { SYNTHETIC_CONTEXT } from "./fixtures.ts";
import { asNobodySkipReason, SETPRIV } from "./helpers.ts";

const good: PreflightFacts = {
  root: true,
  pmQos: { held: true },
  cpuIdle: { driver: "haltpoll", governor: "haltpoll" },
  toolchain: { gcc: true, liburingHeader: true, shimsBuilt: true },
  ioUring: [
    { backend: "uring", feature: "a ring", available: true },
    { backend: "uring-defer", feature: "SINGLE_ISSUER | DEFER_TASKRUN", available: true },
    { backend: "uring-sqpoll", feature: "SQPOLL", available: true },
  ],
  perf: { ok: true },
  tokio: { available: true },
  cpus: { online: [0, 1, 2, 3], allowed: [0, 1, 2, 3] },
  placement: { mode: "cross", serverCpu: 0, clientCpu: 1 },
  nofile: { soft: 65536, hard: 65536 },
  context: SYNTHETIC_CONTEXT,
};
const of = (items: ReturnType<typeof diagnose>, check: string) => items.find((i) => i.check === check)!;

describe("diagnose: each fact, what it changes, the fix", () => {
  test("a machine with everything: every item ok, a run can go, nothing printed before it", () => {
    const items = diagnose(good);
    expect(items.every((i) => i.status === "ok")).toBe(true);
    expect(canRun(items)).toBe(true);
    expect(preflightLines(items)).toEqual([]);
    // Every setting the report could warn about is listed, fine ones too, each saying what was found.
    for (const check of ["frequency governor", "SMT", "RLIMIT_MEMLOCK", "seccomp", "transparent huge pages"]) expect(of(items, check).found.length).toBeGreaterThan(0);
  });

  test("not root, PM QoS refused: warnings that say what the run loses and how to fix it; the run can still go", () => {
    const items = diagnose({ ...good, root: false, pmQos: { held: false, reason: "open /dev/cpu_dma_latency: EACCES", remedy: "run as root" } });
    expect(of(items, "privileges").status).toBe("warn");
    const idle = of(items, "idle CPUs");
    expect(idle.status).toBe("warn");
    expect(idle.found).toContain("EACCES");
    expect(idle.effect).toContain("2-4x");
    expect(idle.fix).toBe("run as root");
    expect(canRun(items)).toBe(true);
    expect(preflightLines(items)).toHaveLength(2);
    expect(preflightLines(items)[1]).toStartWith("warn idle CPUs: cannot be kept polling");
  });

  test("no compiler, no io_uring, a CPU the process may not use: FAIL, and a run cannot go", () => {
    const noGcc = diagnose({ ...good, toolchain: { gcc: false, liburingHeader: false, shimsBuilt: false } });
    expect(of(noGcc, "compiler and liburing").status).toBe("fail");
    expect(of(noGcc, "compiler and liburing").fix).toContain("apt-get install -y gcc libc6-dev liburing-dev");
    expect(canRun(noGcc)).toBe(false);
    const refused = diagnose({ ...good, ioUring: [{ backend: "uring", feature: "a ring", available: false, reason: "io_uring_queue_init: EPERM", hint: "sysctl -w kernel.io_uring_disabled=0" }] });
    expect(of(refused, "io_uring").status).toBe("fail");
    expect(of(refused, "io_uring").found).toContain("EPERM");
    const cpu = diagnose({ ...good, cpus: { online: [0, 1, 2, 3], allowed: [2, 3] } });
    expect(of(cpu, "CPUs and placement").status).toBe("fail");
    expect(of(cpu, "CPUs and placement").effect).toContain("CPU 0, 1 cannot be used");
  });

  test("a missing io_uring feature, perf, Tokio, descriptors: warnings naming what is skipped or lost", () => {
    const items = diagnose({
      ...good,
      ioUring: [...good.ioUring.slice(0, 2), { backend: "uring-sqpoll", feature: "SQPOLL", available: false, reason: "EPERM" }],
      perf: { ok: false, reason: "perf not installed" },
      tokio: { available: false, reason: "cargo missing", hint: "sudo bash scripts/build-tokio.sh" },
      nofile: { soft: 1024, hard: 4096 },
    });
    expect(of(items, "io_uring").status).toBe("warn");
    expect(of(items, "io_uring").effect).toContain("uring-sqpoll will be skipped");
    expect(of(items, "perf").effect).toContain("n/a");
    expect(of(items, "Tokio reference").effect).toContain("epoll -> uring instead of the guide's tokio -> c-uring");
    expect(of(items, "descriptors").status).toBe("warn");
    expect(of(items, "descriptors").fix).toContain(`ulimit -n ${SWEEP_DESCRIPTORS * 2}`);
    expect(canRun(items)).toBe(true);
  });

  test("two CPUs: a warning that throughput is often the client's; one CPU: no cross-core figure", () => {
    expect(of(diagnose({ ...good, cpus: { online: [0, 1], allowed: [0, 1] } }), "CPUs and placement").effect).toContain("CLIENT-BOUND");
    expect(of(diagnose({ ...good, cpus: { online: [0], allowed: [0] }, placement: { mode: "same", serverCpu: 0, clientCpu: 0 } }), "CPUs and placement").effect).toContain("no cross-core figure");
  });
});

describe("the first page tells the truth about idle CPUs", () => {
  const r = (pmQos: string) => ({ context: { ...SYNTHETIC_CONTEXT, cpuIdle: { driver: "haltpoll", governor: "haltpoll", requested: "poll", pmQos } }, baseline: "tokio" }) as unknown as BenchResults;
  test("held: poll, and that it was held; not held: said so, with why", () => {
    expect(shortContext(r("held at 0 (0 now)"))[1]).toContain("idle CPUs: poll (PM QoS held at 0 (0 now))");
    expect(shortContext(r("not held: open /dev/cpu_dma_latency: EACCES"))[1]).toContain("idle CPUs: poll requested but NOT held (open /dev/cpu_dma_latency: EACCES)");
  });
});

describe("bun run doctor, for real", () => {
  const DOCTOR = join(ROOT, "bench/cli/doctor.ts");
  const root = process.getuid?.() === 0;
  test.skipIf(!root)("as root here: the checks, exit 0 when a run can go", () => {
    const r = Bun.spawnSync([process.execPath, DOCTOR], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    const out = r.stdout.toString();
    expect(out).toContain("Pre-flight check");
    for (const check of ["privileges", "idle CPUs", "compiler and liburing", "io_uring", "perf", "Tokio reference", "CPUs and placement", "descriptors"]) expect(out).toContain(check);
    expect(out).toMatch(/^ok\s+privileges\s+root$/m);
    expect([0, 2]).toContain(r.exitCode);
    expect(r.exitCode === 0).toBe(out.includes("A run can go"));
  }, 60_000);

  const asNobody = asNobodySkipReason(ROOT);
  test.skipIf(asNobody !== "")(`as a user without privileges: PM QoS cannot be held, and why; a run can still go${asNobody ? ` (skipped: ${asNobody})` : ""}`, () => {
    const r = Bun.spawnSync([SETPRIV!, "--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, DOCTOR], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 60_000, env: { ...(process.env as Record<string, string>), HOME: "/tmp" } });
    const out = r.stdout.toString();
    expect(out).toMatch(/^warn\s+privileges\s+not root$/m);
    expect(out).toMatch(/^warn\s+idle CPUs\s+cannot be kept polling: .*EACCES/m);
    expect(r.exitCode).toBe(0);
  }, 60_000);

  test("a bad flag: one line, exit 2", () => {
    const r = Bun.spawnSync([process.execPath, DOCTOR, "--placment", "same"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toBe("doctor: unknown flag '--placment'; did you mean --placement? (see bun run doctor --help)\n");
  });
});
