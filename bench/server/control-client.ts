// The bench's side of `serve`'s control channel (bench/protocol/control.ts):
// finding the control port of a --target from its data port, asking it for
// a server's figures over an interval, and the ServerAccounting those
// answers make, so the round runner reads a remote server as it reads a
// local one. The channel is a socket of its own to a port of its own: it
// never shares a connection with the data.
import type { Socket } from "bun";
import type { ResourceSnapshot } from "../measure/accounting.ts";
import type { IntervalFigures, ServerAccounting } from "../measure/interval.ts";
import { controlPortCandidates, type HelloAnswer, type ServedBackendInfo } from "../protocol/control.ts";

/** An `error ...` answer, or a channel that failed. */
export class ControlError extends Error {}

/** The answer to a request about a backend that has ended on its host. */
export class BackendGoneError extends ControlError {}

export class ControlClient {
  #socket?: Socket<undefined>;
  #buf = "";
  #waiting: { resolve(line: string): void; reject(e: Error): void }[] = [];
  #chain: Promise<unknown> = Promise.resolve();
  #closed = false;
  #gen = 0;

  private constructor(
    readonly host: string,
    readonly port: number,
  ) {}

  /** A connection, or a ControlError when none is made within timeoutMs. */
  static async connect(host: string, port: number, timeoutMs = 2000): Promise<ControlClient> {
    const c = new ControlClient(host, port);
    await c.#open(timeoutMs);
    return c;
  }

