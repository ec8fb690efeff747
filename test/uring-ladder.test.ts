// The ladder's own backends (bench/verdict/ladder.ts): each echoes byte for
// byte (0 B to 1 MiB, one connection and many), says in its stats line that
// its ring is set up as its step asks (flags, ring fd not registered before
// the `uring` step), and makes the system calls its step is about: the naive
// loop 2 per ping-pong request, one enter per request 1 (counted with perf,
// skipped when perf cannot count).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PerfMeter, perfAvailable } from "../bench/measure/accounting.ts";
import { PingPongClient } from "../bench/clients/ping-pong.ts";
import { BACKENDS } from "../bench/server/backends.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { IORING_SETUP_COOP_TASKRUN, IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_SINGLE_ISSUER, IORING_SETUP_SQPOLL, IORING_SETUP_TASKRUN_FLAG, probeSetupFlags, Ring, setupFlagNames } from "../ffi/uring.ts";
import { FramedClient, payload, sameBytes, startServer, URING, URING_SKIP_REASON } from "./helpers.ts";

const SIZES = [0, 1, 10, 100, 1000, 65536, 1 << 20];
const CONNECTIONS = 64;
const PING_PONGS = 600;

function tunedFlags(): number {
  if (probeSetupFlags(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) === 0) return IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
  if (probeSetupFlags(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG) === 0) return IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
  return 0;
}

/** Each new step: its ring flags, and whether its ring fd is registered. */
const STEPS: Record<string, { flags: () => number; registered: boolean }> = {
  "uring-basic": { flags: () => 0, registered: false },
  "uring-1enter": { flags: () => 0, registered: false },
  "uring-taskrun": { flags: tunedFlags, registered: false },
};

describe.skipIf(!URING.available)(`a ring without a registered fd${URING_SKIP_REASON ? ` (skipped: ${URING_SKIP_REASON})` : ""}`, () => {
  test("gives its registration back (io_uring_unregister_ring_fd), and the rings after it register as before", () => {
    {
      using plain = new Ring(8, { flags: 0, registerRingFd: false });
      expect(plain.setup.ringFdRegistered).toBe(0);
      using tuned = new Ring(8, { registerRingFd: false });
      expect(tuned.setup.ringFdRegistered).toBe(0);
      expect(tuned.setup.setupFlags).toBe(tunedFlags());
    }
    using after = new Ring(8);
    expect(after.setup.ringFdRegistered).toBe(1);
  });
});

for (const [name, want] of Object.entries(STEPS)) {
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
      const sent = SIZES.map((n, i) => payload(n, 300 + i));
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
      const sent = clients.map((_, k) => SIZES.map((n, i) => payload(n, k * 41 + i)));
      clients.forEach((c, k) => sent[k].forEach((p) => c.send(p)));
      const got = await Promise.all(clients.map((c) => c.waitFor(SIZES.length, 30000)));
      got.forEach((answers, k) => {
        expect(answers.length).toBe(SIZES.length);
        answers.forEach((a, i) => expect(sameBytes(a, sent[k][i])).toBe(true));
      });
      for (const c of clients) c.close();
    }, 60000);

    test("its stats line reports the ring set-up its step asks for", async () => {
      const st = (await server.stats()) as unknown as Record<string, number | string> | null;
      expect(st).not.toBeNull();
      expect(st!.ringFlags).toBe(setupFlagNames(want.flags()));
      const reg = st!.ringFdRegistered as number;
      if (want.registered) expect(reg === 1 || reg < 0).toBe(true);
      else expect(reg).toBe(0);
    });
  });
}

// A count, not a timing: perf counts the server's system calls around a few hundred ping-pongs.
const perf = URING.available ? perfAvailable() : { ok: false, reason: URING_SKIP_REASON };
for (const [name, lo, hi, what] of [
  // Up to two: the inline send satisfies the wait, so a second enter waits for the next request, unless
  // that request was already in (on this VM 1.5-2.0 depending on how fast the client answers).
  ["uring-basic", 1.3, 2.2, "more than one system call per ping-pong request, up to two (the inline send satisfies the wait)"],
  ["uring-1enter", 0.9, 1.2, "about one system call per ping-pong request"],
] as const) {
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
