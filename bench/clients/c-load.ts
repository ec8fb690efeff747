// The load client in C (c/loadgen.c): the same closed and open loops as
// bench/clients/load.ts, but the whole measurement runs in one FFI call, so
// no JS runs per request: the client's cost is the kernel's socket work.
// That is still about what a C server pays per request on loopback, so read
// clientCpuUtil (the busiest client CPU's): near 1, the throughput is the pair's,
// not the server's alone; more threads on other CPUs lift that limit.
// A request counts when it was written (closed loop) or due (open loop)
// inside the measured interval; every call ends by draining what is in
// flight, so a clean run has sent === completed in every thread and the next
// call starts idle.
import { errnoName } from "../../ffi/errno.ts";
import { NativeBuffer } from "../../ffi/memory.ts";
import { lgClosed, lgCpuUsable, lgCreate, lgDestroy, lgOpen, MAX_THREADS, RESULT_BYTES, sampleSlice, type LoadgenCounters, type LoadgenRun } from "../../ffi/loadgen.ts";
import { CLIENT_BOUND_UTIL } from "../measure/accounting.ts";
import type { ClientErrors } from "../results/errors.ts";
import type { LoadTarget } from "./load.ts";

export interface CLoadOptions {
  /** Latency (and send lag) samples kept per run, shared evenly by the threads; further requests are counted, not sampled. Default 1 << 21. */
  sampleCapacity?: number;
  /**
   * Client threads, each with its own connections (split as evenly as they
   * go) and its own epoll set; at most `connections`. Default 1.
   */
  threads?: number;
  /**
   * CPUs to pin the threads to: thread i on cpus[i % cpus.length] (several
   * threads on one CPU allowed). Default none: one thread runs on the calling
   * thread, as it always did; more inherit the calling thread's affinity.
   */
  cpus?: readonly number[];
}

/** One client thread's share of a run. */
export interface CLoadThreadResult {
  /** The CPU it was pinned to; null when not pinned. */
  cpu: number | null;
  /** The CPU it was on when it finished (the pinning held when it equals cpu). */
  ranOnCpu: number;
  connections: number;
  sent: number;
  completed: number;
  elapsedNs: number;
  errors: ClientErrors;
  overflow: number;
  /** CPU time this thread used during the measured interval, ns (CLOCK_THREAD_CPUTIME_ID). */
  clientCpuNs: number;
  /** clientCpuNs / elapsedNs. */
  clientCpuUtil: number;
  maxLagNs: number;
  deadConnections: number;
  totalCompleted: number;
  /** Latencies it sampled (its slice of the sample capacity). */
  samples: number;
}

export interface CLoadResult {
  /** Requests of the measured interval that were written. */
  sent: number;
  /** Of those, answered and verified byte for byte. */
  completed: number;
  /** The measured interval's wall time, ns. */
  elapsedNs: number;
  /** completed per second over elapsedNs. */
  throughput: number;
  /** Per sampled request, ns: from the write (closed loop) or the intended send time (open loop). */
  latencyNs: Float64Array;
  /** Open loop only: actual write time minus intended time per sampled request, ns. */
  sendLagNs?: Float64Array;
  /** io includes overflow: a request dropped for want of room fails the run like an I/O error. */
  errors: ClientErrors;
  /** Open loop: due requests dropped because their connection already had maxWindow in flight (also in errors.io). */
  overflow: number;
  /** CPU time the client's threads used during the measured interval, ns (summed over threads). */
  clientCpuNs: number;
  /**
   * The busiest client CPU's share of the interval: its threads' CPU time
   * over their intervals, summed (with one thread, clientCpuNs / elapsedNs):
   * 1 means that CPU was busy with the client the whole time.
   */
  clientCpuUtil: number;
  /** The busiest client CPU reached CLIENT_BOUND_UTIL: the figure may be the client's limit, not the server's. */
  clientBound: boolean;
  /** Index (in threads) of the busiest thread on the busiest CPU. */
  busiestThread: number;
  /** Per thread, in thread order (one entry for a one-thread client). */
  threads: CLoadThreadResult[];
  /** Open loop: the largest send lag in the measured interval, ns. */
  maxLagNs: number;
  /** Connections closed by the server, failed or timed out, this run or an earlier one (never used again). */
  deadConnections: number;
  /** Every answer verified in this call, warm-up and drain included. */
  totalCompleted: number;
}

/**
 * The load client's threads for a placement: `threads` (at most one per
 * connection) on `cpus` in turn; one thread runs on the calling thread, which
 * the run has already put on the client's first CPU.
 */
