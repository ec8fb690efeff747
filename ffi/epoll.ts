// bun:ffi bindings for c/epoll.c. Loaded on first use (the first Epoll).
// Every call into the shim is counted (epollCrossings): crossings per
// request is what the FFI layer costs a readiness loop.
import { dlopen, FFIType } from "bun:ffi";
import { libPath } from "./build.ts";
import { check, SysError } from "./errno.ts";
import { NativeBuffer, spanAddr } from "./memory.ts";
import { close } from "./net.ts";

const SYMBOLS = {
  ep_create: { args: [], returns: "i32" },
  ep_ctl: { args: ["i32", "i32", "i32", "u32", "u64"], returns: "i32" },
  ep_wait: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  ep_wait_ns: { args: ["i32", "ptr", "i32", FFIType.i64_fast], returns: "i32" },
  ep_step: { args: ["i32", "ptr", "i32", "ptr", "i32", "ptr", "i32", "i32"], returns: "i32" },
  ep_step_sizes: { args: [], returns: "i32" },
} as const;

type EpollSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
let lib: EpollSymbols | undefined;

/** Calls into the epoll shim so far in this process. */
let crossings = 0;

/** How many times this process has called into the epoll shim (each call crosses bun:ffi once). */
export function epollCrossings(): number {
  return crossings;
}

function symbols(): EpollSymbols {
  if (lib) return lib;
  let s: EpollSymbols;
  try {
    s = dlopen(libPath("epoll"), SYMBOLS).symbols;
  } catch (e) {
    throw new Error(`epoll shim not loadable (${(e as Error).message}); build it with: npm run setup`);
  }
  const sizes = s.ep_step_sizes();
  const want = WRITE_BYTES | (ARM_BYTES << 8) | (REPORT_BYTES << 16);
  if (sizes !== want) throw new Error(`c/epoll.c's step records are 0x${sizes.toString(16)} (write | arm << 8 | report << 16); ffi/epoll.ts expects 0x${want.toString(16)}`);
  return (lib = s);
}

export const EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010, EPOLLRDHUP = 0x2000;
export const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
export const MAX_EVENTS = 256;

/** Bytes of struct ep_write, ep_arm and ep_report (c/epoll.c). */
const WRITE_BYTES = 24, ARM_BYTES = 16, REPORT_BYTES = 16;
/** readResult(i) of an event for which no read was made (nothing armed for its tag, or only EPOLLOUT). */
export const EP_NOT_READ = -2147483648;
/** Writes one step carries: a loop that writes once per connection per event of the step before needs no more. */
export const WRITE_QUEUE = MAX_EVENTS;
const TWO_32 = 4294967296;

