// The load client in C (c/loadgen.c): the same closed and open loops as
// bench/clients/load.ts, but the whole measurement runs in one FFI call, so
// no JS runs per request: the client's cost is the kernel's socket work.
// That is still about what a C server pays per request on loopback, so read
// clientCpuUtil: near 1, the throughput is the pair's, not the server's alone.
// A request counts when it was written (closed loop) or due (open loop)
// inside the measured interval; every call ends by draining what is in
// flight, so a clean run has sent === completed and the next call starts idle.
import { NativeBuffer } from "../../ffi/memory.ts";
import { lgClosed, lgCreate, lgDestroy, lgOpen, RESULT_BYTES, type LoadgenCounters } from "../../ffi/loadgen.ts";
import type { ClientErrors } from "../results/errors.ts";
import type { LoadTarget } from "./load.ts";

export interface CLoadOptions {
  /** Latency (and send lag) samples kept per run; further requests are counted, not sampled. Default 1 << 21. */
  sampleCapacity?: number;
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
  /** CPU time the client's thread used during the measured interval, ns. */
  clientCpuNs: number;
  /** clientCpuNs / elapsedNs: 1 means the client was busy the whole time. */
  clientCpuUtil: number;
  /** Open loop: the largest send lag in the measured interval, ns. */
  maxLagNs: number;
  /** Connections closed by the server, failed or timed out, this run or an earlier one (never used again). */
  deadConnections: number;
  /** Every answer verified in this call, warm-up and drain included. */
  totalCompleted: number;
}

export class CLoadClient implements Disposable {
  readonly connections: number;
  readonly maxPayload: number;
  readonly maxWindow: number;
  readonly sampleCapacity: number;
  #handle: number;
  readonly #result = new NativeBuffer(RESULT_BYTES);
  readonly #lat: NativeBuffer;
  #lag: NativeBuffer | undefined;

  /**
   * Connects `connections` sockets to target; buffers are sized for maxWindow
   * frames of maxPayload per connection. Throws SysError naming lg_create and
   * the errno (ECONNREFUSED, EMFILE, ETIMEDOUT after timeoutMs, EINVAL).
   */
  constructor(target: LoadTarget, connections: number, maxPayload: number, maxWindow: number, timeoutMs = 5000, opts: CLoadOptions = {}) {
    this.connections = connections;
    this.maxPayload = maxPayload;
    this.maxWindow = maxWindow;
    this.sampleCapacity = opts.sampleCapacity ?? 1 << 21;
    if (!Number.isInteger(this.sampleCapacity) || this.sampleCapacity < 1) throw new RangeError(`sampleCapacity must be a positive integer, not ${this.sampleCapacity}`);
    this.#lat = new NativeBuffer(this.sampleCapacity * 4);
    this.#handle = lgCreate(target.host, target.port, connections, maxPayload, maxWindow, timeoutMs);
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

  #toResult(c: LoadgenCounters, open: boolean): CLoadResult {
    const lat = new Uint32Array(this.#lat.bytes.buffer, 0, c.samples);
    const out: CLoadResult = {
      sent: c.sent,
      completed: c.completed,
      elapsedNs: c.elapsedNs,
      throughput: c.elapsedNs > 0 ? c.completed / (c.elapsedNs / 1e9) : 0,
      latencyNs: Float64Array.from(lat),
      errors: { timeout: c.timeouts, closed: c.closed, mismatch: c.mismatch, io: c.ioErrors + c.overflow },
      overflow: c.overflow,
      clientCpuNs: c.clientCpuNs,
      clientCpuUtil: c.elapsedNs > 0 ? c.clientCpuNs / c.elapsedNs : 0,
      maxLagNs: c.maxLagNs,
      deadConnections: c.deadConnections,
      totalCompleted: c.totalCompleted,
    };
    // C writes one lag per measured request sent, up to the capacity.
    if (open) out.sendLagNs = Float64Array.from(new Uint32Array(this.#lag!.bytes.buffer, 0, Math.min(c.sent, this.sampleCapacity)));
    return out;
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
