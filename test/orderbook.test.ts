import { expect, test } from "bun:test";
import { uringStatus } from "../ffi/uring.ts";
import { encodeFrame, FrameDecoder, HEADER_BYTES, readLength } from "../bench/protocol/frame.ts";
import { checkOrderResponse, makeOrderPayload } from "../bench/clients/order.ts";
import {
  MatchingEngine,
  OrderBook,
  parseOrder,
  serializeResult,
  validateOrder,
  type NewOrder,
  type OrderResult,
} from "../bench/protocol/orderbook.ts";
import { BufferPool, newStats, OutBuffer } from "../bench/server/core.ts";
import { handlerFor, MODES, orderHandler } from "../bench/server/modes.ts";
import { BACKENDS } from "../bench/server/backends.ts";
import { ServerProcess } from "../bench/server/process.ts";
import { parseSummary } from "../bench/server/lines.ts";
import { seededRandom } from "../bench/stats/stats.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

let nextId = 1;
function limit(side: "buy" | "sell", price: number, qty: number, id: string | number = nextId++): NewOrder {
  return { id, symbol: "ACME", side, type: "limit", price, qty };
}
function market(side: "buy" | "sell", qty: number, id: string | number = nextId++): NewOrder {
  return { id, symbol: "ACME", side, type: "market", price: null, qty };
}
function snapshot(book: OrderBook | undefined) {
  return book ? { bids: book.depth("buy"), asks: book.depth("sell") } : null;
}
/** Submits the raw JSON text (or object) as a payload, the way the server does. */
function submitJson(engine: MatchingEngine, x: unknown): OrderResult {
  const bytes = enc.encode(typeof x === "string" ? x : JSON.stringify(x));
  return engine.submitPayload(bytes, 0, bytes.length);
}

test("MODES lists echo and order", () => {
  expect([...MODES]).toEqual(["echo", "order"]);
});

test("price priority: a buy takes the lowest ask first, a sell the highest bid", () => {
  const book = new OrderBook("ACME");
  book.submit(limit("sell", 101, 1, "a101"));
  book.submit(limit("sell", 100, 1, "a100"));
  book.submit(limit("sell", 102, 1, "a102"));
  expect(book.bestAsk()).toBe(100);
  const r = book.submit(limit("buy", 101.5, 3, "b"));
  expect(r.status).toBe("partially_filled");
  expect(r.trades).toEqual([
    { maker: "a100", taker: "b", price: 100, qty: 1 },
    { maker: "a101", taker: "b", price: 101, qty: 1 },
  ]);
  // The remainder rests at its own limit, below the ask left at 102.
  expect(book.depth("buy")).toEqual([{ price: 101.5, qty: 1, orders: ["b"] }]);
  expect(book.depth("sell")).toEqual([{ price: 102, qty: 1, orders: ["a102"] }]);

  book.submit(limit("buy", 99, 1, "b99"));
  book.submit(limit("buy", 100.5, 1, "b100.5"));
  const s = book.submit(limit("sell", 99, 3, "s"));
  expect(s.status).toBe("filled");
  expect(s.trades.map((t) => [t.maker, t.price])).toEqual([
    ["b", 101.5],
    ["b100.5", 100.5],
    ["b99", 99],
  ]);
  expect(book.depth("buy")).toEqual([]);
});

test("time priority: at one price the oldest order fills first", () => {
  const book = new OrderBook("ACME");
  for (const id of ["first", "second", "third"]) book.submit(limit("buy", 50, 2, id));
  const r = book.submit(limit("sell", 50, 3, "s"));
  expect(r.status).toBe("filled");
  expect(r.trades).toEqual([
    { maker: "first", taker: "s", price: 50, qty: 2 },
    { maker: "second", taker: "s", price: 50, qty: 1 },
  ]);
  expect(book.depth("buy")).toEqual([{ price: 50, qty: 3, orders: ["second", "third"] }]);
});

test("time priority holds over many fills at one level (queue compaction)", () => {
  const book = new OrderBook("ACME");
  for (let i = 0; i < 1000; i++) book.submit(limit("sell", 10, 1, i));
  for (let i = 0; i < 999; i++) {
    const r = book.submit(limit("buy", 10, 1, `b${i}`));
    expect(r.trades[0].maker).toBe(i);
  }
  expect(book.depth("sell")).toEqual([{ price: 10, qty: 1, orders: [999] }]);
  expect(book.restingCount).toBe(1);
});

test("trades execute at the maker's price; a fully crossed limit order is filled", () => {
  const book = new OrderBook("ACME");
  book.submit(limit("buy", 99, 5, "maker"));
  const r = book.submit(limit("sell", 90, 5, "taker"));
  expect(r).toEqual({ id: "taker", status: "filled", trades: [{ maker: "maker", taker: "taker", price: 99, qty: 5 }] });
  expect(book.restingCount).toBe(0);
});

