// What every server backend shares: connection buffers from a pool, the frame
// processing step, the per-mode handlers and the counters of the exit summary.
// Backends differ only in how bytes get in and out of these buffers.
import { NativeBuffer } from "../../ffi/memory.ts";
import { DEFAULT_MAX_FRAME, frameSpaceNeeded, HEADER_BYTES, nextFrame, TOO_LARGE } from "../protocol/frame.ts";

/** Smallest connection buffer; a buffer grows (by powers of two) only for frames that need it. */
export const MIN_CONN_BUFFER = 16 * 1024;
/** How long an accept loop pauses when out of descriptors, unless a connection closes first (an accept re-armed at once would fail at once: a spin). */
export const ACCEPT_PAUSE_MS = 10;
/** Frames up to this size are copied byte by byte; larger ones with Buffer's native copy. */
const SMALL_COPY = 16;
/**
 * Buffer#copy called on a plain Uint8Array: a native memmove that needs no
 * view, where set(subarray) allocates one per call (measured here, 104 bytes:
 * 15 ns, against 39 ns for set(subarray) and 52 ns byte by byte).
 */
const nativeCopy = Buffer.prototype.copy;
/** Free space handed to each read/recv when the current frame needs no more. */
const READ_CHUNK = 8 * 1024;

function sizeClass(n: number): number {
  let s = MIN_CONN_BUFFER;
  while (s < n) s *= 2;
  return s;
}

/**
 * Native buffers by power-of-two size, reused across connections so that
 * accepting a connection allocates nothing once the pool is warm.
 */
export class BufferPool {
  readonly #free = new Map<number, NativeBuffer[]>();
  readonly #keepPerClass: number;
  constructor(keepPerClass = 256) {
    this.#keepPerClass = keepPerClass;
  }
  get(minBytes: number): NativeBuffer {
    const size = sizeClass(minBytes);
    return this.#free.get(size)?.pop() ?? new NativeBuffer(size);
  }
  put(b: NativeBuffer): void {
    let list = this.#free.get(b.size);
    if (!list) this.#free.set(b.size, (list = []));
    if (list.length < this.#keepPerClass) list.push(b);
  }
}

/** Received bytes not yet processed: [start, end) of buf. */
export class InBuffer {
  buf: NativeBuffer;
  start = 0;
  end = 0;
  constructor(readonly pool: BufferPool) {
    this.buf = pool.get(MIN_CONN_BUFFER);
  }
  /**
   * Makes room for the next read: the rest of the current frame, or READ_CHUNK
   * when the frame is complete or unknown. Returns the free length after `end`:
   * the next read goes into buf at offset `end`, at most that many bytes. Never call while a recv into this buffer is in flight (it may move).
   */
  prepare(): number {
    if (this.start === this.end) this.start = this.end = 0;
    const live = this.end - this.start;
    const need = Math.max(frameSpaceNeeded(this.buf.bytes, this.start, this.end) - live, READ_CHUNK);
    if (this.buf.size - this.end >= need) return this.buf.size - this.end;
    if (this.buf.size - live >= need) {
      this.buf.bytes.copyWithin(0, this.start, this.end);
    } else {
      const next = this.pool.get(live + need);
      next.bytes.set(this.buf.bytes.subarray(this.start, this.end));
      this.pool.put(this.buf);
      this.buf = next;
    }
    this.start = 0;
    this.end = live;
    return this.buf.size - this.end;
  }
  /** Copies bytes in (the Bun backend, whose runtime hands over its own chunks). */
  append(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      const room = this.prepare();
      const n = Math.min(room, chunk.length - off);
      this.buf.bytes.set(chunk.subarray(off, off + n), this.end);
      this.end += n;
      off += n;
    }
  }
  release(): void {
    this.pool.put(this.buf);
  }
}

