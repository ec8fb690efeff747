// ffi/ wrappers check the buffer range of every pointer-taking call before C
// sees it: a RangeError naming the call, never a write outside the buffer.
import { expect, test } from "bun:test";
import { NativeBuffer } from "../ffi/memory.ts";
import * as net from "../ffi/net.ts";
import { Ring } from "../ffi/uring.ts";
import { URING_SKIP_REASON } from "./helpers.ts";

test("readInto/writeFrom/writeAllFrom: a range outside the buffer throws a RangeError naming the call", () => {
  using l = new net.Listener("127.0.0.1", 0);
  using s = net.TcpSocket.connect("127.0.0.1", l.port);
  const b = new NativeBuffer(4096);
  expect(() => net.readInto(s.fd, b, 4000, 200)).toThrow(/^readInto: range \[4000, 4000 \+ 200\) is outside the 4096-byte buffer/);
  expect(() => net.readInto(s.fd, b, -1, 10)).toThrow(RangeError);
  expect(() => net.readInto(s.fd, b, 0.5, 10)).toThrow(RangeError);
  expect(() => net.writeFrom(s.fd, b, 0, 4097)).toThrow(/^writeFrom:/);
  expect(() => net.writeAllFrom(s.fd, b, 10, -1)).toThrow(/^writeAllFrom:/);
  expect(() => net.pingPongInC(s.fd, b, 100, b, 1000, b)).toThrow(/^pingPongInC outNs:/);
  // In range: an ordinary call.
  expect(net.writeFrom(s.fd, b, 4000, 96)).toBe(96);
});

test.skipIf(URING_SKIP_REASON !== "")("Ring.prepRecv/prepSend: a range outside the buffer throws before an SQE is queued", () => {
  using ring = new Ring(8);
  const b = new NativeBuffer(4096);
  expect(() => ring.prepRecv(0, b, 4096, 1, 1)).toThrow(/^prepRecv:/);
  expect(() => ring.prepSend(0, b, 0, 5000, 1)).toThrow(/^prepSend:/);
  expect(() => ring.run(0, 0, 5000)).toThrow(/^io_uring reap:/);
});