test("a limit order that does not cross rests and is accepted", () => {
  const book = new OrderBook("ACME");
  book.submit(limit("sell", 101, 5, "ask"));
  const r = book.submit(limit("buy", 100, 5, "bid"));
  expect(r).toEqual({ id: "bid", status: "accepted", trades: [] });
  expect(book.bestBid()).toBe(100);
  expect(book.bestAsk()).toBe(101);
});

test("partial fills: the maker keeps its remainder and its place", () => {
  const book = new OrderBook("ACME");
  book.submit(limit("sell", 100, 10, "big"));
  book.submit(limit("sell", 100, 4, "later"));
  const r1 = book.submit(limit("buy", 100, 3, "t1"));
  expect(r1.status).toBe("filled");
  expect(book.depth("sell")).toEqual([{ price: 100, qty: 11, orders: ["big", "later"] }]);
  const r2 = book.submit(limit("buy", 100, 9, "t2"));
  expect(r2.trades).toEqual([
    { maker: "big", taker: "t2", price: 100, qty: 7 },
    { maker: "later", taker: "t2", price: 100, qty: 2 },
  ]);
  expect(book.depth("sell")).toEqual([{ price: 100, qty: 2, orders: ["later"] }]);
  expect(book.hasResting("big")).toBe(false);
});

test("a market order sweeps several levels and its remainder is not rested", () => {
  const book = new OrderBook("ACME");
  book.submit(limit("sell", 100, 2, "a"));
  book.submit(limit("sell", 101, 3, "b"));
  book.submit(limit("sell", 105, 1, "c"));
  const r = book.submit(market("buy", 10, "m"));
  expect(r.status).toBe("partially_filled");
  expect(r.trades).toEqual([
    { maker: "a", taker: "m", price: 100, qty: 2 },
    { maker: "b", taker: "m", price: 101, qty: 3 },
    { maker: "c", taker: "m", price: 105, qty: 1 },
  ]);
  expect(snapshot(book)).toEqual({ bids: [], asks: [] });
  expect(book.hasResting("m")).toBe(false);

  book.submit(limit("buy", 98, 2, "x"));
  book.submit(limit("buy", 97, 2, "y"));
  const s = book.submit(market("sell", 3, "ms"));
  expect(s.status).toBe("filled");
  expect(book.depth("buy")).toEqual([{ price: 97, qty: 1, orders: ["y"] }]);
});

test("a market order against an empty side is rejected with no liquidity", () => {
  const engine = new MatchingEngine();
  expect(engine.submit(market("buy", 1, "m0"))).toEqual({ id: "m0", status: "rejected", trades: [], reason: "no liquidity" });
  // Rejected orders create no book.
  expect(engine.book("ACME")).toBeUndefined();
  engine.submit(limit("buy", 10, 1, "bid"));
  const before = snapshot(engine.book("ACME"));
  expect(engine.submit(market("buy", 1, "m1")).reason).toBe("no liquidity");
  expect(snapshot(engine.book("ACME"))).toEqual(before);
});

test("rejections leave the book unchanged", () => {
  const engine = new MatchingEngine();
  engine.submit(limit("buy", 99, 5, "bid"));
  engine.submit(limit("sell", 101, 5, "ask"));
  const before = snapshot(engine.book("ACME"));
  const base = { id: "x", symbol: "ACME", side: "buy", type: "limit", price: 101, qty: 1 };
  const cases: [unknown, string, string | number | null][] = [
    ['{"id":"x", "symbol":', "invalid JSON", null],
    ["", "invalid JSON", null],
    ["[1,2]", "JSON object", null],
    ["null", "JSON object", null],
    [{ ...base, id: undefined }, "missing field id", null],
    [{ ...base, id: "" }, "id must be", null],
    [{ ...base, id: 1.5 }, "id must be", null],
    [{ ...base, id: 2 ** 60 }, "id must be", null],
    [{ ...base, id: { nested: 1 } }, "id must be", null],
    [{ ...base, symbol: undefined }, "missing field symbol", "x"],
    [{ ...base, symbol: 7 }, "symbol must be", "x"],
    [{ ...base, side: undefined }, "missing field side", "x"],
    [{ ...base, side: "BUY" }, "side must be", "x"],
    [{ ...base, type: "stop" }, "type must be", "x"],
    [{ ...base, qty: undefined }, "missing field qty", "x"],
    [{ ...base, qty: 0 }, "qty must be", "x"],
    [{ ...base, qty: -3 }, "qty must be", "x"],
    [{ ...base, qty: 1.5 }, "qty must be", "x"],
    [{ ...base, qty: "1" }, "qty must be", "x"],
    [{ ...base, price: undefined }, "limit order requires price", "x"],
    [{ ...base, price: null }, "limit order requires price", "x"],
    [{ ...base, price: 0 }, "price must be", "x"],
    [{ ...base, price: -1 }, "price must be", "x"],
    [{ ...base, price: "101" }, "price must be", "x"],
    [{ ...base, type: "market", price: 101 }, "market order must not have a price", "x"],
  ];
  for (const [input, reason, id] of cases) {
    const r = submitJson(engine, input);
    expect({ input, status: r.status, id: r.id, trades: r.trades }).toEqual({ input, status: "rejected", id, trades: [] });
    expect(r.reason).toContain(reason);
    expect(snapshot(engine.book("ACME"))).toEqual(before);
  }
  expect(engine.symbols).toEqual(["ACME"]);

  // Not UTF-8: refused, not mended.
  const bad = new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]);
  const r = engine.submitPayload(bad, 0, bad.length);
  expect(r.status).toBe("rejected");
  expect(r.reason).toStartWith("invalid JSON: ");
});