export function threadOptions(threads: number, cpus: readonly number[], connections: number): CLoadOptions {
  const n = Math.max(1, Math.min(threads, connections));
  return n > 1 ? { threads: n, cpus: cpus.length ? cpus : undefined } : {};
}

/**
 * Per thread, as the results record it (one entry for a one-thread client):
 * the CPU it was pinned to (null: it ran on the run's own thread, pinned by
 * the run), the CPU it finished on, its CPU share and the requests it completed.
 */
export function threadFigures(r: CLoadResult): { cpu: number | null; ran_on: number; util: number; completed: number }[] | undefined {
  return r.threads.length ? r.threads.map((t) => ({ cpu: t.cpu, ran_on: t.ranOnCpu, util: t.clientCpuUtil, completed: t.completed })) : undefined;
}

/**
 * The client's limit is a CPU, not a thread: threads sharing a CPU add their
 * shares (two threads at 50% on one CPU keep it busy). Threads not pinned
 * (cpu null) count alone. Returns that CPU's share and its busiest thread.
 */
export function busiestCpu(threads: readonly Pick<CLoadThreadResult, "cpu" | "clientCpuUtil">[]): { busiest: number; util: number } {
  const byCpu = new Map<number | string, number>();
  threads.forEach((t, i) => {
    const key = t.cpu ?? `thread ${i}`;
    byCpu.set(key, (byCpu.get(key) ?? 0) + t.clientCpuUtil);
  });
  let busiest = 0, util = 0;
  threads.forEach((t, i) => {
    const share = byCpu.get(t.cpu ?? `thread ${i}`)!;
    if (share > util || (share === util && t.clientCpuUtil > threads[busiest].clientCpuUtil)) {
      util = share;
      busiest = i;
    }
  });
  return { busiest, util };
}

export class CLoadClient implements Disposable {
  readonly connections: number;
  readonly maxPayload: number;
  readonly maxWindow: number;
  readonly sampleCapacity: number;
  readonly threads: number;
  readonly cpus: readonly number[];
  /** Connections of each thread, in thread order (as c/loadgen.c splits them). */
  readonly connectionsPerThread: readonly number[];
  #handle: number;
  readonly #result: NativeBuffer;
  readonly #lat: NativeBuffer;
  #lag: NativeBuffer | undefined;

  /**
   * Connects `connections` sockets to target; buffers are sized for maxWindow
   * frames of maxPayload per connection. Throws RangeError for a bad thread
   * count or CPU list (before connecting anything), SysError naming lg_create
   * and the errno (ECONNREFUSED, EMFILE, ETIMEDOUT after timeoutMs, EINVAL).
   */
  constructor(target: LoadTarget, connections: number, maxPayload: number, maxWindow: number, timeoutMs = 5000, opts: CLoadOptions = {}) {
    this.connections = connections;
    this.maxPayload = maxPayload;
    this.maxWindow = maxWindow;
    this.sampleCapacity = opts.sampleCapacity ?? 1 << 21;
    this.threads = opts.threads ?? 1;
    this.cpus = [...(opts.cpus ?? [])];
    if (!Number.isInteger(this.sampleCapacity) || this.sampleCapacity < 1) throw new RangeError(`sampleCapacity must be a positive integer, not ${this.sampleCapacity}`);
    checkThreads(this.threads, connections, this.cpus);
    const base = Math.floor(connections / this.threads), extra = connections % this.threads;
    this.connectionsPerThread = Array.from({ length: this.threads }, (_, i) => base + (i < extra ? 1 : 0));
    this.#result = new NativeBuffer((1 + this.threads) * RESULT_BYTES);
    this.#lat = new NativeBuffer(this.sampleCapacity * 4);
    this.#handle = lgCreate(target.host, target.port, connections, maxPayload, maxWindow, timeoutMs, this.threads, this.cpus);
  }

  #h(): number {
    if (this.#handle < 0) throw new Error("CLoadClient is closed");
    return this.#handle;
  }

