// The C twins (`c-epoll`, `c-uring`) as real `bench/cli/serve.ts` processes,
// driven by node:net clients (socket code independent of the servers'):
// byte-for-byte echo at several sizes and concurrencies, split and coalesced
// frames, half-close, an oversize prefix, overflow, and SIGTERM's summary.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { payload } from "./fixtures.ts";
import { connect, type Socket } from "node:net";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { DEFAULT_MAX_FRAME, encodeFrame, FrameDecoder, writeLength } from "../bench/protocol/frame.ts";
import { uringStatus } from "../ffi/uring.ts";

const BUN = join(ROOT, "node_modules/.bin/bun");
const SIZES = [0, 10, 100, 1000, 1 << 20];
const WAIT_MS = 20_000;

class ServeProcess {
  readonly lines: string[] = [];
  #text = "";
  #waiters: (() => void)[] = [];
  private constructor(
    readonly proc: ReturnType<typeof Bun.spawn>,
    readonly backend: string,
  ) {}
  host = "";
  port = 0;

  static async start(backend: string, extra: string[] = []): Promise<ServeProcess> {
    const proc = Bun.spawn([BUN, "bench/cli/serve.ts", "--backend", backend, "--port", "0", ...extra], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    const s = new ServeProcess(proc, backend);
    void s.#pump(proc.stdout as ReadableStream<Uint8Array>);
    const line = await s.waitLine((l) => l.startsWith("listening "));
    const m = /^listening (\S+):(\d+) backend=(\S+)$/.exec(line);
    if (!m) throw new Error(`unexpected first line: ${line}`);
    expect(m[3]).toBe(backend);
    s.host = m[1];
    s.port = Number(m[2]);
    return s;
  }

  async #pump(stream: ReadableStream<Uint8Array>) {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      this.#text += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = this.#text.indexOf("\n")) >= 0) {
        this.lines.push(this.#text.slice(0, nl));
        this.#text = this.#text.slice(nl + 1);
      }
      for (const w of this.#waiters.splice(0)) w();
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  async waitLine(pred: (l: string) => boolean, ms = WAIT_MS): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const l = this.lines.find(pred);
      if (l !== undefined) return l;
      if (Date.now() > deadline || this.proc.exitCode !== null) {
        const err = await new Response(this.proc.stderr as ReadableStream).text().catch(() => "");
        throw new Error(`${this.backend}: no matching line; stdout: ${this.lines.join(" | ")}; stderr: ${err}`);
      }
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
  }

  /** SIGTERM; returns the exit code and the summary line. */
  async terminate(): Promise<{ code: number; summary: string }> {
    this.proc.kill("SIGTERM");
    const code = await this.proc.exited;
    const summary = await this.waitLine((l) => l.startsWith("summary "), 2000);
    return { code, summary };
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill("SIGKILL");
  }
}

/** A framed client over node:net: write raw bytes, await whole answers in order. */
class Client {
  readonly decoder = new FrameDecoder(DEFAULT_MAX_FRAME);
  readonly frames: Uint8Array[] = [];
  closed = false;
  #waiters: (() => void)[] = [];
  private constructor(readonly sock: Socket) {}

  static connect(port: number, host = "127.0.0.1", paused = false): Promise<Client> {
    return new Promise((resolve, reject) => {
      const sock = connect({ port, host, noDelay: true });
      const c = new Client(sock);
      if (paused) sock.pause();
      sock.on("data", (chunk: Buffer) => {
        for (const f of c.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length))) c.frames.push(f);
        c.#wake();
      });
      sock.on("close", () => {
        c.closed = true;
        c.#wake();
      });
      sock.on("error", () => {});
      sock.once("connect", () => resolve(c));
      sock.once("error", reject);
    });
  }

  #wake() {
    for (const w of this.#waiters.splice(0)) w();
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve) => this.sock.write(bytes, () => resolve()));
  }

  /** Waits until `count` frames in total have arrived (or the connection closed, or time ran out). */
  async waitFrames(count: number, ms = WAIT_MS): Promise<Uint8Array[]> {
    const deadline = Date.now() + ms;
    while (this.frames.length < count && !this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.frames;
  }

  async waitClosed(ms = WAIT_MS): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        setTimeout(r, 50);
      });
    }
    return this.closed;
  }

  /** Sends one frame and checks the answer is the same bytes. */
  async echo(payload: Uint8Array): Promise<void> {
    const before = this.frames.length;
    await this.write(encodeFrame(payload));
    const got = await this.waitFrames(before + 1);
    expect(got.length).toBe(before + 1);
    expectSameBytes(got[before], payload);
  }

  close(): void {
    this.sock.destroy();
  }
}


function expectSameBytes(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  // One comparison instead of a million expect() calls.
  expect(Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.length), Buffer.from(want.buffer, want.byteOffset, want.length))).toBe(0);
}

function field(summary: string, name: string): number {
  const m = new RegExp(`\\b${name}=(\\d+)`).exec(summary);
  if (!m) throw new Error(`no ${name}= in ${summary}`);
  return Number(m[1]);
}

const URING = uringStatus();