test("validateOrder accepts both id kinds and a market order with null or no price", () => {
  expect(validateOrder({ id: 0, symbol: "S", side: "sell", type: "market", qty: 1 })).toEqual({
    ok: true,
    order: { id: 0, symbol: "S", side: "sell", type: "market", price: null, qty: 1 },
  });
  expect(validateOrder({ id: "o-1", symbol: "S", side: "buy", type: "market", price: null, qty: 2, extra: true }).ok).toBe(true);
  const bytes = enc.encode('xx{"id":-5,"symbol":"S","side":"buy","type":"limit","price":0.5,"qty":3}yy');
  expect(parseOrder(bytes, 2, bytes.length - 4)).toEqual({
    ok: true,
    order: { id: -5, symbol: "S", side: "buy", type: "limit", price: 0.5, qty: 3 },
  });
});

test("duplicate id: refused while the first order rests, allowed once it has left the book", () => {
  const engine = new MatchingEngine();
  expect(engine.submit(limit("buy", 10, 2, "dup")).status).toBe("accepted");
  const before = snapshot(engine.book("ACME"));
  expect(engine.submit(limit("sell", 10, 1, "dup"))).toEqual({ id: "dup", status: "rejected", trades: [], reason: "duplicate id" });
  expect(engine.submit(market("sell", 1, "dup")).reason).toBe("duplicate id");
  expect(snapshot(engine.book("ACME"))).toEqual(before);
  // 7 and "7" are different ids.
  engine.submit(limit("buy", 9, 1, 7));
  expect(engine.submit(limit("buy", 9, 1, "7")).status).toBe("accepted");
  // Books are per symbol.
  expect(engine.submit({ ...limit("buy", 10, 1, "dup"), symbol: "OTHER" }).status).toBe("accepted");
  engine.submit(limit("sell", 10, 2, "s"));
  expect(engine.book("ACME")!.hasResting("dup")).toBe(false);
  expect(engine.submit(limit("buy", 10, 1, "dup")).status).toBe("accepted");
});

test("serializeResult: the documented JSON shape, keys in order, trades always present", () => {
  const engine = new MatchingEngine();
  const accepted = engine.submit(limit("sell", 100.25, 2, 9));
  expect(serializeResult(accepted)).toBe('{"id":9,"status":"accepted","trades":[]}');
  const filled = engine.submit(limit("buy", 101, 2, 'a"b\\c\u00e9\n'));
  expect(serializeResult(filled)).toBe(
    '{"id":"a\\"b\\\\c\u00e9\\n","status":"filled","trades":[{"maker":9,"taker":"a\\"b\\\\c\u00e9\\n","price":100.25,"qty":2}]}',
  );
  expect(JSON.parse(serializeResult(filled))).toEqual(filled);
  const rejected = submitJson(engine, "{oops");
  expect(serializeResult(rejected)).toStartWith('{"id":null,"status":"rejected","trades":[],"reason":"invalid JSON: ');
  // A lone surrogate in an id stays an escape, so the answer is valid UTF-8 that round-trips.
  const lone = submitJson(engine, '{"id":"x\\ud800","symbol":"ACME","side":"buy","type":"limit","price":1,"qty":1}');
  expect(JSON.parse(serializeResult(lone)).id).toBe("x\ud800");
});

