// bun:ffi bindings for c/net.c (sockets, CPU pinning, clock). With ffi/epoll.ts
// and ffi/uring.ts, the only modules that hold raw addresses.
import { dlopen, FFIType } from "bun:ffi";
import { libPath } from "./build.ts";
import { check } from "./errno.ts";
import { cString } from "./memory.ts";

const { symbols: N } = dlopen(libPath("net"), {
  net_listen: { args: ["ptr", "i32", "i32"], returns: "i32" },
  net_bound_port: { args: ["i32"], returns: "i32" },
  net_accept_nb: { args: ["i32"], returns: "i32" },
  net_connect: { args: ["ptr", "i32"], returns: "i32" },
  net_set_nodelay: { args: ["i32", "i32"], returns: "i32" },
  net_get_nodelay: { args: ["i32"], returns: "i32" },
  net_set_nonblock: { args: ["i32", "i32"], returns: "i32" },
  net_set_recv_timeout: { args: ["i32", "i32"], returns: "i32" },
  net_set_send_timeout: { args: ["i32", "i32"], returns: "i32" },
  net_set_linger0: { args: ["i32"], returns: "i32" },
  net_read: { args: ["i32", "ptr", FFIType.i64_fast], returns: FFIType.i64_fast },
  net_write: { args: ["i32", "ptr", FFIType.i64_fast], returns: FFIType.i64_fast },
  net_write_all: { args: ["i32", "ptr", FFIType.i64_fast], returns: FFIType.i64_fast },
  net_shutdown: { args: ["i32", "i32"], returns: "i32" },
  net_close: { args: ["i32"], returns: "i32" },
  net_pin_cpu: { args: ["i32"], returns: "i32" },
  net_current_cpu: { args: [], returns: "i32" },
  net_set_timerslack: { args: [FFIType.i64_fast], returns: "i32" },
  net_set_parent_death_signal: { args: ["i32"], returns: "i32" },
  net_now_ns: { args: [], returns: FFIType.i64_fast },
  net_noop: { args: ["i32"], returns: "i32" },
  net_pingpong_c: { args: ["i32", "ptr", FFIType.i64_fast, "ptr", FFIType.i64_fast, "i32", "ptr"], returns: FFIType.i64_fast },
});

export const SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;

/** Non-blocking listening socket with SO_REUSEADDR; port 0 picks an ephemeral port. */
export function listen(host: string, port: number, backlog = 4096): number {
  return check(`listen ${host}:${port}`, N.net_listen(cString(host), port, backlog));
}

export function boundPort(fd: number): number {
  return check("getsockname", N.net_bound_port(fd));
}

/** accept4(SOCK_NONBLOCK): fd, or -errno (-EAGAIN when none is pending). Does not throw. */
export const acceptNonBlocking: (listenFd: number) => number = N.net_accept_nb;

/** Blocking connect with TCP_NODELAY set. */
export function connect(host: string, port: number): number {
  return check(`connect ${host}:${port}`, N.net_connect(cString(host), port));
}

export function setNoDelay(fd: number, on = true): void {
  check("setsockopt TCP_NODELAY", N.net_set_nodelay(fd, on ? 1 : 0));
}
export function getNoDelay(fd: number): boolean {
  return check("getsockopt TCP_NODELAY", N.net_get_nodelay(fd)) !== 0;
}
export function setNonBlocking(fd: number, on = true): void {
  check("fcntl O_NONBLOCK", N.net_set_nonblock(fd, on ? 1 : 0));
}
export function setRecvTimeout(fd: number, ms: number): void {
  check("setsockopt SO_RCVTIMEO", N.net_set_recv_timeout(fd, ms));
}
export function setSendTimeout(fd: number, ms: number): void {
  check("setsockopt SO_SNDTIMEO", N.net_set_send_timeout(fd, ms));
}
export function setLingerZero(fd: number): void {
  check("setsockopt SO_LINGER", N.net_set_linger0(fd));
}

/** read(2) into [addr, addr+len): bytes read or -errno. addr must come from a live NativeBuffer. */
export const readRaw: (fd: number, addr: number, len: number) => number = N.net_read as any;
/** send(2, MSG_NOSIGNAL) from [addr, addr+len): bytes sent or -errno. addr from a live NativeBuffer. */
export const writeRaw: (fd: number, addr: number, len: number) => number = N.net_write as any;
/** Sends all len bytes on a blocking socket: len or -errno. addr from a live NativeBuffer. */
export const writeAllRaw: (fd: number, addr: number, len: number) => number = N.net_write_all as any;

export function shutdown(fd: number, how = SHUT_RDWR): number {
  return N.net_shutdown(fd, how);
}
/** close(2); returns 0 or -errno (closing is never worth an exception). */
export function close(fd: number): number {
  return N.net_close(fd);
}

/** Pins the calling thread (the JS thread) to one CPU. */
export function pinThisThread(cpu: number): void {
  check(`sched_setaffinity cpu ${cpu}`, N.net_pin_cpu(cpu), "is that CPU online? see nproc");
}
/** Timer slack of the calling thread, ns (1: wake timed waits when due). */
export function setTimerSlack(ns: number): void {
  check("prctl PR_SET_TIMERSLACK", N.net_set_timerslack(ns));
}
/** SIGTERM (15) to this process when its parent exits; true if the parent is already gone. */
export function terminateWithParent(sig = 15): boolean {
  return check("prctl PR_SET_PDEATHSIG", N.net_set_parent_death_signal(sig)) === 1;
}
export function currentCpu(): number {
  return N.net_current_cpu();
}
export const monotonicNs: () => number = N.net_now_ns as any;
/**
 * `iters` ping-pongs timed in C (the reference client). Safety: sendAddr/recvAddr/outNsAddr
 * come from live NativeBuffers of at least len, cap and iters*8 bytes. Returns round trips or -errno.
 */
export function pingPongInC(fd: number, sendAddr: number, len: number, recvAddr: number, cap: number, iters: number, outNsAddr: number): number {
  return N.net_pingpong_c(fd, sendAddr as any, len, recvAddr as any, cap, iters, outNsAddr as any) as number;
}

/** x + 1 in C: the cost of one bun:ffi crossing. */
export const ffiNoop: (x: number) => number = N.net_noop;

/** A connected TCP socket that closes itself (`using s = TcpSocket.connect(...)`). */
export class TcpSocket implements Disposable {
  #fd: number;
  constructor(fd: number) {
    this.#fd = fd;
  }
  static connect(host: string, port: number): TcpSocket {
    return new TcpSocket(connect(host, port));
  }
  get fd(): number {
    if (this.#fd < 0) throw new Error("socket is closed");
    return this.#fd;
  }
  get closed(): boolean {
    return this.#fd < 0;
  }
  close(): void {
    if (this.#fd >= 0) close(this.#fd);
    this.#fd = -1;
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** A listening socket that closes itself. */
export class Listener implements Disposable {
  readonly fd: number;
  readonly port: number;
  constructor(host: string, port: number, backlog = 4096) {
    this.fd = listen(host, port, backlog);
    this.port = boundPort(this.fd);
  }
  close(): void {
    close(this.fd);
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
