// Seeded fuzzing of what parses untrusted bytes: the frame decoder every
// backend and client shares (bench/protocol/frame.ts), and the order request parser
// of the order workload (bench/protocol/orderbook.ts). Every case is reproducible
// from its seed and index, which a failure message names.
import { describe, expect, test } from "bun:test";
import { concatBytes, sameBytes } from "./fixtures.ts";
import {
  DEFAULT_MAX_FRAME,
  encodeFrame,
  FrameDecoder,
  frameSpaceNeeded,
  HEADER_BYTES,
  NEED_MORE,
  nextFrame,
  readLength,
  TOO_LARGE,
  writeLength,
} from "../bench/protocol/frame.ts";
import { isOrderId, isValidQty, parseOrder, type Validation } from "../bench/protocol/orderbook.ts";
import { seededRandom } from "../bench/stats/stats.ts";

const SEED = 0x5eed;

/** Random helpers over one seeded source. */
function rng(seed: number) {
  const r = seededRandom(seed);
  const int = (n: number) => Math.floor(r() * n);
  return {
    r,
    int,
    /** An integer in [lo, hi]. */
    range: (lo: number, hi: number) => lo + int(hi - lo + 1),
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)],
    chance: (p: number) => r() < p,
  };
}
type Rng = ReturnType<typeof rng>;

/** 1 MiB of seeded noise; payloads are slices of it (generating bytes one by one would dominate the run). */
const NOISE = (() => {
  const g = rng(SEED ^ 0x1234);
  const b = new Uint8Array(1 << 20);
  for (let i = 0; i < b.length; i += 4) {
    const x = (g.r() * 4294967296) >>> 0;
    b[i] = x;
    b[i + 1] = x >>> 8;
    b[i + 2] = x >>> 16;
    b[i + 3] = x >>> 24;
  }
  return b;
})();

function noise(g: Rng, n: number): Uint8Array {
  const off = g.int(NOISE.length - n + 1);
  return NOISE.subarray(off, off + n);
}



/** The obvious decoder, on the whole stream at once: the oracle. */
function referenceDecode(bytes: Uint8Array, maxFrame: number): { frames: Uint8Array[]; tooLarge: boolean; rest: number } {
  const frames: Uint8Array[] = [];
  let off = 0;
  for (;;) {
    if (bytes.length - off < 4) break;
    const n = bytes[off] * 2 ** 24 + bytes[off + 1] * 2 ** 16 + bytes[off + 2] * 2 ** 8 + bytes[off + 3];
    if (n > maxFrame) return { frames, tooLarge: true, rest: bytes.length - off };
    if (bytes.length - off - 4 < n) break;
    frames.push(bytes.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  return { frames, tooLarge: false, rest: bytes.length - off };
}

/** Cuts bytes into chunks: whole, byte by byte, at random points, or with empty chunks in between. */
function split(g: Rng, bytes: Uint8Array): Uint8Array[] {
  const how = g.int(bytes.length <= 2000 ? 4 : 3);
  if (how === 0 || bytes.length === 0) return [bytes];
  if (how === 3) return Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
  const cuts = new Set<number>();
  const k = 1 + g.int(Math.min(12, bytes.length));
  for (let i = 0; i < k; i++) cuts.add(g.int(bytes.length + 1));
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...sorted, bytes.length]) {
    out.push(bytes.subarray(prev, c));
    if (how === 2 && g.chance(0.3)) out.push(new Uint8Array(0));
    prev = c;
  }
  return out;
}

/** Feeds chunks to a fresh decoder; collects frames, and whether tooLarge was ever unset after being set. */
function decodeChunks(chunks: Uint8Array[], maxFrame: number) {
  const d = new FrameDecoder(maxFrame);
  const frames: Uint8Array[] = [];
  let framesAfterTooLarge = 0;
  for (const c of chunks) {
    const wasTooLarge = d.tooLarge;
    const got = d.push(c);
    if (wasTooLarge) framesAfterTooLarge += got.length;
    frames.push(...got);
  }
  return { d, frames, framesAfterTooLarge };
}

const MAX_CHOICES = [0, 1, 7, 255, 4096, 65536, DEFAULT_MAX_FRAME] as const;

