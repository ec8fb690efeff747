// The epoll loop's step in one FFI crossing (Epoll.step, ep_step in
// c/epoll.c): the writes queued for a step go out before its wait, and every
// descriptor the wait reports readable is read into the range armed for it,
// once. Shown on real loopback sockets, then through the `epoll` server that
// is built on it: partial frames across steps, a bad frame closing only its
// own connection, and one crossing per ping-pong request (counted, not timed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { PingPongClient } from "../bench/clients/ping-pong.ts";
import { encodeFrame } from "../bench/protocol/frame.ts";
import type { ServerProcess } from "../bench/server/process.ts";
import { EAGAIN } from "../ffi/errno.ts";
import { Epoll, epollCrossings, EP_NOT_READ, EPOLLIN, EPOLLRDHUP, WRITE_QUEUE } from "../ffi/epoll.ts";
import { NativeBuffer } from "../ffi/memory.ts";
import * as net from "../ffi/net.ts";
import { FramedClient, startServer } from "./helpers.ts";

/** A connected pair on loopback: `client` blocking, `server` non-blocking (accepted). */
function pair(lfd: number, port: number): { client: number; server: number } {
  const client = net.connect("127.0.0.1", port);
  for (let i = 0; i < 1000; i++) {
    const server = net.acceptNonBlocking(lfd);
    if (server >= 0) return { client, server };
    Bun.sleepSync(1);
  }
  throw new Error("accept: no connection");
}

/** Writes all of bytes on a blocking socket. */
function send(fd: number, bytes: Uint8Array): void {
  const b = new NativeBuffer(bytes.length);
  b.bytes.set(bytes);
  expect(net.writeAllFrom(fd, b, 0, bytes.length)).toBe(bytes.length);
}

describe("Epoll.step on loopback sockets", () => {
  let lfd = -1, port = 0;
  const open: number[] = [];
  beforeAll(() => {
    lfd = net.listen("127.0.0.1", 0);
    port = net.boundPort(lfd);
  });
  afterAll(() => {
    for (const fd of open) net.close(fd);
    net.close(lfd);
  });
  const connected = () => {
    const p = pair(lfd, port);
    open.push(p.client, p.server);
    return p;
  };

  test("several connections ready in one step: each read into its own armed range, once, in one crossing", () => {
    using ep = new Epoll();
    const pairs = [connected(), connected(), connected()];
    const buf = new NativeBuffer(3 * 4096);
    pairs.forEach((p, k) => {
      ep.add(p.server, EPOLLIN | EPOLLRDHUP, p.server);
      // Each range starts past a few bytes the read must leave alone.
      ep.armRead(p.server, p.server, buf, k * 4096 + 7, 100);
      send(p.client, Uint8Array.from({ length: 10 + k }, (_, j) => 16 * k + j));
    });
    buf.bytes.fill(0xee, 0, 3 * 4096);
    const before = epollCrossings();
    const n = ep.step(5000);
    expect(epollCrossings()).toBe(before + 1);
    // Loopback delivers inside send(): all three are readable by the time the step waits.
    expect(n).toBe(3);
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) {
      const k = pairs.findIndex((p) => p.server === ep.tag(i));
      expect(k).toBeGreaterThanOrEqual(0);
      seen.add(k);
      expect(ep.mask(i) & EPOLLIN).toBe(EPOLLIN);
      expect(ep.readResult(i)).toBe(10 + k);
      expect(Array.from(buf.bytes.subarray(k * 4096 + 7, k * 4096 + 17 + k))).toEqual(Array.from({ length: 10 + k }, (_, j) => 16 * k + j));
      // Nothing outside the armed range was written.
      expect(buf.bytes[k * 4096 + 6]).toBe(0xee);
      expect(buf.bytes[k * 4096 + 17 + k]).toBe(0xee);
      // The arm is used up: a read is made once per arming, as a recv armed in io_uring completes once.
      expect(ep.armed(pairs[k].server)).toBe(0);
    }
    expect(seen.size).toBe(3);
  });

  test("a ready descriptor with nothing armed is reported, not read; the bytes wait for the next arming", () => {
    using ep = new Epoll();
    const p = connected();
    const buf = new NativeBuffer(4096);
    ep.add(p.server, EPOLLIN, p.server);
    send(p.client, Uint8Array.of(1, 2, 3, 4, 5));
    expect(ep.step(5000)).toBe(1);
    expect(ep.readResult(0)).toBe(EP_NOT_READ);
    // Level-triggered: still ready; armed in two parts, the bytes come in two steps.
    ep.armRead(p.server, p.server, buf, 0, 2);
    expect(ep.step(5000)).toBe(1);
    expect(ep.readResult(0)).toBe(2);
    ep.armRead(p.server, p.server, buf, 2, 100);
    expect(ep.step(5000)).toBe(1);
    expect(ep.readResult(0)).toBe(3);
    expect(Array.from(buf.bytes.subarray(0, 5))).toEqual([1, 2, 3, 4, 5]);
    // Disarmed before data comes: reported, not read.
    ep.armRead(p.server, p.server, buf, 0, 100);
    ep.disarm(p.server);
    send(p.client, Uint8Array.of(9));
    expect(ep.step(5000)).toBe(1);
    expect(ep.readResult(0)).toBe(EP_NOT_READ);
  });

  test("queued writes go out before the wait, each with its result; the peer's close is a read of 0", () => {
    using ep = new Epoll();
    const a = connected(), b = connected();
    const out = new NativeBuffer(4096);
    out.bytes.set([10, 20, 30, 40], 100);
    ep.add(a.server, EPOLLIN, a.server);
    ep.add(b.server, EPOLLIN, b.server);
    expect(ep.queueWrite(a.server, out, 100, 4)).toBe(0);
    expect(ep.queueWrite(b.server, out, 101, 2)).toBe(1);
    expect(ep.queuedWrites).toBe(2);
    expect(ep.step(0)).toBe(0);
    expect(ep.queuedWrites).toBe(0);
    expect(ep.writeResult(0)).toBe(4);
    expect(ep.writeResult(1)).toBe(2);
    const got = new NativeBuffer(4096);
    expect(net.readInto(a.client, got, 0, 100)).toBe(4);
    expect(Array.from(got.bytes.subarray(0, 4))).toEqual([10, 20, 30, 40]);
    expect(net.readInto(b.client, got, 0, 100)).toBe(2);
    expect(Array.from(got.bytes.subarray(0, 2))).toEqual([20, 30]);
    // The peer closes: the armed read returns 0.
    ep.armRead(a.server, a.server, got, 0, 100);
    net.close(a.client);
    open.splice(open.indexOf(a.client), 1);
    expect(ep.step(5000)).toBe(1);
    expect(ep.tag(0)).toBe(a.server);
    expect(ep.readResult(0)).toBe(0);
  });

  test("a write that does not go whole is reported short and the step does not block", () => {
    using ep = new Epoll();
    const p = connected();
    const big = new NativeBuffer(8 << 20);
    // Nobody reads the client side: the socket buffers fill up and a send comes back short, then -EAGAIN.
    let sent = 0;
    for (let i = 0; i < 64; i++) {
      ep.queueWrite(p.server, big, 0, big.size);
      // timeout -1 would wait for ever: a step that blocked here would hang the test.
      expect(ep.step(-1)).toBe(0);
      const r = ep.writeResult(0);
      if (r < 0) {
        expect(r).toBe(-EAGAIN);
        break;
      }
      expect(r).toBeLessThan(big.size);
      sent += r;
    }
    expect(sent).toBeGreaterThan(0);
    expect(ep.writeResult(0)).toBe(-EAGAIN);
  });

  test("misuse is refused before C sees it", () => {
    using ep = new Epoll();
    const b = new NativeBuffer(4096);
    expect(() => ep.queueWrite(0, b, 4000, 200)).toThrow(/^queueWrite:/);
    expect(() => ep.armRead(3, 3, b, 4090, 10)).toThrow(/^armRead:/);
    expect(() => ep.armRead(-1, 3, b, 0, 10)).toThrow(/tag/);
    expect(() => ep.step(0, 0)).toThrow(RangeError);
    for (let i = 0; i < WRITE_QUEUE; i++) ep.queueWrite(-1, b, 0, 1);
    expect(() => ep.queueWrite(-1, b, 0, 1)).toThrow(/already queued/);
    // Writes to a bad descriptor are results, not a failed step.
    expect(ep.step(0)).toBe(0);
    expect(ep.writeResult(WRITE_QUEUE - 1)).toBe(-9);
  });
});

