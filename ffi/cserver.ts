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
