// The micro-benchmarks themselves: each one declared with what it needs
// (sockets, a ring, buffers, made before and never inside the timed call)
// and the check of its answers. index.ts runs them with mitata.
import { do_not_optimize } from "mitata";
import { makeOrderPayload } from "../clients/order.ts";
import { MatchingEngine, parseOrder, serializeResult, type NewOrder, type OrderResult } from "../protocol/orderbook.ts";
import type { MicroId } from "../results/schema.ts";
import { fmtErr } from "./format.ts";

/** Bytes per message in the socket benchmarks. */
export const MSG = 100;
/** Operations per timed call where untimed work is needed between calls (read, write). */
export const SOCKET_OPS = 500;
/** getppid calls per timed call in the C loop. */
export const SYSCALL_LOOP = 1000;

/** A benchmark before it runs: what mitata gets, and how to check it afterwards. */
export interface Spec {
  id: MicroId;
  group: string;
  name: string;
  note: string;
  ops: number;
  fn: () => unknown;
  /** null when every result was right; otherwise what went wrong. */
  check: () => string | null;
  /** What check() verifies, shown when it passes. */
  verified: string | (() => string);
  skip?: string;
}

type Net = typeof import("../../ffi/net.ts");

/** A connected loopback TCP pair: `client` blocking (2 s timeouts), `server` non-blocking, both TCP_NODELAY. */
interface TcpPair {
  client: number;
  server: number;
}

function tcpPair(net: Net): TcpPair {
  const l = new net.Listener("127.0.0.1", 0, 16);
  try {
    const client = net.connect("127.0.0.1", l.port);
    let server = -1;
    for (let i = 0; i < 200 && server < 0; i++) {
      server = net.acceptNonBlocking(l.fd);
      if (server < 0) Bun.sleepSync(1);
    }
    if (server < 0) {
      net.close(client);
      throw new Error(`micro: accept on 127.0.0.1:${l.port} failed (${server})`);
    }
    net.setRecvTimeout(client, 2000);
    net.setSendTimeout(client, 2000);
    return { client, server };
  } finally {
    l.close();
  }
}

export function isGeneratorFunction(f: unknown): boolean {
  return Object.prototype.toString.call(f) === "[object GeneratorFunction]";
}

