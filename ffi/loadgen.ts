// bun:ffi bindings for c/loadgen.c: the load client whose whole measurement
// (warm-up, measured interval, drain) runs in C, one call per measurement,
// blocking the JS thread meanwhile (with several client threads, C starts
// and joins them inside the call). Callers pass NativeBuffers with offsets
// and lengths, checked here. Loaded on first use.
import { dlopen, FFIType } from "bun:ffi";
import { libPath } from "./build.ts";
import { check } from "./errno.ts";
import { cString, spanAddr, type NativeBuffer } from "./memory.ts";

const SYMBOLS = {
  lg_create_threads: { args: ["ptr", "i32", "i32", "i32", "i32", "i32", "i32", "ptr", "i32"], returns: "i32" },
  lg_threads: { args: ["i32"], returns: "i32" },
  lg_cpu_usable: { args: ["i32"], returns: "i32" },
  lg_closed: { args: ["i32", "i32", "i32", FFIType.i64_fast, FFIType.i64_fast, "ptr", "ptr", FFIType.i64_fast], returns: "i32" },
  lg_open: { args: ["i32", "i32", "f64", FFIType.i64_fast, FFIType.i64_fast, "ptr", "ptr", "ptr", FFIType.i64_fast], returns: "i32" },
  lg_destroy: { args: ["i32"], returns: "i32" },
  lg_result_bytes: { args: [], returns: "i32" },
} as const;

type LoadgenSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
let lib: LoadgenSymbols | undefined;

/** struct lg_result, in order (int64 each; see c/loadgen.c). */
export const RESULT_FIELDS = [
  "sent",
  "completed",
  "elapsedNs",
  "clientCpuNs",
  "samples",
  "mismatch",
  "closed",
  "timeouts",
  "ioErrors",
  "overflow",
  "maxLagNs",
  "totalCompleted",
  "deadConnections",
  "lastCpu",
] as const;
export type LoadgenCounters = Record<(typeof RESULT_FIELDS)[number], number>;
/** Bytes of struct lg_result: a result buffer must hold at least this many. */
export const RESULT_BYTES = RESULT_FIELDS.length * 8;

function symbols(): LoadgenSymbols {
  if (lib) return lib;
  let s: LoadgenSymbols;
  try {
    s = dlopen(libPath("loadgen"), SYMBOLS).symbols;
  } catch (e) {
    throw new Error(`load client shim not loadable (${(e as Error).message}); build it with: npm run setup`);
  }
  const size = s.lg_result_bytes();
  if (size !== RESULT_BYTES) throw new Error(`struct lg_result is ${size} bytes; ffi/loadgen.ts expects ${RESULT_BYTES}`);
  return (lib = s);
}

/** The most threads one client may have (LG_MAX_THREADS in c/loadgen.c). */
export const MAX_THREADS = 256;

/**
 * Connects `connections` sockets (each connect bounded by timeoutMs) and
 * allocates every buffer a run needs: a handle for the calls below. The
 * connections are split over `threads` threads (as evenly as they go), each
 * pinned to cpus[i % cpus.length] when cpus is not empty; one thread with no
 * CPU runs on the calling thread. Throws SysError ("lg_create
 * 127.0.0.1:9: ECONNREFUSED ...") when a connect or an allocation fails,
 * EINVAL for bad sizes, more threads than connections or a CPU out of range.
 * Safety: C reads cpus (copied to an Int32Array here) during the call only.
 */
export function lgCreate(host: string, port: number, connections: number, maxPayload: number, maxWindow: number, timeoutMs: number, threads = 1, cpus: readonly number[] = []): number {
  const cpuList = Int32Array.from(cpus.length > 0 ? cpus : [0]);
  return check(`lg_create ${host}:${port}`, symbols().lg_create_threads(cString(host), port, connections, maxPayload, maxWindow, timeoutMs, threads, cpuList, cpus.length));
}

/** Threads of handle h. */
export function lgThreads(h: number): number {
  return check("lg_threads", symbols().lg_threads(h));
}

/**
 * 0 when a thread of this process may be pinned to cpu (tried on a thread of
 * its own), else the errno (EINVAL: no such CPU, or not in this process's cpuset).
 */
export function lgCpuUsable(cpu: number): number {
  const ret = symbols().lg_cpu_usable(cpu);
  return ret < 0 ? -ret : 0;
}

