// The client for scenarios with many connections or many requests in flight:
// one epoll loop over non-blocking sockets, in this process, through bun:ffi.
// Closed loop: each connection keeps `window` requests in flight. Open loop:
// requests leave at fixed intended times whatever the server does, and latency
// is counted from the intended time (coordinated omission corrected, as wrk2
// does), with the figure from the actual send time kept beside it.
// Every answer is checked byte for byte: payloads are a function of
// (connection, sequence), regenerated to compare.
import { EAGAIN } from "../../ffi/errno.ts";
import { Epoll, EPOLLIN, EPOLLOUT } from "../../ffi/epoll.ts";
import { NativeBuffer } from "../../ffi/memory.ts";
import * as net from "../../ffi/net.ts";
import { noErrors, type ClientErrors } from "../results/errors.ts";
import { HEADER_BYTES, readLength, writeLength } from "../protocol/frame.ts";

export interface LoadTarget {
  host: string;
  port: number;
}

export interface LoadResult {
  sent: number;
  completed: number;
  elapsedNs: number;
  /** Completed requests per second over elapsedNs. */
  throughput: number;
  /** Per request, ns: from the intended send time (open loop) or the actual one (closed loop). */
  latencyNs: Float64Array;
  /** Open loop only: from the actual send time, ns. */
  uncorrectedNs?: Float64Array;
  /** Open loop only: how late each request left compared with its intended time, ns (the client's own lag). */
  sendLagNs?: Float64Array;
  errors: ClientErrors;
}

/**
 * Open-loop schedule: ns to wait before request `next` is due (0 when it is
 * already due, for example because flushing took longer than the gap), or -1
 * when every request has been sent.
 */
export function untilNextSend(startNs: number, gapNs: number, next: number, total: number, nowNs: number): number {
  if (next >= total) return -1;
  return Math.max(0, startNs + next * gapNs - nowNs);
}

/** Byte j of the payload of request `seq` on connection `conn`; bytes 0-3 hold seq. */
function payloadByte(conn: number, seq: number, j: number): number {
  if (j < 4) return (seq >>> (24 - 8 * j)) & 0xff;
  return (seq * 31 + j * 131 + conn * 7) & 0xff;
}

class Conn {
  readonly in: NativeBuffer;
  readonly out: NativeBuffer;
  inStart = 0;
  inEnd = 0;
  outLen = 0;
  sent = 0;
  done = 0;
  wantWrite = false;
  dead = false;
  constructor(readonly id: number, readonly fd: number, frameLen: number, maxInFlight: number) {
    this.in = new NativeBuffer(Math.max(65536, frameLen * (maxInFlight + 2)));
    this.out = new NativeBuffer(Math.max(65536, frameLen * (maxInFlight + 2)));
  }
}

export class LoadClient implements Disposable {
  readonly conns: Conn[] = [];
  readonly ep = new Epoll();
  readonly frameLen: number;
  readonly payloadSize: number;
  #timeoutMs: number;

  /**
   * Opens `connections` connections (blocking connect, then non-blocking).
   * maxInFlight sizes the per-connection buffers (the window, or the most an
   * open-loop connection may have outstanding).
   */
  constructor(target: LoadTarget, connections: number, payloadSize: number, maxInFlight: number, timeoutMs = 5000) {
    this.payloadSize = payloadSize;
    this.frameLen = HEADER_BYTES + payloadSize;
    this.#timeoutMs = timeoutMs;
    try {
      for (let i = 0; i < connections; i++) {
        const fd = net.connect(target.host, target.port);
        net.setNonBlocking(fd);
        const c = new Conn(i, fd, this.frameLen, maxInFlight);
        this.conns.push(c);
        this.ep.add(fd, EPOLLIN, i);
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  #queue(c: Conn): boolean {
    const len = this.frameLen;
    if (c.outLen + len > c.out.size) return false;
    const b = c.out.bytes;
    const at = c.outLen;
    writeLength(b, at, this.payloadSize);
    const seq = c.sent;
    for (let j = 0; j < this.payloadSize; j++) b[at + HEADER_BYTES + j] = payloadByte(c.id, seq, j);
    c.outLen += len;
    c.sent++;
    return true;
  }

  #flush(c: Conn, errors: ClientErrors): void {
    if (c.outLen === 0 || c.dead) return;
    const w = net.writeFrom(c.fd, c.out, 0, c.outLen);
    if (w > 0) {
      if (w < c.outLen) c.out.bytes.copyWithin(0, w, c.outLen);
      c.outLen -= w;
    } else if (w !== -EAGAIN) {
      this.#kill(c, errors, "io");
      return;
    }
    const want = c.outLen > 0;
    if (want !== c.wantWrite) {
      c.wantWrite = want;
      this.ep.modify(c.fd, EPOLLIN | (want ? EPOLLOUT : 0), c.id);
    }
  }

  /** A connection that failed: what it had outstanding is counted once as errors. */
  #kill(c: Conn, errors: ClientErrors, why: "io" | "closed" | "mismatch"): void {
    if (c.dead) return;
    c.dead = true;
    const lost = Math.max(1, c.sent - c.done);
    errors[why] += lost;
    this.ep.remove(c.fd);
  }

