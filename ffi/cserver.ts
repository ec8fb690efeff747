// bun:ffi bindings for c/uring_cserver.c: echo servers whose whole event loop
// is C (epoll or io_uring). JS only creates one, runs it a few ms at a time
// and reads its counters; no request crosses the FFI boundary. Loaded lazily,
// so importing this module costs nothing when neither C backend is used.
import { dlopen } from "bun:ffi";
import { libPath } from "./build.ts";
import { check } from "./errno.ts";
import { NativeBuffer } from "./memory.ts";

const SYMBOLS = {
  cs_create: { args: ["i32", "i32", "i32", "i64"], returns: "i32" },
  cs_run: { args: ["i32", "i32", "ptr"], returns: "i32" },
  cs_destroy: { args: ["i32"], returns: "i32" },
  cs_stats_bytes: { args: [], returns: "i32" },
} as const;

type CServerSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

let lib: CServerSymbols | undefined;

function symbols(): CServerSymbols {
  if (lib) return lib;
  try {
    lib = dlopen(libPath("uring_cserver"), SYMBOLS).symbols;
  } catch (e) {
    throw new Error(
      `C server shim not loadable (${(e as Error).message}); build it with: npm run setup (needs liburing-dev)`,
    );
  }
  return lib;
}

export const CS_EPOLL = 0, CS_URING = 1;
export type CServerKind = typeof CS_EPOLL | typeof CS_URING;

/** The counters cs_run writes, in struct cs_stats order (int64 each). */
export const STAT_FIELDS = ["connections", "active", "frames", "bytesIn", "bytesOut", "oversize", "overflow", "ioErrors"] as const;
export type CServerCounters = Record<(typeof STAT_FIELDS)[number], number>;

/** One C event loop over an already listening socket (which stays the caller's to close). */
export class CServer {
  readonly handle: number;
  readonly #s: CServerSymbols;
  readonly #stats = new NativeBuffer(STAT_FIELDS.length * 8);
  readonly #statsAddr = this.#stats.addr;
  readonly #counters = new BigInt64Array(this.#stats.bytes.buffer, 0, STAT_FIELDS.length);
  #destroyed = false;

  constructor(kind: CServerKind, listenFd: number, maxFrame: number, maxPendingBytes: number) {
    this.#s = symbols();
    const size = this.#s.cs_stats_bytes();
    if (size !== STAT_FIELDS.length * 8) throw new Error(`cs_stats is ${size} bytes; ffi/cserver.ts expects ${STAT_FIELDS.length * 8}`);
    this.handle = check(kind === CS_URING ? "cs_create(io_uring)" : "cs_create(epoll)", this.#s.cs_create(kind, listenFd, maxFrame, maxPendingBytes));
  }

  /**
   * Runs the C loop for about runMs, then copies its counters into `into`.
   * Returns the events handled; throws when the loop cannot go on.
   */
  run(runMs: number, into: CServerCounters): number {
    if (this.#destroyed) throw new Error("cs_run on a destroyed C server");
    const ret = this.#s.cs_run(this.handle, runMs, this.#statsAddr as any);
    const c = this.#counters;
    for (let i = 0; i < STAT_FIELDS.length; i++) into[STAT_FIELDS[i]] = Number(c[i]);
    return check("cs_run", ret);
  }

  /** Closes every connection and frees the loop's state. Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#s.cs_destroy(this.handle);
  }
}
