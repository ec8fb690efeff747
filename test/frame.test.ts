import { describe, expect, test } from "bun:test";
import { concatBytes } from "./fixtures.ts";
import { encodeFrame, FrameDecoder, HEADER_BYTES, NEED_MORE, nextFrame, readLength, TOO_LARGE, writeLength } from "../bench/protocol/frame.ts";
import { payload } from "./helpers.ts";


describe("frame header", () => {
  test("length is 4 bytes big-endian", () => {
    const b = new Uint8Array(4);
    writeLength(b, 0, 0x01020304);
    expect([...b]).toEqual([1, 2, 3, 4]);
    expect(readLength(b, 0)).toBe(0x01020304);
    writeLength(b, 0, 0xffffffff);
    expect(readLength(b, 0)).toBe(0xffffffff);
  });

  test("nextFrame: need more, complete, too large", () => {
    const f = encodeFrame(payload(10, 1));
    expect(nextFrame(f, 0, 3, 100)).toBe(NEED_MORE);
    expect(nextFrame(f, 0, 13, 100)).toBe(NEED_MORE);
    expect(nextFrame(f, 0, 14, 100)).toBe(14);
    expect(nextFrame(f, 0, 14, 9)).toBe(TOO_LARGE);
    expect(nextFrame(encodeFrame(new Uint8Array(0)), 0, 4, 0)).toBe(HEADER_BYTES);
  });
});

describe("FrameDecoder", () => {
  const payloads = [0, 1, 10, 100, 1000, 70000].map((n, i) => payload(n, i + 1));
  const stream = concatBytes(payloads.map(encodeFrame));

  test("coalesced: every frame in one chunk", () => {
    const d = new FrameDecoder();
    const got = d.push(stream);
    expect(got.length).toBe(payloads.length);
    got.forEach((g, i) => expect(g).toEqual(payloads[i]));
    expect(d.buffered).toBe(0);
  });

  test("split: one byte at a time", () => {
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
    expect(got).toEqual(payloads);
  });

  test("split at every boundary of a header", () => {
    const f = encodeFrame(payload(300, 9));
    for (let cut = 1; cut < f.length; cut++) {
      const d = new FrameDecoder();
      expect(d.push(f.subarray(0, cut))).toEqual([]);
      expect(d.push(f.subarray(cut))).toEqual([payload(300, 9)]);
    }
  });

  test("a length above the maximum stops the stream", () => {
    const d = new FrameDecoder(1000);
    expect(d.push(concatBytes([encodeFrame(payload(5, 1)), encodeFrame(payload(1001, 2))]))).toEqual([payload(5, 1)]);
    expect(d.tooLarge).toBe(true);
    expect(d.push(encodeFrame(payload(5, 3)))).toEqual([]);
  });
});