/** A payload length valid under maxFrame: mostly small, at times the edges. */
function frameLength(g: Rng, maxFrame: number): number {
  const cap = Math.min(maxFrame, 70_000);
  switch (g.int(6)) {
    case 0:
      return 0;
    case 1:
      return Math.min(maxFrame, g.pick([1, 2, 3, 4, 5, 255, 256, 4095, 4096, 4097, 65535, 65536]));
    case 2:
      return maxFrame <= 70_000 ? maxFrame : g.int(cap + 1);
    case 3:
      return g.int(Math.min(cap, 5000) + 1);
    default:
      return g.int(Math.min(cap, 64) + 1);
  }
}

/** Runs n cases; a case that throws or returns a message is a failure. Reports the first few. */
function runCases(name: string, n: number, seed: number, one: (g: Rng, i: number) => string | undefined): void {
  const failures: string[] = [];
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const g = rng(seed * 1_000_003 + i);
    let msg: string | undefined;
    try {
      msg = one(g, i);
    } catch (e) {
      msg = `threw ${(e as Error)?.stack ?? e}`;
    }
    if (msg !== undefined) {
      failed++;
      if (failures.length < 5) failures.push(`${name} case ${i} (seed ${seed}): ${msg}`);
    }
  }
  if (failed > 0) failures.push(`${failed} of ${n} cases failed`);
  expect(failures).toEqual([]);
}

function sameFrames(got: Uint8Array[], want: Uint8Array[]): string | undefined {
  if (got.length !== want.length) return `${got.length} frames, expected ${want.length}`;
  for (let k = 0; k < got.length; k++) if (!sameBytes(got[k], want[k])) return `frame ${k} differs (${got[k].length} vs ${want[k].length} bytes)`;
  return undefined;
}

