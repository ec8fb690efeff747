// bun:ffi bindings for c/uring.c (liburing). Loaded lazily: when liburing or
// io_uring itself is unavailable, `uringStatus()` says why and every other
// backend still runs.
import { dlopen, toArrayBuffer } from "bun:ffi";
import { release } from "node:os";
import { libPath } from "./build.ts";
import { check, EPERM, ENOSYS, errnoName, SysError } from "./errno.ts";
import { NativeBuffer, spanAddr } from "./memory.ts";

export const IORING_SETUP_SQPOLL = 1 << 1;
export const IORING_SETUP_COOP_TASKRUN = 1 << 8;
export const IORING_SETUP_TASKRUN_FLAG = 1 << 9;
export const IORING_SETUP_SINGLE_ISSUER = 1 << 12;
export const IORING_SETUP_DEFER_TASKRUN = 1 << 13;
export const IORING_FEAT_EXT_ARG = 1 << 8;
export const IORING_CQE_F_BUFFER = 1 << 0;
export const IORING_CQE_F_MORE = 1 << 1;
export const Op = { NOP: 0, ACCEPT: 13, ASYNC_CANCEL: 14, CLOSE: 19, SEND: 26, RECV: 27 } as const;

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
} as const;

type UringSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

let lib: UringSymbols | undefined;
let loadError: string | undefined;

/** Set IOURING_BENCH_FORCE_NO_URING=1 to act as if the kernel refused io_uring (EPERM). */
function forcedOff(): boolean {
  return process.env.IOURING_BENCH_FORCE_NO_URING === "1";
}

function symbols(): UringSymbols {
  if (lib) return lib;
  if (loadError) throw new Error(loadError);
  try {
    lib = dlopen(libPath("uring"), SYMBOLS).symbols;
    return lib;
  } catch (e) {
    loadError = `liburing shim not loadable (${(e as Error).message}); install it with: sudo apt-get install -y liburing-dev && npm run setup`;
    throw new Error(loadError);
  }
}

export interface UringStatus {
  available: boolean;
  errno?: number;
  reason?: string;
  hint?: string;
}

const HINTS: Record<number, string> = {
  [EPERM]:
    "io_uring is refused: check `sysctl kernel.io_uring_disabled` (0 allows it) and any seccomp filter (containers often block io_uring_setup)",
  [ENOSYS]: "the kernel has no io_uring (needs Linux 5.1+; this suite uses features of 5.19+)",
  12: "out of locked memory for the ring: raise `ulimit -l` or use fewer entries",
  22: "the kernel rejected these setup flags; it may be too old for them",
};

export function hintFor(errno: number): string {
  return HINTS[errno] ?? "see io_uring_setup(2)";
}

/** Whether a ring can be created here at all, with the errno and a hint when not. */
export function uringStatus(): UringStatus {
  if (forcedOff()) {
    return { available: false, errno: EPERM, reason: "io_uring_queue_init: EPERM (forced by IOURING_BENCH_FORCE_NO_URING=1)", hint: hintFor(EPERM) };
  }
  let s: UringSymbols;
  try {
    s = symbols();
  } catch (e) {
    return { available: false, errno: ENOSYS, reason: (e as Error).message, hint: "sudo apt-get install -y liburing-dev && npm run setup" };
  }
  const ret = s.ur_probe_setup(0);
  if (ret < 0) {
    const err = -ret;
    return { available: false, errno: err, reason: `io_uring_queue_init: ${errnoName(err)}`, hint: hintFor(err) };
  }
  return { available: true };
}

/** 0 when a ring with these IORING_SETUP_* flags can be created, else the errno. */
export function probeSetupFlags(flags: number): number {
  if (forcedOff()) return EPERM;
  const ret = symbols().ur_probe_setup(flags);
  return ret < 0 ? -ret : 0;
}

/**
 * 0 when multishot recv with a provided-buffer ring works here, else an errno.
 * Buffer rings are 5.19+, multishot recv 6.0+: older kernels reject the
 * registration or the recv flag with EINVAL.
 */
export function probeMultishot(): number {
  if (forcedOff()) return EPERM;
  const m = release().match(/^(\d+)\./);
  if (m && Number(m[1]) < 6) return 22;
  let ring: Ring | undefined;
  try {
    ring = new Ring(4);
    ring.setupBuffers(2, 64);
    return 0;
  } catch (e) {
    return e instanceof SysError ? e.errno : ENOSYS;
  } finally {
    ring?.close();
  }
}

/** Whether the kernel supports an opcode (Op.*). */
export function probeOp(op: number): boolean {
  return symbols().ur_probe_op(op) === 1;
}