  async #open(timeoutMs: number): Promise<void> {
    // Events of a connection given up on must not touch the one after it.
    const gen = ++this.#gen;
    const fail = (e: unknown): void => {
      if (gen === this.#gen) this.#failAll(new ControlError(`control ${this.host}:${this.port}: ${(e as Error)?.message ?? e}`));
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connecting = Bun.connect({
      hostname: this.host,
      port: this.port,
      socket: {
        data: (_s, chunk) => {
          if (gen === this.#gen) this.#data(new TextDecoder().decode(chunk));
        },
        close: () => fail("closed by the server"),
        error: (_s, e) => fail(e),
      },
    });
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ControlError(`control ${this.host}:${this.port}: no answer within ${timeoutMs} ms`)), timeoutMs)));
    try {
      this.#socket = await Promise.race([connecting, timeout]);
    } catch (e) {
      void connecting.then((s) => s.end(), () => {});
      throw e instanceof ControlError ? e : new ControlError(`control ${this.host}:${this.port}: ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    this.#closed = false;
  }

  #data(text: string): void {
    this.#buf += text;
    let nl: number;
    while ((nl = this.#buf.indexOf("\n")) >= 0) {
      const line = this.#buf.slice(0, nl);
      this.#buf = this.#buf.slice(nl + 1);
      this.#waiting.shift()?.resolve(line);
    }
  }

  #failAll(e: Error): void {
    this.#closed = true;
    this.#socket = undefined;
    this.#buf = "";
    for (const w of this.#waiting.splice(0)) w.reject(e);
  }

  /** Sends one request and waits for its one-line answer; requests go one at a time. An `error` answer throws. */
  request(line: string, timeoutMs = 10000): Promise<string> {
    const next = this.#chain.then(() => this.#request(line, timeoutMs));
    this.#chain = next.catch(() => {});
    return next;
  }

  async #request(line: string, timeoutMs: number): Promise<string> {
    // A channel the server closed (or that timed out) is opened again once.
    if (this.#closed || !this.#socket) await this.#open(Math.min(timeoutMs, 2000));
    const answer = new Promise<string>((resolve, reject) => this.#waiting.push({ resolve, reject }));
    const text = `${line}\n`;
    if (this.#socket!.write(text) !== Buffer.byteLength(text)) {
      this.#socket!.end();
      this.#failAll(new ControlError(`control ${this.host}:${this.port}: request not sent in one write`));
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const got = await Promise.race([
      answer,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ControlError(`control ${this.host}:${this.port}: no answer to '${line}' within ${timeoutMs} ms`)), timeoutMs))),
    ]).catch((e) => {
      // An answer that may still come would be read as the next request's: start afresh.
      this.close();
      throw e;
    });
    clearTimeout(timer);
    if (got.startsWith("error exited ")) throw new BackendGoneError(got.slice("error exited ".length));
    if (got.startsWith("error ")) throw new ControlError(`control ${this.host}:${this.port}: ${got.slice(6)}`);
    return got;
  }

  async json<T>(line: string, timeoutMs?: number): Promise<T> {
    const got = await this.request(line, timeoutMs);
    try {
      return JSON.parse(got) as T;
    } catch {
      throw new ControlError(`control ${this.host}:${this.port}: '${line}' was answered with '${got.slice(0, 80)}', not JSON`);
    }
  }

  close(): void {
    const s = this.#socket;
    this.#failAll(new ControlError(`control ${this.host}:${this.port}: closed`));
    s?.end();
  }
}

/** A server's control channel, found: the client and what `hello` says of that server. */
export interface FoundControl {
  client: ControlClient;
  info: ServedBackendInfo;
}

/**
 * Finds the control channels of servers by their data ports, asking each
 * candidate port (bench/protocol/control.ts) once per host, all at once.
 * Holds the connections it opened until close().
 */
export class ControlFinder {
  #asked = new Map<string, Promise<{ client: ControlClient; hello: HelloAnswer } | null>>();

  #ask(host: string, port: number, timeoutMs: number) {
    const key = `${host}:${port}`;
    let p = this.#asked.get(key);
    if (!p) {
      p = (async () => {
        let client: ControlClient | undefined;
        try {
          client = await ControlClient.connect(host, port, timeoutMs);
          const hello = await client.json<HelloAnswer>("hello", timeoutMs);
          return Array.isArray(hello?.backends) ? { client, hello } : (client.close(), null);
        } catch {
          client?.close();
          return null;
        }
      })();
      this.#asked.set(key, p);
    }
    return p;
  }

  /** The control channel that serves `host:port`, or why none was found. */
  async find(host: string, port: number, timeoutMs = 2000): Promise<FoundControl | { why: string }> {
    const candidates = controlPortCandidates(port);
    const answers = await Promise.all(candidates.map((c) => this.#ask(host, c, timeoutMs)));
    for (const a of answers) {
      const info = a?.hello.backends.find((b) => b.port === port);
      if (a && info) return { client: a.client, info };
    }
    const answered = candidates.filter((_, i) => answers[i]);
    if (answered.length) return { why: `the control port at ${host}:${answered[0]} answered but serves no backend on port ${port}` };
    return { why: `no control port answered at ${host}:${candidates[0]}${candidates.length > 1 ? ` (nor at the ${candidates.length - 1} below it)` : ""}` };
  }

  close(): void {
    for (const p of this.#asked.values()) void p.then((a) => a?.client.close());
    this.#asked.clear();
  }
}

let intervals = 0;

/** A remote server's accounting: every figure read on its host by `serve` and sent here. */
export function remoteAccounting(found: FoundControl, onGone: (why: string) => void): ServerAccounting {
  const { client, info } = found;
  const gone = (e: unknown): never => {
    if (e instanceof BackendGoneError) onGone(e.message);
    throw e;
  };
  return {
    where: "server-host",
    interval(o) {
      const id = `${process.pid}.${++intervals}`;
      return {
        begin: async () => {
          await client.request(`${o?.perf ? "syscalls" : "begin"} ${id} ${info.label}`, o?.perf ? 15000 : 5000).catch(gone);
        },
        end: () => client.json<IntervalFigures>(`end ${id}`, o?.perf ? 15000 : 5000).catch(gone),
      };
    },
    resources: (fds, tries = 1) =>
      client.json<ResourceSnapshot>(`resources ${info.label}${typeof fds === "number" && tries > 1 ? ` ${fds}` : ""}`, 5000).catch(gone),
  };
}
