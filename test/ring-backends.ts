// What the io_uring test files check of every ring backend, written once:
// the echo byte for byte on one connection (one by one, then pipelined) and
// on many at once, the stats line's ring set-up, and the system calls a
// steady ping-pong costs (a count from perf, not a timing).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PingPongClient } from "../bench/clients/ping-pong.ts";
import { PerfMeter, perfAvailable } from "../bench/measure/accounting.ts";
import { BACKENDS } from "../bench/server/backends.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { FramedClient, payload, sameBytes, startServer, URING, URING_SKIP_REASON } from "./helpers.ts";

const CONNECTIONS = 64;
// Enough that the idle wake-ups inside the counting window (perf attaching and detaching) stay a small share per request on a busy machine.
const PING_PONGS = 2000;

export type RingStats = Record<string, number | string>;

/**
 * A describe block per backend: echoes of `sizes` (payloads seeded from
 * `seed`), and `checkStats` on its stats line. Skipped with the reason when
 * the backend cannot run here.
 */
export function ringBackendSuite(name: string, sizes: number[], seed: number, statsTitle: string, checkStats: (st: RingStats) => void): void {
  const avail = BACKENDS[name].availability();
  describe.skipIf(!avail.available)(`${name}${avail.available ? "" : ` (skipped: ${avail.reason})`}`, () => {
    let server: ServerProcess;
    beforeAll(async () => {
      server = await startServer(name);
    });
    afterAll(async () => {
      if (!server) return;
      const r = await server.stop();
      expect(r.killed).toBe(false);
      expect(r.exitCode).toBe(0);
    });

    test("one connection: 0 B to 1 MiB, byte for byte, one by one and pipelined", async () => {
      const c = await FramedClient.connect(server.port);
      const sent = sizes.map((n, i) => payload(n, seed + i));
      for (const [i, p] of sent.entries()) {
        c.send(p);
        const got = await c.waitFor(i + 1);
        expect(sameBytes(got[i], p)).toBe(true);
      }
      for (const p of sent) c.send(p);
      const got = await c.waitFor(2 * sent.length);
      sent.forEach((p, i) => expect(sameBytes(got[sent.length + i], p)).toBe(true));
      c.close();
    }, 30000);

    test(`${CONNECTIONS} connections at once, every size on each`, async () => {
      const clients = await Promise.all(Array.from({ length: CONNECTIONS }, () => FramedClient.connect(server.port)));
      const sent = clients.map((_, k) => sizes.map((n, i) => payload(n, seed + k * 37 + i)));
      clients.forEach((c, k) => sent[k].forEach((p) => c.send(p)));
      const got = await Promise.all(clients.map((c) => c.waitFor(sizes.length, 30000)));
      got.forEach((answers, k) => {
        expect(answers.length).toBe(sizes.length);
        answers.forEach((a, i) => expect(sameBytes(a, sent[k][i])).toBe(true));
      });
      for (const c of clients) c.close();
    }, 60000);

    test(statsTitle, async () => {
      const st = (await server.stats()) as unknown as RingStats | null;
      expect(st).not.toBeNull();
      checkStats(st!);
    });
  });
}

const perf = URING.available ? perfAvailable() : { ok: false, reason: URING_SKIP_REASON };

/**
 * A test that a backend's server makes between `lo` and `hi` system calls per
 * request over a few hundred steady ping-pongs, counted with perf around
 * exactly them; skipped with the reason when perf cannot count.
 */
export function syscallsPerRequestTest(name: string, lo: number, hi: number, what: string): void {
  const avail = BACKENDS[name].availability();
  const skip = !avail.available ? avail.reason : !perf.ok ? perf.reason : undefined;
  test.skipIf(skip !== undefined)(`${name}: ${what}${skip ? ` (skipped: ${skip})` : ""}`, async () => {
    const server = await startServer(name);
    try {
      using client = new PingPongClient("127.0.0.1", server.port, 100);
      client.setPayload(100);
      for (let i = 0; i < 100; i++) expect(client.roundTrip(i)).toBeGreaterThanOrEqual(0);
      const meter = new PerfMeter(server.pid);
      await meter.begin();
      for (let i = 0; i < PING_PONGS; i++) expect(client.roundTrip(1000 + i)).toBeGreaterThanOrEqual(0);
      await meter.end(PING_PONGS);
      expect(meter.note).toBeUndefined();
      expect(meter.syscallsPerRequest).not.toBeNull();
      expect(meter.syscallsPerRequest!).toBeGreaterThanOrEqual(lo);
      expect(meter.syscallsPerRequest!).toBeLessThanOrEqual(hi);
    } finally {
      await server.stop();
    }
  }, 30000);
}
