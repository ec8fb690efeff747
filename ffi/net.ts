// bun:ffi bindings for c/net.c (sockets, CPU pinning, clock). With the other
// ffi/ modules, the only code that holds raw addresses: callers pass a
// NativeBuffer with an offset and a length, checked here. Loaded on first use.
import { dlopen, FFIType } from "bun:ffi";
import { readdirSync, readFileSync } from "node:fs";
import { libPath } from "./build.ts";
import { check, ESRCH } from "./errno.ts";
import { cString, spanAddr, type NativeBuffer } from "./memory.ts";

const SYMBOLS = {
  net_listen: { args: ["ptr", "i32", "i32"], returns: "i32" },
  net_listen_opts: { args: ["ptr", "i32", "i32", "i32"], returns: "i32" },
  net_bound_port: { args: ["i32"], returns: "i32" },
  net_set_backlog: { args: ["i32", "i32"], returns: "i32" },
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
  net_pin_tid: { args: ["i32", "i32"], returns: "i32" },
  net_unpin_tid: { args: ["i32"], returns: "i32" },
  net_current_cpu: { args: [], returns: "i32" },
  net_set_timerslack: { args: [FFIType.i64_fast], returns: "i32" },
  net_set_parent_death_signal: { args: ["i32"], returns: "i32" },
  net_now_ns: { args: [], returns: FFIType.i64_fast },
  net_thread_cpu_ns: { args: [], returns: FFIType.i64_fast },
  net_nofile_limit: { args: ["i32"], returns: "i32" },
  net_raise_nofile: { args: [FFIType.i64_fast], returns: "i32" },
  net_noop: { args: ["i32"], returns: "i32" },
  net_pingpong_c: { args: ["i32", "ptr", FFIType.i64_fast, "ptr", FFIType.i64_fast, "i32", "ptr"], returns: FFIType.i64_fast },
} as const;

type NetSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
let lib: NetSymbols | undefined;

function load(): NetSymbols {
  try {
    return (lib = dlopen(libPath("net"), SYMBOLS).symbols);
  } catch (e) {
    throw new Error(`socket shim not loadable (${(e as Error).message}); build it with: npm run setup`);
  }
}

/**
 * Calls into the socket shim so far in this process, counted as N() is taken:
 * once per call, except that the few wrappers making several calls for one
 * request of theirs (pinAllThreads, noFileLimit) count once.
 */
let crossings = 0;

/** How many times this process has called into the socket shim (each call crosses bun:ffi once). */
export function netCrossings(): number {
  return crossings;
}

/** The symbol table, loaded on the first call. */
function N(): NetSymbols {
  crossings++;
  return lib ?? load();
}

export const SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2;

/**
 * The listen backlog of every backend: net.core.somaxconn's default (4096), which
 * caps it anyway. A smaller queue overflows in a burst of connects, and the
 * kernel drops the SYNs it cannot queue: the client retries only after 1 s.
 */
export const LISTEN_BACKLOG = 4096;

/** Non-blocking listening socket with SO_REUSEADDR; port 0 picks an ephemeral port. */
export function listen(host: string, port: number, backlog = LISTEN_BACKLOG): number {
  return check(`listen ${host}:${port}`, N().net_listen(cString(host), port, backlog));
}

/**
 * Listening socket with SO_REUSEPORT as well: one per loop of a
 * thread-per-core server, all on one port (port 0 for the first, then its
 * bound port for the rest); the kernel spreads connections over them.
 */
export function listenReusePort(host: string, port: number, backlog = LISTEN_BACKLOG): number {
  return check(`listen ${host}:${port}`, N().net_listen_opts(cString(host), port, backlog, 1));
}

/** Sets the backlog of a socket that already listens (listen(2) again); throws SysError. */
export function setListenBacklog(fd: number, backlog = LISTEN_BACKLOG): void {
  check(`listen fd ${fd} backlog ${backlog}`, N().net_set_backlog(fd, backlog), "is it a listening TCP socket?");
}

export function boundPort(fd: number): number {
  return check("getsockname", N().net_bound_port(fd));
}

/** accept4(SOCK_NONBLOCK): fd, or -errno (-EAGAIN when none is pending). Does not throw. */
export function acceptNonBlocking(listenFd: number): number {
  return N().net_accept_nb(listenFd);
}

/** Blocking connect with TCP_NODELAY set. */
export function connect(host: string, port: number): number {
  return check(`connect ${host}:${port}`, N().net_connect(cString(host), port));
}

