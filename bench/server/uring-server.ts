// Backend `uring`: a completion-based event loop in TypeScript over liburing.
// Every connection keeps one recv armed; answers go out with one send at a
// time per connection (later answers wait in a second buffer). Each loop step
// is one io_uring_enter that submits everything queued and waits for at least
// one completion, then reaps up to CQ_BATCH completions in the same FFI call.
import * as net from "../../ffi/net.ts";
import { ENOBUFS } from "../../ffi/errno.ts";
import { CQ_BATCH, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, Ring, type RingOptions } from "../../ffi/uring.ts";
import { BufferPool, InBuffer, newStats, OutBuffer, processFrames, type Server, type ServerConfig } from "./core.ts";

const WAIT_MS = 20;
const STEPS_PER_YIELD = 4096;
/** Accepts kept armed, so a burst of connects does not wait one loop step each. */
const ACCEPTS_ARMED = 8;

const OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3;
const OP_BITS = 4;

class Conn {
  readonly in: InBuffer;
  /** Answers not yet handed to the kernel. */
  out: OutBuffer;
  /** The buffer a send is in flight from; untouched until that send completes. */
  flight: OutBuffer;
  flightOff = 0;
  recvArmed = false;
  sendArmed = false;
  closing = false;
  eof = false;
  /** An I/O error was counted for this connection. */
  failed = false;
  constructor(readonly slot: number, readonly fd: number, pool: BufferPool) {
    this.in = new InBuffer(pool);
    this.out = new OutBuffer(pool);
    this.flight = new OutBuffer(pool);
  }
}

export interface UringServerOptions {
  backend?: string;
  ring?: RingOptions;
  entries?: number;
  /** Multishot accept and multishot recv into a ring of provided buffers. */
  multishot?: { buffers: number; bufferSize: number };
}