describe("frame decoder fuzz (110 000 cases)", () => {
  test("valid frame sequences decode to the same frames however they are split (40 000)", () => {
    runCases("valid", 40_000, SEED + 1, (g) => {
      const maxFrame = g.pick(MAX_CHOICES);
      const payloads = Array.from({ length: g.int(9) }, () => noise(g, frameLength(g, maxFrame)));
      const bytes = concatBytes(payloads.map(encodeFrame));
      const { d, frames, framesAfterTooLarge } = decodeChunks(split(g, bytes), maxFrame);
      if (d.tooLarge) return `tooLarge on a valid stream (maxFrame ${maxFrame})`;
      if (framesAfterTooLarge) return "frames after tooLarge";
      if (d.buffered !== 0) return `${d.buffered} bytes left buffered`;
      const bad = sameFrames(frames, payloads);
      if (bad) return bad;
      // The servers' path: nextFrame over the whole buffer finds the same frame boundaries.
      let off = 0;
      let k = 0;
      for (;;) {
        const n = nextFrame(bytes, off, bytes.length, maxFrame);
        if (n === NEED_MORE) break;
        if (n === TOO_LARGE) return `nextFrame TOO_LARGE at ${off}`;
        if (n !== HEADER_BYTES + payloads[k].length) return `nextFrame ${n} at frame ${k}, expected ${HEADER_BYTES + payloads[k].length}`;
        off += n;
        k++;
      }
      if (k !== payloads.length || off !== bytes.length) return `nextFrame walked ${k} frames to ${off} of ${bytes.length}`;
      return undefined;
    });
  });

  test("a length above the maximum sets tooLarge, after the frames before it, and nothing decodes after (20 000)", () => {
    runCases("oversize", 20_000, SEED + 2, (g) => {
      const maxFrame = g.pick(MAX_CHOICES);
      const before = Array.from({ length: g.int(5) }, () => noise(g, frameLength(g, maxFrame)));
      const bad = g.pick([maxFrame + 1, maxFrame + 1 + g.int(1 << 20), 0xffffffff, 0x80000000, maxFrame + 1 + g.int(0xffffffff - maxFrame)]);
      const h = new Uint8Array(HEADER_BYTES);
      writeLength(h, 0, bad);
      // After the bad prefix: valid frames (which must not be decoded) or noise.
      const after = g.chance(0.5) ? concatBytes(Array.from({ length: 1 + g.int(3) }, () => encodeFrame(noise(g, g.int(Math.min(maxFrame, 100) + 1))))) : noise(g, g.int(200));
      const bytes = concatBytes([...before.map(encodeFrame), h, after]);
      const { d, frames, framesAfterTooLarge } = decodeChunks(split(g, bytes), maxFrame);
      if (!d.tooLarge) return `tooLarge not set for length ${bad} > ${maxFrame}`;
      if (framesAfterTooLarge) return `${framesAfterTooLarge} frames decoded after tooLarge`;
      const wrong = sameFrames(frames, before);
      if (wrong) return wrong;
      // And it stays unusable: more valid input yields nothing.
      if (d.push(encodeFrame(new Uint8Array(0))).length !== 0 || !d.tooLarge) return "decoded a frame pushed after tooLarge";
      if (nextFrame(bytes, bytes.length - after.length - HEADER_BYTES, bytes.length, maxFrame) !== TOO_LARGE) return "nextFrame did not say TOO_LARGE at the bad prefix";
      return undefined;
    });
  });

  test("random byte streams, split at random, match the reference decoder and never throw (30 000)", () => {
    runCases("random", 30_000, SEED + 3, (g) => {
      const maxFrame = g.chance(0.2) ? g.int(0x100000000) : g.pick(MAX_CHOICES);
      // Mostly zero bytes, so that lengths are often small enough to make frames out of noise.
      const zeros = g.pick([0, 0.5, 0.8, 0.95]);
      const bytes = new Uint8Array(g.int(600));
      for (let i = 0; i < bytes.length; i++) bytes[i] = g.chance(zeros) ? 0 : g.int(256);
      const want = referenceDecode(bytes, maxFrame);
      const { d, frames, framesAfterTooLarge } = decodeChunks(split(g, bytes), maxFrame);
      if (d.tooLarge !== want.tooLarge) return `tooLarge ${d.tooLarge}, reference ${want.tooLarge}`;
      if (framesAfterTooLarge) return "frames after tooLarge";
      const wrong = sameFrames(frames, want.frames);
      if (wrong) return wrong;
      if (!want.tooLarge && d.buffered !== want.rest) return `buffered ${d.buffered}, reference rest ${want.rest}`;
      return undefined;
    });
  });

  test("nextFrame and frameSpaceNeeded on random windows: always NEED_MORE, TOO_LARGE or a whole frame (20 000)", () => {
    runCases("nextFrame", 20_000, SEED + 4, (g) => {
      const buf = new Uint8Array(g.int(300));
      for (let i = 0; i < buf.length; i++) buf[i] = g.chance(0.7) ? 0 : g.int(256);
      const start = g.int(buf.length + 1);
      const end = start + g.int(buf.length - start + 1);
      const maxFrame = g.pick([0, 1, 7, 100, 255, DEFAULT_MAX_FRAME, 0xffffffff]);
      const r = nextFrame(buf, start, end, maxFrame);
      const space = frameSpaceNeeded(buf, start, end);
      const have = end - start;
      if (have < HEADER_BYTES) {
        if (r !== NEED_MORE) return `${r} with only ${have} bytes`;
        if (space !== HEADER_BYTES) return `frameSpaceNeeded ${space} before a whole header`;
        return undefined;
      }
      const n = readLength(buf, start);
      if (space !== HEADER_BYTES + n) return `frameSpaceNeeded ${space}, expected ${HEADER_BYTES + n}`;
      if (n > maxFrame) return r === TOO_LARGE ? undefined : `${r} for length ${n} > ${maxFrame}`;
      if (have >= HEADER_BYTES + n) return r === HEADER_BYTES + n ? undefined : `${r}, expected ${HEADER_BYTES + n}`;
      return r === NEED_MORE ? undefined : `${r} for ${have} of ${HEADER_BYTES + n} bytes`;
    });
  });
});

// ---- parseOrder (bench/protocol/orderbook.ts) ----

const enc = new TextEncoder();
const SYMBOLS = ["AAPL", "MSFT", "X", "BRK.A", "€URO", "a b", ""];

