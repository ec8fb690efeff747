// bun:ffi bindings for c/epoll.c.
import { dlopen, FFIType } from "bun:ffi";
import { libPath } from "./build.ts";
import { check } from "./errno.ts";
import { NativeBuffer } from "./memory.ts";
import { close } from "./net.ts";

const { symbols: E } = dlopen(libPath("epoll"), {
  ep_create: { args: [], returns: "i32" },
  ep_ctl: { args: ["i32", "i32", "i32", "u32", "u64"], returns: "i32" },
  ep_wait: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  ep_wait_ns: { args: ["i32", "ptr", "i32", FFIType.i64_fast], returns: "i32" },
});

export const EPOLLIN = 0x001, EPOLLOUT = 0x004, EPOLLERR = 0x008, EPOLLHUP = 0x010, EPOLLRDHUP = 0x2000;
export const EPOLL_CTL_ADD = 1, EPOLL_CTL_DEL = 2, EPOLL_CTL_MOD = 3;
export const MAX_EVENTS = 256;

/** An epoll instance and the buffer its events are copied into (allocated once). */
export class Epoll implements Disposable {
  readonly fd: number;
  readonly #events = new NativeBuffer(MAX_EVENTS * 16);
  /** After wait(): events[i*4] is the event mask of event i, tags[i*2] its tag (low 32 bits). */
  readonly events = new Uint32Array(this.#events.bytes.buffer);
  constructor() {
    this.fd = check("epoll_create1", E.ep_create());
  }
  add(fd: number, events: number, tag: number = fd): void {
    check("epoll_ctl ADD", E.ep_ctl(this.fd, EPOLL_CTL_ADD, fd, events, tag));
  }
  modify(fd: number, events: number, tag: number = fd): void {
    check("epoll_ctl MOD", E.ep_ctl(this.fd, EPOLL_CTL_MOD, fd, events, tag));
  }
  remove(fd: number): number {
    return E.ep_ctl(this.fd, EPOLL_CTL_DEL, fd, 0, 0);
  }
  /** Waits up to timeoutMs (-1: forever); returns the count of events, 0 on timeout or signal. */
  wait(timeoutMs: number, max = MAX_EVENTS): number {
    return check("epoll_wait", E.ep_wait(this.fd, this.#events.addr, max, timeoutMs));
  }
  /** As wait() with a timeout in ns (epoll_pwait2); < 0 waits without limit. */
  waitNs(timeoutNs: number, max = MAX_EVENTS): number {
    return check("epoll_pwait2", E.ep_wait_ns(this.fd, this.#events.addr, max, timeoutNs));
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
