// The C load client (c/loadgen.c through bench/clients/c-load.ts) against
// real server processes over real sockets: every answer verified, every
// request of the measured interval answered after the drain, nothing leaked
// on either side, failures counted rather than hung on. No timing is asserted.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { CLoadClient, type CLoadResult } from "../bench/clients/c-load.ts";
import { errorCount } from "../bench/results/errors.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { EBADF, ECONNREFUSED, EINVAL, SysError } from "../ffi/errno.ts";
import { lgDestroy } from "../ffi/loadgen.ts";
import * as net from "../ffi/net.ts";
import { startServer, URING, URING_SKIP_REASON } from "./helpers.ts";

const MAX_PAYLOAD = 1000;
const WINDOW = 8;
const MOST_CONNECTIONS = 4096;

const fdCount = (pid: number | "self"): number => readdirSync(`/proc/${pid}/fd`).length;

/** The soft RLIMIT_NOFILE of this process (servers we spawn inherit it). */
function openFileLimit(): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
  const soft = line?.trim().split(/\s+/)[3];
  return soft === undefined || soft === "unlimited" ? Infinity : Number(soft);
}

// Each side holds one socket per connection plus its own few dozen descriptors.
const FDS_NEEDED = MOST_CONNECTIONS + 256;
const raise = (net as { raiseNoFile?: (want: number) => unknown }).raiseNoFile;
if (openFileLimit() < FDS_NEEDED && typeof raise === "function") raise(FDS_NEEDED);
const NOFILE_SKIP = openFileLimit() < FDS_NEEDED ? `RLIMIT_NOFILE soft limit ${openFileLimit()} < ${FDS_NEEDED}; raise it with ulimit -n` : "";

/** Polls until pid's descriptor count is back to `want`, for up to ms; returns the last count. */
async function settleFds(pid: number, want: number, ms = 1000): Promise<number> {
  const deadline = Date.now() + ms;
  let n = fdCount(pid);
  while (n !== want && Date.now() < deadline) {
    await Bun.sleep(20);
    n = fdCount(pid);
  }
  return n;
}

function expectClean(r: CLoadResult, cap: number): void {
  expect(r.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
  expect(r.overflow).toBe(0);
  expect(r.deadConnections).toBe(0);
  expect(r.completed).toBeGreaterThan(0);
  // The drain answered every request of the measured interval.
  expect(r.sent).toBe(r.completed);
  expect(r.totalCompleted).toBeGreaterThanOrEqual(r.completed);
  expect(r.latencyNs.length).toBe(Math.min(r.completed, cap));
}

const BACKENDS = [
  { backend: "epoll", skip: "" },
  { backend: "c-uring", skip: URING_SKIP_REASON },
];

for (const { backend, skip } of BACKENDS) {
  describe.skipIf(skip !== "")(`closed loop against ${backend}${skip ? ` (${skip})` : ""}`, () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServer(backend);
    });
    afterAll(async () => {
      await server?.stop();
    });

    for (const connections of [1, 64, MOST_CONNECTIONS]) {
      const why = connections > 1000 ? NOFILE_SKIP : "";
      test.skipIf(why !== "")(`${connections} connections, window ${WINDOW}, payloads 32 and 1000: all verified, nothing leaked${why ? ` (skipped: ${why})` : ""}`, async () => {
        const selfFds = fdCount("self");
        const serverFds = fdCount(server.pid);
        // A capacity below what a run completes, so sampling stops at the cap.
        const cap = connections === 64 ? 5000 : 1 << 16;
        const client = new CLoadClient(server, connections, MAX_PAYLOAD, WINDOW, 5000, { sampleCapacity: cap });
        try {
          for (const payload of [32, 1000]) expectClean(client.closed(payload, WINDOW, 50, 150), cap);
        } finally {
          client.close();
        }
        expect(fdCount("self")).toBe(selfFds);
        expect(await settleFds(server.pid, serverFds)).toBe(serverFds);
      });
    }
  });
}

