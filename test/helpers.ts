// Test helpers: real server processes and a client built on Bun.connect (an
// implementation independent of the servers' own socket code).
import type { Socket } from "bun";
import { afterAll, beforeAll } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeFrame, FrameDecoder } from "../bench/protocol/frame.ts";
import { ServerProcess, type ServerSpawnOptions } from "../bench/server/process.ts";
import { uringStatus } from "../ffi/uring.ts";

export const URING = uringStatus();
export const URING_SKIP_REASON = URING.available ? "" : `io_uring unavailable: ${URING.reason}`;

/** setpriv, which runs a child as another user (util-linux); undefined when absent. */
export const SETPRIV = ["/usr/bin/setpriv", "/bin/setpriv"].find((p) => existsSync(p));

/**
 * Why a test cannot run a child of this checkout as `nobody`, or "": not
 * root, no setpriv, or a checkout nobody may read (a clone under a 0700 home
 * or a mktemp -d folder).
 */
export function asNobodySkipReason(root: string): string {
  if (process.getuid?.() !== 0) return "needs root (to become nobody)";
  if (!SETPRIV) return "needs setpriv (util-linux)";
  const r = Bun.spawnSync([SETPRIV, "--reuid=65534", "--regid=65534", "--clear-groups", "test", "-r", join(root, "ffi/net.ts")]);
  return r.exitCode === 0 ? "" : `nobody cannot read this checkout (${root}); clone it where other users may read it to run this test`;
}

const madeDirs: string[] = [];

/** Removes every folder testDir made (test/preload.ts calls it after the last test of the run). */
export function removeTestDirs(): void {
  for (const d of madeDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A temporary folder for one test's files, removed after the run's last test: the suite leaves /tmp as it found it. */
export function testDir(prefix = "iob-"): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(d);
  return d;
}

let outDir: string | undefined;

/**
 * The environment for a bench the tests start: its standard files (results/
 * bench-*.json, latest.json, the pictures) go to a temporary folder, never to
 * the checkout's results/, which belongs to the user. A child does not see
 * changes to process.env made after start-up, so it must be given this.
 */
export function benchEnv(extra: Record<string, string> = {}): Record<string, string> {
  outDir ??= testDir("iob-out-");
  return { ...(process.env as Record<string, string>), IOURING_BENCH_OUT_DIR: outDir, ...extra };
}

/** Whether a process still exists (signal 0 checks without signalling). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function startServer(backend: string, opts: Partial<ServerSpawnOptions> = {}): Promise<ServerProcess> {
  return ServerProcess.start({ backend, ...opts });
}

/**
 * A server for the enclosing describe(): started before its first test,
 * stopped after its last. Call the returned function inside a test.
 */
export function serverForSuite(backend: string, opts: Partial<ServerSpawnOptions> = {}): () => ServerProcess {
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    server = await startServer(backend, opts);
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => server!;
}

/** A framed connection: send payloads, await whole answers in order. */
export class FramedClient {
  readonly decoder: FrameDecoder;
  readonly received: Uint8Array[] = [];
  closed = false;
  #socket!: Socket<undefined>;
  #waiters: { count: number; resolve: () => void }[] = [];
  #closeWaiters: (() => void)[] = [];
  #pending: Uint8Array[] = [];

  private constructor(maxFrame: number) {
    this.decoder = new FrameDecoder(maxFrame);
  }

  static async connect(port: number, host = "127.0.0.1", maxFrame = 1 << 20): Promise<FramedClient> {
    const c = new FramedClient(maxFrame);
    c.#socket = await Bun.connect({
      hostname: host,
      port,
      socket: {
        data: (_s, chunk) => {
          for (const f of c.decoder.push(chunk)) c.received.push(f);
          c.#wake();
        },
        drain: (s) => c.#flush(s),
        close: () => {
          c.closed = true;
          c.#wake();
          for (const w of c.#closeWaiters) w();
        },
        error: () => {},
      },
    });
    return c;
  }

  #wake() {
    this.#waiters = this.#waiters.filter((w) => {
      if (this.received.length >= w.count || this.closed) {
        w.resolve();
        return false;
      }
      return true;
    });
  }

  #flush(s: Socket<undefined>) {
    while (this.#pending.length) {
      const head = this.#pending[0];
      const n = s.write(head);
      if (n === head.length) this.#pending.shift();
      else {
        if (n > 0) this.#pending[0] = head.subarray(n);
        return;
      }
    }
  }

  /** Writes raw bytes (may be a partial frame, several frames, garbage). */
  writeRaw(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    if (this.#pending.length === 1) this.#flush(this.#socket);
  }

  send(payload: Uint8Array): void {
    this.writeRaw(encodeFrame(payload));
  }

  /** Resolves once `count` answers in total have arrived (or the connection closed), else rejects after timeoutMs. */
  waitFor(count: number, timeoutMs = 10000): Promise<Uint8Array[]> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${count} answers (have ${this.received.length}, closed=${this.closed})`)), timeoutMs);
      const w = { count, resolve: () => (clearTimeout(t), resolve(this.received)) };
      this.#waiters.push(w);
      this.#wake();
    });
  }

  waitClosed(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeoutMs);
      this.#closeWaiters.push(() => (clearTimeout(t), resolve(true)));
    });
  }

  shutdownWrite(): void {
    this.#socket.shutdown(true);
  }

  close(): void {
    this.#socket.end();
  }
}

export { payload, sameBytes } from "./fixtures.ts";

/** The lines a child writes on a stream, kept as they come; wait() for the first that matches. */
export class LineLog {
  readonly lines: string[] = [];
  ended = false;
  constructor(stream: ReadableStream<Uint8Array>) {
    void this.#pump(stream);
  }
  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let buf = "";
    for await (const chunk of stream) {
      buf += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        this.lines.push(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    }
    this.ended = true;
  }
  /** The first line matching `re`; throws, with every line seen, when none comes within ms or the stream ends. */
  async wait(re: RegExp, ms = 15000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      for (const l of this.lines) {
        const m = l.match(re);
        if (m) return m;
      }
      if (this.ended || Date.now() > end) throw new Error(`no line ${re} among: ${this.lines.join(" | ")}`);
      await Bun.sleep(20);
    }
  }
}
