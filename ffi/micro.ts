// bun:ffi bindings for c/micro.c: a bare system call (alone and in a C loop)
// and socket queue sizes, for bench/micro. Loaded on first use, so importing
// this module never needs the shim to be built yet.
import { dlopen, FFIType } from "bun:ffi";
import { libPath } from "./build.ts";
import { check } from "./errno.ts";

const SYMBOLS = {
  mi_getppid: { args: [], returns: FFIType.i64_fast },
  mi_syscall_loop: { args: ["i32"], returns: FFIType.i64_fast },
  mi_unread: { args: ["i32"], returns: "i32" },
  mi_unacked: { args: ["i32"], returns: "i32" },
  mi_set_rcvlowat: { args: ["i32", "i32"], returns: "i32" },
} as const;

type MicroSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
let lib: MicroSymbols | undefined;

function symbols(): MicroSymbols {
  return (lib ??= dlopen(libPath("micro"), SYMBOLS).symbols);
}

/** The getppid(2) shim itself (one system call per call), for hot loops: returns the parent's pid. */
export function getppidFn(): () => number {
  return symbols().mi_getppid as () => number;
}

/** The C loop: `loop(n)` makes n getppid(2) calls and returns the sum of their results (n * ppid). */
export function syscallLoop(): (n: number) => number {
  return symbols().mi_syscall_loop as (n: number) => number;
}

/** Bytes received on a socket and not yet read (FIONREAD). */
export function unreadBytes(fd: number): number {
  return check("ioctl FIONREAD", symbols().mi_unread(fd));
}

/** Bytes sent on a TCP socket and not yet acknowledged (SIOCOUTQ). */
export function unackedBytes(fd: number): number {
  return check("ioctl SIOCOUTQ", symbols().mi_unacked(fd));
}

/** SO_RCVLOWAT in bytes (see c/micro.c). */
export function setRcvLowat(fd: number, bytes: number): void {
  check("setsockopt SO_RCVLOWAT", symbols().mi_set_rcvlowat(fd, bytes));
}
