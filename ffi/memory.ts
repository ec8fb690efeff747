// Memory handed to the kernel. bun:ffi pointers to small typed arrays can go
// stale once the JIT tiers up (their storage moves; oven-sh/bun#32054), so
// every buffer whose address is given to C is one ArrayBuffer of at least
// MIN_NATIVE_BYTES, allocated once, whose address is taken once and kept with it.
import { ptr } from "bun:ffi";

export const MIN_NATIVE_BYTES = 4096;

/** An ArrayBuffer with a stable native address. Keep the object alive while C may use `addr`. */
export class NativeBuffer {
  readonly bytes: Uint8Array;
  readonly addr: number;
  readonly size: number;
  constructor(size: number) {
    this.size = Math.max(size, MIN_NATIVE_BYTES);
    this.bytes = new Uint8Array(new ArrayBuffer(this.size));
    this.addr = ptr(this.bytes);
  }
}

/** NUL-terminated UTF-8 for a C string argument (copied; used once per call, not in hot loops). */
export function cString(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}
