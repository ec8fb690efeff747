// The dlopen table of c/uring.c (liburing), loaded on first use, each call
// counted: crossings per request is what the FFI layer costs an event loop.
// The only place that loads the uring shim; ffi/uring.ts wraps it.
import { dlopen } from "bun:ffi";
import { libPath } from "./build.ts";

const SYMBOLS = {
  ur_create: { args: ["u32", "u32", "u32", "i32"], returns: "i32" },
  ur_destroy: { args: ["i32"], returns: "i32" },
  ur_ring_fd: { args: ["i32"], returns: "i32" },
  ur_features: { args: ["i32"], returns: "i32" },
  ur_prep_accept: { args: ["i32", "i32", "u64"], returns: "i32" },
  ur_prep_recv: { args: ["i32", "i32", "ptr", "u32", "u64"], returns: "i32" },
  ur_prep_send: { args: ["i32", "i32", "ptr", "u32", "u64"], returns: "i32" },
  ur_prep_close: { args: ["i32", "i32", "u64"], returns: "i32" },
  ur_prep_nop: { args: ["i32", "u64"], returns: "i32" },
  ur_prep_cancel_fd: { args: ["i32", "i32", "u64"], returns: "i32" },
  ur_submit: { args: ["i32"], returns: "i32" },
  ur_submit_and_wait: { args: ["i32", "u32"], returns: "i32" },
  ur_reap: { args: ["i32", "ptr", "u32"], returns: "i32" },
  ur_run: { args: ["i32", "u32", "i32", "ptr", "u32"], returns: "i32" },
  ur_probe_op: { args: ["i32"], returns: "i32" },
  ur_prep_accept_multishot: { args: ["i32", "i32", "u64"], returns: "i32" },
  ur_prep_recv_multishot: { args: ["i32", "i32", "u64"], returns: "i32" },
  ur_buf_ring_setup: { args: ["i32", "i32", "u32", "u32"], returns: "i32" },
  ur_buf_base: { args: ["i32"], returns: "ptr" },
  ur_buf_recycle: { args: ["i32", "u32"], returns: "i32" },
  ur_probe_setup: { args: ["u32"], returns: "i32" },
  ur_create_tuned: { args: ["u32"], returns: "i32" },
  ur_setup_flags: { args: ["i32"], returns: "i32" },
  ur_setup_fallback_errno: { args: ["i32"], returns: "i32" },
  ur_ring_fd_registered: { args: ["i32"], returns: "i32" },
  ur_unregister_ring_fd: { args: ["i32"], returns: "i32" },
  ur_prep_ops: { args: ["i32", "ptr", "u32"], returns: "i32" },
  ur_ops_done: { args: ["i32"], returns: "i32" },
  ur_step: { args: ["i32", "ptr", "u32", "u32", "i32", "ptr", "u32"], returns: "i32" },
} as const;

export type UringSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

let lib: UringSymbols | undefined;
let loadError: string | undefined;

/** Calls into the uring shim so far in this process: every one crosses bun:ffi once. */
let crossings = 0;

/**
 * How many times this process has called into the uring shim (each call is
 * one bun:ffi crossing). For tests and stats lines: crossings per request of
 * an event loop is the difference over a known number of requests.
 */
export function uringCrossings(): number {
  return crossings;
}

/**
 * f, counting each call in `crossings`. One wrapper per arity, so a call
 * allocates nothing (a rest parameter would allocate an array per call).
 */
function counted(f: (...a: any[]) => any, arity: number): (...a: any[]) => any {
  switch (arity) {
    case 0: return () => (crossings++, f());
    case 1: return (a) => (crossings++, f(a));
    case 2: return (a, b) => (crossings++, f(a, b));
    case 3: return (a, b, c) => (crossings++, f(a, b, c));
    case 4: return (a, b, c, d) => (crossings++, f(a, b, c, d));
    case 5: return (a, b, c, d, e) => (crossings++, f(a, b, c, d, e));
    case 6: return (a, b, c, d, e, g) => (crossings++, f(a, b, c, d, e, g));
    case 7: return (a, b, c, d, e, g, i) => (crossings++, f(a, b, c, d, e, g, i));
  }
  throw new Error(`counted: no wrapper for ${arity} arguments`);
}

/** Set IOURING_BENCH_FORCE_NO_URING=1 to act as if the kernel refused io_uring (EPERM). */
export function forcedOff(): boolean {
  return process.env.IOURING_BENCH_FORCE_NO_URING === "1";
}

export function symbols(): UringSymbols {
  if (lib) return lib;
  if (loadError) throw new Error(loadError);
  try {
    const raw = dlopen(libPath("uring"), SYMBOLS).symbols as Record<string, (...a: any[]) => any>;
    const wrapped: Record<string, (...a: any[]) => any> = {};
    for (const [name, def] of Object.entries(SYMBOLS)) wrapped[name] = counted(raw[name], def.args.length);
    lib = wrapped as unknown as UringSymbols;
    return lib;
  } catch (e) {
    loadError = `liburing shim not loadable (${(e as Error).message}); install it with: sudo apt-get install -y liburing-dev && npm run setup`;
    throw new Error(loadError);
  }
}
