// The wire protocol, shared by every backend and the client: a frame is a
// 4-byte big-endian unsigned length N, then N payload bytes (tokio-util's
// LengthDelimitedCodec default). Frames may be split across reads or several
// may arrive in one read; nextFrame() works on whatever bytes are buffered.

export const HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME = 1 << 20;
/** nextFrame(): the buffered bytes do not hold a whole frame yet. */
export const NEED_MORE = -1;
/** nextFrame(): the length prefix exceeds the maximum; the connection must be closed. */
export const TOO_LARGE = -2;

/** Payload length announced at buf[off..off+4). */
export function readLength(buf: Uint8Array, off: number): number {
  return ((buf[off] << 24) | (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3]) >>> 0;
}

export function writeLength(buf: Uint8Array, off: number, n: number): void {
  buf[off] = n >>> 24;
  buf[off + 1] = (n >>> 16) & 0xff;
  buf[off + 2] = (n >>> 8) & 0xff;
  buf[off + 3] = n & 0xff;
}

/**
 * Size (header included) of the complete frame starting at buf[start], given
 * that bytes up to `end` are valid; NEED_MORE or TOO_LARGE otherwise.
 */
export function nextFrame(buf: Uint8Array, start: number, end: number, maxFrame: number): number {
  if (end - start < HEADER_BYTES) return NEED_MORE;
  const n = readLength(buf, start);
  if (n > maxFrame) return TOO_LARGE;
  return end - start >= HEADER_BYTES + n ? HEADER_BYTES + n : NEED_MORE;
}

/** Bytes needed to hold the frame whose header is at buf[start] (at least the header). */
export function frameSpaceNeeded(buf: Uint8Array, start: number, end: number): number {
  return end - start < HEADER_BYTES ? HEADER_BYTES : HEADER_BYTES + readLength(buf, start);
}

/** A frame holding `payload`. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  writeLength(out, 0, payload.length);
  out.set(payload, HEADER_BYTES);
  return out;
}

/**
 * Decodes a byte stream delivered in arbitrary chunks into payloads. Used by
 * tests, the fuzzer and clients that want whole frames; the servers use
 * nextFrame() on their own connection buffers instead, to avoid copies.
 */
export class FrameDecoder {
  #buf = new Uint8Array(4096);
  #start = 0;
  #end = 0;
  readonly maxFrame: number;
  /** Set when a length above maxFrame was seen: the stream is unusable after it. */
  tooLarge = false;
  constructor(maxFrame = DEFAULT_MAX_FRAME) {
    this.maxFrame = maxFrame;
  }
  /** Appends a chunk and returns every payload it completes (copies). */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    if (this.tooLarge) return frames;
    this.#append(chunk);
    for (;;) {
      const n = nextFrame(this.#buf, this.#start, this.#end, this.maxFrame);
      if (n === TOO_LARGE) {
        this.tooLarge = true;
        break;
      }
      if (n === NEED_MORE) break;
      frames.push(this.#buf.slice(this.#start + HEADER_BYTES, this.#start + n));
      this.#start += n;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frames;
  }
  /** Bytes held that do not yet form a whole frame. */
  get buffered(): number {
    return this.#end - this.#start;
  }
  #append(chunk: Uint8Array): void {
    const live = this.#end - this.#start;
    if (this.#end + chunk.length > this.#buf.length) {
      if (live + chunk.length <= this.#buf.length) {
        this.#buf.copyWithin(0, this.#start, this.#end);
      } else {
        let cap = this.#buf.length * 2;
        while (cap < live + chunk.length) cap *= 2;
        const next = new Uint8Array(cap);
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#buf = next;
      }
      this.#start = 0;
      this.#end = live;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }
}
