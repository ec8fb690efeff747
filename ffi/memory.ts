// Memory handed to the kernel. bun:ffi pointers to small typed arrays can go
// stale once the JIT tiers up (their storage moves; oven-sh/bun#32054), so
// every buffer whose address is given to C is one ArrayBuffer of at least
// MIN_NATIVE_BYTES, allocated once, whose address is taken once and kept with it.
import { ptr } from "bun:ffi";

export const MIN_NATIVE_BYTES = 4096;

/**
 * An ArrayBuffer with a stable native address. Keep the object alive while C
 * may use its memory. `addr` is for ffi/ only: code outside passes the buffer
 * with an offset and a length, and the ffi wrapper checks and computes the address.
 */
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

/**
 * The address of buf[offset, offset + length), for a call that hands it to C,
 * after checking that the range is inside buf: a RangeError naming `call`
 * otherwise. A few integer compares and no allocation, so it can sit on every
 * I/O call. Offsets and lengths are integers below 2^31 (no buffer is larger).
 */
export function spanAddr(call: string, buf: NativeBuffer, offset: number, length: number): number {
  if ((offset | 0) === offset && (length | 0) === length && offset >= 0 && length >= 0 && offset + length <= buf.size) return buf.addr + offset;
  throw new RangeError(`${call}: range [${offset}, ${offset} + ${length}) is outside the ${buf.size}-byte buffer`);
}

/** NUL-terminated UTF-8 for a C string argument (copied; used once per call, not in hot loops). */
export function cString(s: string): Uint8Array {
  return new TextEncoder().encode(s + "\0");
}
