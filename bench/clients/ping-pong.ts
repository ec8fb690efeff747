// The measuring client for one connection with one request in flight: the
// same code for every backend. Blocking socket calls through bun:ffi (one
// send, then reads until the whole answer is in), timed with a monotonic ns
// clock, every answer compared byte for byte with what was sent. Buffers and
// the views used for comparison are made once per payload size, so the timed
// loop allocates nothing.
import * as net from "../../ffi/net.ts";
import { NativeBuffer } from "../../ffi/memory.ts";
import { HEADER_BYTES, readLength, writeLength } from "../protocol/frame.ts";
import { seededRandom } from "../stats/stats.ts";
import type { ClientErrors } from "../results/errors.ts";

/** Why a round trip failed; stored as negative values in place of a time. */
export const RT_TIMEOUT = -1, RT_CLOSED = -2, RT_MISMATCH = -3, RT_IO = -4;
export const RT_ERROR_NAMES: Record<number, string> = {
  [RT_TIMEOUT]: "timeout",
  [RT_CLOSED]: "closed",
  [RT_MISMATCH]: "mismatch",
  [RT_IO]: "io",
};

export class PingPongClient implements Disposable {
  socket: net.TcpSocket;
  readonly #host: string;
  readonly #port: number;
  readonly #timeoutMs: number;
  readonly #send: NativeBuffer;
  readonly #recv: NativeBuffer;
  #frameLen = 0;
  #sendView: Buffer = Buffer.alloc(0);
  #recvView: Buffer = Buffer.alloc(0);
  readonly #rand: () => number;

  /** timeoutMs bounds every read and write: a dead server is a timeout, not a hang. */
  constructor(host: string, port: number, maxPayload: number, timeoutMs = 5000, seed = 7) {
    this.#host = host;
    this.#port = port;
    this.#timeoutMs = timeoutMs;
    this.socket = net.TcpSocket.connect(host, port);
    net.setRecvTimeout(this.socket.fd, timeoutMs);
    net.setSendTimeout(this.socket.fd, timeoutMs);
    this.#send = new NativeBuffer(HEADER_BYTES + maxPayload);
    // Room for more than one answer, so extra bytes from a faulty server are seen.
    this.#recv = new NativeBuffer(2 * (HEADER_BYTES + maxPayload) + 4096);
    this.#rand = seededRandom(seed);
  }

  /** Sets the payload size for the following round trips and fills it with seeded random bytes. */
  setPayload(size: number): void {
    if (HEADER_BYTES + size > this.#send.size) throw new Error(`payload ${size} exceeds the client's buffer`);
    const b = this.#send.bytes;
    writeLength(b, 0, size);
    for (let i = 0; i < size; i++) b[HEADER_BYTES + i] = (this.#rand() * 256) | 0;
    this.#frameLen = HEADER_BYTES + size;
    this.#sendView = Buffer.from(b.buffer, 0, this.#frameLen);
    this.#recvView = Buffer.from(this.#recv.bytes.buffer, 0, this.#frameLen);
  }

  /**
   * One round trip with a fresh sequence number in the payload's first bytes,
   * so an answer to an earlier request cannot pass for this one.
   * Returns the time in ns (>= 0) or an RT_* error code (< 0).
   */
  roundTrip(seq: number): number {
    const fd = this.socket.fd;
    const b = this.#send.bytes;
    const len = this.#frameLen;
    const payload = len - HEADER_BYTES;
    if (payload >= 4) {
      b[4] = seq >>> 24;
      b[5] = (seq >>> 16) & 0xff;
      b[6] = (seq >>> 8) & 0xff;
      b[7] = seq & 0xff;
    } else if (payload > 0) b[4] = seq & 0xff;

    const t = this.#exchange(fd, len);
    if (t < 0) return t;
    if (this.#got !== len || this.#answerLen !== len - HEADER_BYTES || !this.#recvView.equals(this.#sendView)) return RT_MISMATCH;
    return t;
  }

  /** Bytes the last exchange read. */
  #got = 0;

  /**
   * The timed part of a round trip: sends the first `len` bytes of the send
   * buffer and reads one whole answer. Returns the ns it took, or an RT_* code.
   */
  #exchange(fd: number, len: number): number {
    const t0 = Bun.nanoseconds();
    const w = net.writeAllFrom(fd, this.#send, 0, len);
    if (w < 0) return w === -11 ? RT_TIMEOUT : RT_IO;
    const got = this.#readAnswer(fd);
    const t1 = Bun.nanoseconds();
    if (got < 0) return got;
    this.#got = got;
    return t1 - t0;
  }

  /**
   * Reads until one whole frame is in (or more bytes than that: a faulty
   * server). Returns the bytes read or an RT_* code; the frame's payload
   * length is left in #answerLen.
   */
  #readAnswer(fd: number): number {
    const recv = this.#recv;
    const rb = recv.bytes;
    const cap = recv.size;
    let got = 0;
    for (;;) {
      const r = net.readInto(fd, recv, got, cap - got);
      if (r <= 0) return r === 0 ? RT_CLOSED : r === -11 ? RT_TIMEOUT : RT_IO;
      got += r;
      if (got >= HEADER_BYTES) {
        const need = HEADER_BYTES + readLength(rb, 0);
        this.#answerLen = need - HEADER_BYTES;
        if (got >= need || need > cap) return got;
      }
    }
  }

  /**
   * Closes the connection and opens a new one, keeping the buffers. Returns
   * the time connect() took in ns (the socket options set after it are not counted).
   */
  reconnect(): number {
    this.socket.close();
    const t0 = Bun.nanoseconds();
    const fd = net.connect(this.#host, this.#port);
    const t1 = Bun.nanoseconds();
    this.socket = new net.TcpSocket(fd);
    net.setRecvTimeout(fd, this.#timeoutMs);
    net.setSendTimeout(fd, this.#timeoutMs);
    return t1 - t0;
  }

  /**
   * Sends one frame holding `payload` and reads one whole answer frame of any
   * length (request-response modes). Returns ns or an RT_* code; the answer's
   * payload is then lastAnswer().
   */
  request(payload: Uint8Array): number {
    const len = HEADER_BYTES + payload.length;
    if (len > this.#send.size) throw new Error(`payload ${payload.length} exceeds the client's buffer`);
    writeLength(this.#send.bytes, 0, payload.length);
    this.#send.bytes.set(payload, HEADER_BYTES);
    const t = this.#exchange(this.socket.fd, len);
    if (t < 0) return t;
    if (this.#got !== HEADER_BYTES + this.#answerLen) return RT_MISMATCH;
    return t;
  }

  #answerLen = 0;

  /** Payload of the answer to the last request() (a view, valid until the next call). */
  lastAnswer(): Uint8Array {
    return this.#recv.bytes.subarray(HEADER_BYTES, HEADER_BYTES + this.#answerLen);
  }

  /**
   * The same loop in C (net_pingpong_c), for measuring what this TypeScript
   * client adds. Uses the current payload without sequence numbers.
   */
  roundTripsInC(iters: number, outNs: NativeBuffer): number {
    return net.pingPongInC(this.socket.fd, this.#send, this.#frameLen, this.#recv, iters, outNs);
  }

  close(): void {
    this.socket.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Adds an RT_* code to a ClientErrors tally. */
export function countError(e: ClientErrors, code: number): void {
  if (code === RT_TIMEOUT) e.timeout++;
  else if (code === RT_CLOSED) e.closed++;
  else if (code === RT_MISMATCH) e.mismatch++;
  else e.io++;
}