test("checkOrderResponse accepts engine answers and catches corrupted ones", () => {
  const engine = new MatchingEngine();
  for (let i = 0; i < 2000; i++) {
    const req = makeOrderPayload(i);
    const res = enc.encode(serializeResult(engine.submitPayload(req, 0, req.length)));
    expect(checkOrderResponse(req, res)).toBeNull();
  }
  engine.submit(limit("sell", 100, 2, "m1"));
  engine.submit(limit("sell", 101, 2, "m2"));
  const reqObj = { id: "t", symbol: "ACME", side: "buy", type: "limit", price: 101, qty: 3 };
  const req = enc.encode(JSON.stringify(reqObj));
  const good = engine.submitPayload(req, 0, req.length);
  expect(good.status).toBe("filled");
  expect(checkOrderResponse(req, enc.encode(serializeResult(good)))).toBeNull();

  const corrupt = (f: (r: any) => void): string | null => {
    const r = structuredClone(good) as any;
    f(r);
    return checkOrderResponse(req, enc.encode(JSON.stringify(r)));
  };
  expect(corrupt((r) => (r.id = "other"))).toContain("id");
  expect(corrupt((r) => (r.id = null))).toContain("id");
  expect(corrupt((r) => (r.status = "done"))).toContain("status");
  expect(corrupt((r) => delete r.trades)).toContain("trades");
  expect(corrupt((r) => (r.trades[0].qty = 0))).toContain("qty");
  expect(corrupt((r) => (r.trades[0].price = -1))).toContain("price");
  expect(corrupt((r) => (r.trades[1].price = 102))).toContain("limit");
  expect(corrupt((r) => (r.trades[0].taker = "m1"))).toContain("taker");
  expect(corrupt((r) => (r.trades[1].qty = 5))).toContain("more than");
  expect(corrupt((r) => r.trades.pop())).toContain("filled but");
  expect(corrupt((r) => (r.status = "accepted"))).toContain("accepted with");
  expect(corrupt((r) => (r.status = "rejected"))).toContain("reason");
  expect(corrupt((r) => ((r.status = "rejected"), (r.reason = "x")))).toContain("trades");
  expect(checkOrderResponse(req, enc.encode('{"id":"t","status":'))).toContain("not JSON");
  expect(checkOrderResponse(req, enc.encode("[]"))).toContain("not a JSON object");

  // An invalid request must be rejected, with the id it carried or null.
  const bad = enc.encode(JSON.stringify({ ...reqObj, qty: 0 }));
  expect(checkOrderResponse(bad, enc.encode('{"id":"t","status":"rejected","trades":[],"reason":"qty"}'))).toBeNull();
  expect(checkOrderResponse(bad, enc.encode('{"id":"t","status":"accepted","trades":[]}'))).toContain("expected rejected");
  const garbage = enc.encode("not json");
  expect(checkOrderResponse(garbage, enc.encode('{"id":null,"status":"rejected","trades":[],"reason":"invalid JSON: x"}'))).toBeNull();
  expect(checkOrderResponse(garbage, enc.encode('{"id":"t","status":"rejected","trades":[],"reason":"x"}'))).toContain("id");
});

test("makeOrderPayload: deterministic, varied, and the book stays shallow", () => {
  expect(dec.decode(makeOrderPayload(12345))).toBe(dec.decode(makeOrderPayload(12345)));
  expect(JSON.parse(dec.decode(makeOrderPayload(3, "XYZ"))).symbol).toBe("XYZ");
  const engine = new MatchingEngine();
  const statuses: Record<string, number> = {};
  let markets = 0;
  let sweeps = 0;
  for (let i = 0; i < 50_000; i++) {
    const req = makeOrderPayload(i);
    const v = parseOrder(req, 0, req.length);
    expect(v.ok).toBe(true);
    if (v.ok && v.order.type === "market") markets++;
    const r = engine.submitPayload(req, 0, req.length);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (new Set(r.trades.map((t) => t.price)).size > 1) sweeps++;
  }
  for (const s of ["accepted", "filled", "partially_filled"]) expect(statuses[s]).toBeGreaterThan(2_500);
  expect(markets).toBeGreaterThan(2_500);
  expect(markets).toBeLessThan(10_000);
  expect(sweeps).toBeGreaterThan(100);
  expect(engine.book("ACME")!.restingCount).toBeLessThan(100);
});

function frameOut(handler = orderHandler()) {
  const out = new OutBuffer(new BufferPool());
  const stats = newStats();
  const send = (payload: string | Uint8Array): unknown => {
    const frame = encodeFrame(typeof payload === "string" ? enc.encode(payload) : payload);
    // Placed at an offset inside a larger buffer, as in a connection buffer.
    const buf = new Uint8Array(frame.length + 10);
    buf.set(frame, 7);
    const start = out.len;
    handler.handle(buf, 7, frame.length, out, stats);
    const n = readLength(out.buf.bytes, start);
    expect(out.len - start).toBe(HEADER_BYTES + n);
    return JSON.parse(dec.decode(out.buf.bytes.subarray(start + HEADER_BYTES, start + HEADER_BYTES + n)));
  };
  return { out, stats, send, handler };
}

