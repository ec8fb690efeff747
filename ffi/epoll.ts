// bun:ffi bindings for c/epoll.c. Loaded on first use (the first Epoll).
import { dlopen, FFIType } from "bun:ffi";
import { libPath } from "./build.ts";
import { check } from "./errno.ts";
import { NativeBuffer, spanAddr } from "./memory.ts";
import { close } from "./net.ts";

const SYMBOLS = {
  ep_create: { args: [], returns: "i32" },
  ep_ctl: { args: ["i32", "i32", "i32", "u32", "u64"], returns: "i32" },
  ep_wait: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  ep_wait_ns: { args: ["i32", "ptr", "i32", FFIType.i64_fast], returns: "i32" },
} as const;

type EpollSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
let lib: EpollSymbols | undefined;

function symbols(): EpollSymbols {
  if (lib) return lib;
  try {
    return (lib = dlopen(libPath("epoll"), SYMBOLS).symbols);
  } catch (e) {
    throw new Error(`epoll shim not loadable (${(e as Error).message}); build it with: npm run setup`);
  }
}

export const EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010, EPOLLRDHUP = 0x2000;
export const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
export const MAX_EVENTS = 256;

/** An epoll instance and the buffer its events are copied into (allocated once). */
export class Epoll implements Disposable {
  readonly fd: number;
  readonly #e: EpollSymbols;
  /** Where epoll_wait writes events: MAX_EVENTS * 16 bytes, alive as long as this object. */
  readonly #events = new NativeBuffer(MAX_EVENTS * 16);
  /** After wait(): events[i*4] is the event mask of event i, tags[i*2] its tag (low 32 bits). */
  readonly events = new Uint32Array(this.#events.bytes.buffer);
  constructor() {
    this.#e = symbols();
    this.fd = check("epoll_create1", this.#e.ep_create());
  }
  add(fd: number, events: number, tag: number = fd): void {
    check("epoll_ctl ADD", this.#e.ep_ctl(this.fd, EPOLL_CTL_ADD, fd, events, tag));
  }
  modify(fd: number, events: number, tag: number = fd): void {
    check("epoll_ctl MOD", this.#e.ep_ctl(this.fd, EPOLL_CTL_MOD, fd, events, tag));
  }
  remove(fd: number): number {
    return this.#e.ep_ctl(this.fd, EPOLL_CTL_DEL, fd, 0, 0);
  }
  /**
   * Waits up to timeoutMs (-1: forever); returns the count of events, 0 on timeout or signal.
   * Safety: the kernel writes at most max (<= MAX_EVENTS, checked) events into #events, during the call only.
   */
  wait(timeoutMs: number, max = MAX_EVENTS): number {
    return check("epoll_wait", this.#e.ep_wait(this.fd, this.#eventsAt(max), max, timeoutMs));
  }
  /** As wait() with a timeout in ns (epoll_pwait2); < 0 waits without limit. Same safety note. */
  waitNs(timeoutNs: number, max = MAX_EVENTS): number {
    return check("epoll_pwait2", this.#e.ep_wait_ns(this.fd, this.#eventsAt(max), max, timeoutNs));
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
