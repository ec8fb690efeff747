// The Tokio reference server (bench/tokio-echo, built to build/tokio-echo by
// scripts/build-tokio.sh): same wire protocol and same stdout lines as the
// TypeScript backends. Skipped when the binary is absent, unless
// IOURING_BENCH_BUILD_TOKIO=1 asks for it to be built first.
import { expect, test } from "bun:test";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { join, resolve } from "node:path";
import { parseListening, parseStats, parseSummary } from "../bench/server/lines.ts";

const ROOT = resolve(import.meta.dir, "..");
const BIN = join(ROOT, "build/tokio-echo");
const MIB = 1 << 20;
const SIZES = [0, 10, 100, 1000, MIB];

let buildError = "";
if (process.env.IOURING_BENCH_BUILD_TOKIO === "1") {
  // A no-op when build/tokio-echo is up to date.
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/build-tokio.sh")], {
    env: { ...process.env, SETUP_QUIET: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) buildError = `scripts/build-tokio.sh failed (exit ${r.exitCode}):\n${r.stderr.toString()}${r.stdout.toString()}`;
}
const built = existsSync(BIN);
const skipReason = "build/tokio-echo is not built: run `bash scripts/build-tokio.sh` or set IOURING_BENCH_BUILD_TOKIO=1";
// A requested build that failed is a failure, not a skip.
const t = built || buildError ? test : test.skip;
const name = (s: string) => (built || buildError ? s : `${s} [skipped: ${skipReason}]`);

/** Reads a child's stdout line by line, with a deadline per line. */
class Lines {
  private buf = "";
  private done = false;
  private pending: Promise<{ done: boolean; value?: Uint8Array }> | undefined;
  private readonly reader: { read(): Promise<{ done: boolean; value?: Uint8Array }> };
  private readonly dec = new TextDecoder();
  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
  }
  /** The next line, or null at EOF. */
  async next(timeoutMs = 10_000): Promise<string | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const nl = this.buf.indexOf("\n");
      if (nl >= 0) {
        const line = this.buf.slice(0, nl);
        this.buf = this.buf.slice(nl + 1);
        return line;
      }
      if (this.done) {
        const rest = this.buf;
        this.buf = "";
        return rest.length > 0 ? rest : null;
      }
      this.pending ??= this.reader.read();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<"timeout">((res) => (timer = setTimeout(() => res("timeout"), Math.max(0, deadline - Date.now()))));
      const r = await Promise.race([this.pending, timeout]);
      clearTimeout(timer);
      if (r === "timeout") throw new Error(`no line from the server within ${timeoutMs} ms (so far: ${JSON.stringify(this.buf)})`);
      this.pending = undefined;
      if (r.done) this.done = true;
      else if (r.value) this.buf += this.dec.decode(r.value, { stream: true });
    }
  }
}

interface Server {
  proc: ReturnType<typeof Bun.spawn>;
  lines: Lines;
  port: number;
}

async function startServer(extra: string[] = []): Promise<Server> {
  if (buildError) throw new Error(buildError);
  const proc = Bun.spawn([BIN, "--host", "127.0.0.1", "--port", "0", ...extra], { stdout: "pipe", stderr: "pipe" });
  const lines = new Lines(proc.stdout as ReadableStream<Uint8Array>);
  const first = await lines.next();
  // tokio-echo writes the lines of bench/server/lines.ts in its own words: read them with its parsers.
  const listening = parseListening(first);
  if (!listening || listening.host !== "127.0.0.1" || !["tokio", "tokio-mt"].includes(listening.backend)) {
    proc.kill("SIGKILL");
    throw new Error(`unexpected first line ${JSON.stringify(first)}; stderr: ${await new Response(proc.stderr as ReadableStream).text()}`);
  }
  return { proc, lines, port: listening.port };
}

/** SIGTERM, then every remaining stdout line and the exit code. */
async function stopServer(s: Server, signal: "SIGTERM" | "SIGINT" = "SIGTERM"): Promise<{ code: number | null; lines: string[] }> {
  s.proc.kill(signal);
  const killer = setTimeout(() => s.proc.kill("SIGKILL"), 15_000);
  const out: string[] = [];
  for (let l = await s.lines.next(20_000); l !== null; l = await s.lines.next(20_000)) out.push(l);
  const code = await s.proc.exited;
  clearTimeout(killer);
  return { code, lines: out };
}

