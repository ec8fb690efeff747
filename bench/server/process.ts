// Server backends run as child processes (`bench/cli/serve.ts`, or another
// executable speaking the same stdout lines), optionally pinned with taskset.
// Every child is tracked so that none outlives the benchmark, whether it ends
// normally, throws, or is interrupted.
import { join } from "node:path";
import { hostname } from "node:os";
import { ROOT } from "../../ffi/build.ts";
import { localAccounting, type ServerAccounting } from "../measure/interval.ts";
import { listeningPid } from "../measure/procstat.ts";
import { isListeningLine, isStatsLine, isSummaryLine, parseListening, parseStats, parseSummary } from "./lines.ts";
import { remoteAccounting, type ControlFinder, type FoundControl } from "./control-client.ts";

const live = new Set<ServerProcess>();
let hooksInstalled = false;
let signalsOwned = false;

/** For a process that handles SIGINT/SIGTERM itself (serve with several backends): no signal hooks here, only the exit hook. */
export function ownSignals(): void {
  signalsOwned = true;
}

function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const killAll = () => {
    for (const s of live) {
      s.resume();
      s.kill();
    }
  };
  process.on("exit", killAll);
  if (signalsOwned) return;
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      killAll();
      process.stderr.write(`\nbench: interrupted by ${sig}; servers stopped\n`);
      process.exit(130);
    });
  }
}