/** An epoll instance and the buffer its events are copied into (allocated once). */
export class Epoll implements Disposable {
  readonly fd: number;
  readonly #e: EpollSymbols;
  /** Where epoll_wait writes events: MAX_EVENTS * 16 bytes, alive as long as this object. */
  readonly #events = new NativeBuffer(MAX_EVENTS * 16);
  /** After wait(): events[i*4] is the event mask of event i, tags[i*2] its tag (low 32 bits). */
  readonly events = new Uint32Array(this.#events.bytes.buffer);
  /** step()'s queued writes (struct ep_write records) and their count; allocated on first use. */
  #writes?: NativeBuffer;
  #w32?: Int32Array;
  #nwrites = 0;
  /** step()'s armed reads, one struct ep_arm per tag (grown to fit the largest tag armed); allocated on first use. */
  #arms?: NativeBuffer;
  #a32?: Uint32Array;
  #narms = 0;
  /**
   * Where step() passes the three record arrays: fixed while their buffers
   * live (the arms' changes when the table grows), taken once with the bounds
   * checked then (spanAddr), so a step checks only its counts.
   */
  #writesAddr = 0;
  #armsAddr = 0;
  #reportsAddr = 0;
  constructor() {
    this.#e = symbols();
    crossings++;
    this.fd = check("epoll_create1", this.#e.ep_create());
  }
  add(fd: number, events: number, tag: number = fd): void {
    crossings++;
    check("epoll_ctl ADD", this.#e.ep_ctl(this.fd, EPOLL_CTL_ADD, fd, events, tag));
  }
  modify(fd: number, events: number, tag: number = fd): void {
    crossings++;
    check("epoll_ctl MOD", this.#e.ep_ctl(this.fd, EPOLL_CTL_MOD, fd, events, tag));
  }
  remove(fd: number): number {
    crossings++;
    return this.#e.ep_ctl(this.fd, EPOLL_CTL_DEL, fd, 0, 0);
  }
  /**
   * Waits up to timeoutMs (-1: forever); returns the count of events, 0 on timeout or signal.
   * Safety: the kernel writes at most max (<= MAX_EVENTS, checked) events into #events, during the call only.
   */
  wait(timeoutMs: number, max = MAX_EVENTS): number {
    crossings++;
    return check("epoll_wait", this.#e.ep_wait(this.fd, this.#eventsAt(max), max, timeoutMs));
  }
  /** As wait() with a timeout in ns (epoll_pwait2); < 0 waits without limit. Same safety note. */
  waitNs(timeoutNs: number, max = MAX_EVENTS): number {
    crossings++;
    return check("epoll_pwait2", this.#e.ep_wait_ns(this.fd, this.#eventsAt(max), max, timeoutNs));
  }

  // A loop step in one crossing (ep_step in c/epoll.c): queueWrite() and
  // armRead() only write records, and step() makes the queued writes, waits,
  // and makes the armed read of each descriptor it reports readable. After
  // step() returns n, event i has mask(i), tag(i) and readResult(i), and the
  // k-th write queued since the step before has writeResult(k).

  /**
   * Queues one send (MSG_NOSIGNAL | MSG_DONTWAIT) of buf[offset, offset +
   * length) for the next step(); returns its index for writeResult().
   * Safety: C reads that range (checked: RangeError) during the next step()
   * only, so keep buf alive and the range unchanged until it returns.
   * At most WRITE_QUEUE writes per step (RangeError beyond).
   */
  queueWrite(fd: number, buf: NativeBuffer, offset: number, length: number): number {
    const addr = spanAddr("queueWrite", buf, offset, length);
    if (this.#nwrites === WRITE_QUEUE) throw new RangeError(`queueWrite: ${WRITE_QUEUE} writes already queued for this step`);
    if (!this.#w32) {
      this.#writes = new NativeBuffer(WRITE_QUEUE * WRITE_BYTES);
      this.#w32 = new Int32Array(this.#writes.bytes.buffer);
      this.#writesAddr = spanAddr("ep_step writes", this.#writes, 0, WRITE_QUEUE * WRITE_BYTES);
    }
    const w = this.#w32, k = this.#nwrites++, i = k * (WRITE_BYTES / 4);
    w[i] = addr >>> 0;
    w[i + 1] = Math.floor(addr / TWO_32);
    w[i + 2] = length;
    w[i + 3] = fd;
    w[i + 4] = 0;
    return k;
  }
  /** Writes queued for the next step. */
  get queuedWrites(): number {
    return this.#nwrites;
  }
  /** Bytes sent by write k of the last step, or -errno (-EAGAIN: the socket buffer was full). */
  writeResult(k: number): number {
    return this.#w32![k * (WRITE_BYTES / 4) + 4];
  }
  /**
   * Arms one read for the descriptor fd added with tag `tag`: the next step()
   * that reports it readable (or hung up, or in error) makes one recv into
   * buf[offset, offset + length) and disarms it; readResult() of that event
   * says what it read. Arming again replaces the read armed before.
   * Safety: C writes into that range (checked: RangeError) during later
   * step() calls, until one reports this tag with a read or disarm(tag) is
   * called: keep buf alive and the range untouched until then.
   */
  armRead(tag: number, fd: number, buf: NativeBuffer, offset: number, length: number): void {
    const addr = spanAddr("armRead", buf, offset, length);
    if ((tag | 0) !== tag || tag < 0) throw new RangeError(`armRead: tag ${tag} is not a small non-negative integer`);
    if (tag >= this.#narms) this.#growArms(tag);
    const a = this.#a32!, i = tag * (ARM_BYTES / 4);
    a[i] = addr >>> 0;
    a[i + 1] = Math.floor(addr / TWO_32);
    a[i + 2] = length;
    a[i + 3] = fd;
  }
  /** Cancels the read armed for tag (if any): C no longer holds its range. */
  disarm(tag: number): void {
    if (tag >= 0 && tag < this.#narms) this.#a32![tag * (ARM_BYTES / 4) + 2] = 0;
  }
  /** Bytes the read armed for tag may take; 0 when none is armed. */
  armed(tag: number): number {
    return tag >= 0 && tag < this.#narms ? this.#a32![tag * (ARM_BYTES / 4) + 2] : 0;
  }
  #growArms(tag: number): void {
    let n = Math.max(this.#narms, 1024);
    while (n <= tag) n *= 2;
    const next = new NativeBuffer(n * ARM_BYTES);
    if (this.#arms) next.bytes.set(this.#arms.bytes.subarray(0, this.#narms * ARM_BYTES));
    this.#arms = next;
    this.#a32 = new Uint32Array(next.bytes.buffer);
    this.#narms = n;
    this.#armsAddr = spanAddr("ep_step arms", next, 0, n * ARM_BYTES);
  }
  /**
   * One loop step, one FFI crossing: the queued writes, a wait of up to
   * timeoutMs (-1: forever; not at all when a write did not go whole), and
   * the armed reads of the descriptors reported. Returns the event count, 0
   * on timeout or signal; throws SysError when the wait fails (the writes
   * were made: their results stand).
   * Safety: C reads the queued write records and writes the arm records and
   * at most max (<= MAX_EVENTS, checked) reports, during the call only.
   */
  step(timeoutMs: number, max = MAX_EVENTS): number {
    const nw = this.#nwrites;
    this.#nwrites = 0;
    if (!(max >= 1 && max <= MAX_EVENTS)) throw new RangeError(`step: max ${max} is not 1 to ${MAX_EVENTS}`);
    if (this.#reportsAddr === 0) this.#reportsAddr = this.#eventsAt(MAX_EVENTS);
    crossings++;
    const n = this.#e.ep_step(this.fd, this.#writesAddr as any, nw, this.#armsAddr as any, this.#narms, this.#reportsAddr as any, max, timeoutMs);
    if (n < 0) throw new SysError("epoll_wait", -n);
    return n;
  }
  /** What the read armed for event i's tag returned: bytes (0: the peer closed), -errno, or EP_NOT_READ. */
  readResult(i: number): number {
    return (this.events[i * 4 + 1] | 0);
  }
  #eventsAt(max: number): any {
    return spanAddr("epoll_wait events", this.#events, 0, max * 16);
  }
  /** Tag of event i (the low 32 bits of epoll_data). */
  tag(i: number): number {
    return this.events[i * 4 + 2];
  }
  mask(i: number): number {
    return this.events[i * 4];
  }
  close(): void {
    close(this.fd);
  }
  [Symbol.dispose](): void {
    this.close();
  }
}
