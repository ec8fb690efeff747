// The thread-per-core backends (c-epoll-mt, c-uring-mt, tokio-mt) at work:
// several loops in one server process, each pinned where it was told, each
// serving its share of 1000 connections from the two-thread C client, every
// answer verified; the loops stop with the server and leave no thread; flags
// that mean nothing for a one-thread backend are refused. (Echo sizes, bad
// input, 2000 connections and descriptors: backends, faults, many-connections
// and leaks tests, which run every backend.)
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CLoadClient } from "../bench/clients/c-load.ts";
import { allowedCpus } from "../bench/measure/quiet.ts";
import { BACKENDS, commandOf, DEFAULT_BACKEND_NAMES, THREADED_BACKEND_NAMES } from "../bench/server/backends.ts";
import { loopCpus } from "../bench/server/c-servers.ts";
import { ROOT } from "../ffi/build.ts";
import { alive, startServer } from "./helpers.ts";

const cpus = allowedCpus();
const SERVE = join(ROOT, "bench/cli/serve.ts");

/** Name and allowed CPUs of every thread of pid. */
function threadsOf(pid: number): { name: string; cpus: string }[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    try {
      const status = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
      return [{ name: /^Name:\s*(.*)$/m.exec(status)![1], cpus: /^Cpus_allowed_list:\s*(.*)$/m.exec(status)![1] }];
    } catch {
      return []; // the thread ended between the listing and the read
    }
  });
}

describe("thread-per-core backends: declared apart", () => {
  test("c-epoll-mt, c-uring-mt and tokio-mt are threaded; `--backends all` leaves them out (a gate or the name brings them in)", () => {
    expect(THREADED_BACKEND_NAMES).toEqual(["c-epoll-mt", "c-uring-mt", "tokio-mt"]);
    for (const n of THREADED_BACKEND_NAMES) expect(DEFAULT_BACKEND_NAMES).not.toContain(n);
  });

  test("loop i goes to CPU i mod n", () => {
    expect(loopCpus(4, [2, 5])).toEqual([2, 5, 2, 5]);
    expect(loopCpus(1, [3])).toEqual([3]);
  });
});

