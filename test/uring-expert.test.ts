// io_uring as an expert runs it, checked on real sockets and a real ring:
// every uring loop still echoes byte for byte (0 B to 1 MiB, one and many
// connections); the rings report the set-up they asked for or a documented
// fallback; and in steady ping-pong the `uring` and `c-uring` loops make about
// one system call per request (counted with perf, skipped when perf cannot).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PingPongClient } from "../bench/clients/ping-pong.ts";
import { PerfMeter, perfAvailable } from "../bench/measure/accounting.ts";
import { BACKENDS } from "../bench/server/backends.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import {
  IORING_SETUP_COOP_TASKRUN,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SQPOLL,
  IORING_SETUP_TASKRUN_FLAG,
  probeSetupFlags,
  Ring,
  setupFlagNames,
} from "../ffi/uring.ts";
import { FramedClient, payload, sameBytes, startServer, URING, URING_SKIP_REASON } from "./helpers.ts";

const SIZES = [0, 1, 10, 100, 1000, 4096, 16 * 1024, 65536, 256 * 1024, 1 << 20];
const CONNECTIONS = 64;
const PING_PONGS = 600;

const LOOPS = ["uring", "uring-sqpoll", "uring-defer", "uring-multishot", "c-uring"];

/** The set-up a ring without exact flags should end with here: proxy.c's, or its documented fallback. */
function expectedTuned(): { flags: number; fallbackErrno: number } {
  if (probeSetupFlags(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN) === 0) return { flags: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, fallbackErrno: 0 };
  if (probeSetupFlags(IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG) === 0) return { flags: IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, fallbackErrno: 22 };
  return { flags: 0, fallbackErrno: 22 };
}

/** What each backend's `stats` line must say about its ring. */
const EXPECTED_FLAGS: Record<string, () => number> = {
  uring: () => expectedTuned().flags,
  "c-uring": () => expectedTuned().flags,
  "uring-sqpoll": () => IORING_SETUP_SQPOLL,
  "uring-defer": () => IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
  "uring-multishot": () => 0,
};

describe.skipIf(!URING.available)(`ring set-up${URING_SKIP_REASON ? ` (skipped: ${URING_SKIP_REASON})` : ""}`, () => {
  test("a ring without exact flags takes proxy.c's set-up or its fallback, and says which", () => {
    using ring = new Ring(8);
    const want = expectedTuned();
    expect(setupFlagNames(ring.setup.setupFlags)).toBe(setupFlagNames(want.flags));
    expect(ring.setup.setupFallbackErrno).toBe(want.fallbackErrno);
    // Registered (5.18+), or the errno of the refusal: never 0.
    expect(ring.setup.ringFdRegistered === 1 || ring.setup.ringFdRegistered < 0).toBe(true);
  });

  test("exact flags are taken as asked, or refused with the errno", () => {
    using plain = new Ring(8, { flags: 0 });
    expect(plain.setup.setupFlags).toBe(0);
    expect(plain.setup.setupFallbackErrno).toBe(0);
    const defer = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    if (probeSetupFlags(defer) === 0) {
      using r = new Ring(8, { flags: defer });
      expect(r.setup.setupFlags).toBe(defer);
    }
  });

  test("a ring with provided buffers is destroyed after a drain, and can be made again", () => {
    for (let i = 0; i < 3; i++) {
      const r = new Ring(8);
      r.setupBuffers(4, 4096);
      r.close();
    }
  });
});

for (const name of LOOPS) {
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
      const sent = SIZES.map((n, i) => payload(n, 100 + i));
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
      const sent = clients.map((_, k) => SIZES.map((n, i) => payload(n, k * 37 + i)));
      clients.forEach((c, k) => sent[k].forEach((p) => c.send(p)));
      const got = await Promise.all(clients.map((c) => c.waitFor(SIZES.length, 30000)));
      got.forEach((answers, k) => {
        expect(answers.length).toBe(SIZES.length);
        answers.forEach((a, i) => expect(sameBytes(a, sent[k][i])).toBe(true));
      });
      for (const c of clients) c.close();
    }, 60000);

    test("its stats line reports the ring set-up", async () => {
      const st = (await server.stats()) as unknown as Record<string, number | string> | null;
      expect(st).not.toBeNull();
      expect(st!.ringFlags).toBe(setupFlagNames(EXPECTED_FLAGS[name]()));
      expect(st!.ringSetupFlags).toBe(EXPECTED_FLAGS[name]());
      const reg = st!.ringFdRegistered as number;
      expect(reg === 1 || reg < 0).toBe(true);
    });
  });
}

// A count, not a timing: perf counts the server's system calls around a few hundred ping-pongs.
const perf = URING.available ? perfAvailable() : { ok: false, reason: URING_SKIP_REASON };
for (const name of ["uring", "c-uring"]) {
  const avail = BACKENDS[name].availability();
  const skip = !avail.available ? avail.reason : !perf.ok ? perf.reason : undefined;
  test.skipIf(skip !== undefined)(`${name}: about one system call per ping-pong request${skip ? ` (skipped: ${skip})` : ""}`, async () => {
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
      expect(meter.syscallsPerRequest!).toBeLessThanOrEqual(1.2);
      // At least one: a loop that is not entering the kernel is not serving these requests.
      expect(meter.syscallsPerRequest!).toBeGreaterThanOrEqual(0.9);
    } finally {
      await server.stop();
    }
  }, 30000);
}