function validOrderObject(g: Rng): Record<string, unknown> {
  const type = g.pick(["limit", "market"] as const);
  const o: Record<string, unknown> = {
    id: g.chance(0.5) ? g.int(1_000_000) : `o-${g.int(1_000_000)}`,
    symbol: g.pick(SYMBOLS.slice(0, 6)),
    side: g.pick(["buy", "sell"]),
    type,
    qty: 1 + g.int(10_000),
  };
  if (type === "limit") o.price = g.chance(0.5) ? 1 + g.int(1000) : Math.round(g.r() * 1e6) / 100 + 0.01;
  else if (g.chance(0.3)) o.price = null;
  if (g.chance(0.2)) o.note = "extra fields are ignored";
  return o;
}

/** Values of every JSON type, including the awkward ones. */
const ODD_VALUES: unknown[] = [
  null, true, false, 0, -1, 1.5, -0.0001, 1e308, -1e308, 2 ** 53, 2 ** 53 - 1, -(2 ** 53), "", " ", "0", "1", "buy", "BUY", "limit",
  "market", [], [1], {}, { a: 1 }, "\u0000", "\ud83d\ude00", "x".repeat(1000),
];
const FIELDS = ["id", "symbol", "side", "type", "price", "qty"];

/** Text of a JSON request, then mutated at the text or byte level. */
function orderInput(g: Rng): Uint8Array {
  const kind = g.int(10);
  if (kind === 0) return noise(g, g.int(200)); // random bytes
  const o = validOrderObject(g);
  if (kind === 1) return enc.encode(JSON.stringify(o)); // valid as is
  if (kind === 2) {
    // a field replaced with an odd value, or removed
    const f = g.pick(FIELDS);
    if (g.chance(0.3)) delete o[f];
    else o[f] = g.pick(ODD_VALUES);
    return enc.encode(JSON.stringify(o));
  }
  if (kind === 3) return enc.encode(JSON.stringify(g.pick(ODD_VALUES))); // not an object
  if (kind === 4) {
    // numbers JSON.stringify cannot produce
    const f = g.pick(["price", "qty", "id"]);
    const lit = g.pick(["1e999", "-1e999", "1E400", "0.0000000000000000000001", "123456789012345678901234567890", "-0", "1e-400", "00", "1.", ".5", "NaN", "Infinity"]);
    return enc.encode(JSON.stringify(o).replace(new RegExp(`"${f}":[^,}]*`), `"${f}":${lit}`));
  }
  let bytes = enc.encode(JSON.stringify(o));
  if (kind === 5) return bytes.subarray(0, g.int(bytes.length + 1)); // truncated
  if (kind === 6) {
    // bytes flipped
    bytes = bytes.slice();
    for (let k = 1 + g.int(4); k > 0; k--) bytes[g.int(bytes.length)] ^= 1 << g.int(8);
    return bytes;
  }
  if (kind === 7) {
    // invalid UTF-8 or odd characters spliced in
    const junk = g.pick([[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xef, 0xbb, 0xbf], [0x00], [0x5c], [0x22]]);
    const at = g.int(bytes.length + 1);
    return concatBytes([bytes.subarray(0, at), new Uint8Array(junk), bytes.subarray(at)]);
  }
  if (kind === 8) {
    // deep nesting or a huge document
    const depth = g.pick([10, 100, 1000, 3000]);
    return enc.encode(g.chance(0.5) ? "[".repeat(depth) + "]".repeat(depth) : `{"id":1,"x":${"[".repeat(depth)}${"]".repeat(depth)}}`);
  }
  // duplicate keys: the last one wins in JSON.parse
  const f = g.pick(FIELDS);
  const text = JSON.stringify(o);
  return enc.encode(`${text.slice(0, -1)},${JSON.stringify(f)}:${JSON.stringify(g.pick(ODD_VALUES))}}`);
}

