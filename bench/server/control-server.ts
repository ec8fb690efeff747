// `serve`'s control channel (bench/protocol/control.ts): answers a bench on
// another host with the figures of the backends this serve runs, over the
// intervals it names, read here by measure/interval.ts, the code a local run
// reads its servers with. It runs in serve's own process, never in a
// backend's: the backends are child processes, so a control request cannot
// take a data loop's thread or share a socket with the data.
import type { Socket, TCPSocketListener } from "bun";
import { resourcesOnceFdsAtMost } from "../measure/accounting.ts";
import { PidInterval, type CpuStallWatch } from "../measure/interval.ts";
import { CONTROL_PROTOCOL, MAX_CONTROL_LINE, MAX_OPEN_COUNTING, MAX_OPEN_INTERVALS, parseControlLine, wellFormed, type ControlRequest, type ServedBackendInfo } from "../protocol/control.ts";

export interface ControlServerOptions {
  host: string;
  /** 0: an ephemeral port. */
  port: number;
  /** The backends as they are now (a child that ended says how). */
  backends(): ServedBackendInfo[];
  /** This host's machine context, as `context` answers it. */
  context(): unknown;
}

interface Conn {
  buf: string;
  chain: Promise<void>;
  pending: string;
  closed: boolean;
}

/** `error exited LABEL: how` tells the client its server ended; anything else is an error of the request. */
const exitedAnswer = (b: ServedBackendInfo) => `error exited ${b.label}: ${b.exit ?? "it is gone"}`;

export class ControlServer {
  #listener: TCPSocketListener<Conn>;
  #open = new Map<string, { backend: ServedBackendInfo; interval: PidInterval; perf: boolean }>();
  #stalls?: CpuStallWatch;