export function setNoDelay(fd: number, on = true): void {
  check("setsockopt TCP_NODELAY", N().net_set_nodelay(fd, on ? 1 : 0));
}
export function getNoDelay(fd: number): boolean {
  return check("getsockopt TCP_NODELAY", N().net_get_nodelay(fd)) !== 0;
}
export function setNonBlocking(fd: number, on = true): void {
  check("fcntl O_NONBLOCK", N().net_set_nonblock(fd, on ? 1 : 0));
}
export function setRecvTimeout(fd: number, ms: number): void {
  check("setsockopt SO_RCVTIMEO", N().net_set_recv_timeout(fd, ms));
}
export function setSendTimeout(fd: number, ms: number): void {
  check("setsockopt SO_SNDTIMEO", N().net_set_send_timeout(fd, ms));
}
export function setLingerZero(fd: number): void {
  check("setsockopt SO_LINGER", N().net_set_linger0(fd));
}

/**
 * read(2) into buf[offset, offset + length): bytes read or -errno (never throws
 * for an errno). Safety: C writes only inside that range (checked: RangeError
 * otherwise) and keeps no pointer once the call returns.
 */
export function readInto(fd: number, buf: NativeBuffer, offset: number, length: number): number {
  return N().net_read(fd, spanAddr("readInto", buf, offset, length) as any, length) as number;
}
/**
 * send(2, MSG_NOSIGNAL) from buf[offset, offset + length): bytes sent or -errno.
 * Safety: C reads only that range (checked) and keeps no pointer after the call.
 */
export function writeFrom(fd: number, buf: NativeBuffer, offset: number, length: number): number {
  return N().net_write(fd, spanAddr("writeFrom", buf, offset, length) as any, length) as number;
}
/**
 * Sends all of buf[offset, offset + length) on a blocking socket: length or -errno.
 * Safety: C reads only that range (checked) and keeps no pointer after the call.
 */
export function writeAllFrom(fd: number, buf: NativeBuffer, offset: number, length: number): number {
  return N().net_write_all(fd, spanAddr("writeAllFrom", buf, offset, length) as any, length) as number;
}

export function shutdown(fd: number, how = SHUT_RDWR): number {
  return N().net_shutdown(fd, how);
}
/** close(2); returns 0 or -errno (closing is never worth an exception). */
export function close(fd: number): number {
  return N().net_close(fd);
}

/** Pins the calling thread (the JS thread) to one CPU. */
export function pinThisThread(cpu: number): void {
  check(`sched_setaffinity cpu ${cpu}`, N().net_pin_cpu(cpu), "is that CPU online? see nproc");
}
/** Pins thread `tid` (a Linux thread id, as listed in /proc/PID/task) to one CPU. */
export function pinThread(tid: number, cpu: number): void {
  check(`sched_setaffinity tid ${tid} cpu ${cpu}`, N().net_pin_tid(tid, cpu), "is that CPU online? see nproc");
}
/** Lets thread `tid` run on every CPU again (whatever the cpuset allows). */
export function unpinThread(tid: number): void {
  check(`sched_setaffinity tid ${tid} all cpus`, N().net_unpin_tid(tid));
}

/** The ids of this process's threads now (/proc/self/task). */
export function threadIds(): number[] {
  return readdirSync("/proc/self/task").map(Number).filter((t) => Number.isInteger(t) && t > 0);
}

/**
 * Applies `set` to every thread of this process: Bun runs helper threads
 * (GC, JIT, I/O) besides the JS thread, and pinThisThread moves only the
 * latter. Threads are listed from /proc/self/task until a pass finds none
 * new (a thread started meanwhile inherits its creator's mask, which may not
 * be set yet); a thread that exits before it is reached counts as neither.
 */
function forAllThreads(set: (tid: number) => number): { pinned: number; failed: number } {
  const seen = new Set<number>();
  let pinned = 0;
  let failed = 0;
  for (let pass = 0; pass < 4; pass++) {
    const fresh = threadIds().filter((t) => !seen.has(t));
    if (fresh.length === 0) break;
    for (const tid of fresh) {
      seen.add(tid);
      const ret = set(tid);
      if (ret >= 0) pinned++;
      else if (ret !== -ESRCH) failed++;
    }
  }
  return { pinned, failed };
}

/** Pins every thread of this process to `cpu`; counts the threads pinned and those that refused. */
export function pinAllThreads(cpu: number): { pinned: number; failed: number } {
  const s = N();
  return forAllThreads((tid) => s.net_pin_tid(tid, cpu));
}
/** Undoes pinAllThreads: every thread of this process may run on every CPU again. */
export function unpinAllThreads(): { pinned: number; failed: number } {
  const s = N();
  return forAllThreads((tid) => s.net_unpin_tid(tid));
}