describe("open loop and failures", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer("epoll");
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("a modest rate: every due request sent once and answered, lags and latencies >= 0", () => {
    using client = new CLoadClient(server, 8, 64, 64);
    const r = client.open(32, 5000, 50, 300);
    expectClean(r, 1 << 21);
    // The schedule alone fixes how many requests are due in 300 ms at 5000/s.
    expect(Math.abs(r.sent - 1500)).toBeLessThanOrEqual(1);
    expect(r.sendLagNs!.length).toBe(r.sent);
    for (const x of r.sendLagNs!) expect(x).toBeGreaterThanOrEqual(0);
    for (const x of r.latencyNs) expect(x).toBeGreaterThanOrEqual(0);
    expect(r.maxLagNs).toBeGreaterThanOrEqual(0);
    // The connections were left idle: a closed loop on the same client is clean.
    expectClean(client.closed(32, 4, 0, 50), 1 << 21);
  });

  test("a paused server: the open loop overflows or times out, the closed loop times out; neither hangs", () => {
    using open = new CLoadClient(server, 8, 32, 2, 500);
    using closed = new CLoadClient(server, 2, 32, 4, 500);
    server.pause();
    let o: CLoadResult, c: CLoadResult;
    try {
      o = open.open(32, 200_000, 0, 200);
      c = closed.closed(32, 4, 0, 100);
    } finally {
      server.resume();
    }
    expect(o.overflow > 0 || o.errors.timeout === 1).toBe(true);
    expect(errorCount(o.errors)).toBeGreaterThan(0);
    expect(c.errors.timeout).toBe(1);
    expect(c.completed).toBe(0);
    // Connections still owed answers are given up.
    expect(c.deadConnections).toBe(2);
  });

  test("a server that corrupts answers is counted as mismatch", async () => {
    const bad = await startServer("epoll", { extraArgs: ["--corrupt-every", "50"] });
    try {
      using client = new CLoadClient(bad, 2, 100, 8);
      const r = client.closed(100, 8, 0, 100);
      expect(r.errors.mismatch).toBeGreaterThan(0);
      expect(r.completed).toBeLessThan(r.sent);
    } finally {
      await bad.stop();
    }
  });

  test("connections the server closes are counted and dropped; the call still returns", async () => {
    // Frames above --max-frame make the server close the connection.
    const strict = await startServer("epoll", { maxFrame: 16 });
    try {
      using client = new CLoadClient(strict, 4, 32, 2);
      const r = client.closed(32, 2, 0, 100);
      // FIN (closed) or RST (io), depending on what the server had read when it closed.
      expect(r.errors.closed + r.errors.io).toBe(4);
      expect(r.deadConnections).toBe(4);
      expect(r.completed).toBe(0);
    } finally {
      await strict.stop();
    }
  });

  test("bad arguments are EINVAL, a bad handle EBADF, a closed client an error", () => {
    const errnoOf = (f: () => unknown): number => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(SysError);
        return (e as SysError).errno;
      }
      throw new Error("expected a SysError");
    };
    expect(errnoOf(() => new CLoadClient(server, 1, 3, 8))).toBe(EINVAL);
    expect(errnoOf(() => new CLoadClient(server, 1, 32, 0))).toBe(EINVAL);
    expect(errnoOf(() => new CLoadClient(server, 0, 32, 8))).toBe(EINVAL);
    const client = new CLoadClient(server, 1, 64, 4);
    expect(errnoOf(() => client.closed(65, 4, 0, 10))).toBe(EINVAL);
    expect(errnoOf(() => client.closed(3, 4, 0, 10))).toBe(EINVAL);
    expect(errnoOf(() => client.closed(32, 0, 0, 10))).toBe(EINVAL);
    expect(errnoOf(() => client.closed(32, 5, 0, 10))).toBe(EINVAL);
    expect(errnoOf(() => client.open(32, 0, 0, 10))).toBe(EINVAL);
    expect(errnoOf(() => client.open(32, -5, 0, 10))).toBe(EINVAL);
    expect(errnoOf(() => lgDestroy(64))).toBe(EBADF);
    client.close();
    client.close();
    expect(() => client.closed(32, 4, 0, 10)).toThrow("closed");
  });

  test("connecting to a closed port is ECONNREFUSED, named lg_create", () => {
    const l = new net.Listener("127.0.0.1", 0);
    const port = l.port;
    l.close();
    try {
      new CLoadClient({ host: "127.0.0.1", port }, 4, 32, 8).close();
      throw new Error("connected to a closed port");
    } catch (e) {
      expect(e).toBeInstanceOf(SysError);
      expect((e as SysError).errno).toBe(ECONNREFUSED);
      expect((e as SysError).message).toContain("lg_create");
    }
  });
});