/** Reads a child's stdout as lines; waiters get the first line matching a predicate. */
class LineReader {
  readonly lines: string[] = [];
  #waiters: { pred: (l: string) => boolean; resolve: (l: string) => void; from: number }[] = [];
  #followers: ((line: string) => void)[] = [];
  closed = false;
  constructor(stream: ReadableStream<Uint8Array>) {
    void this.#pump(stream);
  }
  async #pump(stream: ReadableStream<Uint8Array>) {
    const dec = new TextDecoder();
    let buf = "";
    try {
      for await (const chunk of stream) {
        buf += dec.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          this.#push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      }
    } catch {
      // the child went away; waiters time out
    }
    if (buf) this.#push(buf);
    this.closed = true;
  }
  #push(line: string) {
    this.lines.push(line);
    for (const f of this.#followers) f(line);
    const idx = this.lines.length - 1;
    this.#waiters = this.#waiters.filter((w) => {
      if (idx >= w.from && w.pred(line)) {
        w.resolve(line);
        return false;
      }
      return true;
    });
  }
  /** Calls `each` with every line from index `from` on, those to come too. */
  follow(each: (line: string) => void, from: number): void {
    for (let i = from; i < this.lines.length; i++) each(this.lines[i]);
    this.#followers.push(each);
  }
  /** First line (from index `from` on) matching pred, or null after timeoutMs. */
  wait(pred: (l: string) => boolean, timeoutMs: number, from = 0): Promise<string | null> {
    for (let i = from; i < this.lines.length; i++) if (pred(this.lines[i])) return Promise.resolve(this.lines[i]);
    return new Promise((resolve) => {
      const w = { pred, resolve: (l: string) => (clearTimeout(t), resolve(l)), from };
      const t = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        resolve(null);
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }
}

export interface ServerSpawnOptions {
  backend: string;
  mode?: string;
  host?: string;
  /** TCP port; default 0 (an ephemeral one). */
  port?: number;
  /** Each line the server writes on stdout after its `listening` line (stats, summary). */
  onLine?: (line: string) => void;
  /** CPU to pin the whole server process to with taskset; undefined: not pinned. */
  cpu?: number;
  /** CPUs to pin the whole server process to with taskset (wins over cpu). */
  cpus?: readonly number[];
  maxFrame?: number;
  extraArgs?: string[];
  /** Executable and arguments instead of `bun bench/cli/serve.ts` (e.g. the tokio server). */
  command?: string[];
  env?: Record<string, string>;
  startTimeoutMs?: number;
}

export class ServerStartError extends Error {
  constructor(
    message: string,
    /** What the server wrote on stderr before it gave up. */
    readonly stderr = "",
  ) {
    super(message);
  }
}

/** What scenarios need of a server, local or remote. */
export interface ServerHandle {
  readonly backend: string;
  readonly host: string;
  readonly port: number;
  /** The server process's pid on this host, or -1 (a server on another host). */
  readonly pid: number;
  readonly exited: boolean;
  readonly exitCode: number | null;
  /** How it ended, when that is known better than by an exit code (a server on another host). */
  readonly exitReason?: string;
  /** Where its figures are read (this host's /proc, or its own host's through serve's control channel); undefined: nowhere. */
  readonly accounting?: ServerAccounting;
  stats(timeoutMs?: number): Promise<Record<string, number> | null>;
  /** Stops the server's process (SIGSTOP) while another is measured; a no-op for servers this run does not own. */
  pause(): void;
  resume(): void;
}

/**
 * A server you run yourself (`bench --target LABEL=HOST:PORT`). When `serve`'s
 * control channel answers for it, its figures are read on its own host;
 * else, when it listens on this host, its process is found from the port
 * and read here; else only the client's figures exist. It is never paused
 * or signalled (it is not ours).
 */
export class TargetServer implements ServerHandle {
  exited = false;
  readonly exitCode = null;
  exitReason?: string;
  accounting?: ServerAccounting;
  /** Why its figures are read where they are, or are not read at all. */
  accountingNote = "";
  /** The control channel's view of it, when one answers. */
  control?: FoundControl;
  private constructor(
    readonly backend: string,
    readonly host: string,
    readonly port: number,
    readonly pid: number,
  ) {}

  /** Your server at host:port; `finder` (absent: --server-control off) looks for its control channel. */
  static async find(label: string, host: string, port: number, finder?: ControlFinder): Promise<TargetServer> {
    const found = finder ? await finder.find(host, port) : { why: "not asked (--server-control off)" };
    const local = /^(127\.|localhost$|::1$|0\.0\.0\.0$)/.test(host) || host === hostname();
    const pid = !("client" in found) && local ? (listeningPid(port) ?? -1) : -1;
    const t = new TargetServer(label, host, port, pid);
    if ("client" in found) {
      t.control = found;
      t.accounting = remoteAccounting(found, (why) => {
        t.exited = true;
        t.exitReason = `on its host, ${why}`;
      });
      t.accountingNote = `measured on the server's host, through serve's control channel at ${host}:${found.client.port} (${found.info.backend}, pid ${found.info.pid} there)`;
    } else if (pid > 0) {
      t.accounting = localAccounting(pid);
      t.accountingNote = `pid ${pid} on this host: its costs are read here (${found.why})`;
    } else t.accountingNote = `client-side figures only: ${found.why}`;
    return t;
  }
  async stats(): Promise<null> {
    return null;
  }
  pause(): void {}
  resume(): void {}
}

/**
 * The command line of a server process, the one way every server is launched
 * (bench's, serve's children, serve's own executable backend): serve.ts for a
 * backend of this suite, else its executable, with the same flags, under
 * taskset when it has CPUs.
 */
export function serverCommand(opts: ServerSpawnOptions): string[] {
  const base = opts.command ?? [process.execPath, join(ROOT, "bench/cli/serve.ts"), "--backend", opts.backend];
  const args = [...base, "--host", opts.host ?? "127.0.0.1", "--port", String(opts.port ?? 0)];
  if (!opts.command) {
    // The backend in this very process: no control channel of its own (the one who started it reads it).
    args.push("--mode", opts.mode ?? "echo", "--control", "off");
    if (opts.maxFrame !== undefined) args.push("--max-frame", String(opts.maxFrame));
  } else {
    // An external server (tokio) takes the same --mode; echo is its default.
    if (opts.mode !== undefined) args.push("--mode", opts.mode);
    if (opts.maxFrame !== undefined) args.push("--max-frame", String(opts.maxFrame));
  }
  args.push(...(opts.extraArgs ?? []));
  const set = opts.cpus?.length ? opts.cpus.join(",") : opts.cpu !== undefined ? String(opts.cpu) : undefined;
  return set !== undefined ? ["taskset", "-c", set, ...args] : args;
}

/** A server's environment: it dies with the process that started it, even one killed outright (serve and tokio-echo honour the variable). */
export const serverEnv = (extra?: Record<string, string>): Record<string, string> => ({ ...(process.env as Record<string, string>), IOURING_BENCH_PARENT_DEATH: "1", ...(extra ?? {}) });

export class ServerProcess implements ServerHandle {
  readonly backend: string;
  readonly proc: ReturnType<typeof Bun.spawn>;
  readonly host: string;
  port = 0;
  #out: LineReader;
  #stderr = "";
  exited = false;
  exitCode: number | null = null;
  #paused = false;
  #accounting?: ServerAccounting;

  private constructor(opts: ServerSpawnOptions) {
    this.backend = opts.backend;
    this.host = opts.host ?? "127.0.0.1";
    const proc = Bun.spawn(serverCommand(opts), {
      stdout: "pipe",
      stderr: "pipe",
      stdin: "ignore",
      env: serverEnv(opts.env),
    });
    this.proc = proc;
    this.#out = new LineReader(proc.stdout as ReadableStream<Uint8Array>);
    void (async () => {
      const dec = new TextDecoder();
      for await (const c of proc.stderr as ReadableStream<Uint8Array>) this.#stderr += dec.decode(c);
    })().catch(() => {});
    void proc.exited.then((code) => {
      this.exited = true;
      this.exitCode = code;
      live.delete(this);
    });
    live.add(this);
  }

  get pid(): number {
    return this.proc.pid;
  }

  get accounting(): ServerAccounting {
    return (this.#accounting ??= localAccounting(this.pid));
  }

  get stderr(): string {
    return this.#stderr;
  }

  /** Starts a server and waits for its `listening HOST:PORT backend=NAME` line. */
  static async start(opts: ServerSpawnOptions): Promise<ServerProcess> {
    installExitHooks();
    const s = new ServerProcess(opts);
    const line = await Promise.race([
      s.#out.wait(isListeningLine, opts.startTimeoutMs ?? 15000),
      s.proc.exited.then(() => null),
    ]);
    const listening = parseListening(line);
    if (!listening) {
      s.kill();
      await s.proc.exited;
      const why = s.#stderr.trim().split("\n").slice(-3).join(" | ") || `no 'listening' line (exit ${s.exitCode})`;
      throw new ServerStartError(`server ${opts.backend} did not start: ${why}`, s.#stderr);
    }
    s.port = listening.port;
    if (opts.onLine) s.#out.follow(opts.onLine, s.#out.lines.indexOf(line!) + 1);
    return s;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /**
   * SIGSTOP: a paused server takes no CPU time at all, not even the timer
   * wake-ups of an idle event loop, so it cannot disturb the one measured.
   * Its sockets stay open; connections made to it wait in the backlog.
   */
  pause(): void {
    if (this.#paused || this.exited) return;
    try {
      this.proc.kill("SIGSTOP");
      this.#paused = true;
    } catch {
      // already gone
    }
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    try {
      this.proc.kill("SIGCONT");
    } catch {
      // already gone
    }
  }

  /** Asks for a `stats {json}` line (SIGUSR1); null when none comes within timeoutMs. */
  async stats(timeoutMs = 3000): Promise<Record<string, number> | null> {
    if (this.exited) return null;
    this.resume();
    const from = this.#out.lines.length;
    this.proc.kill("SIGUSR1");
    const line = await this.#out.wait(isStatsLine, timeoutMs, from);
    return parseStats(line);
  }

  /**
   * SIGTERM, then waits for the summary line and the exit; SIGKILL after
   * timeoutMs. Returns the summary's fields (null if the server died first).
   */
  async stop(timeoutMs = 5000): Promise<{ summary: Record<string, string> | null; exitCode: number | null; killed: boolean }> {
    let killed = false;
    this.resume();
    if (!this.exited) {
      this.proc.kill("SIGTERM");
      const t = setTimeout(() => {
        killed = true;
        this.proc.kill("SIGKILL");
      }, timeoutMs);
      await this.proc.exited;
      clearTimeout(t);
    }
    // The pump may still be draining stdout after exit.
    const line = await this.#out.wait(isSummaryLine, 200);
    return { summary: line ? parseSummary(line) : null, exitCode: this.exitCode, killed };
  }

  kill(): void {
    if (!this.exited) {
      try {
        this.proc.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
  }
}

/** Pids of servers still running (for tests that check nothing is orphaned). */
export function livePids(): number[] {
  return [...live].map((s) => s.pid);
}
