// The TypeScript io_uring loop at C speed: each loop step crosses bun:ffi once.
// The operations a step queues (recvs, sends, accept re-arms, buffer recycles,
// cancels) are records in the ring's op queue, and one ur_step call prepares,
// submits, waits and reaps. Counted, not timed: ffi/uring.ts counts every call
// into the shim, and a server's `stats` line carries the count (ffiCrossings).
import { describe, expect, test } from "bun:test";
import { PingPongClient } from "../bench/clients/ping-pong.ts";
import { BACKENDS } from "../bench/server/backends.ts";
import { NativeBuffer } from "../ffi/memory.ts";
import * as net from "../ffi/net.ts";
import { OP_QUEUE, Ring, uringCrossings } from "../ffi/uring.ts";
import { startServer, URING, URING_SKIP_REASON } from "./helpers.ts";

const PING_PONGS = 2000;

describe.skipIf(!URING.available)(`Ring.step${URING_SKIP_REASON ? ` (skipped: ${URING_SKIP_REASON})` : ""}`, () => {
  test("queued operations are prepared, submitted, waited for and reaped in one crossing", () => {
    using ring = new Ring(64);
    const before = uringCrossings();
    for (let i = 0; i < 10; i++) ring.queueNop(1000 + i);
    expect(ring.queued).toBe(10);
    expect(uringCrossings()).toBe(before);
    expect(ring.step(10, 1000)).toBe(10);
    expect(uringCrossings()).toBe(before + 1);
    expect(ring.queued).toBe(0);
    const tags = Array.from({ length: 10 }, (_, i) => ring.tagLo(i)).sort((a, b) => a - b);
    expect(tags).toEqual(Array.from({ length: 10 }, (_, i) => 1000 + i));
    for (let i = 0; i < 10; i++) expect(ring.res(i)).toBe(0);
  });

  test("a tag above 2^32 survives the record", () => {
    using ring = new Ring(8);
    ring.queueNop(5 * 2 ** 32 + 7);
    expect(ring.step(1, 1000)).toBe(1);
    expect(ring.tagLo(0)).toBe(7);
    expect(ring.tagHi(0)).toBe(5);
  });

  test("a full op queue is prepared into SQEs at once (one more crossing), and nothing is lost", () => {
    using ring = new Ring(4096);
    const n = OP_QUEUE + 10;
    const before = uringCrossings();
    for (let i = 0; i < n; i++) ring.queueNop(i);
    expect(uringCrossings()).toBe(before + 1);
    let got = 0;
    while (got < n) {
      const k = ring.step(1, 1000);
      expect(k).toBeGreaterThan(0);
      got += k;
    }
    expect(got).toBe(n);
  });

  test("a wait that times out is not an error", () => {
    using ring = new Ring(8);
    expect(ring.step(1, 5)).toBe(0);
  });

  test("ranges and buffer ids are checked when queued, before C sees them", () => {
    using ring = new Ring(8);
    const b = new NativeBuffer(4096);
    expect(() => ring.queueRecv(0, b, 4096, 1, 1)).toThrow(/^queueRecv:/);
    expect(() => ring.queueSend(0, b, 0, 5000, 1)).toThrow(/^queueSend:/);
    expect(() => ring.queueRecycle(0)).toThrow(/^queueRecycle:/);
    expect(() => ring.queueRecvMultishot(0, 1)).toThrow(/setupBuffers/);
    expect(ring.queued).toBe(0);
  });

  test("a send and a recv through the queue move the bytes", () => {
    using ring = new Ring(8);
    const lfd = net.listen("127.0.0.1", 0);
    const a = net.connect("127.0.0.1", net.boundPort(lfd));
    let z = -1;
    for (let i = 0; i < 1000 && z < 0; i++) {
      z = net.acceptNonBlocking(lfd);
      if (z < 0) Bun.sleepSync(1);
    }
    expect(z).toBeGreaterThanOrEqual(0);
    try {
      const out = new NativeBuffer(4096);
      const inb = new NativeBuffer(4096);
      out.bytes.set([1, 2, 3, 4, 5], 100);
      ring.queueRecv(z, inb, 10, 100, 2);
      ring.queueSend(a, out, 100, 5, 1);
      let seen = 0;
      const res: Record<number, number> = {};
      while (seen < 2) {
        const k = ring.step(1, 1000);
        expect(k).toBeGreaterThan(0);
        for (let i = 0; i < k; i++) res[ring.tagLo(i)] = ring.res(i);
        seen += k;
      }
      expect(res).toEqual({ 1: 5, 2: 5 });
      expect(Array.from(inb.bytes.subarray(10, 15))).toEqual([1, 2, 3, 4, 5]);
    } finally {
      net.close(a);
      net.close(z);
      net.close(lfd);
    }
  });
});

// A steady ping-pong against a real server: crossings per request from its stats line.
for (const [name, most] of [
  ["uring", 1.2],
  ["uring-defer", 1.2],
  ["uring-sqpoll", 1.2],
  ["uring-multishot", 1.2],
  ["uring-1enter", 1.2],
  // The naive loop makes two steps per request by design (its inline send satisfies the wait).
  ["uring-basic", 2.2],
] as const) {
  const avail = BACKENDS[name].availability();
  test.skipIf(!avail.available)(`${name}: at most ${most} FFI crossings per ping-pong request${avail.available ? "" : ` (skipped: ${avail.reason})`}`, async () => {
    const server = await startServer(name);
    try {
      using client = new PingPongClient("127.0.0.1", server.port, 100);
      client.setPayload(100);
      for (let i = 0; i < 100; i++) expect(client.roundTrip(i)).toBeGreaterThanOrEqual(0);
      const first = (await server.stats()) as Record<string, number> | null;
      expect(first).not.toBeNull();
      expect(typeof first!.ffiCrossings).toBe("number");
      for (let i = 0; i < PING_PONGS; i++) expect(client.roundTrip(1000 + i)).toBeGreaterThanOrEqual(0);
      const last = (await server.stats()) as Record<string, number> | null;
      const perRequest = (last!.ffiCrossings - first!.ffiCrossings) / PING_PONGS;
      console.log(`${name}: ${perRequest.toFixed(3)} crossings per request`);
      expect(perRequest).toBeGreaterThan(0.5);
      expect(perRequest).toBeLessThanOrEqual(most);
      expect(last!.frames - first!.frames).toBe(PING_PONGS);
    } finally {
      const r = await server.stop();
      expect(r.exitCode).toBe(0);
    }
  }, 30000);
}