export interface RingOptions {
  /**
   * Exactly these IORING_SETUP_* flags (the ring fails when the kernel refuses
   * them). Absent: set up as liburing's examples/proxy.c does, taking the first
   * of SINGLE_ISSUER|DEFER_TASKRUN, COOP_TASKRUN|TASKRUN_FLAG, none that the
   * kernel accepts (see `setup`); such a ring must be used only by the thread
   * that created it.
   */
  flags?: number;
  /** SQPOLL only: how long the kernel thread polls before sleeping, ms. */
  sqIdleMs?: number;
  /** SQPOLL only: CPU for the kernel thread (-1: any). */
  sqCpu?: number;
  /**
   * Register the ring fd (IORING_ENTER_REGISTERED_RING: every enter skips an
   * fdget/fdput), as proxy.c does. Default true; false for the ladder's steps
   * before it (bench/verdict/ladder.ts): the registration is given back, and setup.ringFdRegistered is 0.
   */
  registerRingFd?: boolean;
}

export const CQ_BATCH = 1024;

/** How a ring was set up (the same fields as ffi/cserver.ts's RingSetup). */
export interface RingSetup {
  /** IORING_SETUP_* the ring runs with. */
  setupFlags: number;
  /** errno of a flag set the kernel refused before the one in use; 0 when the first was taken. */
  setupFallbackErrno: number;
  /** 1 when the ring fd is registered (IORING_ENTER_REGISTERED_RING), else the -errno of the refusal. */
  ringFdRegistered: number;
}