test("order FrameHandler writes one length-prefixed JSON frame per request", () => {
  const { send, stats, handler } = frameOut();
  expect(send('{"id":1,"symbol":"ACME","side":"sell","type":"limit","price":10.5,"qty":4}')).toEqual({ id: 1, status: "accepted", trades: [] });
  expect(send('{"id":"b","symbol":"ACME","side":"buy","type":"market","qty":1}')).toEqual({
    id: "b",
    status: "filled",
    trades: [{ maker: 1, taker: "b", price: 10.5, qty: 1 }],
  });
  expect(stats.rejected).toBe(0);
  const before = snapshot(handler.engine.book("ACME"));
  expect(send("{oops")).toMatchObject({ id: null, status: "rejected", trades: [] });
  expect(send('{"id":9,"symbol":"ACME","side":"buy","type":"limit","qty":1}')).toMatchObject({ id: 9, status: "rejected", reason: "limit order requires price" });
  expect(send(new Uint8Array(0))).toMatchObject({ id: null, status: "rejected" });
  expect(send(new Uint8Array([0xc3, 0x28]))).toMatchObject({ id: null, status: "rejected" });
  expect(send("[".repeat(100_000))).toMatchObject({ id: null, status: "rejected" });
  expect(stats.rejected).toBe(5);
  expect(snapshot(handler.engine.book("ACME"))).toEqual(before);
  // Non-ASCII text survives the UTF-8 framing.
  expect(send('{"id":"\u00fcber-\u{1f600}","symbol":"\u00c4X","side":"buy","type":"limit","price":1,"qty":1}')).toEqual({
    id: "\u00fcber-\u{1f600}",
    status: "accepted",
    trades: [],
  });
});

test("order FrameHandler: answers longer than the output buffer grow it", () => {
  const { send, out } = frameOut();
  for (let i = 0; i < 3000; i++) send(`{"id":${i},"symbol":"ACME","side":"sell","type":"limit","price":1,"qty":1}`);
  const r = send('{"id":"sweep","symbol":"ACME","side":"buy","type":"market","qty":3000}') as OrderResult;
  expect(r.status).toBe("filled");
  expect(r.trades.length).toBe(3000);
  expect(out.buf.size).toBeGreaterThan(16 * 1024);
});

test("handlerFor('order') gives each server its own engine", () => {
  const a = handlerFor("order") as ReturnType<typeof orderHandler>;
  const b = handlerFor("order") as ReturnType<typeof orderHandler>;
  expect(a.engine).not.toBe(b.engine);
  expect(() => handlerFor("nope")).toThrow("unknown mode");
});

// --- end to end: a real `serve --mode order` process per backend ---

const uring = uringStatus();
// The Tokio reference server: built if cargo and Debian's crates are here (never installs).
const tokio = BACKENDS.tokio.availability();
if (!tokio.available) console.warn(`skipping tokio order server tests: ${tokio.reason}`);

interface OrderServer {
  host: string;
  port: number;
  /** The backend named by the listening line (serve) or by the summary (an external server). */
  backendName: string;
  /** SIGTERM; the exit code and the summary line's fields. */
  stop(): Promise<{ code: number | null; summary: Record<string, string> | null }>;
}

/**
 * An order-mode server of `backend`: `serve --mode order` for the TypeScript
 * backends; for an external one (tokio) its own executable, started the way
 * scenario 5 starts it (ServerProcess with mode "order", which passes --mode).
 */
async function startOrderServer(backend: string): Promise<OrderServer> {
  const b = BACKENDS[backend];
  if (b.kind === "executable") {
    const s = await ServerProcess.start({ backend, mode: "order", command: b.command() });
    return {
      host: s.host,
      port: s.port,
      backendName: backend,
      async stop() {
        const r = await s.stop(10_000);
        return { code: r.exitCode, summary: r.summary };
      },
    };
  }
  const srv = await startServer(backend);
  return {
    host: srv.host,
    port: srv.port,
    backendName: srv.backendName,
    async stop() {
      srv.proc.kill("SIGTERM");
      const code = await srv.proc.exited;
      const line = (await srv.output).split("\n").find((l) => l.startsWith("summary "));
      return { code, summary: line ? parseSummary(line) : null };
    },
  };
}