  /**
   * Reads what is there and completes answers; onAnswer(c, seq, nowNs) per
   * answer that matched its request byte for byte.
   */
  #read(c: Conn, errors: ClientErrors, onAnswer: (c: Conn, seq: number, now: number) => void): void {
    if (c.inStart === c.inEnd) c.inStart = c.inEnd = 0;
    else if (c.in.size - c.inEnd < this.frameLen) {
      c.in.bytes.copyWithin(0, c.inStart, c.inEnd);
      c.inEnd -= c.inStart;
      c.inStart = 0;
    }
    const r = net.readInto(c.fd, c.in, c.inEnd, c.in.size - c.inEnd);
    if (r <= 0) {
      if (r === -EAGAIN) return;
      this.#kill(c, errors, r === 0 ? "closed" : "io");
      return;
    }
    const now = Bun.nanoseconds();
    c.inEnd += r;
    const b = c.in.bytes;
    const len = this.frameLen;
    while (c.inEnd - c.inStart >= HEADER_BYTES) {
      const n = readLength(b, c.inStart);
      if (n !== this.payloadSize) {
        this.#kill(c, errors, "mismatch");
        return;
      }
      if (c.inEnd - c.inStart < len) break;
      const seq = c.done;
      if (seq >= c.sent) {
        this.#kill(c, errors, "mismatch");
        return;
      }
      const base = c.inStart + HEADER_BYTES;
      for (let j = 0; j < this.payloadSize; j++) {
        if (b[base + j] !== payloadByte(c.id, seq, j)) {
          this.#kill(c, errors, "mismatch");
          return;
        }
      }
      c.inStart += len;
      c.done++;
      onAnswer(c, seq, now);
    }
  }

  /**
   * Closed loop: each live connection sends `perConn` requests with at most
   * `window` in flight; latency from the actual send time.
   */
  runClosed(perConn: number, window: number): LoadResult {
    const errors = noErrors();
    const total = perConn * this.conns.length;
    const sendNs = this.conns.map(() => new Float64Array(perConn));
    const latencyNs = new Float64Array(total);
    let completed = 0;
    for (const c of this.conns) {
      c.sent = c.done = 0;
    }
    const start = Bun.nanoseconds();
    for (const c of this.conns) {
      if (c.dead) continue;
      const t = Bun.nanoseconds();
      while (c.sent < Math.min(window, perConn) && this.#queue(c)) sendNs[c.id][c.sent - 1] = t;
      this.#flush(c, errors);
    }
    const onAnswer = (c: Conn, seq: number, now: number) => {
      latencyNs[completed++] = now - sendNs[c.id][seq];
      if (c.sent < perConn) {
        this.#queue(c);
        sendNs[c.id][c.sent - 1] = now;
      }
    };
    this.#loop(errors, () => completed + this.#lost(perConn) >= total, onAnswer, null);
    const elapsedNs = Bun.nanoseconds() - start;
    return { sent: this.conns.reduce((s, c) => s + c.sent, 0), completed, elapsedNs, throughput: completed / (elapsedNs / 1e9), latencyNs: latencyNs.subarray(0, completed), errors };
  }

  /**
   * Open loop: `total` requests at `ratePerSec`, spread round-robin over the
   * connections, each sent at its intended time (or at once when late).
   */
  runOpen(total: number, ratePerSec: number): LoadResult {
    const errors = noErrors();
    const C = this.conns.length;
    const perConn = Math.ceil(total / C);
    const intended = this.conns.map(() => new Float64Array(perConn));
    const actual = this.conns.map(() => new Float64Array(perConn));
    const latencyNs = new Float64Array(total);
    const uncorrectedNs = new Float64Array(total);
    const sendLagNs = new Float64Array(total);
    const gapNs = 1e9 / ratePerSec;
    let completed = 0;
    let next = 0;
    for (const c of this.conns) c.sent = c.done = 0;
    net.setTimerSlack(1);
    const start = Bun.nanoseconds();
    const onAnswer = (c: Conn, seq: number, now: number) => {
      latencyNs[completed] = now - intended[c.id][seq];
      uncorrectedNs[completed] = now - actual[c.id][seq];
      completed++;
    };
    const sendDue = (): number => {
      const now = Bun.nanoseconds();
      while (next < total) {
        const due = start + next * gapNs;
        if (due > now) break;
        const c = this.conns[next % C];
        next++;
        if (c.dead) continue;
        if (!this.#queue(c)) {
          // The server fell so far behind that this connection's buffer is full: a timeout.
          errors.timeout++;
          continue;
        }
        intended[c.id][c.sent - 1] = due;
        actual[c.id][c.sent - 1] = now;
        sendLagNs[next - 1] = now - due;
      }
      for (const c of this.conns) if (c.outLen > 0) this.#flush(c, errors);
      return untilNextSend(start, gapNs, next, total, Bun.nanoseconds());
    };
    this.#loop(errors, () => next >= total && completed + this.#lost(perConn) + errors.timeout >= total, onAnswer, sendDue);
    net.setTimerSlack(50000);
    const elapsedNs = Bun.nanoseconds() - start;
    return {
      sent: next,
      completed,
      elapsedNs,
      throughput: completed / (elapsedNs / 1e9),
      latencyNs: latencyNs.subarray(0, completed),
      uncorrectedNs: uncorrectedNs.subarray(0, completed),
      sendLagNs: sendLagNs.subarray(0, next),
      errors,
    };
  }

  /** Requests that dead connections will never complete. */
  #lost(perConn: number): number {
    let n = 0;
    for (const c of this.conns) if (c.dead) n += perConn - c.done;
    return n;
  }

  /**
   * beforeWait returns the ns until the next scheduled send (>= 0), or -1 when
   * nothing more is scheduled (then the loop only waits for answers).
   */
  #loop(
    errors: ClientErrors,
    finished: () => boolean,
    onAnswer: (c: Conn, seq: number, now: number) => void,
    beforeWait: (() => number) | null,
  ): void {
    let lastProgress = Bun.nanoseconds();
    const timeoutNs = this.#timeoutMs * 1e6;
    while (!finished()) {
      let waitNs = 50e6;
      if (beforeWait) {
        const untilNext = beforeWait();
        if (untilNext >= 0) waitNs = Math.min(waitNs, untilNext);
        if (finished()) break;
      }
      const n = this.ep.waitNs(waitNs);
      let progressed = false;
      for (let i = 0; i < n; i++) {
        const c = this.conns[this.ep.tag(i)];
        if (c.dead) continue;
        const mask = this.ep.mask(i);
        if (mask & EPOLLOUT) this.#flush(c, errors);
        if (mask & ~EPOLLOUT) {
          const before = c.done;
          this.#read(c, errors, onAnswer);
          if (c.done !== before) progressed = true;
          if (!c.dead && c.outLen > 0) this.#flush(c, errors);
        }
      }
      const now = Bun.nanoseconds();
      if (progressed) lastProgress = now;
      else if (now - lastProgress > timeoutNs) {
        // Nothing answered for timeoutMs: what is outstanding is lost.
        for (const c of this.conns) {
          if (c.dead) continue;
          errors.timeout += c.sent - c.done;
          c.dead = true;
          this.ep.remove(c.fd);
        }
        break;
      }
    }
  }

  close(): void {
    for (const c of this.conns) net.close(c.fd);
    this.conns.length = 0;
    this.ep.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
