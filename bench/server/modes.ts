// What a server answers: `echo` (the same frame) or `order` (the frame's
// NewOrderRequest run through a matching engine, answered with its result).
import { HEADER_BYTES, writeLength } from "../protocol/frame.ts";
import { MatchingEngine, rejection, serializeResult, type OrderResult } from "../protocol/orderbook.ts";
import { echoHandler, type FrameHandler, type OutBuffer } from "./core.ts";

export const MODES = ["echo", "order"] as const;

let viewedBytes: Uint8Array | undefined;
let view: Buffer = Buffer.alloc(0);
/**
 * A Buffer over the output buffer's memory, for Buffer#write (encodes straight
 * into place, unlike TextEncoder.encodeInto which needs a subarray per call).
 * One cached view suffices: processFrames answers a connection's whole batch
 * into the same OutBuffer, so the view is rebuilt once per batch at most.
 */
function bufferView(bytes: Uint8Array): Buffer {
  if (bytes !== viewedBytes) {
    viewedBytes = bytes;
    view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return view;
}

/** Appends `json` to out as one frame. */
export function writeJsonFrame(out: OutBuffer, json: string): void {
  // The UTF-8 length is only known once encoded, and measuring it first
  // (Buffer.byteLength) costs as much as encoding: reserve the worst case
  // (3 bytes per UTF-16 unit) and give back what was not used.
  const at = out.reserve(HEADER_BYTES + json.length * 3);
  const bytes = out.buf.bytes;
  const n = bufferView(bytes).write(json, at + HEADER_BYTES, "utf8");
  writeLength(bytes, at, n);
  out.len = at + HEADER_BYTES + n;
}

/** The `order` handler over its own engine: the books live as long as the handler (one server). */
export function orderHandler(engine = new MatchingEngine()): FrameHandler & { readonly engine: MatchingEngine } {
  return {
    engine,
    handle(buf, off, len, out, stats) {
      let result: OrderResult;
      try {
        result = engine.submitPayload(buf, off + HEADER_BYTES, len - HEADER_BYTES);
      } catch (e) {
        // Bad input is answered by submitPayload itself; this is a guard against
        // an engine bug, so that one request cannot take the connection down.
        result = rejection(null, `internal error: ${(e as Error)?.message ?? String(e)}`);
      }
      if (result.status === "rejected") stats.rejected++;
      writeJsonFrame(out, serializeResult(result));
    },
  };
}

export function handlerFor(mode: string): FrameHandler {
  switch (mode) {
    case "echo":
      return echoHandler;
    case "order":
      return orderHandler();
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

/**
 * Fault injection for testing the harness itself: flips one bit of about one
 * answer byte in `everyBytes`. A benchmark run against such a server must
 * report mismatches and refuse to judge (INVALID), never a fast result.
 */
export function corrupting(inner: FrameHandler, everyBytes: number): FrameHandler {
  let untilNext = everyBytes;
  return {
    handle(buf, off, len, out, stats) {
      const start = out.len;
      inner.handle(buf, off, len, out, stats);
      const written = out.len - start;
      // Only payload bytes are touched: a broken length prefix would desynchronise the stream instead.
      while (untilNext <= written) {
        const at = start + untilNext - 1;
        if (written > HEADER_BYTES && at >= start + HEADER_BYTES) out.buf.bytes[at] ^= 0x01;
        untilNext += everyBytes;
      }
      untilNext -= written;
    },
  };
}

/** The longest --inject-delay-us a server accepts (the C loops and tokio have the same bound). */
export const MAX_INJECT_DELAY_US = 1_000_000;

/**
 * Fault injection by delay, for testing the harness: the arguments that make a
 * server process (any backend, tokio's own executable too) busy-wait `micros`
 * µs before answering each frame. Pass them as ServerSpawnOptions.extraArgs,
 * as bench does with --corrupt-every. 0: no arguments, no delay.
 */
export function injectDelayArgs(micros: number): string[] {
  if (!Number.isInteger(micros) || micros < 0 || micros > MAX_INJECT_DELAY_US) {
    throw new RangeError(`inject delay must be an integer from 0 to ${MAX_INJECT_DELAY_US} µs, not ${micros}`);
  }
  return micros > 0 ? ["--inject-delay-us", String(micros)] : [];
}