/** Bytes to send: [0, len) of buf. */
export class OutBuffer {
  buf: NativeBuffer;
  len = 0;
  constructor(readonly pool: BufferPool) {
    this.buf = pool.get(MIN_CONN_BUFFER);
  }
  /** Ensures n more bytes fit and returns where they go. Never call on a buffer being sent. */
  reserve(n: number): number {
    if (this.len + n > this.buf.size) {
      const next = this.pool.get(this.len + n);
      next.bytes.set(this.buf.bytes.subarray(0, this.len));
      this.pool.put(this.buf);
      this.buf = next;
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  append(src: Uint8Array, off: number, n: number): void {
    const at = this.reserve(n);
    const dst = this.buf.bytes;
    // A few bytes are copied by hand, faster than any call; the rest natively,
    // without allocating a view per frame on the hot path.
    if (n <= SMALL_COPY) for (let i = 0; i < n; i++) dst[at + i] = src[off + i];
    else nativeCopy.call(src, dst, at, off, off + n);
  }
  /** Drops the first n bytes (after a partial write). */
  consume(n: number): void {
    if (n >= this.len) this.len = 0;
    else {
      this.buf.bytes.copyWithin(0, n, this.len);
      this.len -= n;
    }
  }
  /** Gives back an oversized buffer once empty, so one huge frame does not pin memory. */
  shrinkIfIdle(): void {
    if (this.len === 0 && this.buf.size > MIN_CONN_BUFFER * 4) {
      this.pool.put(this.buf);
      this.buf = this.pool.get(MIN_CONN_BUFFER);
    }
  }
  release(): void {
    this.pool.put(this.buf);
  }
}

export interface ServerStats {
  connections: number;
  active: number;
  frames: number;
  bytesIn: number;
  bytesOut: number;
  /** Connections closed for a length prefix above the maximum. */
  oversize: number;
  /** Connections closed for holding more unsent output than allowed (a peer that does not read). */
  overflow: number;
  /** Connections that ended with an error (reset, broken pipe). */
  ioErrors: number;
  /** Requests answered with a rejection (order mode). */
  rejected: number;
  /** Time spent turning frames into answers (parse, match, serialize), ns; echo runs are not timed (0). */
  processingNs: number;
  /** uring-multishot: times a multishot recv ended because every provided buffer was in use. */
  noBuffers: number;
  /**
   * Threaded backends: each loop's (tokio-mt: each worker's) frames and the
   * CPU it is pinned to, in thread order; connections for the C loops (a
   * Tokio connection moves between workers).
   */
  perThread?: { cpu: number; connections?: number; frames: number }[];
}

export function newStats(): ServerStats {
  return { connections: 0, active: 0, frames: 0, bytesIn: 0, bytesOut: 0, oversize: 0, overflow: 0, ioErrors: 0, rejected: 0, processingNs: 0, noBuffers: 0 };
}

/** Turns one complete frame (header included, at buf[off..off+len)) into its answer, appended to out. */
export interface FrameHandler {
  handle(buf: Uint8Array, off: number, len: number, out: OutBuffer, stats: ServerStats): void;
  /**
   * Optional: answers a run of complete frames, buf[start..end), at once.
   * For echo the answers are the input bytes, so one copy serves the whole
   * run instead of one per frame (the hot path of many small messages).
   */
  handleRun?(buf: Uint8Array, start: number, end: number, out: OutBuffer, stats: ServerStats): void;
}

/** Echo: the answer is the same frame, so the bytes are copied as they came. */
export const echoHandler: FrameHandler = {
  handle(buf, off, len, out) {
    out.append(buf, off, len);
  },
  handleRun(buf, start, end, out) {
    out.append(buf, start, end - start);
  },
};

export interface ServerConfig {
  host: string;
  port: number;
  handler: FrameHandler;
  maxFrame: number;
  /** Unsent output above this closes the connection (a client that sends but never reads). */
  maxPendingBytes: number;
  /** uring-sqpoll: how long the kernel's submission thread polls before it sleeps, ms. */
  sqpollIdleMs?: number;
  /** uring-multishot: provided buffers in the ring (a power of two). */
  providedBuffers?: number;
  /**
   * Fault injection (serve --inject-delay-us): busy-wait this many µs before
   * answering each frame, in every backend. 0 or absent: no delay.
   */
  injectDelayUs?: number;
  /** Thread-per-core backends: loops to run (default: one per CPU in `cpus`). */
  threads?: number;
  /** CPUs the server's threads are pinned within, loop i on cpus[i mod n] (default: every CPU this process may use). */
  cpus?: readonly number[];
}

export function defaultConfig(partial: Partial<ServerConfig> = {}): ServerConfig {
  return {
    host: "127.0.0.1",
    port: 0,
    handler: echoHandler,
    maxFrame: DEFAULT_MAX_FRAME,
    maxPendingBytes: 4 * DEFAULT_MAX_FRAME + 64 * 1024,
    ...partial,
  };
}

/**
 * Fault injection: spins for ns on the monotonic clock. A spin, not a sleep:
 * a sleep would let the CPU idle and change the wake-up pattern the benchmark
 * measures, where a slow handler keeps it busy.
 */
export function busyWaitNs(ns: number): void {
  const end = Bun.nanoseconds() + ns;
  while (Bun.nanoseconds() < end);
}

/**
 * Answers every complete frame buffered in `input`, appending to `out`.
 * Returns false when a length prefix exceeds maxFrame (close the connection).
 */
export function processFrames(input: InBuffer, out: OutBuffer, cfg: ServerConfig, stats: ServerStats): boolean {
  const bytes = input.buf.bytes;
  let n = nextFrame(bytes, input.start, input.end, cfg.maxFrame);
  if (n < 0) {
    if (n === TOO_LARGE) {
      stats.oversize++;
      return false;
    }
    return true;
  }
  const handler = cfg.handler;
  const delayUs = cfg.injectDelayUs ?? 0;
  if (handler.handleRun && delayUs === 0) {
    // A run of echo frames is one copy, and is not timed: the two clock reads
    // cost more than the copy (about 0.1 µs of a 5 µs same-core round trip),
    // and the C twins and tokio report no processing time for echo either.
    const runStart = input.start;
    do {
      input.start += n;
      stats.frames++;
      n = nextFrame(bytes, input.start, input.end, cfg.maxFrame);
    } while (n > 0);
    handler.handleRun(bytes, runStart, input.start, out, stats);
  } else {
    const t0 = Bun.nanoseconds();
    do {
      if (delayUs > 0) busyWaitNs(delayUs * 1000);
      handler.handle(bytes, input.start, n, out, stats);
      input.start += n;
      stats.frames++;
      n = nextFrame(bytes, input.start, input.end, cfg.maxFrame);
    } while (n > 0);
    stats.processingNs += Bun.nanoseconds() - t0;
  }
  if (n === TOO_LARGE) {
    stats.oversize++;
    return false;
  }
  return true;
}

/** A running server, whatever its backend. */
export interface Server {
  readonly backend: string;
  readonly host: string;
  readonly port: number;
  readonly stats: ServerStats;
  /** Runs until stop(); resolves once every socket is closed. */
  readonly done: Promise<void>;
  stop(): void;
  /** Brings `stats` up to date where other threads keep the counters (thread-per-core); read it right after. */
  refresh?(): void;
}

/** The flag a server's loop runs while set; stop() clears it. */
export interface RunFlag {
  running: boolean;
}

/** The Server of a loop that runs while its flag is set (the epoll, uring and C loops): stop() clears the flag. */
export function loopServer(backend: string, host: string, port: number, stats: ServerStats, flag: RunFlag, done: Promise<void>): Server {
  return {
    backend,
    host,
    port,
    stats,
    done,
    stop() {
      flag.running = false;
    },
  };
}

export { HEADER_BYTES };