/** Timer slack of the calling thread, ns (1: wake timed waits when due). */
export function setTimerSlack(ns: number): void {
  check("prctl PR_SET_TIMERSLACK", N().net_set_timerslack(ns));
}
/** SIGTERM (15) to this process when its parent exits; true if the parent is already gone. */
export function terminateWithParent(sig = 15): boolean {
  return check("prctl PR_SET_PDEATHSIG", N().net_set_parent_death_signal(sig)) === 1;
}
export function currentCpu(): number {
  return N().net_current_cpu();
}
/** CLOCK_MONOTONIC in ns, read in C (the clock the C loops use). */
export function monotonicNs(): number {
  return N().net_now_ns() as number;
}
/**
 * `iters` ping-pongs timed in C (the reference client): sends send[0, length),
 * reads each answer into recv (all of recv is room for it) and stores each round
 * trip's ns as an int64 in outNs. Returns round trips done or -errno.
 * Safety: outNs must hold iters * 8 bytes and length fit in send (checked:
 * RangeError); C keeps no pointer once the call returns.
 */
export function pingPongInC(fd: number, send: NativeBuffer, length: number, recv: NativeBuffer, iters: number, outNs: NativeBuffer): number {
  const sendAddr = spanAddr("pingPongInC send", send, 0, length);
  const outAddr = spanAddr("pingPongInC outNs", outNs, 0, iters * 8);
  const recvAddr = spanAddr("pingPongInC recv", recv, 0, recv.size);
  return N().net_pingpong_c(fd, sendAddr as any, length, recvAddr as any, recv.size, iters, outAddr as any) as number;
}

/** CPU time of the calling thread (CLOCK_THREAD_CPUTIME_ID), ns: one event loop's cost without the process's other threads. */
export function threadCpuNs(): number {
  return check("clock_gettime CLOCK_THREAD_CPUTIME_ID", N().net_thread_cpu_ns() as number);
}

/** RLIMIT_NOFILE of this process: the soft limit (what open/accept/socket meet) and the hard ceiling. */
export function noFileLimit(): { soft: number; hard: number } {
  const s = N();
  return { soft: check("getrlimit RLIMIT_NOFILE", s.net_nofile_limit(0)), hard: check("getrlimit RLIMIT_NOFILE", s.net_nofile_limit(1)) };
}

export interface NoFileResult {
  /** The soft limit now. */
  soft: number;
  /** The hard limit now. */
  hard: number;
  /** The soft limit is higher than before the call. */
  raised: boolean;
  /** Set when the soft limit stays below what was wanted: why, and the remedy. */
  short?: string;
}

/**
 * Raises RLIMIT_NOFILE's soft limit to `want` descriptors where the hard limit
 * allows (as root, the hard limit too, up to fs.nr_open); never lowers it.
 * Processes spawned afterwards (the servers) inherit the result, so call it
 * before starting them. Throws SysError only for an unexpected failure; a
 * limit that stays below `want` is reported in `short`.
 */
export function raiseNoFile(want: number): NoFileResult {
  if (!Number.isSafeInteger(want) || want <= 0) throw new RangeError(`raiseNoFile: want must be a positive integer, not ${want}`);
  const before = noFileLimit().soft;
  const soft = check(`setrlimit RLIMIT_NOFILE ${want}`, N().net_raise_nofile(want), "see getrlimit(2); the hard limit and fs.nr_open bound it");
  const hard = noFileLimit().hard;
  const result: NoFileResult = { soft, hard, raised: soft > before };
  if (soft < want) {
    const nrOpen = readNrOpen();
    result.short =
      nrOpen !== undefined && nrOpen < want
        ? `RLIMIT_NOFILE is ${soft} (hard ${hard}), below the ${want} descriptors wanted, and fs.nr_open (${nrOpen}) caps even root: run \`sysctl -w fs.nr_open=${want}\` as root, then \`ulimit -n ${want}\``
        : process.getuid?.() === 0
          ? `RLIMIT_NOFILE is ${soft} (hard ${hard}), below the ${want} descriptors wanted; this process is root but may not raise the hard limit (no CAP_SYS_RESOURCE, as in a container): start the container with \`--ulimit nofile=${want}:${want}\`, or raise it where the capability is held`
          : `RLIMIT_NOFILE is ${soft} (hard ${hard}), below the ${want} descriptors wanted, and only root may raise the hard limit: run \`ulimit -n ${want}\` as root (or set nofile in /etc/security/limits.conf) in the shell that starts this, or run it as root`;
  }
  return result;
}

function readNrOpen(): number | undefined {
  try {
    const n = Number(readFileSync("/proc/sys/fs/nr_open", "utf8").trim());
    return Number.isSafeInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/** x + 1 in C: the cost of one bun:ffi crossing. */
export function ffiNoop(x: number): number {
  return N().net_noop(x);
}
/**
 * The bare bun:ffi function behind ffiNoop, for timing a crossing alone
 * (the wrapper's own JS call would otherwise be part of the figure).
 */
export function ffiNoopFn(): (x: number) => number {
  return N().net_noop;
}

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
  constructor(host: string, port: number, backlog = LISTEN_BACKLOG) {
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