/** Reads stdout until the `listening` line, keeping the rest for the summary. */
async function startServer(backend: string) {
  const proc = Bun.spawn(["node_modules/.bin/bun", "bench/cli/serve.ts", "--backend", backend, "--port", "0", "--mode", "order"], {
    cwd: `${import.meta.dir}/..`,
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 30_000;
  while (!/listening \S+ backend=\S+\n/.test(text)) {
    if (Date.now() > deadline) throw new Error(`no listening line from ${backend}: ${text}`);
    const { value, done } = await reader.read();
    if (done) throw new Error(`serve ${backend} exited early: ${text}${await new Response(proc.stderr).text()}`);
    text += dec.decode(value);
  }
  const m = /listening (\S+):(\d+) backend=(\S+)/.exec(text)!;
  const rest = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return text;
      text += dec.decode(value);
    }
  })();
  return { proc, host: m[1], port: Number(m[2]), backendName: m[3], output: rest };
}

async function converse(host: string, port: number, payloads: Uint8Array[]): Promise<Uint8Array[]> {
  const decoder = new FrameDecoder();
  const answers: Uint8Array[] = [];
  const { promise, resolve, reject } = Promise.withResolvers<void>();
  const socket = await Bun.connect({
    hostname: host,
    port,
    socket: {
      data(_s, chunk) {
        answers.push(...decoder.push(chunk));
        if (answers.length >= payloads.length) resolve();
      },
      error(_s, e) {
        reject(e);
      },
      close() {
        reject(new Error(`connection closed after ${answers.length} of ${payloads.length} answers`));
      },
    },
  });
  // All frames in one write, the last one split across two, to exercise
  // pipelining and partial frames.
  const all = Buffer.concat(payloads.map(encodeFrame));
  socket.write(all.subarray(0, all.length - 3));
  await Bun.sleep(20);
  socket.write(all.subarray(all.length - 3));
  const timer = setTimeout(() => reject(new Error(`timeout: ${answers.length} of ${payloads.length} answers`)), 15_000);
  try {
    await promise;
  } finally {
    clearTimeout(timer);
    socket.end();
  }
  return answers;
}

for (const backend of ["bun", "epoll", "uring", "tokio"]) {
  const skip = (backend === "uring" && !uring.available) || (backend === "tokio" && !tokio.available);
  if (skip) console.warn(`skipping uring order server test: ${uring.reason}`);
  test.skipIf(skip)(`serve --mode order over ${backend}: valid and invalid orders, clean exit`, async () => {
    const payloads = [
      enc.encode('{"id":"s1","symbol":"ACME","side":"sell","type":"limit","price":100,"qty":5}'),
      enc.encode("this is not json"),
      enc.encode('{"id":"bad-qty","symbol":"ACME","side":"buy","type":"limit","price":100,"qty":0}'),
      enc.encode('{"id":"b1","symbol":"ACME","side":"buy","type":"limit","price":101,"qty":3}'),
      enc.encode('{"id":"s1","symbol":"ACME","side":"sell","type":"limit","price":100,"qty":1}'),
      enc.encode('{"id":"m1","symbol":"ACME","side":"buy","type":"market","qty":10}'),
      enc.encode('{"id":"m2","symbol":"ACME","side":"buy","type":"market","qty":1}'),
      ...Array.from({ length: 200 }, (_, i) => makeOrderPayload(i, "BENCH")),
    ];
    const srv = await startOrderServer(backend);
    let rejected = 0;
    let stopped: Awaited<ReturnType<OrderServer["stop"]>> | undefined;
    try {
      expect(srv.backendName).toBe(backend);
      const answers = await converse(srv.host, srv.port, payloads);
      expect(answers.length).toBe(payloads.length);
      for (let i = 0; i < payloads.length; i++) {
        expect({ i, problem: checkOrderResponse(payloads[i], answers[i]) }).toEqual({ i, problem: null });
        if (JSON.parse(dec.decode(answers[i])).status === "rejected") rejected++;
      }
      const parsed = answers.slice(0, 7).map((a) => JSON.parse(dec.decode(a)));
      expect(parsed.map((r) => [r.id, r.status])).toEqual([
        ["s1", "accepted"],
        [null, "rejected"],
        ["bad-qty", "rejected"],
        ["b1", "filled"],
        ["s1", "rejected"],
        ["m1", "partially_filled"],
        ["m2", "rejected"],
      ]);
      expect(parsed[3].trades).toEqual([{ maker: "s1", taker: "b1", price: 100, qty: 3 }]);
      expect(parsed[4].reason).toBe("duplicate id");
      expect(parsed[5].trades).toEqual([{ maker: "s1", taker: "m1", price: 100, qty: 2 }]);
      expect(parsed[6].reason).toBe("no liquidity");

      // The connection survived the bad requests, and the engine is shared
      // across connections: a second client sees the first one's book.
      const [again] = await converse(srv.host, srv.port, [
        enc.encode('{"id":"s1","symbol":"ACME","side":"sell","type":"limit","price":99,"qty":1}'),
      ]);
      expect(JSON.parse(dec.decode(again))).toEqual({ id: "s1", status: "accepted", trades: [] });
    } finally {
      stopped = await srv.stop();
    }
    expect(stopped.code).toBe(0);
    expect(stopped.summary).toMatchObject({ backend, connections: "2", frames: String(payloads.length + 1), errors: "0", rejected: String(rejected) });
    // The server's own processing time, which scenario 5 divides by the frames.
    expect(Number(stopped.summary!.processing_ns)).toBeGreaterThan(0);
  });
}