/** Builds every benchmark with its resources, pushing onto `cleanups` what releases them. */
export async function buildSpecs(cleanups: (() => void)[]): Promise<Spec[]> {
  const net = await import("../../ffi/net.ts");
  const { NativeBuffer } = await import("../../ffi/memory.ts");
  const { Epoll, EPOLLIN } = await import("../../ffi/epoll.ts");
  const uring = await import("../../ffi/uring.ts");
  const micro = await import("../../ffi/micro.ts");
  const { writeFrom, readInto } = net;
  const specs: Spec[] = [];
  const pair = (): TcpPair => {
    const p = tcpPair(net);
    cleanups.push(() => {
      net.close(p.client);
      net.close(p.server);
    });
    return p;
  };

  // --- bun:ffi call overhead --------------------------------------------------
  {
    const G = "bun:ffi call overhead";
    const empty = () => {};
    specs.push({
      id: "js_empty", group: G, name: "empty JS function (reference)", ops: 1, fn: empty,
      note: "a call to () => {}: mitata's floor on this machine",
      check: () => null, verified: "nothing to check",
    });
    const noop = net.ffiNoopFn();
    let x = 0;
    let bad = 0;
    specs.push({
      id: "ffi_noop", group: G, name: "ffiNoop(x): x+1 in C via bun:ffi", ops: 1,
      fn: () => {
        const r = noop(x);
        if (r !== x + 1) bad++;
        x = r & 0xffff;
      },
      note: "one bun:ffi crossing (i32 -> i32), no system call",
      check: () => (bad === 0 ? null : `${bad} calls did not return x+1`),
      verified: "every call returned x+1",
    });
  }

  // --- the bare system call -------------------------------------------------
  {
    const G = "system call cost";
    const getppid = micro.getppidFn();
    const ppid = getppid();
    let bad = 0;
    specs.push({
      id: "getppid_ffi", group: G, name: "getppid() via bun:ffi", ops: 1,
      fn: () => {
        if (getppid() !== ppid) bad++;
      },
      note: "one raw getppid system call plus one bun:ffi crossing",
      check: () =>
        ppid !== process.ppid ? `getppid returned ${ppid}, process.ppid is ${process.ppid}` : bad === 0 ? null : `${bad} calls returned another pid`,
      verified: `every call returned the parent pid ${ppid}`,
    });
    const loop = micro.syscallLoop();
    const expected = SYSCALL_LOOP * ppid;
    let badLoop = 0;
    specs.push({
      id: "getppid_c", group: G, name: `getppid() x${SYSCALL_LOOP} in a C loop`, ops: SYSCALL_LOOP,
      fn: () => {
        if (loop(SYSCALL_LOOP) !== expected) badLoop++;
      },
      note: `${SYSCALL_LOOP} raw getppid system calls per bun:ffi call, time divided by ${SYSCALL_LOOP}: the system call alone`,
      check: () => (badLoop === 0 ? null : `${badLoop} loops did not sum to ${SYSCALL_LOOP} x ppid`),
      verified: `every loop summed to ${SYSCALL_LOOP} x ppid`,
    });
  }

  // --- epoll_wait -------------------------------------------------------------
  {
    const G = "epoll";
    const p = pair();
    const ep = new Epoll();
    cleanups.push(() => ep.close());
    ep.add(p.server, EPOLLIN, p.server);
    const msg = new NativeBuffer(MSG);
    if (net.writeAllFrom(p.client, msg, 0, MSG) !== MSG) throw new Error("micro: could not write the epoll benchmark's unread bytes");
    let bad = 0;
    specs.push({
      id: "epoll_wait", group: G, name: "epoll_wait(timeout 0), 1 ready socket", ops: 1,
      fn: () => {
        if (ep.wait(0) !== 1 || ep.tag(0) !== p.server || (ep.mask(0) & EPOLLIN) === 0) bad++;
      },
      note: "level-triggered epoll with one connected socket holding 100 unread bytes; returns at once with 1 event",
      check: () => {
        if (bad > 0) return `${bad} calls did not return exactly 1 EPOLLIN event for the socket`;
        const left = micro.unreadBytes(p.server);
        return left === MSG ? null : `the socket holds ${left} unread bytes, expected ${MSG}`;
      },
      verified: "every call returned 1 EPOLLIN event tagged with the socket",
    });
  }

  // --- TCP loopback, 100-byte messages ---------------------------------------
  {
    const G = `TCP loopback, ${MSG}-byte messages`;
    // write + read: the client writes, the (non-blocking) server reads it back at once.
    {
      const p = pair();
      const out = new NativeBuffer(MSG);
      const inb = new NativeBuffer(MSG);
      let seq = 0;
      let bad = 0;
      let retries = 0;
      specs.push({
        id: "write_read", group: G, name: `write ${MSG} B + read ${MSG} B`, ops: 1,
        fn: () => {
          out.bytes[0] = seq;
          if (writeFrom(p.client, out, 0, MSG) !== MSG) bad++;
          let got = 0;
          for (let spins = 0; got < MSG && spins < 1_000_000; spins++) {
            const r = readInto(p.server, inb, got, MSG - got);
            if (r > 0) got += r;
            else if (r === 0) break;
            else retries++;
          }
          if (got !== MSG || inb.bytes[0] !== seq) bad++;
          seq = (seq + 1) & 0xff;
        },
        note: "the client writes 100 B, the server reads those 100 B (non-blocking read, retried if not yet there)",
        check: () => {
          if (bad > 0) return `${bad} pairs did not move exactly ${MSG} B in sequence`;
          const left = micro.unreadBytes(p.server);
          return left === 0 ? null : `${left} bytes left unread`;
        },
        verified: () => `every read returned the ${MSG} B just written, in sequence (${retries} reads retried)`,
      });
    }
    // write alone: K writes per timed call. The peer does not read during the
    // call, so it is told to acknowledge at once (SO_RCVLOWAT above what it will
    // hold): otherwise, after a dozen segments, the writes only queue behind the
    // congestion window and cost a fraction of a delivered write. Between calls a
    // computed parameter (untimed) checks that every byte was delivered and reads it.
    {
      const p = pair();
      net.setNonBlocking(p.client, true);
      micro.setRcvLowat(p.client, 1 << 20);
      const out = new NativeBuffer(MSG);
      const sink = new NativeBuffer(1 << 20);
      let wseq = 0;
      let rseq = 0;
      let written = 0;
      let drained = 0;
      let bad = 0;
      let drainErr = "";
      const drain = () => {
        const pending = written - drained;
        if (pending === 0 || drainErr) return;
        const unread = micro.unreadBytes(p.client);
        if (unread !== pending) {
          drainErr = `${pending} bytes written since the last drain but ${unread} delivered to the peer, ${micro.unackedBytes(p.server)} unacknowledged (writes were queued, not sent)`;
          return;
        }
        while (drained < written) {
          const r = readInto(p.client, sink, 0, Math.min(sink.size, written - drained));
          if (r <= 0) {
            drainErr = `drain read returned ${r} with ${written - drained} bytes outstanding`;
            return;
          }
          for (let off = (MSG - (drained % MSG)) % MSG; off < r; off += MSG) {
            if (sink.bytes[off] !== rseq) drainErr ||= `message ${rseq} out of sequence in the drained bytes`;
            rseq = (rseq + 1) & 0xff;
          }
          drained += r;
        }
      };
      specs.push({
        id: "write", group: G, name: `write ${MSG} B x${SOCKET_OPS} (peer drained untimed)`, ops: SOCKET_OPS,
        fn: function* () {
          yield {
            [0]() {
              drain();
              return SOCKET_OPS;
            },
            bench(k: number) {
              for (let i = 0; i < k; i++) {
                out.bytes[0] = wseq;
                if (writeFrom(p.server, out, 0, MSG) === MSG) {
                  written += MSG;
                  wseq = (wseq + 1) & 0xff;
                } else bad++;
              }
            },
          };
        },
        note:
          `${SOCKET_OPS} non-blocking ${MSG} B writes per timed call, each delivered into the peer's receive queue (on loopback the write runs the receiver's TCP input too); ` +
          "the peer acknowledges at once (SO_RCVLOWAT) and is read between calls, outside the timing",
        check: () => {
          drain();
          if (bad > 0) return `${bad} writes did not send ${MSG} B`;
          if (drainErr) return drainErr;
          return drained === written && written > 0 ? null : `drained ${drained} of ${written} bytes written`;
        },
        verified: `every write sent ${MSG} B, delivered before the next drain; the peer read them all back in sequence`,
      });
    }
    // read alone: K reads per timed call from a socket holding K messages, written
    // before the call by a computed parameter (untimed) in one write of K x 100 B.
    {
      const p = pair();
      const want = SOCKET_OPS * MSG;
      const out = new NativeBuffer(want);
      const inb = new NativeBuffer(MSG);
      let rseq = 0;
      let bad = 0;
      let fillErr = "";
      const fill = () => {
        if (fillErr) return;
        const unread = micro.unreadBytes(p.server);
        if (unread !== 0) {
          fillErr = `found ${unread} unread bytes before a fill`;
          return;
        }
        for (let i = 0, s = rseq; i < SOCKET_OPS; i++, s = (s + 1) & 0xff) out.bytes[i * MSG] = s;
        if (net.writeAllFrom(p.client, out, 0, want) !== want) {
          fillErr = "a fill write failed";
          return;
        }
        // Loopback delivers during the write; wait briefly in case it did not.
        for (let i = 0; i < 100 && micro.unreadBytes(p.server) < want; i++) Bun.sleepSync(1);
        const got = micro.unreadBytes(p.server);
        if (got !== want) fillErr = `socket holds ${got} bytes after a fill of ${want}`;
      };
      specs.push({
        id: "read", group: G, name: `read ${MSG} B x${SOCKET_OPS} (socket pre-filled untimed)`, ops: SOCKET_OPS,
        fn: function* () {
          yield {
            [0]() {
              fill();
              return SOCKET_OPS;
            },
            bench(k: number) {
              for (let i = 0; i < k; i++) {
                if (readInto(p.server, inb, 0, MSG) !== MSG || inb.bytes[0] !== rseq) bad++;
                rseq = (rseq + 1) & 0xff;
              }
            },
          };
        },
        note: `${SOCKET_OPS} non-blocking ${MSG} B reads per timed call from a socket holding ${SOCKET_OPS} messages, sent before the call (one write of ${want} B) outside the timing`,
        check: () => {
          if (fillErr) return fillErr;
          if (bad > 0) return `${bad} reads did not return the next ${MSG} B message`;
          const left = micro.unreadBytes(p.server);
          return left === 0 ? null : `${left} bytes left unread`;
        },
        verified: `every read returned the next ${MSG} B message, in sequence; every fill was delivered whole`,
      });
    }
  }

  // --- io_uring nop -----------------------------------------------------------
  {
    const G = "io_uring";
    const name = "io_uring nop: prep, submit+wait, reap";
    const note = "Ring.prepNop + Ring.run(1, -1): one io_uring_enter that submits the nop and waits for its completion";
    const st = uring.uringStatus();
    if (!st.available) {
      specs.push({ id: "uring_nop", group: G, name, note, ops: 1, fn: () => {}, check: () => null, verified: "", skip: `io_uring unavailable: ${st.reason}` });
    } else {
      const ring = new uring.Ring(8);
      cleanups.push(() => ring.close());
      let tag = 1;
      let bad = 0;
      specs.push({
        id: "uring_nop", group: G, name, note, ops: 1,
        fn: () => {
          if (ring.prepNop(tag) !== 0 || ring.run(1, -1) !== 1 || ring.tagLo(0) !== tag || ring.res(0) !== 0) bad++;
          tag = (tag + 1) & 0x3fffffff || 1;
        },
        check: () => (bad === 0 ? null : `${bad} nops did not complete once with their own tag and result 0`),
        verified: "every nop completed once, with its own tag and result 0",
      });
    }
  }

  // --- order processing (no I/O) -----------------------------------------------
  {
    const G = "order processing (no I/O)";
    let id = 0;
    while (!new TextDecoder().decode(makeOrderPayload(id)).includes('"limit"')) id++;
    const payload = makeOrderPayload(id);
    let badParse = 0;
    specs.push({
      id: "json_parse", group: G, name: `parseOrder: ${payload.length} B JSON order`, ops: 1,
      fn: () => {
        const v = parseOrder(payload, 0, payload.length);
        if (!v.ok || v.order.id !== id) badParse++;
        do_not_optimize(v);
      },
      note: "UTF-8 decode, JSON.parse and validation of a limit order from makeOrderPayload",
      check: () => (badParse === 0 ? null : `${badParse} parses did not yield the valid order ${id}`),
      verified: `every parse yielded the valid order ${id}`,
    });

    const result: OrderResult = { id: 3, status: "filled", trades: [{ maker: 2, taker: 3, price: 100.01, qty: 5 }] };
    const expected = '{"id":3,"status":"filled","trades":[{"maker":2,"taker":3,"price":100.01,"qty":5}]}';
    let badSer = 0;
    let last = "";
    specs.push({
      id: "json_serialize", group: G, name: "serializeResult: a fill with 1 trade", ops: 1,
      fn: () => {
        last = serializeResult(result);
        if (last.length !== expected.length) badSer++;
      },
      note: "JSON.stringify of an answer with one trade",
      check: () => (badSer === 0 && last === expected ? null : `output ${JSON.stringify(last)} is not ${expected}`),
      verified: "the output is exactly the expected JSON",
    });

    // Each timed submit is a buy that crosses one resting sell; the sell is placed
    // by a computed parameter, outside the timing.
    const engine = new MatchingEngine();
    let next = 1;
    let badMatch = 0;
    const rest = (): NewOrder => {
      engine.submit({ id: next++, symbol: "ACME", side: "sell", type: "limit", price: 100, qty: 1 });
      return { id: next++, symbol: "ACME", side: "buy", type: "limit", price: 100, qty: 1 };
    };
    specs.push({
      id: "match", group: G, name: "MatchingEngine.submit: a buy fills 1 resting sell", ops: 1,
      fn: function* () {
        yield {
          [0]: rest,
          bench(o: NewOrder) {
            const r = engine.submit(o);
            if (r.status !== "filled" || r.trades.length !== 1) badMatch++;
          },
        };
      },
      note: "a limit buy that crosses and fills one resting sell of the same quantity; the sell is placed before the call, outside the timing",
      check: () => {
        if (badMatch > 0) return `${badMatch} crossing orders were not filled by exactly 1 trade`;
        const left = engine.book("ACME")?.restingCount ?? 0;
        return left === 0 ? null : `${left} orders left resting`;
      },
      verified: "every crossing order was filled by exactly 1 trade and the book ended empty",
    });
  }
  return specs;
}