/** What the file's header promises about an accepted order. */
function checkValidation(v: Validation): string | undefined {
  if (typeof v !== "object" || v === null || typeof v.ok !== "boolean") return `not a Validation: ${JSON.stringify(v)}`;
  if (!v.ok) {
    if (typeof v.reason !== "string" || v.reason.length === 0) return "rejection without a reason";
    if (v.id !== null && !isOrderId(v.id)) return `rejection with a bad id ${JSON.stringify(v.id)}`;
    return undefined;
  }
  const o = v.order;
  if (!isOrderId(o.id)) return `accepted id ${JSON.stringify(o.id)}`;
  if (typeof o.symbol !== "string" || o.symbol.length === 0) return `accepted symbol ${JSON.stringify(o.symbol)}`;
  if (o.side !== "buy" && o.side !== "sell") return `accepted side ${JSON.stringify(o.side)}`;
  if (!isValidQty(o.qty)) return `accepted qty ${o.qty}`;
  if (o.type === "limit") {
    if (typeof o.price !== "number" || !Number.isFinite(o.price) || o.price <= 0) return `accepted limit price ${o.price}`;
  } else if (o.type === "market") {
    if (o.price !== null) return `accepted market order with price ${o.price}`;
  } else return `accepted type ${JSON.stringify(o.type)}`;
  return undefined;
}

describe("parseOrder fuzz (100 000 cases)", () => {
  test("random and mutated JSON requests: never throws; ok with a well-formed order, or a reason", () => {
    const outcomes = { ok: 0, rejected: 0 };
    runCases("parseOrder", 100_000, SEED + 5, (g) => {
      const input = orderInput(g);
      // Parsed where it lies inside a larger buffer, as the servers do, and on its own: the same answer.
      const pre = noise(g, g.int(16));
      const post = noise(g, g.int(16));
      const framed = concatBytes([pre, input, post]);
      const v = parseOrder(framed, pre.length, input.length);
      const alone = parseOrder(input, 0, input.length);
      if (JSON.stringify(v) !== JSON.stringify(alone)) return `depends on the bytes around it: ${JSON.stringify(v)} vs ${JSON.stringify(alone)}`;
      if (v.ok) outcomes.ok++;
      else outcomes.rejected++;
      return checkValidation(v);
    });
    // The generator reaches both outcomes in earnest (else this checks little).
    expect(outcomes.ok).toBeGreaterThan(10_000);
    expect(outcomes.rejected).toBeGreaterThan(30_000);
  });

  test("extreme inputs: a million levels of nesting, 4 MiB strings, empty and lone bytes", () => {
    const big = "x".repeat(4 << 20);
    const inputs = [
      "[".repeat(1_000_000) + "]".repeat(1_000_000),
      "[".repeat(1_000_000),
      `{"id":1,"symbol":"${big}","side":"buy","type":"market","qty":1}`,
      `{"id":"${big}","symbol":"S","side":"sell","type":"limit","price":1,"qty":1}`,
      "",
      " ",
      "{",
      "\u0000",
    ].map((t) => enc.encode(t));
    inputs.push(new Uint8Array([0xff]), new Uint8Array([0]), new Uint8Array(1 << 20));
    const problems: string[] = [];
    for (const [i, b] of inputs.entries()) {
      try {
        const msg = checkValidation(parseOrder(b, 0, b.length));
        if (msg) problems.push(`input ${i}: ${msg}`);
      } catch (e) {
        problems.push(`input ${i} threw ${(e as Error).message}`);
      }
    }
    expect(problems).toEqual([]);
    // The 4 MiB symbol and id are valid (no length limit is documented).
    expect(parseOrder(inputs[2], 0, inputs[2].length).ok).toBe(true);
    expect(parseOrder(inputs[3], 0, inputs[3].length).ok).toBe(true);
  });

  test("valid requests are accepted exactly as sent (10 000)", () => {
    runCases("parseOrder-valid", 10_000, SEED + 6, (g) => {
      const o = validOrderObject(g);
      const bytes = enc.encode(JSON.stringify(o));
      const v = parseOrder(bytes, 0, bytes.length);
      if (!v.ok) return `rejected ${JSON.stringify(o)}: ${v.reason}`;
      const want = { id: o.id, symbol: o.symbol, side: o.side, type: o.type, price: o.type === "limit" ? o.price : null, qty: o.qty };
      return JSON.stringify(v.order) === JSON.stringify(want) ? undefined : `${JSON.stringify(v.order)} != ${JSON.stringify(want)}`;
    });
  });
});