/** Frames of the given sizes; payload bytes depend on the connection and the frame, so mix-ups show. */
function framesFor(conn: number, sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  sizes.forEach((n, k) => {
    const f = Buffer.alloc(4 + n);
    f.writeUInt32BE(n, 0);
    for (let i = 0; i < n; i++) f[4 + i] = (i * 31 + conn * 7 + k * 13 + (i >> 8)) & 0xff;
    parts.push(f);
  });
  return Buffer.concat(parts);
}

function wireBytes(sizes: number[]): number {
  return sizes.reduce((a, n) => a + 4 + n, 0);
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((res, rej) => {
    const sock = net.connect({ port, host: "127.0.0.1" }, () => res(sock));
    sock.once("error", rej);
  });
}

/** Collects what the socket receives until `want` bytes came (or it closed / failed). */
class Receiver {
  private chunks: Buffer[] = [];
  private got = 0;
  private waiter: { want: number; res: (b: Buffer) => void; rej: (e: Error) => void } | undefined;
  closed = false;
  constructor(private readonly sock: net.Socket) {
    sock.on("data", (c: Buffer) => {
      this.chunks.push(c);
      this.got += c.length;
      this.check();
    });
    sock.on("error", (e) => this.fail(e));
    sock.on("close", () => {
      this.closed = true;
      this.fail(new Error(`connection closed after ${this.got} bytes`));
    });
  }
  private check() {
    const w = this.waiter;
    if (w && this.got >= w.want) {
      this.waiter = undefined;
      const all = Buffer.concat(this.chunks);
      this.chunks = [all.subarray(w.want)];
      this.got -= w.want;
      w.res(all.subarray(0, w.want));
    }
  }
  private fail(e: Error) {
    const w = this.waiter;
    this.waiter = undefined;
    w?.rej(e);
  }
  take(want: number, timeoutMs = 30_000): Promise<Buffer> {
    return new Promise<Buffer>((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`timed out with ${this.got} of ${want} bytes`)), timeoutMs);
      this.waiter = {
        want,
        res: (b) => (clearTimeout(timer), res(b)),
        rej: (e) => (clearTimeout(timer), rej(e)),
      };
      if (this.closed) this.fail(new Error(`connection closed after ${this.got} bytes`));
      else this.check();
    });
  }
  /** Resolves once the peer has closed the connection. */
  whenClosed(timeoutMs = 10_000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error("the server did not close the connection")), timeoutMs);
      this.sock.once("close", () => (clearTimeout(timer), res()));
    });
  }
}

function expectSameBytes(got: Buffer, want: Buffer, what: string) {
  expect(got.length).toBe(want.length);
  if (!got.equals(want)) {
    let i = 0;
    while (i < want.length && got[i] === want[i]) i++;
    throw new Error(`${what}: first differing byte at offset ${i} of ${want.length}`);
  }
}

/** One connection: each frame alone (request, then its answer), then all of them pipelined. */
async function echoCheck(port: number, conn: number, sizes: number[]): Promise<void> {
  const sock = await connect(port);
  const rx = new Receiver(sock);
  try {
    for (const n of sizes) {
      const f = framesFor(conn, [n]);
      sock.write(f);
      expectSameBytes(await rx.take(f.length), f, `conn ${conn}, one frame of ${n} bytes`);
    }
    const all = framesFor(conn + 1000, sizes);
    sock.write(all);
    expectSameBytes(await rx.take(all.length), all, `conn ${conn}, pipelined ${sizes.join("+")} bytes`);
  } finally {
    sock.destroy();
  }
}

async function withServer<T>(extra: string[], body: (s: Server) => Promise<T>): Promise<T> {
  const s = await startServer(extra);
  try {
    return await body(s);
  } finally {
    if (s.proc.exitCode === null && !s.proc.killed) s.proc.kill("SIGKILL");
  }
}