for (const backend of ["c-epoll", "c-uring"]) {
  const skip = backend === "c-uring" && !URING.available;
  describe.skipIf(skip)(`backend ${backend}`, () => {
    let srv: ServeProcess;
    beforeAll(async () => {
      srv = await ServeProcess.start(backend);
    });
    afterAll(() => srv?.kill());

    test("echoes 0, 10, 100, 1000 and 1 MiB frames on one connection", async () => {
      const c = await Client.connect(srv.port, srv.host);
      try {
        for (const n of SIZES) await c.echo(payload(n, n));
      } finally {
        c.close();
      }
    });

    test("echoes the same sizes on 50 concurrent connections", async () => {
      const clients = await Promise.all(Array.from({ length: 50 }, () => Client.connect(srv.port, srv.host)));
      try {
        await Promise.all(
          clients.map(async (c, i) => {
            for (const n of SIZES) await c.echo(payload(n, i * 7 + n));
          }),
        );
      } finally {
        for (const c of clients) c.close();
      }
    });

    test("a frame split into 1-byte writes is answered once, whole", async () => {
      const c = await Client.connect(srv.port, srv.host);
      try {
        const p = payload(20, 99);
        const f = encodeFrame(p);
        for (let i = 0; i < f.length; i++) {
          await c.write(f.subarray(i, i + 1));
          // Separate segments, so the server really sees partial headers and payloads.
          await Bun.sleep(2);
          if (i < f.length - 1) expect(c.frames.length).toBe(0);
        }
        const got = await c.waitFrames(1);
        expect(got.length).toBe(1);
        expectSameBytes(got[0], p);
        await c.echo(payload(5, 5)); // and the connection still works after it
      } finally {
        c.close();
      }
    });

    test("several frames coalesced into one write are all answered, in order", async () => {
      const c = await Client.connect(srv.port, srv.host);
      try {
        const sizes = [0, 1, 10, 100, 1000, 5000, 70_000, 3];
        const payloads = sizes.map((n, i) => payload(n, 1000 + i));
        await c.write(Buffer.concat(payloads.map(encodeFrame)));
        const got = await c.waitFrames(sizes.length);
        expect(got.length).toBe(sizes.length);
        for (let i = 0; i < sizes.length; i++) expectSameBytes(got[i], payloads[i]);
      } finally {
        c.close();
      }
    });

    test("half-close: what was sent is answered, then the server closes", async () => {
      const c = await Client.connect(srv.port, srv.host);
      const payloads = [payload(10, 1), payload(100_000, 2), payload(0, 3)];
      await c.write(Buffer.concat(payloads.map(encodeFrame)));
      c.sock.end();
      expect(await c.waitClosed()).toBe(true);
      expect(c.frames.length).toBe(payloads.length);
      for (let i = 0; i < payloads.length; i++) expectSameBytes(c.frames[i], payloads[i]);
    });

    test("an oversize length prefix closes that connection; another keeps being served", async () => {
      const good = await Client.connect(srv.port, srv.host);
      const bad = await Client.connect(srv.port, srv.host);
      try {
        await good.echo(payload(100, 1));
        const hdr = new Uint8Array(4);
        writeLength(hdr, 0, DEFAULT_MAX_FRAME + 1);
        await bad.write(hdr);
        expect(await bad.waitClosed()).toBe(true);
        expect(bad.frames.length).toBe(0);
        for (const n of SIZES) await good.echo(payload(n, 2));
        expect(good.closed).toBe(false);
      } finally {
        good.close();
        bad.close();
      }
    });

    test("SIGTERM: exit 0 and a summary line", async () => {
      const { code, summary } = await srv.terminate();
      expect(code).toBe(0);
      expect(summary).toMatch(new RegExp(`^summary backend=${backend} connections=\\d+ frames=\\d+ errors=\\d+ .* signal=SIGTERM$`));
      // 1 + 50 + 1 + 1 + 1 + 2 connections, every frame above echoed.
      expect(field(summary, "connections")).toBe(56);
      expect(field(summary, "frames")).toBe(5 + 250 + 2 + 8 + 3 + 6);
      expect(field(summary, "oversize")).toBe(1);
      expect(field(summary, "overflow")).toBe(0);
      expect(field(summary, "bytes_in")).toBe(field(summary, "bytes_out") + 4);
    });

    test("a client that sends but never reads is closed for overflow", async () => {
      const s = await ServeProcess.start(backend, ["--max-pending", "65536"]);
      try {
        const c = await Client.connect(s.port, s.host, true);
        const frame = encodeFrame(payload(1 << 20, 7));
        // Its receive window stays small (it never reads), so unsent answers pile up in the server.
        for (let i = 0; i < 64 && !c.closed; i++) c.sock.write(frame);
        expect(await c.waitClosed()).toBe(true);
        // Another client is unaffected.
        const other = await Client.connect(s.port, s.host);
        await other.echo(payload(1000, 3));
        other.close();
        c.close();
        const { code, summary } = await s.terminate();
        expect(code).toBe(0);
        expect(field(summary, "overflow")).toBe(1);
      } finally {
        s.kill();
      }
    });
  });
}
