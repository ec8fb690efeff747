// bun:ffi bindings for the C twin loops: c/loop_epoll.c (build/loop_epoll.so)
// and c/loop_uring.c (build/loop_uring.so, linked with liburing). Both export
// the same functions (c/loop_common.h), so one symbol table describes either.
// JS only creates a server, runs it a few ms at a time and reads its counters;
// no request crosses the FFI boundary. Each library is loaded on first use,
// so c-epoll never needs liburing and importing this module costs nothing.
import { dlopen } from "bun:ffi";
import { libPath } from "./build.ts";
import { check } from "./errno.ts";
import { NativeBuffer, spanAddr } from "./memory.ts";
import { ringSetupFields, type RingSetup } from "./uring.ts";

const SYMBOLS = {
  cs_create: { args: ["i32", "i32", "i64", "i32"], returns: "i32" },
  cs_run: { args: ["i32", "i32", "ptr"], returns: "i32" },
  cs_destroy: { args: ["i32"], returns: "i32" },
  cs_stats_bytes: { args: [], returns: "i32" },
  cs_ring_info: { args: ["i32", "ptr"], returns: "i32" },
  cs_mt_start: { args: ["ptr", "ptr", "i32", "i32", "i64", "i32"], returns: "i32" },
  cs_mt_stats: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  cs_mt_stop: { args: ["i32"], returns: "i32" },
} as const;

type CServerSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

export const CS_EPOLL = 0, CS_URING = 1;
export type CServerKind = typeof CS_EPOLL | typeof CS_URING;

const LIBRARY: Record<CServerKind, { name: string; hint: string }> = {
  [CS_EPOLL]: { name: "loop_epoll", hint: "npm run setup" },
  [CS_URING]: { name: "loop_uring", hint: "npm run setup (needs liburing-dev)" },
};
const libs: Partial<Record<CServerKind, CServerSymbols>> = {};

function symbols(kind: CServerKind): CServerSymbols {
  const loaded = libs[kind];
  if (loaded) return loaded;
  const { name, hint } = LIBRARY[kind];
  try {
    return (libs[kind] = dlopen(libPath(name), SYMBOLS).symbols);
  } catch (e) {
    throw new Error(`C server shim ${name} not loadable (${(e as Error).message}); build it with: ${hint}`);
  }
}

/** The counters cs_run writes, in struct cs_stats order (int64 each). */
export const STAT_FIELDS = ["connections", "active", "frames", "bytesIn", "bytesOut", "oversize", "overflow", "ioErrors"] as const;
export type CServerCounters = Record<(typeof STAT_FIELDS)[number], number>;
const STATS_BYTES = STAT_FIELDS.length * 8;

/** How a C loop's ring was set up (cs_ring_info; see ring_init_tuned in c/uring_sqe.h). */
export type { RingSetup };

/** One C event loop over an already listening socket (which stays the caller's to close). */
export class CServer {
  readonly handle: number;
  readonly #s: CServerSymbols;
  /** Where cs_run copies its counters: STATS_BYTES, during the call only. */
  readonly #stats = new NativeBuffer(STATS_BYTES);
  readonly #statsAddr = spanAddr("cs_run stats", this.#stats, 0, STATS_BYTES);
  readonly #counters = new BigInt64Array(this.#stats.bytes.buffer, 0, STAT_FIELDS.length);
  /** Where cs_ring_info writes: 3 int32, during the call only. */
  readonly #info = new NativeBuffer(16);
  readonly #kind: CServerKind;
  #destroyed = false;

