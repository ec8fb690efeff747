// The C load client with several threads (c/loadgen.c through
// bench/clients/c-load.ts), against real server processes over real sockets:
// two threads on one CPU and on two, closed and open loops, every answer
// verified, every thread drained (sent === completed in each), each thread's
// CPU figures present and sane, a corrupting server caught by both threads,
// connection counts that do not divide evenly, bad thread counts and CPUs
// refused with a clear error, and no thread or descriptor left behind.
// No timing is asserted.
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { busiestCpu, CLoadClient, type CLoadResult, threadFigures } from "../bench/clients/c-load.ts";
import { CLIENT_BOUND_UTIL } from "../bench/measure/accounting.ts";
import { BACKENDS } from "../bench/server/backends.ts";
import { lgCpuUsable, sampleSlice } from "../ffi/loadgen.ts";
import { serverForSuite, startServer } from "./helpers.ts";

const threadsOf = () => readdirSync("/proc/self/task").length;
const fdsOf = (pid: number | "self") => readdirSync(`/proc/${pid}/fd`).length;
const TWO_CPUS = lgCpuUsable(0) === 0 && lgCpuUsable(1) === 0;
const PLACEMENTS: { name: string; cpus: number[]; skip: string }[] = [
  { name: "both on CPU 0", cpus: [0], skip: "" },
  { name: "CPU 0 and CPU 1", cpus: [0, 1], skip: TWO_CPUS ? "" : "this machine lets the process use fewer than 2 CPUs" },
];