  private constructor(readonly opts: ControlServerOptions) {
    this.#listener = Bun.listen<Conn>({
      hostname: opts.host,
      port: opts.port,
      socket: {
        open: (s) => {
          s.data = { buf: "", chain: Promise.resolve(), pending: "", closed: false };
        },
        data: (s, chunk) => this.#data(s, new TextDecoder().decode(chunk)),
        drain: (s) => this.#flush(s),
        close: (s) => {
          s.data.closed = true;
        },
        error: (s) => {
          s.data.closed = true;
        },
      },
    });
  }

  /** Listens now; throws (EADDRINUSE ...) when the port cannot be had. */
  static start(opts: ControlServerOptions): ControlServer {
    return new ControlServer(opts);
  }

  get host(): string {
    return this.opts.host;
  }

  get port(): number {
    return this.#listener.port;
  }

  /** Steal time and hiccups on the backends' CPUs from now on: each interval reads its backend's CPUs. */
  watchStalls(watch: CpuStallWatch): void {
    this.#stalls = watch;
  }

  stop(): void {
    for (const id of [...this.#open.keys()]) this.#forget(id);
    this.#listener.stop(true);
  }

  #data(s: Socket<Conn>, text: string): void {
    const c = s.data;
    if (c.closed) return;
    c.buf += text;
    let nl: number;
    while ((nl = c.buf.indexOf("\n")) >= 0) {
      const line = c.buf.slice(0, nl).replace(/\r$/, "");
      c.buf = c.buf.slice(nl + 1);
      if (!wellFormed(line)) return this.#refuse(s, line.length > MAX_CONTROL_LINE ? `request line longer than ${MAX_CONTROL_LINE} bytes` : "request line with bytes outside printable ASCII");
      c.chain = c.chain.then(async () => {
        const answer = await this.answer(line).catch((e) => `error ${(e as Error).message.replace(/\s+/g, " ")}`);
        this.#write(s, `${answer}\n`);
      });
    }
    if (c.buf.length > MAX_CONTROL_LINE) this.#refuse(s, `request line longer than ${MAX_CONTROL_LINE} bytes`);
  }

  /** A line that cannot be a request: say why and close this connection only. */
  #refuse(s: Socket<Conn>, why: string): void {
    s.data.closed = true;
    s.data.buf = "";
    s.end(`error ${why}; closing this connection\n`);
  }

  #write(s: Socket<Conn>, text: string): void {
    if (s.data.closed) return;
    s.data.pending += text;
    this.#flush(s);
  }

  #flush(s: Socket<Conn>): void {
    const c = s.data;
    if (!c.pending || c.closed) return;
    const n = s.write(c.pending);
    c.pending = c.pending.slice(Math.max(0, n));
  }

  #backend(label: string | undefined): ServedBackendInfo | string {
    const all = this.opts.backends();
    if (label === undefined) return all.length === 1 ? all[0] : `name the backend: one of ${all.map((b) => b.label).join(", ")}`;
    return all.find((b) => b.label === label) ?? `no backend '${label}' here (${all.map((b) => b.label).join(", ")})`;
  }

  /** Whether a failed read means the backend has gone, and how it ended (its exit may take a moment to be seen). */
  async #gone(b: ServedBackendInfo, e: unknown): Promise<string | undefined> {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT" && !b.exited) return undefined;
    for (let i = 0; i < 10; i++) {
      const now = this.opts.backends().find((x) => x.label === b.label);
      if (now?.exited) return exitedAnswer(now);
      await Bun.sleep(20);
    }
    return exitedAnswer(b);
  }

  /** Drops an open interval; a counting pass's perf process is stopped. */
  #forget(id: string): void {
    const open = this.#open.get(id);
    this.#open.delete(id);
    if (open?.perf) void open.interval.end().catch(() => {});
  }

  /** The answer to one request line (without its newline). */
  async answer(line: string): Promise<string> {
    const req: ControlRequest | { error: string } = parseControlLine(line);
    if ("error" in req) return `error ${req.error}`;
    switch (req.cmd) {
      case "hello":
        return JSON.stringify({ protocol: CONTROL_PROTOCOL, backends: this.opts.backends() });
      case "context":
        return JSON.stringify(this.opts.context());
      case "begin":
      case "syscalls": {
        const b = this.#backend(req.backend);
        if (typeof b === "string") return `error ${b}`;
        if (b.exited) return exitedAnswer(b);
        // Each counting pass is a perf process: a client may not start them without end.
        const counting = [...this.#open.values()].filter((o) => o.perf).length;
        if (req.cmd === "syscalls" && counting >= MAX_OPEN_COUNTING) return `error ${counting} counting passes are open, the most at once; end one first`;
        const interval = new PidInterval(b.pid, { resources: true, perf: req.cmd === "syscalls", stalls: this.#stalls && { watch: this.#stalls, cpus: b.cpus } });
        try {
          await interval.begin();
        } catch (e) {
          return (await this.#gone(b, e)) ?? `error ${req.cmd} ${req.id}: ${(e as Error).message}`;
        }
        this.#forget(req.id);
        this.#open.set(req.id, { backend: b, interval, perf: req.cmd === "syscalls" });
        // The oldest interval nobody ended is forgotten (a client that went away).
        if (this.#open.size > MAX_OPEN_INTERVALS) this.#forget(this.#open.keys().next().value!);
        return `ok ${req.cmd} ${req.id}`;
      }
      case "end": {
        const open = this.#open.get(req.id);
        if (!open) return `error no interval '${req.id}' is open (begin or syscalls first)`;
        this.#open.delete(req.id);
        try {
          const figures = await open.interval.end();
          return JSON.stringify({ id: req.id, backend: open.backend.label, ...figures });
        } catch (e) {
          return (await this.#gone(open.backend, e)) ?? `error end ${req.id}: ${(e as Error).message}`;
        }
      }
      case "resources": {
        const b = this.#backend(req.backend);
        if (typeof b === "string") return `error ${b}`;
        if (b.exited) return exitedAnswer(b);
        const r = await resourcesOnceFdsAtMost(b.pid, req.fdsAtMost, req.fdsAtMost === undefined ? 1 : 50);
        return r ? JSON.stringify({ backend: b.label, ...r }) : ((await this.#gone(b, Object.assign(new Error("gone"), { code: "ENOENT" }))) ?? `error resources: ${b.label} unreadable`);
      }
    }
  }
}
