// Backend `uring`: a completion-based event loop in TypeScript over liburing.
// Every connection keeps one recv armed; answers go out with one send at a
// time per connection (later answers wait in a second buffer). Each loop step
// is ONE FFI crossing (Ring.step): the operations the step before queued
// (recvs, sends, accept re-arms, provided-buffer recycles, cancels) are
// written as records into the ring's op queue, and one C call prepares them
// all, submits them in one io_uring_enter that also waits, and reaps up to
// CQ_BATCH completions. Unless the variant asks for
// exact flags, the ring is set up as liburing's examples/proxy.c does
// (SINGLE_ISSUER|DEFER_TASKRUN, else COOP_TASKRUN|TASKRUN_FLAG; registered
// ring fd); what was used shows in the server's `stats` line (ringFlags...).
//
// One enter per request: an answer's send usually completes inline while it
// is submitted, and that completion alone would satisfy a wait for one, so the
// next request would cost a second enter. Each step therefore waits for one
// completion more than the sends it submits that should finish at once. Sends
// use MSG_WAITALL, so none completes short and inline (the wait would then
// hang for a request the peer cannot send before it has the whole answer). A
// connection whose send did not finish within its step (a peer that stops
// reading) is not counted again until one does: such a peer delays the
// others once, by at most WAIT_MS.
import * as net from "../../ffi/net.ts";
import { ENOBUFS, isOutOfResources } from "../../ffi/errno.ts";
import { CQ_BATCH, IORING_CQE_F_BUFFER, IORING_CQE_F_MORE, Ring, ringSetupFields, uringCrossings, type RingOptions } from "../../ffi/uring.ts";
import { ACCEPT_PAUSE_MS, BufferPool, loopServer, type RunFlag, InBuffer, newStats, OutBuffer, processFrames, type Server, type ServerConfig } from "./core.ts";

const WAIT_MS = 20;
const STEPS_PER_YIELD = 4096;
/** Accepts kept armed, so a burst of connects does not wait one loop step each. */
const ACCEPTS_ARMED = 8;

const OP_ACCEPT = 1, OP_RECV = 2, OP_SEND = 3, OP_CANCEL = 4;
const OP_BITS = 4;
/** How long a stopping server waits for the kernel to finish with connection buffers. */
const DRAIN_MS = 1000;
/**
 * Buffers the kernel did not give back within DRAIN_MS: kept referenced for
 * the life of the process rather than handed to the pool (or the GC) while a
 * late recv could still write into them.
 */
const abandoned: Conn[] = [];

class Conn {
  readonly in: InBuffer;
  /** Answers not yet handed to the kernel. */
  out: OutBuffer;
  /** The buffer a send is in flight from; untouched until that send completes. */
  flight: OutBuffer;
  flightOff = 0;
  /** The loop step whose io_uring_enter submits the send in flight. */
  sendStep = 0;
  /** The last send did not complete within the step that submitted it. */
  sendSlow = false;
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
  /**
   * Wait for one completion more than the sends expected to finish at once
   * (default true: one enter per ping-pong request). false: the naive loop
   * that waits for one completion, which the answer's inline send satisfies,
   * so the next request costs a second enter (the ladder's uring-basic).
   */
  oneEnter?: boolean;
}