// --- tokio against the TypeScript engine: the same answers, byte for byte ---


/**
 * A seeded request stream: mostly makeOrderPayload orders over three symbols
 * (some ids repeated, for duplicate-id rejections), plus valid requests in
 * unusual spellings (string ids with escapes and lone surrogates, ids and
 * prices written as 7.0, 1e2, -0, 1e21, 1e-7; escaped and repeated keys;
 * extra nested fields; a BOM) and invalid ones (every validation failure,
 * broken JSON, bytes that are not UTF-8).
 */
function differentialStream(n: number, seed: number): Uint8Array[] {
  const rnd = seededRandom(seed); // a failing stream can be replayed from its seed
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const symbols = ["ACME", "BETA", "\u00dcber\u2028"];
  const strIds = ['"s"', '"7"', '"a\\"b"', '"\\u00e9\\n\\t"', '"x\\ud800"', '"\\ud83d\\ude00"', '"\\ud83dA"', '"\\u0000\\u001f\\u007f"', '"\u00fcber-\u{1f600}"', '"/"'];
  const numIds = ["7", "7.0", "1e2", "-0", "-5", "9007199254740991", "0.5e1"];
  const prices = ["100", "100.00", "1e2", "99.97", "100.03", "0.1", "0.30000000000000004", "1e21", "1.5e21", "1e-7", "0.000001", "123456.789e-3", "5e-324", "1.7976931348623157e308", "100.5"];
  const invalid = [
    "this is not json",
    "{oops",
    "",
    "[1,2]",
    "null",
    "42",
    '"str"',
    '{"id":1,}',
    "[".repeat(2000),
    '{"symbol":"ACME","side":"buy","type":"limit","price":1,"qty":1}',
    '{"id":"","symbol":"ACME","side":"buy","type":"limit","price":1,"qty":1}',
    '{"id":1.5,"symbol":"ACME","side":"buy","type":"limit","price":1,"qty":1}',
    '{"id":9007199254740992,"symbol":"ACME","side":"buy","type":"limit","price":1,"qty":1}',
    '{"id":1e400,"symbol":"ACME"}',
    '{"id":{"nested":1},"symbol":"ACME"}',
    '{"id":true}',
    '{"id":null}',
    '{"id":"v1","side":"buy","type":"limit","price":1,"qty":1}',
    '{"id":"v2","symbol":7,"side":"buy","type":"limit","price":1,"qty":1}',
    '{"id":"v3","symbol":"","side":"buy","type":"limit","price":1,"qty":1}',
    '{"id":"v4","symbol":"ACME","type":"limit","price":1,"qty":1}',
    '{"id":"v5","symbol":"ACME","side":"BUY","type":"limit","price":1,"qty":1}',
    '{"id":"v6","symbol":"ACME","side":"buy","price":1,"qty":1}',
    '{"id":"v7","symbol":"ACME","side":"buy","type":"stop","price":1,"qty":1}',
    '{"id":"v8","symbol":"ACME","side":"buy","type":"limit","price":1}',
    '{"id":"v9","symbol":"ACME","side":"buy","type":"limit","price":1,"qty":0}',
    '{"id":"v10","symbol":"ACME","side":"buy","type":"limit","price":1,"qty":-3}',
    '{"id":"v11","symbol":"ACME","side":"buy","type":"limit","price":1,"qty":1.5}',
    '{"id":"v12","symbol":"ACME","side":"buy","type":"limit","price":1,"qty":"1"}',
    '{"id":"v13","symbol":"ACME","side":"buy","type":"limit","price":1,"qty":9007199254740992}',
    '{"id":"v14","symbol":"ACME","side":"buy","type":"limit","qty":1}',
    '{"id":"v15","symbol":"ACME","side":"buy","type":"limit","price":null,"qty":1}',
    '{"id":"v16","symbol":"ACME","side":"buy","type":"limit","price":0,"qty":1}',
    '{"id":"v17","symbol":"ACME","side":"buy","type":"limit","price":-1,"qty":1}',
    '{"id":"v18","symbol":"ACME","side":"buy","type":"limit","price":"101","qty":1}',
    '{"id":"v19","symbol":"ACME","side":"buy","type":"limit","price":1e400,"qty":1}',
    '{"id":"v20","symbol":"ACME","side":"buy","type":"market","price":101,"qty":1}',
    '{"id":"v21","symbol":"ACME","side":"buy","type":"market","price":false,"qty":1}',
    '{"id":"v22","symbol":"NOBOOK","side":"sell","type":"market","qty":1}',
  ];
  const out: Uint8Array[] = [];
  let next = 1_000_000;
  for (let k = 0; k < n; k++) {
    const r = rnd();
    const symbol = pick(symbols);
    if (r < 0.7) {
      // Mostly fresh ids; one in ten reuses a recent one (a duplicate while it rests).
      const i = rnd() < 0.1 ? next - 1 - Math.floor(rnd() * 40) : next++;
      out.push(makeOrderPayload(i, JSON.parse(`"${symbol}"`)));
    } else if (r < 0.85) {
      const id = rnd() < 0.5 ? pick(strIds) : pick(numIds);
      const side = pick(["buy", "sell"]);
      const qty = pick(["1", "2", "10", "1.0", "3e0"]);
      const body = rnd() < 0.2
        ? `"type":"market",${pick(["", '"price":null,'])}"qty":${qty}`
        : `"type":"limit","price":${pick(prices)},"qty":${qty}`;
      const extra = pick(["", ',"extra":{"a":[1,{"b":null}],"c":"\\ud800"}', ',"id":"overridden-first"', ',"qty":0']);
      const keyId = pick(['"id"', '"\\u0069d"']);
      let json = `{"symbol":"${symbol}" , "side":"${side}",\n\t${body}${extra},${keyId}:${id}}`;
      if (extra === ',"qty":0') json = `{"qty":0,${json.slice(1)}`; // a repeated key: the last one wins
      out.push(rnd() < 0.05 ? new Uint8Array([0xef, 0xbb, 0xbf, ...enc.encode(json)]) : enc.encode(json));
    } else if (r < 0.98) {
      out.push(enc.encode(pick(invalid)));
    } else {
      out.push(pick([new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), new Uint8Array([0xc3, 0x28]), new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])]));
    }
  }
  return out;
}