const SETUP_NAMES: [number, string][] = [
  [IORING_SETUP_SQPOLL, "SQPOLL"],
  [IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"],
  [IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG"],
  [IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"],
  [IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"],
];

/** What a `stats {json}` line carries about a server's ring. */
export interface RingSetupFields {
  /** The flags as names, e.g. "SINGLE_ISSUER|DEFER_TASKRUN". */
  ringFlags: string;
  ringSetupFlags: number;
  ringSetupFallbackErrno: number;
  ringFdRegistered: number;
}

export function ringSetupFields(s: RingSetup): RingSetupFields {
  return { ringFlags: setupFlagNames(s.setupFlags), ringSetupFlags: s.setupFlags, ringSetupFallbackErrno: s.setupFallbackErrno, ringFdRegistered: s.ringFdRegistered };
}

/** IORING_SETUP_* as names joined by `|` ("none" for 0), e.g. for a stats line. */
export function setupFlagNames(flags: number): string {
  const names: string[] = [];
  let rest = flags >>> 0;
  for (const [bit, name] of SETUP_NAMES) {
    if (rest & bit) names.push(name);
    rest &= ~bit;
  }
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join("|") : "none";
}

/**
 * An io_uring instance and the buffer completions are reaped into (allocated
 * once). After run()/reap() returns n, completion i has tag tagLo(i)/tagHi(i),
 * result res(i) and flags flags(i).
 */
export class Ring implements Disposable {
  readonly handle: number;
  readonly features: number;
  readonly #s: UringSymbols;
  /** Where completions are reaped to: CQ_BATCH * 16 bytes, alive as long as this Ring. */
  readonly #cqBuf = new NativeBuffer(CQ_BATCH * 16);
  readonly cq = new Int32Array(this.#cqBuf.bytes.buffer);
  /** How the ring was set up: the flags in use, a refused set's errno, the ring fd registration. */
  readonly setup: RingSetup;
  #closed = false;

  constructor(entries = 256, opts: RingOptions = {}) {
    if (forcedOff()) throw new SysError("io_uring_queue_init", EPERM, "forced by IOURING_BENCH_FORCE_NO_URING=1");
    this.#s = symbols();
    const s = this.#s;
    const ret = opts.flags === undefined ? s.ur_create_tuned(entries) : s.ur_create(entries, opts.flags, opts.sqIdleMs ?? 1000, opts.sqCpu ?? -1);
    if (ret < 0) throw new SysError("io_uring_queue_init", -ret, hintFor(-ret));
    if (opts.registerRingFd === false) {
      // Every ring is created registered (as proxy.c does); a ladder step without it gives it back.
      const u = s.ur_unregister_ring_fd(ret);
      if (u < 0) {
        s.ur_destroy(ret);
        throw new SysError("io_uring_unregister_ring_fd", -u, hintFor(-u));
      }
    }
    this.handle = ret;
    this.features = this.#s.ur_features(ret);
    this.setup = {
      setupFlags: this.#s.ur_setup_flags(ret) >>> 0,
      setupFallbackErrno: this.#s.ur_setup_fallback_errno(ret),
      ringFdRegistered: this.#s.ur_ring_fd_registered(ret),
    };
  }

  get ringFd(): number {
    return this.#s.ur_ring_fd(this.handle);
  }

  // The prep* calls queue an SQE; nothing reaches the kernel until submit()/run().
  // They return 0 or -errno (-EBUSY when the SQ is full even after a submit).
  prepAccept(fd: number, tag: number): number {
    return this.#s.ur_prep_accept(this.handle, fd, tag);
  }
  /**
   * A recv into buf[offset, offset + length) (checked: RangeError). Safety: the
   * kernel writes there after this call returns, so keep buf alive and that range
   * untouched until this tag completes.
   */
  prepRecv(fd: number, buf: NativeBuffer, offset: number, length: number, tag: number): number {
    return this.#s.ur_prep_recv(this.handle, fd, spanAddr("prepRecv", buf, offset, length) as any, length, tag);
  }
  /**
   * A send of buf[offset, offset + length) (checked: RangeError), with
   * MSG_WAITALL: it completes when every byte went or the connection failed
   * (a short count is still possible on failure). Safety: the kernel reads it
   * after this call returns, so keep buf alive and that range unchanged until
   * this tag completes.
   */
  prepSend(fd: number, buf: NativeBuffer, offset: number, length: number, tag: number): number {
    return this.#s.ur_prep_send(this.handle, fd, spanAddr("prepSend", buf, offset, length) as any, length, tag);
  }
  prepClose(fd: number, tag: number): number {
    return this.#s.ur_prep_close(this.handle, fd, tag);
  }
  prepNop(tag: number): number {
    return this.#s.ur_prep_nop(this.handle, tag);
  }
  prepCancelFd(fd: number, tag: number): number {
    return this.#s.ur_prep_cancel_fd(this.handle, fd, tag);
  }
  /** One SQE that completes once per accepted connection (IORING_CQE_F_MORE while it stays armed). */
  prepAcceptMultishot(fd: number, tag: number): number {
    return this.#s.ur_prep_accept_multishot(this.handle, fd, tag);
  }
  /** Multishot recv into the provided buffers (setupBuffers first); buffer id in flags >>> 16. */
  prepRecvMultishot(fd: number, tag: number): number {
    return this.#s.ur_prep_recv_multishot(this.handle, fd, tag);
  }
  /**
   * Registers `entries` provided buffers of `size` bytes (memory owned by C,
   * freed with the ring) and returns a view of them. The view is valid until
   * close(); a buffer's bytes are stable until it is recycled.
   */
  setupBuffers(entries: number, size: number): Uint8Array {
    check("io_uring_register_buf_ring", this.#s.ur_buf_ring_setup(this.handle, 0, entries, size), "buffer rings need Linux 5.19+");
    const base = this.#s.ur_buf_base(this.handle);
    if (!base) throw new Error("ur_buf_base: no buffers");
    this.#buffers = new Uint8Array(toArrayBuffer(base, 0, entries * size));
    return this.#buffers;
  }
  #buffers?: Uint8Array;
  /** Gives buffer bid back to the kernel; its bytes must not be read afterwards. */
  recycleBuffer(bid: number): number {
    return this.#s.ur_buf_recycle(this.handle, bid);
  }
  submit(): number {
    return check("io_uring_submit", this.#s.ur_submit(this.handle));
  }
  /**
   * One loop step, one FFI crossing: submit what is queued, wait for waitNr
   * completions (timeoutMs < 0: no limit), reap up to max into `cq`.
   */
  run(waitNr: number, timeoutMs: number, max = CQ_BATCH): number {
    return check("io_uring_submit_and_wait", this.#s.ur_run(this.handle, waitNr, timeoutMs, this.#cqAt(max), max));
  }
  /** Reaps what is ready without entering the kernel. */
  reap(max = CQ_BATCH): number {
    return check("io_uring_peek_cqe", this.#s.ur_reap(this.handle, this.#cqAt(max), max));
  }
  /** Safety: C writes at most max 16-byte completions (max <= CQ_BATCH, checked), during the call only. */
  #cqAt(max: number): any {
    return spanAddr("io_uring reap", this.#cqBuf, 0, max * 16);
  }
  tagLo(i: number): number {
    return this.cq[i * 4] >>> 0;
  }
  tagHi(i: number): number {
    return this.cq[i * 4 + 1] >>> 0;
  }
  res(i: number): number {
    return this.cq[i * 4 + 2];
  }
  flags(i: number): number {
    return this.cq[i * 4 + 3] >>> 0;
  }
  /**
   * Destroys the ring. Provided buffers are freed only once the kernel
   * confirmed that no request holds one (else they are leaked); completions
   * still in the CQ are dropped, so drain what you track first.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#s.ur_destroy(this.handle);
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