for (const backend of ["c-epoll-mt", "c-uring-mt"]) {
  const a = BACKENDS[backend].availability();
  describe.skipIf(!a.available)(`${backend} with two loops${a.available ? "" : ` (skipped: ${a.reason})`}`, () => {
    test("1000 connections from two client threads: every answer right, both loops serve, each pinned to its CPU; stopped, it leaves no thread", async () => {
      const set = cpus.length >= 2 ? cpus.slice(0, 2) : [cpus[0], cpus[0]];
      const server = await startServer(backend, { extraArgs: ["--server-threads", "2", "--server-cpus", [...new Set(set)].join(",")] });
      try {
        const loops = threadsOf(server.pid).filter((t) => /^loop \d+$/.test(t.name)).sort((x, y) => x.name.localeCompare(y.name));
        expect(loops.map((t) => t.name)).toEqual(["loop 0", "loop 1"]);
        expect(loops.map((t) => t.cpus)).toEqual(set.map(String));

        using lc = new CLoadClient(server, 1000, 1000, 2, 10000, { threads: 2, cpus: set });
        const r = lc.closed(100, 1, 50, 300);
        expect(r.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
        expect(r.sent).toBe(r.completed);
        expect(r.completed).toBeGreaterThan(1000);

        const st = (await server.stats()) as unknown as { connections: number; frames: number; perThread: { cpu: number; connections: number; frames: number }[] };
        expect(st.connections).toBe(1000);
        expect(st.perThread.length).toBe(2);
        expect(st.perThread.map((t) => t.cpu)).toEqual(set);
        // SO_REUSEPORT spreads by the 4-tuple's hash: 1000 connections cannot all land on one listener.
        for (const t of st.perThread) {
          expect(t.connections).toBeGreaterThan(100);
          expect(t.frames).toBeGreaterThan(0);
        }
        expect(st.perThread[0].connections + st.perThread[1].connections).toBe(1000);
        expect(st.perThread[0].frames + st.perThread[1].frames).toBe(st.frames);
        // The counters are fresh: every answer the client received was counted.
        expect(st.frames).toBe(r.totalCompleted);
      } finally {
        const stopped = await server.stop();
        expect(stopped.exitCode).toBe(0);
        expect(stopped.summary?.threads).toBe("2");
        expect(stopped.summary?.errors).toBe("0");
      }
      expect(alive(server.pid)).toBe(false);
    });

    test("more loops than CPUs: they share the CPU, and all of them serve", async () => {
      const server = await startServer(backend, { extraArgs: ["--server-threads", "3", "--server-cpus", String(cpus[0])] });
      try {
        expect(threadsOf(server.pid).filter((t) => /^loop \d+$/.test(t.name)).map((t) => t.cpus)).toEqual([String(cpus[0]), String(cpus[0]), String(cpus[0])]);
        using lc = new CLoadClient(server, 300, 100, 1, 10000);
        const r = lc.closed(10, 1, 20, 100);
        expect(r.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
        const st = (await server.stats()) as unknown as { perThread: { frames: number }[] };
        expect(st.perThread.length).toBe(3);
        for (const t of st.perThread) expect(t.frames).toBeGreaterThan(0);
      } finally {
        expect((await server.stop()).exitCode).toBe(0);
      }
    });
  });
}

const tokioMt = BACKENDS["tokio-mt"].availability();
describe.skipIf(!tokioMt.available)(`tokio-mt${tokioMt.available ? "" : ` (skipped: ${tokioMt.reason})`}`, () => {
  test("the multi-thread runtime with two workers, each pinned to a CPU in turn, answers 1000 connections, every answer right, both workers serving", async () => {
    const server = await startServer("tokio-mt", { command: commandOf(BACKENDS["tokio-mt"], { threads: 2 }) });
    try {
      const workers = threadsOf(server.pid).filter((t) => t.name === "tokio-mt-worker");
      expect(workers.map((t) => t.cpus).sort()).toEqual([0, 1].map((i) => String(cpus[i % cpus.length])).sort());
      using lc = new CLoadClient(server, 1000, 1000, 2, 10000, { threads: Math.min(2, cpus.length), cpus: cpus.slice(0, 2) });
      const r = lc.closed(100, 1, 50, 300);
      expect(r.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
      expect(r.sent).toBe(r.completed);
      const st = (await server.stats()) as unknown as { backend: string; connections: number; frames: number; perThread: { cpu: number; frames: number }[] };
      expect(st.backend).toBe("tokio-mt");
      expect(st.connections).toBe(1000);
      expect(st.perThread.length).toBe(2);
      for (const w of st.perThread) expect(w.frames).toBeGreaterThan(0);
      expect(st.perThread[0].frames + st.perThread[1].frames).toBe(st.frames);
    } finally {
      expect((await server.stop()).exitCode).toBe(0);
    }
  });
});

describe("serve: thread flags where they mean something", () => {
  const serve = (...args: string[]) => {
    const r = Bun.spawnSync([process.execPath, SERVE, ...args], { stdout: "pipe", stderr: "pipe", timeout: 20000 });
    return { code: r.exitCode, err: r.stderr.toString() };
  };

  test("--server-threads on a one-thread backend: exit 2, naming the backends that take it", () => {
    const r = serve("--backend", "c-epoll", "--server-threads", "2");
    expect(r.code).toBe(2);
    expect(r.err).toContain("c-epoll runs one thread");
    expect(r.err).toContain("c-epoll-mt");
  });

  test("several CPUs for a one-thread backend: exit 2", () => {
    const r = serve("--backend", "epoll", "--server-cpus", "0,1");
    expect(r.code).toBe(2);
    expect(r.err).toContain("give --server-cpus one CPU");
  });

  test("a CPU this process may not use: exit 2, saying which it may", () => {
    const r = serve("--backend", "c-epoll-mt", "--server-cpus", "999");
    expect(r.code).toBe(2);
    expect(r.err).toContain("CPU 999 cannot be used");
  });
});