/** A span of u32 samples: [offset, offset + length) bytes of buf, length a multiple of 4. */
function sampleSpan(call: string, buf: NativeBuffer, offset: number, length: number): { addr: number; cap: number } {
  if (offset % 4 !== 0 || length % 4 !== 0) throw new RangeError(`${call}: sample span [${offset}, +${length}) is not 4-byte aligned`);
  return { addr: spanAddr(call, buf, offset, length), cap: length / 4 };
}

/** What a call wrote: the whole client's counters, and each thread's. */
export interface LoadgenRun {
  all: LoadgenCounters;
  threads: LoadgenCounters[];
}

function counters(result: NativeBuffer, record: number): LoadgenCounters {
  const v = new BigInt64Array(result.bytes.buffer, record * RESULT_BYTES, RESULT_FIELDS.length);
  const out = {} as LoadgenCounters;
  for (let i = 0; i < RESULT_FIELDS.length; i++) out[RESULT_FIELDS[i]] = Number(v[i]);
  return out;
}

function runOf(result: NativeBuffer, threads: number): LoadgenRun {
  return { all: counters(result, 0), threads: Array.from({ length: threads }, (_, i) => counters(result, 1 + i)) };
}

/**
 * Closed loop on handle h (see lg_closed in c/loadgen.c); returns the counters.
 * Latencies (u32 ns) go to lat[latOffset, latOffset + latLength), at most latLength / 4 of them,
 * thread i's into its slice (sampleSlice). result must hold (1 + lgThreads(h)) * RESULT_BYTES.
 * Safety: C writes only result[0, (1 + threads) * RESULT_BYTES) and that span (checked:
 * RangeError), during the call only (its threads are joined before it returns); it keeps no
 * pointer once it returns.
 */
export function lgClosed(
  h: number,
  payload: number,
  window: number,
  warmupNs: number,
  durationNs: number,
  result: NativeBuffer,
  lat: NativeBuffer,
  latOffset: number,
  latLength: number,
): LoadgenRun {
  const threads = lgThreads(h);
  const res = spanAddr("lg_closed result", result, 0, (1 + threads) * RESULT_BYTES);
  const l = sampleSpan("lg_closed latencies", lat, latOffset, latLength);
  check("lg_closed", symbols().lg_closed(h, payload, window, warmupNs, durationNs, res as any, l.addr as any, l.cap), pinHint(threads));
  return runOf(result, threads);
}

/**
 * Open loop at ratePerS on handle h (see lg_open in c/loadgen.c); returns the counters.
 * Latencies and send lags (u32 ns) go to the two spans, per thread into its slice
 * (sampleSlice): min(sent, slice) lags and `samples` latencies; both spans must have
 * the same length. result must hold (1 + lgThreads(h)) * RESULT_BYTES.
 * Safety: C writes only result[0, (1 + threads) * RESULT_BYTES) and the two spans
 * (checked: RangeError), during the call only (its threads are joined before it
 * returns); it keeps no pointer once it returns.
 */
export function lgOpen(
  h: number,
  payload: number,
  ratePerS: number,
  warmupNs: number,
  durationNs: number,
  result: NativeBuffer,
  lat: NativeBuffer,
  lag: NativeBuffer,
  offset: number,
  length: number,
): LoadgenRun {
  const threads = lgThreads(h);
  const res = spanAddr("lg_open result", result, 0, (1 + threads) * RESULT_BYTES);
  const l = sampleSpan("lg_open latencies", lat, offset, length);
  const g = sampleSpan("lg_open lags", lag, offset, length);
  check("lg_open", symbols().lg_open(h, payload, ratePerS, warmupNs, durationNs, res as any, l.addr as any, g.addr as any, l.cap), pinHint(threads));
  return runOf(result, threads);
}

/** Samples per thread when a call is given `capacity` of them: each thread's slice (c/loadgen.c). */
export function sampleSlice(capacity: number, threads: number): number {
  return Math.floor(capacity / threads);
}

/** With threads, a failed call may be a thread that could not be started or pinned. */
function pinHint(threads: number): string | undefined {
  return threads > 1 ? "with several client threads: a thread could not be started (EAGAIN) or pinned to its CPU (EINVAL)" : undefined;
}

/** Closes every socket of handle h and frees it; the handle is invalid afterwards. */
export function lgDestroy(h: number): void {
  check("lg_destroy", symbols().lg_destroy(h));
}

