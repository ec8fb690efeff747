// The bindings turn -errno into errors that name the call and the errno.
import { describe, expect, test } from "bun:test";
import { Epoll } from "../ffi/epoll.ts";
import { errnoName, SysError } from "../ffi/errno.ts";
import * as net from "../ffi/net.ts";
import { IORING_SETUP_DEFER_TASKRUN, probeOp, probeSetupFlags, Op, Ring } from "../ffi/uring.ts";
import { URING_SKIP_REASON } from "./helpers.ts";

describe("errno mapping", () => {
  test("names and messages", () => {
    expect(errnoName(1)).toBe("EPERM");
    expect(new SysError("io_uring_queue_init", 1).message).toBe("io_uring_queue_init: EPERM (Operation not permitted)");
    expect(errnoName(9999)).toBe("errno 9999");
  });
});

describe.skipIf(URING_SKIP_REASON !== "")("Ring", () => {
  test("an invalid size is EINVAL, named by the call", () => {
    let err: unknown;
    try {
      new Ring(0);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(SysError);
    expect((err as SysError).code).toBe("EINVAL");
    expect((err as SysError).message).toStartWith("io_uring_queue_init: EINVAL (Invalid argument)");
  });

  test("a nop goes round the ring with its tag", () => {
    using ring = new Ring(8);
    expect(ring.prepNop(0xabcdef)).toBe(0);
    expect(ring.run(1, 1000)).toBe(1);
    expect(ring.tagLo(0)).toBe(0xabcdef);
    expect(ring.res(0)).toBe(0);
  });

  test("many completions are reaped in one call", () => {
    using ring = new Ring(256);
    for (let i = 0; i < 200; i++) expect(ring.prepNop(i)).toBe(0);
    expect(ring.run(200, 1000)).toBe(200);
    const tags = new Set<number>();
    for (let i = 0; i < 200; i++) tags.add(ring.tagLo(i));
    expect(tags.size).toBe(200);
  });

  test("probing: the opcodes the loops use, and DEFER_TASKRUN without SINGLE_ISSUER is refused", () => {
    for (const op of [Op.NOP, Op.ACCEPT, Op.RECV, Op.SEND, Op.CLOSE]) expect(probeOp(op)).toBe(true);
    expect(probeSetupFlags(0)).toBe(0);
    expect(probeSetupFlags(IORING_SETUP_DEFER_TASKRUN)).toBe(22);
  });
});

describe("sockets", () => {
  test("connect to a closed port is ECONNREFUSED", () => {
    using l = new net.Listener("127.0.0.1", 0);
    const port = l.port;
    l.close();
    expect(() => net.connect("127.0.0.1", port)).toThrow(/^connect 127\.0\.0\.1:\d+: ECONNREFUSED/);
  });

  test("a port in use is EADDRINUSE", () => {
    using l = new net.Listener("127.0.0.1", 0);
    // SO_REUSEADDR does not allow two listeners on one port.
    expect(() => net.listen("127.0.0.1", l.port)).toThrow(/EADDRINUSE/);
  });

  test("a bad address is EINVAL", () => {
    expect(() => net.listen("not an address", 0)).toThrow(/EINVAL/);
    expect(() => net.listen("127.0.0.1", 70000)).toThrow(/EINVAL/);
  });

  test("connected sockets have TCP_NODELAY, and the clock moves", () => {
    using l = new net.Listener("127.0.0.1", 0);
    using s = net.TcpSocket.connect("127.0.0.1", l.port);
    expect(net.getNoDelay(s.fd)).toBe(true);
    let a = -1;
    for (let i = 0; i < 100 && a < 0; i++) a = net.acceptNonBlocking(l.fd);
    expect(a).toBeGreaterThan(0);
    expect(net.getNoDelay(a)).toBe(true);
    net.close(a);
    const t0 = net.monotonicNs();
    expect(net.monotonicNs()).toBeGreaterThanOrEqual(t0);
  });

  test("pinning to a CPU that does not exist is an error", () => {
    expect(() => net.pinThisThread(100000)).toThrow(/sched_setaffinity cpu 100000: EINVAL/);
  });

  test("epoll reports a readable socket", () => {
    using l = new net.Listener("127.0.0.1", 0);
    using ep = new Epoll();
    ep.add(l.fd, 0x001, 4242);
    expect(ep.wait(0)).toBe(0);
    using s = net.TcpSocket.connect("127.0.0.1", l.port);
    expect(s.fd).toBeGreaterThan(0);
    expect(ep.wait(1000)).toBe(1);
    expect(ep.tag(0)).toBe(4242);
  });
});