if (buildError) {
  test("tokio-echo builds", () => {
    throw new Error(buildError);
  });
}

t(name("tokio-echo: an unknown flag prints the usage on stderr and exits 2"), async () => {
  const r = Bun.spawnSync([BIN, "--nope"], { stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(2);
  expect(r.stderr.toString()).toContain("usage: tokio-echo");
  expect(r.stdout.toString()).toBe("");
});

t(name("tokio-echo: echoes frames of 0 B to 1 MiB on one connection, byte for byte"), async () => {
  await withServer([], async (s) => {
    await echoCheck(s.port, 1, SIZES);
    const { code, lines } = await stopServer(s);
    expect(code).toBe(0);
    const sum = lines.find((l) => l.startsWith("summary "));
    expect(sum).toBeDefined();
    const kv = parseSummary(sum!);
    const bytes = 2 * wireBytes(SIZES);
    expect(kv).toMatchObject({
      backend: "tokio",
      connections: "1",
      frames: String(2 * SIZES.length),
      errors: "0",
      oversize: "0",
      overflow: "0",
      io_errors: "0",
      rejected: "0",
      bytes_in: String(bytes),
      bytes_out: String(bytes),
      processing_ns: "0",
      signal: "SIGTERM",
    });
  });
});

t(name("tokio-echo: echoes on 50 concurrent connections; SIGTERM prints the summary and exits 0"), async () => {
  await withServer([], async (s) => {
    const conns = 50;
    await Promise.all(Array.from({ length: conns }, (_, c) => echoCheck(s.port, c, SIZES)));
    const { code, lines } = await stopServer(s);
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    const kv = parseSummary(lines[0]);
    expect(lines[0].startsWith("summary backend=tokio ")).toBe(true);
    expect(kv.connections).toBe(String(conns));
    expect(kv.frames).toBe(String(conns * 2 * SIZES.length));
    expect(kv.errors).toBe("0");
    expect(kv.bytes_in).toBe(String(conns * 2 * wireBytes(SIZES)));
    expect(kv.bytes_out).toBe(kv.bytes_in);
  });
});

t(name("tokio-echo: --threads 2 (multi-thread runtime) echoes on 20 connections, and says it is tokio-mt"), async () => {
  await withServer(["--threads", "2"], async (s) => {
    await Promise.all(Array.from({ length: 20 }, (_, c) => echoCheck(s.port, c, SIZES)));
    const { code, lines } = await stopServer(s, "SIGINT");
    expect(code).toBe(0);
    expect(parseSummary(lines[0])).toMatchObject({ backend: "tokio-mt", connections: "20", frames: String(20 * 2 * SIZES.length), errors: "0", signal: "SIGINT" });
  });
});

t(name("tokio-echo: SIGUSR1 prints stats and keeps serving; SIGTERM closes open connections"), async () => {
  await withServer([], async (s) => {
    const idle = await connect(s.port);
    const idleRx = new Receiver(idle);
    await echoCheck(s.port, 7, [10, 100]);
    // The echo connection is closed by the client; wait until the server saw it.
    let stats: Record<string, unknown> = {};
    for (let i = 0; i < 50; i++) {
      s.proc.kill("SIGUSR1");
      const line = (await s.lines.next()) ?? "";
      expect(parseStats(line)).not.toBeNull();
      stats = parseStats(line)!;
      if (stats.active === 1) break;
      await Bun.sleep(20);
    }
    expect(stats).toEqual({
      backend: "tokio",
      pid: s.proc.pid,
      connections: 2,
      active: 1,
      frames: 4,
      bytesIn: 2 * wireBytes([10, 100]),
      bytesOut: 2 * wireBytes([10, 100]),
      oversize: 0,
      overflow: 0,
      ioErrors: 0,
      rejected: 0,
      processingNs: 0,
    });
    // Still serving after the stats line.
    await echoCheck(s.port, 8, [1000]);
    const { code, lines } = await stopServer(s);
    expect(code).toBe(0);
    await idleRx.whenClosed();
    idle.destroy();
    expect(parseSummary(lines[0])).toMatchObject({ connections: "3", frames: "6", errors: "0", signal: "SIGTERM" });
  });
});

t(name("tokio-echo: a frame over --max-frame closes the connection and counts as oversize"), async () => {
  await withServer(["--max-frame", "1000"], async (s) => {
    await echoCheck(s.port, 1, [0, 1000]); // exactly the maximum is fine
    const sock = await connect(s.port);
    const rx = new Receiver(sock);
    const ok = framesFor(2, [5]);
    const big = Buffer.alloc(4);
    big.writeUInt32BE(1001, 0);
    sock.write(Buffer.concat([ok, big]));
    expectSameBytes(await rx.take(ok.length), ok, "the frame before the oversize one");
    await rx.whenClosed();
    sock.destroy();
    const { code, lines } = await stopServer(s);
    expect(code).toBe(0);
    expect(parseSummary(lines[0])).toMatchObject({ connections: "2", frames: "5", errors: "1", oversize: "1", io_errors: "0" });
  });
});

t(name("tokio-echo: --mode wants echo or order"), async () => {
  const r = Bun.spawnSync([BIN, "--mode", "nope"], { stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(2);
  expect(r.stderr.toString()).toContain("--mode wants echo or order");
});

t(name("tokio-echo --mode order: JSON answers; stats and summary count rejections and processing time"), async () => {
  await withServer(["--mode", "order"], async (s) => {
    const reqs = [
      '{"id":"s1","symbol":"ACME","side":"sell","type":"limit","price":101.5,"qty":5}',
      '{"id":"s2","symbol":"ACME","side":"sell","type":"limit","price":100,"qty":1}',
      '{"id":7,"symbol":"ACME","side":"buy","type":"limit","price":102,"qty":3}',
      '{"id":"m","symbol":"ACME","side":"buy","type":"market","qty":10}',
      '{"id":"m","symbol":"ACME","side":"buy","type":"market","qty":1}',
      '{"id":"q","symbol":"ACME","side":"buy","type":"limit","price":1,"qty":0}',
      "not json",
    ];
    const want = [
      '{"id":"s1","status":"accepted","trades":[]}',
      '{"id":"s2","status":"accepted","trades":[]}',
      '{"id":7,"status":"filled","trades":[{"maker":"s2","taker":7,"price":100,"qty":1},{"maker":"s1","taker":7,"price":101.5,"qty":2}]}',
      '{"id":"m","status":"partially_filled","trades":[{"maker":"s1","taker":"m","price":101.5,"qty":3}]}',
      '{"id":"m","status":"rejected","trades":[],"reason":"no liquidity"}',
      '{"id":"q","status":"rejected","trades":[],"reason":"qty must be a positive integer"}',
    ];
    const sock = await connect(s.port);
    const rx = new Receiver(sock);
    const frames = reqs.map((r) => {
      const p = Buffer.from(r);
      const f = Buffer.alloc(4 + p.length);
      f.writeUInt32BE(p.length, 0);
      p.copy(f, 4);
      return f;
    });
    sock.write(Buffer.concat(frames)); // pipelined
    const got: string[] = [];
    for (let i = 0; i < reqs.length; i++) {
      const n = (await rx.take(4)).readUInt32BE(0);
      got.push((await rx.take(n)).toString());
    }
    sock.destroy();
    expect(got.slice(0, want.length)).toEqual(want);
    expect(got[6]).toStartWith('{"id":null,"status":"rejected","trades":[],"reason":"invalid JSON: ');

    s.proc.kill("SIGUSR1");
    const line = (await s.lines.next()) ?? "";
    const stats = parseStats(line)!;
    expect(stats).not.toBeNull();
    expect(stats).toMatchObject({ backend: "tokio", frames: reqs.length, rejected: 3, oversize: 0, ioErrors: 0 });
    expect(stats.processingNs).toBeGreaterThan(0);
    const { code, lines } = await stopServer(s);
    expect(code).toBe(0);
    const kv = parseSummary(lines[0]);
    expect(kv).toMatchObject({ backend: "tokio", frames: String(reqs.length), rejected: "3", errors: "0" });
    expect(Number(kv.processing_ns)).toBeGreaterThanOrEqual(stats.processingNs);
  });
});