  /** Closed loop: every connection keeps `window` requests in flight; warm-up, measure, drain. */
  closed(payload: number, window: number, warmupMs: number, durationMs: number): CLoadResult {
    const c = lgClosed(this.#h(), payload, window, msToNs(warmupMs), msToNs(durationMs), this.#result, this.#lat, 0, this.sampleCapacity * 4);
    return this.#toResult(c, false);
  }

  /**
   * Open loop (wrk2 style): request i is due at start + i / ratePerS on
   * connection i mod connections, latency counted from that time.
   */
  open(payload: number, ratePerS: number, warmupMs: number, durationMs: number): CLoadResult {
    // Allocated on the first open loop only, then reused.
    const lag = (this.#lag ??= new NativeBuffer(this.sampleCapacity * 4));
    const c = lgOpen(this.#h(), payload, ratePerS, msToNs(warmupMs), msToNs(durationMs), this.#result, this.#lat, lag, 0, this.sampleCapacity * 4);
    return this.#toResult(c, true);
  }

  #toResult(run: LoadgenRun, open: boolean): CLoadResult {
    const c = run.all;
    const slice = sampleSlice(this.sampleCapacity, this.threads);
    const threads = run.threads.map((t, i) => this.#threadResult(t, i));
    const { busiest, util } = busiestCpu(threads);
    const out: CLoadResult = {
      sent: c.sent,
      completed: c.completed,
      elapsedNs: c.elapsedNs,
      throughput: c.elapsedNs > 0 ? c.completed / (c.elapsedNs / 1e9) : 0,
      // Each thread's samples sit at the start of its slice.
      latencyNs: gather(this.#lat, slice, run.threads.map((t) => t.samples)),
      errors: errorsOf(c),
      overflow: c.overflow,
      clientCpuNs: c.clientCpuNs,
      clientCpuUtil: util,
      clientBound: util >= CLIENT_BOUND_UTIL,
      busiestThread: busiest,
      threads,
      maxLagNs: c.maxLagNs,
      deadConnections: c.deadConnections,
      totalCompleted: c.totalCompleted,
    };
    // C writes one lag per measured request sent, up to each thread's slice.
    if (open) out.sendLagNs = gather(this.#lag!, slice, run.threads.map((t) => Math.min(t.sent, slice)));
    return out;
  }

  #threadResult(t: LoadgenCounters, i: number): CLoadThreadResult {
    return {
      cpu: this.cpus.length > 0 ? this.cpus[i % this.cpus.length] : null,
      ranOnCpu: t.lastCpu,
      connections: this.connectionsPerThread[i],
      sent: t.sent,
      completed: t.completed,
      elapsedNs: t.elapsedNs,
      errors: errorsOf(t),
      overflow: t.overflow,
      clientCpuNs: t.clientCpuNs,
      clientCpuUtil: t.elapsedNs > 0 ? t.clientCpuNs / t.elapsedNs : 0,
      maxLagNs: t.maxLagNs,
      deadConnections: t.deadConnections,
      totalCompleted: t.totalCompleted,
      samples: t.samples,
    };
  }

  /** Closes every connection and frees the C side. Idempotent. */
  close(): void {
    if (this.#handle < 0) return;
    const h = this.#handle;
    this.#handle = -1;
    lgDestroy(h);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function msToNs(ms: number): number {
  return Math.round(ms * 1e6);
}

/** io includes overflow: a request dropped for want of room fails the run like an I/O error. */
function errorsOf(c: LoadgenCounters): ClientErrors {
  return { timeout: c.timeouts, closed: c.closed, mismatch: c.mismatch, io: c.ioErrors + c.overflow };
}

/** counts[i] u32 samples from the start of slice i of buf (slices of `slice` samples), as one array. */
function gather(buf: NativeBuffer, slice: number, counts: number[]): Float64Array {
  const out = new Float64Array(counts.reduce((a, b) => a + b, 0));
  const all = new Uint32Array(buf.bytes.buffer);
  let at = 0;
  counts.forEach((n, i) => {
    out.set(all.subarray(i * slice, i * slice + n), at);
    at += n;
  });
  return out;
}

/** A clear RangeError for a thread count or CPU list the client cannot use, before anything connects. */
function checkThreads(threads: number, connections: number, cpus: readonly number[]): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) throw new RangeError(`threads must be an integer from 1 to ${MAX_THREADS}, not ${threads}`);
  // A bad connection count itself is C's EINVAL, as before threads existed.
  if (connections >= 1 && threads > connections) throw new RangeError(`threads (${threads}) more than connections (${connections}): each client thread needs at least one connection of its own`);
  for (const cpu of cpus) {
    if (!Number.isInteger(cpu) || cpu < 0) throw new RangeError(`CPU ${cpu} is not a CPU number`);
    const err = lgCpuUsable(cpu);
    if (err !== 0) throw new RangeError(`CPU ${cpu} cannot be used by the load client's threads (sched_setaffinity: ${errnoName(err)}): not a CPU this process may run on`);
  }
}