test.skipIf(!tokio.available)("tokio and the TypeScript epoll server give byte-identical order answers to a seeded stream", async () => {
  const payloads = differentialStream(4000, 20240611);
  const ts = await startOrderServer("epoll");
  const rs = await startOrderServer("tokio");
  let tsAnswers: Uint8Array[];
  let rsAnswers: Uint8Array[];
  try {
    // One connection each, the same order: the engines go through the same states.
    [tsAnswers, rsAnswers] = await Promise.all([converse(ts.host, ts.port, payloads), converse(rs.host, rs.port, payloads)]);
  } finally {
    await Promise.all([ts.stop(), rs.stop()]);
  }
  expect(rsAnswers.length).toBe(payloads.length);
  let same = 0;
  let parserMessage = 0;
  const statuses: Record<string, number> = {};
  for (let i = 0; i < payloads.length; i++) {
    const a = dec.decode(tsAnswers[i]);
    const b = dec.decode(rsAnswers[i]);
    expect({ i, problem: checkOrderResponse(payloads[i], rsAnswers[i]) }).toEqual({ i, problem: null });
    const status = JSON.parse(a).status as string;
    statuses[status] = (statuses[status] ?? 0) + 1;
    if (a === b) {
      same++;
      continue;
    }
    // Only the JSON parser's own message may differ (JavaScriptCore's vs serde_json's).
    const ra = JSON.parse(a);
    const rb = JSON.parse(b);
    const what = { i, request: dec.decode(payloads[i]), ts: a, tokio: b };
    expect({ ...what, parseError: typeof ra.reason === "string" && ra.reason.startsWith("invalid JSON: ") && rb.reason?.startsWith("invalid JSON: ") }).toEqual({ ...what, parseError: true });
    expect(a.slice(0, a.indexOf('"reason":'))).toBe(b.slice(0, b.indexOf('"reason":')));
    parserMessage++;
  }
  expect(same + parserMessage).toBe(payloads.length);
  expect(same).toBeGreaterThan(payloads.length * 0.9);
  // The stream exercised every outcome.
  for (const s of ["accepted", "filled", "partially_filled", "rejected"]) expect(statuses[s]).toBeGreaterThan(100);
});