/** Every thread clean and drained; the whole client the sum of its threads. */
function expectCleanThreads(r: CLoadResult, lc: CLoadClient, cpus: number[]): void {
  expect(r.threads.length).toBe(lc.threads);
  let sent = 0, completed = 0, cpu = 0, samples = 0;
  const perCpu = new Map<number | string, number>();
  r.threads.forEach((t, i) => {
    expect(t.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
    expect(t.deadConnections).toBe(0);
    expect(t.completed).toBeGreaterThan(0);
    // Each thread drained its own connections before the call returned.
    expect(t.sent).toBe(t.completed);
    expect(t.connections).toBe(lc.connectionsPerThread[i]);
    expect(t.cpu).toBe(cpus.length ? cpus[i % cpus.length] : null);
    // Pinned threads stayed where they were put.
    if (t.cpu !== null) expect(t.ranOnCpu).toBe(t.cpu);
    else expect(t.ranOnCpu).toBeGreaterThanOrEqual(0);
    expect(t.elapsedNs).toBeGreaterThan(0);
    expect(t.clientCpuNs).toBeGreaterThan(0);
    expect(t.clientCpuUtil).toBeGreaterThan(0);
    expect(t.clientCpuUtil).toBeLessThanOrEqual(1.05);
    expect(t.samples).toBe(Math.min(t.completed, sampleSlice(lc.sampleCapacity, lc.threads)));
    sent += t.sent;
    completed += t.completed;
    cpu += t.clientCpuNs;
    samples += t.samples;
    const key = t.cpu ?? `t${i}`;
    perCpu.set(key, (perCpu.get(key) ?? 0) + t.clientCpuUtil);
  });
  const busiest = Math.max(...perCpu.values());
  expect(r.sent).toBe(sent);
  expect(r.completed).toBe(completed);
  expect(r.clientCpuNs).toBe(cpu);
  expect(r.latencyNs.length).toBe(samples);
  for (const x of r.latencyNs) expect(x).toBeGreaterThan(0);
  // client_bound is the busiest CPU's (threads sharing one add up), at the usual threshold.
  expect(r.clientCpuUtil).toBeCloseTo(busiest, 12);
  expect(perCpu.get(r.threads[r.busiestThread].cpu ?? `t${r.busiestThread}`)).toBeCloseTo(busiest, 12);
  expect(r.clientBound).toBe(busiest >= CLIENT_BOUND_UTIL);
  expect(r.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
}

const SERVERS = [
  { backend: "epoll", skip: "" },
  { backend: "c-uring", skip: BACKENDS["c-uring"].availability().available ? "" : (BACKENDS["c-uring"].availability().reason ?? "unavailable") },
  { backend: "tokio", skip: BACKENDS.tokio.availability().available ? "" : (BACKENDS.tokio.availability().reason ?? "unavailable") },
];

for (const { backend, skip } of SERVERS) {
  describe.skipIf(skip !== "")(`two client threads against ${backend}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    const suiteServer = serverForSuite(backend, { cpu: 0 });

    for (const { name, cpus, skip: why } of PLACEMENTS) {
      test.skipIf(why !== "")(`${name}: closed loop, 7 connections (4 + 3), payloads 32 and 1000, every answer verified${why ? ` (skipped: ${why})` : ""}`, () => {
        const fds = fdsOf("self");
        // A capacity below what a run completes, so each thread's slice fills up.
        const lc = new CLoadClient(suiteServer(), 7, 1000, 8, 5000, { threads: 2, cpus, sampleCapacity: 5001 });
        let tasks = 0;
        try {
          expect(lc.connectionsPerThread).toEqual([4, 3]);
          // Counted after a first call: the runtime may start threads of its own on first use.
          expectCleanThreads(lc.closed(32, 8, 20, 50), lc, cpus);
          tasks = threadsOf();
          for (const payload of [32, 1000]) expectCleanThreads(lc.closed(payload, 8, 50, 150), lc, cpus);
          // Both threads were joined inside each call.
          expect(threadsOf()).toBe(tasks);
        } finally {
          lc.close();
        }
        expect(fdsOf("self")).toBe(fds);
      });

      test.skipIf(why !== "")(`${name}: open loop, the rate split across the threads, every due request sent once and answered${why ? ` (skipped: ${why})` : ""}`, () => {
        using lc = new CLoadClient(suiteServer(), 8, 64, 64, 5000, { threads: 2, cpus });
        const r = lc.open(32, 4000, 50, 300);
        expectCleanThreads(r, lc, cpus);
        // The schedule alone fixes how many are due: 1200 in 300 ms at 4000/s, every other one on each thread.
        expect(Math.abs(r.sent - 1200)).toBeLessThanOrEqual(1);
        for (const t of r.threads) expect(Math.abs(t.sent - 600)).toBeLessThanOrEqual(1);
        expect(r.sendLagNs!.length).toBe(r.sent);
        for (const x of r.sendLagNs!) expect(x).toBeGreaterThanOrEqual(0);
        expect(r.maxLagNs).toBe(Math.max(...r.threads.map((t) => t.maxLagNs)));
        // The connections were left idle: a closed loop on the same client is clean.
        expectCleanThreads(lc.closed(32, 4, 0, 50), lc, cpus);
      });
    }
  });
}

describe("threads: failures and bad arguments", () => {
  const suiteServer = serverForSuite("epoll");

  test("a server that corrupts answers is caught by both threads", async () => {
    const bad = await startServer("epoll", { extraArgs: ["--corrupt-every", "50"] });
    try {
      using lc = new CLoadClient(bad, 5, 100, 8, 5000, { threads: 2, cpus: [0] });
      const r = lc.closed(100, 8, 0, 100);
      for (const t of r.threads) {
        expect(t.errors.mismatch).toBeGreaterThan(0);
        expect(t.completed).toBeLessThan(t.sent);
      }
      expect(r.errors.mismatch).toBe(r.threads[0].errors.mismatch + r.threads[1].errors.mismatch);
    } finally {
      await bad.stop();
    }
  });

  test("connection counts the threads do not divide: the first threads take one more", () => {
    using lc = new CLoadClient(suiteServer(), 10, 32, 2, 5000, { threads: 3 });
    expect(lc.connectionsPerThread).toEqual([4, 3, 3]);
    expectCleanThreads(lc.closed(32, 2, 20, 80), lc, []);
  });

  test("more threads than connections, a bad count or a CPU this process cannot use: a clear error before anything connects", async () => {
    const accepted = async () => (await suiteServer().stats())!.connections;
    const before = await accepted();
    expect(() => new CLoadClient(suiteServer(), 2, 32, 2, 5000, { threads: 3 })).toThrow("threads (3) more than connections (2)");
    expect(() => new CLoadClient(suiteServer(), 2, 32, 2, 5000, { threads: 0 })).toThrow(/threads must be an integer/);
    expect(() => new CLoadClient(suiteServer(), 2, 32, 2, 5000, { threads: 1.5 })).toThrow(/threads must be an integer/);
    expect(() => new CLoadClient(suiteServer(), 2, 32, 2, 5000, { threads: 2, cpus: [-1] })).toThrow(/not a CPU number/);
    expect(() => new CLoadClient(suiteServer(), 2, 32, 2, 5000, { threads: 2, cpus: [1000] })).toThrow(/CPU 1000 cannot be used.*EINVAL/);
    // The server accepted nothing meanwhile.
    expect(await accepted()).toBe(before);
  });

  test("by default one thread, on the calling thread, as before: no thread started", () => {
    using lc = new CLoadClient(suiteServer(), 3, 32, 4);
    expect(lc.threads).toBe(1);
    lc.closed(32, 4, 10, 20);
    const tasks = threadsOf();
    const r = lc.closed(32, 4, 10, 50);
    expectCleanThreads(r, lc, []);
    expect(r.threads[0].sent).toBe(r.sent);
    expect(r.threads[0].clientCpuNs).toBe(r.clientCpuNs);
    expect(r.clientCpuUtil).toBe(r.clientCpuNs / r.elapsedNs);
    expect(threadsOf()).toBe(tasks);
    // The results record the one thread too: not pinned by the client, on a CPU it reports.
    const [only, ...rest] = threadFigures(r)!;
    expect(rest).toEqual([]);
    expect(only).toEqual({ cpu: null, ran_on: r.threads[0].ranOnCpu, util: r.clientCpuUtil, completed: r.completed });
    expect(only.ran_on).toBeGreaterThanOrEqual(0);
  });
});

describe("threads: the client's limit is a CPU", () => {
  test("threads sharing a CPU add their shares; threads on their own CPUs do not", () => {
    expect(busiestCpu([{ cpu: 1, clientCpuUtil: 0.5 }, { cpu: 1, clientCpuUtil: 0.48 }]).util).toBeCloseTo(0.98, 6);
    expect(busiestCpu([{ cpu: 1, clientCpuUtil: 0.5 }, { cpu: 2, clientCpuUtil: 0.48 }])).toEqual({ busiest: 0, util: 0.5 });
    expect(busiestCpu([{ cpu: 1, clientCpuUtil: 0.3 }, { cpu: 2, clientCpuUtil: 0.4 }, { cpu: 1, clientCpuUtil: 0.3 }])).toEqual({ busiest: 0, util: 0.6 });
    // Not pinned: each thread alone.
    expect(busiestCpu([{ cpu: null, clientCpuUtil: 0.5 }, { cpu: null, clientCpuUtil: 0.6 }])).toEqual({ busiest: 1, util: 0.6 });
  });
});
