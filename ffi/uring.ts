// bun:ffi bindings for c/uring.c (liburing). Loaded lazily: when liburing or
// io_uring itself is unavailable, `uringStatus()` says why and every other
// backend still runs.
import { toArrayBuffer } from "bun:ffi";
import { check, EPERM, ENOSYS, errnoName, SysError } from "./errno.ts";
import { NativeBuffer, spanAddr } from "./memory.ts";
import { forcedOff, symbols, type UringSymbols } from "./uring-lib.ts";

export { uringCrossings } from "./uring-lib.ts";

export const IORING_SETUP_SQPOLL = 1 << 1;
export const IORING_SETUP_COOP_TASKRUN = 1 << 8;
export const IORING_SETUP_TASKRUN_FLAG = 1 << 9;
export const IORING_SETUP_SINGLE_ISSUER = 1 << 12;
export const IORING_SETUP_DEFER_TASKRUN = 1 << 13;
export const IORING_FEAT_EXT_ARG = 1 << 8;
export const IORING_CQE_F_BUFFER = 1 << 0;
export const IORING_CQE_F_MORE = 1 << 1;
export const Op = { NOP: 0, ACCEPT: 13, ASYNC_CANCEL: 14, CLOSE: 19, SEND: 26, RECV: 27 } as const;


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
/**
 * Operations one Ring holds for its next step (32 bytes each, struct ur_op in
 * c/uring.c). More are prepared into SQEs at once, in one more crossing.
 */
export const OP_QUEUE = 1024;
const OP_BYTES = 32;
const OP_WORDS = OP_BYTES / 4;
/** struct ur_op's op field (c/uring.c's UR_OP_*). */
const UrOp = { NOP: 0, ACCEPT: 1, ACCEPT_MULTISHOT: 2, RECV: 3, RECV_MULTISHOT: 4, SEND: 5, CLOSE: 6, CANCEL_FD: 7, RECYCLE: 8 } as const;
const UR_OP_NAMES = ["nop", "accept", "accept multishot", "recv", "recv multishot", "send", "close", "cancel", "buffer recycle"];
const TWO_32 = 4294967296;

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
 * An io_uring instance, the buffer completions are reaped into and the queue
 * of operations for its next step (both allocated once). After step()/run()/
 * reap() returns n, completion i has tag tagLo(i)/tagHi(i), result res(i) and
 * flags flags(i).
 *
 * Two ways to queue an operation: the queue* methods write a 32-byte record
 * into the op queue, and the next step() (or run()) prepares them all, submits,
 * waits and reaps in ONE FFI crossing; the prep* methods each cross at once to
 * fill an SQE. An event loop uses queue* and step().
 */
export class Ring implements Disposable {
  readonly handle: number;
  readonly features: number;
  readonly #s: UringSymbols;
  /** Where completions are reaped to: CQ_BATCH * 16 bytes, alive as long as this Ring. */
  readonly #cqBuf = new NativeBuffer(CQ_BATCH * 16);
  readonly cq = new Int32Array(this.#cqBuf.bytes.buffer);
  /** Operations queued for the next step: OP_QUEUE records of struct ur_op, alive as long as this Ring. */
  readonly #opBuf = new NativeBuffer(OP_QUEUE * OP_BYTES);
  readonly #ops = new Uint32Array(this.#opBuf.bytes.buffer);
  #nops = 0;
  /** Provided buffers registered (setupBuffers), 0 when none. */
  #bufEntries = 0;
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
    this.#bufEntries = entries;
    return this.#buffers;
  }
  #buffers?: Uint8Array;
  /** Gives buffer bid back to the kernel; its bytes must not be read afterwards. */
  recycleBuffer(bid: number): number {
    return this.#s.ur_buf_recycle(this.handle, bid);
  }