export function startUringServer(cfg: ServerConfig, opts: UringServerOptions = {}): Server {
  const ring = new Ring(opts.entries ?? 4096, opts.ring ?? {});
  let lfd: number;
  try {
    lfd = net.listen(cfg.host, cfg.port);
  } catch (e) {
    ring.close();
    throw e;
  }
  const port = net.boundPort(lfd);
  const multishot = opts.multishot;
  let provided: Uint8Array | undefined;
  if (multishot) {
    try {
      provided = ring.setupBuffers(multishot.buffers, multishot.bufferSize);
    } catch (e) {
      ring.close();
      net.close(lfd);
      throw e;
    }
  }
  const pool = new BufferPool();
  const stats = newStats();
  const slots: (Conn | undefined)[] = [];
  const freeSlots: number[] = [];
  let running = true;

  const queue = (ret: number, what: string) => {
    if (ret < 0) throw new Error(`io_uring_get_sqe for ${what}: submission queue full (${ret})`);
  };

  const armRecv = (c: Conn) => {
    if (multishot) {
      if (!c.recvArmed) queue(ring.prepRecvMultishot(c.fd, c.slot * (1 << OP_BITS) + OP_RECV), "recv multishot");
      c.recvArmed = true;
      return;
    }
    const room = c.in.prepare();
    queue(ring.prepRecv(c.fd, c.in.buf, c.in.end, room, c.slot * (1 << OP_BITS) + OP_RECV), "recv");
    c.recvArmed = true;
  };

  const startSend = (c: Conn) => {
    const t = c.flight;
    c.flight = c.out;
    c.out = t;
    c.flightOff = 0;
    queue(ring.prepSend(c.fd, c.flight.buf, 0, c.flight.len, c.slot * (1 << OP_BITS) + OP_SEND), "send");
    c.sendArmed = true;
  };

  /**
   * Counts a failed recv or send once per connection, and not after we began
   * closing it ourselves (a send in flight then fails because of our shutdown).
   */
  const ioError = (c: Conn) => {
    if (!c.failed && !c.closing) stats.ioErrors++;
    c.failed = true;
  };

  /** Closes once nothing is in flight; shutdown() makes an armed recv complete. */
  const beginClose = (c: Conn) => {
    if (!c.closing) {
      c.closing = true;
      if (c.recvArmed || c.sendArmed) net.shutdown(c.fd);
    }
    if (c.recvArmed || c.sendArmed) return;
    net.close(c.fd);
    c.in.release();
    c.out.release();
    c.flight.release();
    slots[c.slot] = undefined;
    freeSlots.push(c.slot);
    stats.active--;
  };

  const onAccept = (res: number, flags: number) => {
    // A multishot accept stays armed while the kernel sets F_MORE.
    if (running && !(multishot && flags & IORING_CQE_F_MORE)) queue(multishot ? ring.prepAcceptMultishot(lfd, OP_ACCEPT) : ring.prepAccept(lfd, OP_ACCEPT), "accept");
    if (res < 0) {
      stats.ioErrors++;
      return;
    }
    net.setNoDelay(res);
    const slot = freeSlots.length > 0 ? freeSlots.pop()! : slots.length;
    const c = new Conn(slot, res, pool);
    slots[slot] = c;
    stats.connections++;
    stats.active++;
    armRecv(c);
  };

  const onRecv = (c: Conn, res: number, flags: number) => {
    if (multishot) {
      if (flags & IORING_CQE_F_BUFFER) {
        const bid = flags >>> 16;
        // Copied out at once: a frame may span buffers, and the buffer goes straight back to the kernel.
        if (res > 0 && !c.closing) c.in.append(provided!.subarray(bid * multishot.bufferSize, bid * multishot.bufferSize + res));
        ring.recycleBuffer(bid);
      }
      if (!(flags & IORING_CQE_F_MORE)) c.recvArmed = false;
      // Every provided buffer was in use: the multishot recv ended; buffers are back now, so re-arm.
      if (res === -ENOBUFS) {
        stats.noBuffers++;
        if (c.closing) return beginClose(c);
        armRecv(c);
        return;
      }
    } else {
      c.recvArmed = false;
      // A single-shot recv wrote straight into c.in.
      if (res > 0) c.in.end += res;
    }
    if (c.closing) return beginClose(c);
    if (res <= 0) {
      if (res < 0) ioError(c);
      // Peer closed its side (or failed): answer what it sent, then close.
      c.eof = true;
      if (!c.sendArmed) beginClose(c);
      return;
    }
    stats.bytesIn += res;
    if (!processFrames(c.in, c.out, cfg, stats)) return beginClose(c);
    if (c.out.len > 0) {
      if (!c.sendArmed) startSend(c);
      else if (c.out.len + c.flight.len - c.flightOff > cfg.maxPendingBytes) {
        stats.overflow++;
        return beginClose(c);
      }
    }
    if (!c.recvArmed) armRecv(c);
  };

  const onSend = (c: Conn, res: number) => {
    c.sendArmed = false;
    if (res < 0) {
      ioError(c);
      return beginClose(c);
    }
    if (c.closing) return beginClose(c);
    stats.bytesOut += res;
    c.flightOff += res;
    if (c.flightOff < c.flight.len) {
      queue(ring.prepSend(c.fd, c.flight.buf, c.flightOff, c.flight.len - c.flightOff, c.slot * (1 << OP_BITS) + OP_SEND), "send");
      c.sendArmed = true;
      return;
    }
    c.flight.len = 0;
    c.flight.shrinkIfIdle();
    if (c.out.len > 0) startSend(c);
    else if (c.eof) beginClose(c);
  };

  if (multishot) queue(ring.prepAcceptMultishot(lfd, OP_ACCEPT), "accept multishot");
  else for (let i = 0; i < ACCEPTS_ARMED; i++) queue(ring.prepAccept(lfd, OP_ACCEPT), "accept");

  const loop = async () => {
    while (running) {
      for (let step = 0; step < STEPS_PER_YIELD && running; step++) {
        const n = ring.run(1, WAIT_MS, CQ_BATCH);
        if (n === 0) break;
        for (let i = 0; i < n; i++) {
          const tag = ring.tagLo(i);
          const op = tag & ((1 << OP_BITS) - 1);
          const res = ring.res(i);
          const flags = ring.flags(i);
          if (op === OP_ACCEPT) {
            onAccept(res, flags);
            continue;
          }
          const c = slots[tag >>> OP_BITS];
          if (!c) {
            // A late completion for a closed connection may still carry a provided buffer.
            if (multishot && flags & IORING_CQE_F_BUFFER) ring.recycleBuffer(flags >>> 16);
            continue;
          }
          if (op === OP_RECV) onRecv(c, res, flags);
          else if (op === OP_SEND) onSend(c, res);
        }
      }
      await new Promise<void>((r) => setImmediate(r));
    }
    // Destroying the ring cancels what is in flight, so buffers and fds can go after it.
    ring.close();
    for (const c of slots) {
      if (!c) continue;
      net.close(c.fd);
      c.in.release();
      c.out.release();
      c.flight.release();
    }
    stats.active = 0;
    net.close(lfd);
  };

  const done = loop();
  return {
    backend: opts.backend ?? "uring",
    host: cfg.host,
    port,
    stats,
    done,
    stop() {
      running = false;
    },
  };
}