  /**
   * injectDelayUs > 0 (fault injection): the loop spins that many µs before
   * answering each frame.
   */
  constructor(kind: CServerKind, listenFd: number, maxFrame: number, maxPendingBytes: number, injectDelayUs = 0) {
    this.#s = symbols(kind);
    this.#kind = kind;
    const size = this.#s.cs_stats_bytes();
    if (size !== STATS_BYTES) throw new Error(`cs_stats is ${size} bytes; ffi/cserver.ts expects ${STATS_BYTES}`);
    this.handle = check(kind === CS_URING ? "cs_create(io_uring)" : "cs_create(epoll)", this.#s.cs_create(listenFd, maxFrame, maxPendingBytes, injectDelayUs));
    this.#setup = this.ringSetup();
  }
  #setup: RingSetup | undefined;

  /** The io_uring loop's ring set-up; undefined for the epoll loop. */
  ringSetup(): RingSetup | undefined {
    if (this.#kind !== CS_URING) return undefined;
    if (this.#destroyed) throw new Error("cs_ring_info on a destroyed C server");
    check("cs_ring_info", this.#s.cs_ring_info(this.handle, spanAddr("cs_ring_info", this.#info, 0, 12) as any));
    const v = new Int32Array(this.#info.bytes.buffer, 0, 3);
    return { setupFlags: v[0] >>> 0, setupFallbackErrno: v[1], ringFdRegistered: v[2] };
  }

  /**
   * Runs the C loop for about runMs, then copies its counters into `into`,
   * and for the io_uring loop its ring set-up too (ringFlags, ringSetupFlags,
   * ringSetupFallbackErrno, ringFdRegistered: what a `stats {json}` line shows).
   * Returns the events handled; throws when the loop cannot go on.
   */
  run(runMs: number, into: CServerCounters): number {
    if (this.#destroyed) throw new Error("cs_run on a destroyed C server");
    const ret = this.#s.cs_run(this.handle, runMs, this.#statsAddr as any);
    const c = this.#counters;
    for (let i = 0; i < STAT_FIELDS.length; i++) into[STAT_FIELDS[i]] = Number(c[i]);
    if (this.#setup) Object.assign(into, ringSetupFields(this.#setup));
    return check("cs_run", ret);
  }

  /** Closes every connection and frees the loop's state. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#s.cs_destroy(this.handle);
  }
}

/**
 * Thread-per-core: one C loop per listener, each on its own thread pinned to
 * its CPU, created, run and torn down on that thread (c/loop_common.h,
 * cs_mt_*). The JS thread only reads the counters; no request touches it.
 */
export class CServerGroup {
  readonly handle: number;
  readonly threads: number;
  readonly #s: CServerSymbols;
  /** Summed counters, then one struct cs_stats per thread. */
  readonly #stats: NativeBuffer;
  readonly #sumAddr: number;
  readonly #perAddr: number;
  readonly #counters: BigInt64Array;
  #stopped = false;

  /**
   * listenFds: one listening socket per loop (SO_REUSEPORT on one port);
   * cpus: the CPU of each loop's thread (-1: not pinned). Returns once every
   * loop serves; throws SysError (no thread left running) when one cannot
   * start: EINVAL for a CPU outside this process's set, the ring's errno.
   */
  constructor(kind: CServerKind, listenFds: readonly number[], cpus: readonly number[], maxFrame: number, maxPendingBytes: number, injectDelayUs = 0) {
    if (listenFds.length < 1 || cpus.length !== listenFds.length) throw new RangeError(`CServerGroup: one CPU per listener (${listenFds.length} listeners, ${cpus.length} CPUs)`);
    this.#s = symbols(kind);
    const size = this.#s.cs_stats_bytes();
    if (size !== STATS_BYTES) throw new Error(`cs_stats is ${size} bytes; ffi/cserver.ts expects ${STATS_BYTES}`);
    this.threads = listenFds.length;
    const args = new NativeBuffer(8 * this.threads);
    const ints = new Int32Array(args.bytes.buffer, 0, 2 * this.threads);
    listenFds.forEach((fd, i) => (ints[i] = fd));
    cpus.forEach((c, i) => (ints[this.threads + i] = c));
    // Safety: both spans lie within args, which outlives the call; C copies what it keeps.
    const lfds = spanAddr("cs_mt_start lfds", args, 0, 4 * this.threads);
    const cpuAddr = spanAddr("cs_mt_start cpus", args, 4 * this.threads, 4 * this.threads);
    this.handle = check(kind === CS_URING ? "cs_mt_start(io_uring)" : "cs_mt_start(epoll)", this.#s.cs_mt_start(lfds as any, cpuAddr as any, this.threads, maxFrame, maxPendingBytes, injectDelayUs), "is every CPU one this process may use?");
    this.#stats = new NativeBuffer(STATS_BYTES * (1 + this.threads));
    this.#sumAddr = spanAddr("cs_mt_stats sum", this.#stats, 0, STATS_BYTES);
    this.#perAddr = spanAddr("cs_mt_stats threads", this.#stats, STATS_BYTES, STATS_BYTES * this.threads);
    this.#counters = new BigInt64Array(this.#stats.bytes.buffer, 0, STAT_FIELDS.length * (1 + this.threads));
  }

  /**
   * Copies the counters summed over the loops into `into` and returns each
   * loop.s (as of its last step); throws the first loop's error once
   * one has failed.
   */
  stats(into: CServerCounters): CServerCounters[] {
    if (this.#stopped) throw new Error("cs_mt_stats on a stopped group");
    // Safety: both spans lie within #stats (sized for 1 + threads structs at construction).
    const ret = this.#s.cs_mt_stats(this.handle, this.#sumAddr as any, this.#perAddr as any);
    const c = this.#counters;
    const read = (k: number, out: CServerCounters) => {
      for (let i = 0; i < STAT_FIELDS.length; i++) out[STAT_FIELDS[i]] = Number(c[k * STAT_FIELDS.length + i]);
      return out;
    };
    read(0, into);
    const per = Array.from({ length: this.threads }, (_, t) => read(1 + t, {} as CServerCounters));
    check("cs_mt_stats", ret);
    return per;
  }

  /** Stops every loop (each closes its connections) and joins the threads; returns a loop's errno or 0. Idempotent. */
  stop(): number {
    if (this.#stopped) return 0;
    this.#stopped = true;
    return this.#s.cs_mt_stop(this.handle);
  }
}