describe("the epoll server over Epoll.step", () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await startServer("epoll", { maxFrame: 1000 });
  });
  afterAll(async () => {
    const r = await server?.stop();
    expect(r?.exitCode).toBe(0);
  });

  test("a frame in three pieces across steps is answered once, whole", async () => {
    const c = await FramedClient.connect(server.port);
    try {
      const payload = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 255);
      const frame = encodeFrame(payload);
      c.writeRaw(frame.subarray(0, 2));
      await Bun.sleep(30);
      c.writeRaw(frame.subarray(2, 150));
      await Bun.sleep(30);
      expect(c.received.length).toBe(0);
      c.writeRaw(frame.subarray(150));
      const [answer] = await c.waitFor(1);
      expect(Array.from(answer)).toEqual(Array.from(payload));
    } finally {
      c.close();
    }
  });

  test("a bad frame closes its own connection only; the others keep being answered", async () => {
    const before = (await server.stats())!;
    const clients = await Promise.all([0, 1, 2].map(() => FramedClient.connect(server.port)));
    try {
      for (const c of clients) c.send(Uint8Array.of(1, 2, 3));
      for (const c of clients) await c.waitFor(1);
      // A length prefix above --max-frame (1000).
      clients[1].writeRaw(Uint8Array.of(0, 0, 0x10, 0, 1, 2, 3));
      expect(await clients[1].waitClosed()).toBe(true);
      for (const c of [clients[0], clients[2]]) {
        c.send(Uint8Array.of(4, 5));
        const got = await c.waitFor(2);
        expect(Array.from(got[1])).toEqual([4, 5]);
        expect(c.closed).toBe(false);
      }
      const after = (await server.stats())!;
      expect(after.oversize - before.oversize).toBe(1);
    } finally {
      for (const c of clients) c.close();
    }
  });

  test("one FFI crossing per ping-pong request", async () => {
    const PING_PONGS = 2000;
    using client = new PingPongClient("127.0.0.1", server.port, 100);
    client.setPayload(100);
    for (let i = 0; i < 100; i++) expect(client.roundTrip(i)).toBeGreaterThanOrEqual(0);
    const first = (await server.stats())!;
    expect(typeof first.ffiCrossings).toBe("number");
    for (let i = 0; i < PING_PONGS; i++) expect(client.roundTrip(1000 + i)).toBeGreaterThanOrEqual(0);
    const last = (await server.stats())!;
    const perRequest = (last.ffiCrossings - first.ffiCrossings) / PING_PONGS;
    console.log(`epoll: ${perRequest.toFixed(3)} crossings per request`);
    // The readiness loop before ep_step made 3: epoll_wait, read and write, each its own call.
    expect(perRequest).toBeGreaterThan(0.5);
    expect(perRequest).toBeLessThanOrEqual(1.2);
    expect(last.frames - first.frames).toBe(PING_PONGS);
  });
});