export function startUringServer(cfg: ServerConfig, opts: UringServerOptions = {}): Server {
  const ring = new Ring(opts.entries ?? 4096, opts.ring ?? {});
  const oneEnter = opts.oneEnter ?? true;
  let lfd: number;
  try {
    lfd = net.listen(cfg.host, cfg.port);
  } catch (e) {
    ring.close();
    throw e;
  }
  const port = net.boundPort(lfd);
  const multishot = opts.multishot;
  /** The provided buffers (C memory, alive as long as the ring), as a Buffer for its allocation-free copy(). */
  let provided: Buffer | undefined;
  /**
   * The received bytes of one provided buffer, framed in place: processFrames
   * reads only buf.bytes, start and end of its input, so a completion's bytes
   * are answered where the kernel put them, without a copy or a view.
   */
  let providedIn: InBuffer | undefined;
  if (multishot) {
    try {
      const u8 = ring.setupBuffers(multishot.buffers, multishot.bufferSize);
      provided = Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
      providedIn = { buf: { bytes: provided }, start: 0, end: 0 } as unknown as InBuffer;
    } catch (e) {
      ring.close();
      net.close(lfd);
      throw e;
    }
  }
  const pool = new BufferPool();
  // The ring's set-up rides along in the `stats {json}` line (the ServerStats counters plus these).
  // ffiCrossings: calls into the uring shim so far (this process), brought up to date each time the loop
  // yields, which is when a `stats` line can be written (a plain field: an accessor would change stats' shape).
  const stats = Object.assign(newStats(), ringSetupFields(ring.setup), { ffiCrossings: 0 });
  const slots: (Conn | undefined)[] = [];
  const freeSlots: number[] = [];
  const flag: RunFlag = { running: true };
  /** Accepts, recvs and sends the kernel still holds (a multishot one until its last completion). */
  let inflight = 0;
  /** Loop steps so far; what is queued now goes with step + 1. */
  let step = 0;
  /** Sends queued for the next step that should complete within it. */
  let quickSends = 0;
  /**
   * Accepts not re-armed while out of descriptors (see onAccept), and the
   * Date.now() after which they are re-armed anyway (0: none waiting).
   */
  let acceptsIdle = 0;
  let acceptPausedUntil = 0;

  // Every queue* only writes a record; the next ring.step() prepares and submits it.
  const send = (c: Conn) => {
    ring.queueSend(c.fd, c.flight.buf, c.flightOff, c.flight.len - c.flightOff, c.slot * (1 << OP_BITS) + OP_SEND);
    inflight++;
    c.sendArmed = true;
    c.sendStep = step + 1;
    // No recv is armed after EOF: nothing else will come, so do not wait for more.
    if (!c.sendSlow && !c.eof) quickSends++;
  };

  const armRecv = (c: Conn) => {
    if (multishot) {
      if (!c.recvArmed) {
        ring.queueRecvMultishot(c.fd, c.slot * (1 << OP_BITS) + OP_RECV);
        inflight++;
      }
      c.recvArmed = true;
      return;
    }
    const room = c.in.prepare();
    ring.queueRecv(c.fd, c.in.buf, c.in.end, room, c.slot * (1 << OP_BITS) + OP_RECV);
    inflight++;
    c.recvArmed = true;
  };

  const startSend = (c: Conn) => {
    const t = c.flight;
    c.flight = c.out;
    c.out = t;
    c.flightOff = 0;
    send(c);
  };

  /**
   * Counts a failed recv or send once per connection, and not after we began
   * closing it ourselves (a send in flight then fails because of our shutdown).
   */
  const ioError = (c: Conn) => {
    if (!c.failed && !c.closing) stats.ioErrors++;
    c.failed = true;
  };

  const armAccept = () => {
    if (multishot) ring.queueAcceptMultishot(lfd, OP_ACCEPT);
    else ring.queueAccept(lfd, OP_ACCEPT);
    inflight++;
  };

  /** Re-arms the accepts left idle while out of descriptors. */
  const resumeAccepts = () => {
    for (; acceptsIdle > 0; acceptsIdle--) armAccept();
    acceptPausedUntil = 0;
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
    // A descriptor is free again: the connection waiting in the backlog can be taken.
    if (acceptsIdle > 0 && flag.running) resumeAccepts();
  };

  const onAccept = (res: number, flags: number) => {
    // A multishot accept stays armed while the kernel sets F_MORE.
    if (flag.running && !(multishot && flags & IORING_CQE_F_MORE)) {
      // Out of descriptors (EMFILE/ENFILE) the connection stays queued and an accept re-armed at
      // once fails at once: the loop spun at 100% CPU. It stays idle until a connection closes or
      // ACCEPT_PAUSE_MS pass.
      if (res < 0 && isOutOfResources(-res)) {
        acceptsIdle++;
        if (acceptPausedUntil === 0) acceptPausedUntil = Date.now() + ACCEPT_PAUSE_MS;
      } else armAccept();
    }
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

  /**
   * Copies provided[at, at + n) to the end of c.in, growing it as needed;
   * Buffer.copy allocates nothing (a subarray view would, per completion).
   */
  const copyIn = (c: Conn, at: number, n: number) => {
    while (n > 0) {
      const k = Math.min(c.in.prepare(), n);
      provided!.copy(c.in.buf.bytes, c.in.end, at, at + k);
      c.in.end += k;
      at += k;
      n -= k;
    }
  };

  /**
   * Answers the frames in provided buffer bid's first res bytes. When nothing
   * of an earlier frame waits in c.in they are framed in place, and only a
   * trailing partial frame is copied to c.in; else the bytes join c.in first.
   * The buffer goes back to the kernel with the next step (queued by the caller).
   */
  const framesFromProvided = (c: Conn, bid: number, res: number): boolean => {
    const at = bid * multishot!.bufferSize;
    if (c.in.start !== c.in.end) {
      copyIn(c, at, res);
      return processFrames(c.in, c.out, cfg, stats);
    }
    const view = providedIn!;
    view.start = at;
    view.end = at + res;
    if (!processFrames(view, c.out, cfg, stats)) return false;
    if (view.start < view.end) copyIn(c, view.start, view.end - view.start);
    return true;
  };

  const onRecv = (c: Conn, res: number, flags: number) => {
    /** The provided buffer this completion filled (multishot), -1 if none. */
    let bid = -1;
    if (multishot) {
      if (flags & IORING_CQE_F_BUFFER) {
        bid = flags >>> 16;
        // Back to the kernel at the next step: its bytes are read (below) before then.
        ring.queueRecycle(bid);
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
    if (!(bid >= 0 ? framesFromProvided(c, bid, res) : processFrames(c.in, c.out, cfg, stats))) return beginClose(c);
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
    c.sendSlow = c.sendStep !== step;
    if (res < 0) {
      ioError(c);
      return beginClose(c);
    }
    if (c.closing) return beginClose(c);
    stats.bytesOut += res;
    c.flightOff += res;
    // Short even with MSG_WAITALL (a failure part-way): the rest goes again, and fails or not.
    if (c.flightOff < c.flight.len) return send(c);
    c.flight.len = 0;
    c.flight.shrinkIfIdle();
    if (c.out.len > 0) startSend(c);
    else if (c.eof) beginClose(c);
  };

  for (let i = 0; i < (multishot ? 1 : ACCEPTS_ARMED); i++) armAccept();

  /** Whether a completion ends its request (a multishot one goes on while F_MORE is set). */
  const ends = (flags: number) => !(multishot && flags & IORING_CQE_F_MORE);

  const loop = async () => {
    while (flag.running) {
      for (let k = 0; k < STEPS_PER_YIELD && flag.running; k++) {
        if (acceptsIdle > 0 && Date.now() >= acceptPausedUntil) resumeAccepts();
        const waitNr = oneEnter ? 1 + quickSends : 1;
        quickSends = 0;
        step++;
        const n = ring.step(waitNr, WAIT_MS, CQ_BATCH);
        if (n === 0) break;
        for (let i = 0; i < n; i++) {
          const tag = ring.tagLo(i);
          const op = tag & ((1 << OP_BITS) - 1);
          const res = ring.res(i);
          const flags = ring.flags(i);
          if (op !== OP_CANCEL && ends(flags)) inflight--;
          if (op === OP_ACCEPT) {
            onAccept(res, flags);
            continue;
          }
          const c = slots[tag >>> OP_BITS];
          if (!c) {
            // A late completion for a closed connection may still carry a provided buffer.
            if (multishot && flags & IORING_CQE_F_BUFFER) ring.queueRecycle(flags >>> 16);
            continue;
          }
          if (op === OP_RECV) onRecv(c, res, flags);
          else if (op === OP_SEND) onSend(c, res);
        }
      }
      stats.ffiCrossings = uringCrossings();
      await new Promise<void>((r) => setImmediate(r));
    }
    const drained = drain();
    ring.close();
    for (const c of slots) {
      if (!c) continue;
      net.close(c.fd);
      if (drained) {
        c.in.release();
        c.out.release();
        c.flight.release();
      } else abandoned.push(c);
    }
    stats.active = 0;
    net.close(lfd);
  };

  /**
   * Closing a ring cancels its requests only asynchronously (the kernel tears
   * it down in a worker), so a recv could still write into a buffer handed
   * back to the pool. Instead: shut every busy socket down, cancel everything
   * on each fd (IORING_ASYNC_CANCEL_ALL by fd, 5.19+; before that the
   * shutdowns end the recvs), and reap until nothing is in flight, at most
   * DRAIN_MS. Returns whether everything came back.
   */
  const drain = (): boolean => {
    try {
      // A cancel is not a request that holds memory: not counted in inflight.
      ring.queueCancelFd(lfd, OP_CANCEL);
      for (const c of slots) {
        if (!c || !(c.recvArmed || c.sendArmed)) continue;
        net.shutdown(c.fd);
        ring.queueCancelFd(c.fd, c.slot * (1 << OP_BITS) + OP_CANCEL);
      }
      const deadline = Date.now() + DRAIN_MS;
      while (inflight > 0 && Date.now() < deadline) {
        const n = ring.step(1, 50, CQ_BATCH);
        for (let i = 0; i < n; i++) {
          const op = ring.tagLo(i) & ((1 << OP_BITS) - 1);
          const res = ring.res(i);
          const flags = ring.flags(i);
          if (op === OP_CANCEL) continue;
          if (ends(flags)) inflight--;
          if (multishot && flags & IORING_CQE_F_BUFFER) ring.queueRecycle(flags >>> 16);
          // A connection that arrived while stopping: nobody will serve it.
          if (op === OP_ACCEPT && res >= 0) net.close(res);
        }
      }
    } catch {
      // The ring cannot take the cancels or the waits: treat what is in flight as lost.
    }
    return inflight <= 0;
  };

  const done = loop();
  return loopServer(opts.backend ?? "uring", cfg.host, port, stats, flag, done);
}