  // The queue* calls write one record into the op queue and never cross FFI
  // (except when OP_QUEUE records are already waiting: they are prepared into
  // SQEs first, in one crossing). The kernel sees them at the next step().
  // Addresses are taken when queued: a buffer range given to queueRecv/
  // queueSend is checked here (RangeError) and must stay alive and (for a
  // recv) untouched from this call until its tag completes.
  queueNop(tag: number): void {
    this.#push(UrOp.NOP, -1, 0, 0, 0, tag);
  }
  queueAccept(fd: number, tag: number): void {
    this.#push(UrOp.ACCEPT, fd, 0, 0, 0, tag);
  }
  /** One SQE that completes once per accepted connection (IORING_CQE_F_MORE while it stays armed). */
  queueAcceptMultishot(fd: number, tag: number): void {
    this.#push(UrOp.ACCEPT_MULTISHOT, fd, 0, 0, 0, tag);
  }
  /** A recv into buf[offset, offset + length); see prepRecv. */
  queueRecv(fd: number, buf: NativeBuffer, offset: number, length: number, tag: number): void {
    this.#push(UrOp.RECV, fd, spanAddr("queueRecv", buf, offset, length), length, 0, tag);
  }
  /** Multishot recv into the provided buffers (setupBuffers first); buffer id in flags >>> 16. */
  queueRecvMultishot(fd: number, tag: number): void {
    if (!this.#bufEntries) throw new SysError("io_uring_prep_recv_multishot", 22, "no provided buffers: call setupBuffers first");
    this.#push(UrOp.RECV_MULTISHOT, fd, 0, 0, 0, tag);
  }
  /** A send of buf[offset, offset + length) with MSG_WAITALL; see prepSend. */
  queueSend(fd: number, buf: NativeBuffer, offset: number, length: number, tag: number): void {
    this.#push(UrOp.SEND, fd, spanAddr("queueSend", buf, offset, length), length, 0, tag);
  }
  queueClose(fd: number, tag: number): void {
    this.#push(UrOp.CLOSE, fd, 0, 0, 0, tag);
  }
  /** Cancels every request on fd (kernel 5.19+). */
  queueCancelFd(fd: number, tag: number): void {
    this.#push(UrOp.CANCEL_FD, fd, 0, 0, 0, tag);
  }
  /**
   * Gives provided buffer bid back to the kernel at the next step (before
   * that step's SQEs are submitted). Its bytes may be read until then, and
   * not after.
   */
  queueRecycle(bid: number): void {
    if ((bid | 0) !== bid || bid < 0 || bid >= this.#bufEntries) throw new RangeError(`queueRecycle: buffer ${bid} is not one of the ${this.#bufEntries} provided buffers`);
    this.#push(UrOp.RECYCLE, -1, 0, 0, bid, 0);
  }
  /** Operations queued for the next step. */
  get queued(): number {
    return this.#nops;
  }
  #push(op: number, fd: number, addr: number, len: number, aux: number, tag: number): void {
    if (this.#nops === OP_QUEUE) this.#prepQueued();
    const o = this.#ops;
    const w = this.#nops++ * OP_WORDS;
    o[w] = op;
    o[w + 1] = fd;
    o[w + 2] = addr >>> 0;
    o[w + 3] = Math.floor(addr / TWO_32);
    o[w + 4] = len;
    o[w + 5] = aux;
    o[w + 6] = tag >>> 0;
    o[w + 7] = Math.floor(tag / TWO_32);
  }
  /** Prepares every queued operation into SQEs now (a full queue); nothing is reaped. */
  #prepQueued(): void {
    const n = this.#nops;
    this.#nops = 0;
    const ret = this.#s.ur_prep_ops(this.handle, this.#opsAt(n), n);
    if (ret < 0) this.#opFailed(ret, n);
  }
  /** Throws for a queued operation the shim could not prepare, naming it. */
  #opFailed(ret: number, n: number): never {
    const done = this.#s.ur_ops_done(this.handle);
    const what = done >= 0 && done < n ? UR_OP_NAMES[this.#ops[done * OP_WORDS]] ?? "op" : "op";
    throw new SysError(`io_uring_get_sqe for ${what}`, -ret, "submission queue full or submit refused");
  }
  /** Safety: C reads n 32-byte records (n <= OP_QUEUE, checked), during the call only. */
  #opsAt(n: number): any {
    return spanAddr("io_uring op queue", this.#opBuf, 0, n * OP_BYTES);
  }
  /**
   * One loop step, one FFI crossing: prepare every queued operation, submit,
   * wait for waitNr completions (timeoutMs < 0: no limit), reap up to max
   * into `cq`. A timeout, a signal, or a CQ too full to take submissions is
   * not an error (it returns what was reaped, perhaps 0). Throws SysError when
   * an operation cannot be prepared or the wait fails.
   */
  step(waitNr: number, timeoutMs: number, max = CQ_BATCH): number {
    const cq = this.#cqAt(max);
    const n = this.#nops;
    this.#nops = 0;
    const ret = this.#s.ur_step(this.handle, this.#opsAt(n), n, waitNr, timeoutMs, cq, max);
    if (ret >= 0) return ret;
    if (n > 0 && this.#s.ur_ops_done(this.handle) < n) this.#opFailed(ret, n);
    throw new SysError("io_uring_submit_and_wait", -ret);
  }
  submit(): number {
    return check("io_uring_submit", this.#s.ur_submit(this.handle));
  }
  /**
   * step() under its older name: submit what is queued (prep* SQEs and queue*
   * records alike), wait for waitNr completions, reap up to max into `cq`.
   */
  run(waitNr: number, timeoutMs: number, max = CQ_BATCH): number {
    return this.step(waitNr, timeoutMs, max);
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
