// `serve`'s control channel: a line protocol on a TCP port of its own, apart
// from the data ports, through which a bench on another host names an
// interval and gets the server's own figures for it, read on the server's
// host (measure/interval.ts). Requests and answers are one line each, in
// order; an answer is `ok ...`, one JSON object, or `error ...`. What both
// sides must agree on lives here: the commands, the limits, and where the
// control port is when nobody said.
//
//   hello                      -> {"protocol":1,"backends":[{label,backend,host,port,pid,cpus,exited,exit?}]}
//   begin ID [BACKEND]         -> ok begin ID          (CPU, context switches, steal, hiccups from now)
//   syscalls ID [BACKEND]      -> ok syscalls ID       (the same, and system calls counted with perf)
//   end ID                     -> {"id","backend",pid,wallMs,cpu,resources,stall,syscalls?}
//   resources [BACKEND] [FDS]  -> {"backend","fds","rssKiB","peakRssKiB"} (once its descriptors are back to FDS at most)
//   context                    -> the server host's machine context (JSON)
//
// BACKEND is a label `hello` lists; it may be left out when one backend is
// served. Anything else gets `error ...` and the connection stays usable; a
// line longer than MAX_CONTROL_LINE or with bytes outside printable ASCII
// closes that connection only.

export const CONTROL_PROTOCOL = 1;
/** The longest request line, bytes (the longest valid one is under 150). */
export const MAX_CONTROL_LINE = 1024;
/** The control port of a serve is its first data port plus this (minus it above 65535). */
export const CONTROL_PORT_OFFSET = 10000;
/** The most backends one serve runs: how far back a bench looks for their control port. */
export const MAX_SERVED_BACKENDS = 16;
/** Intervals open at once on one serve; beginning one more forgets the oldest. */
export const MAX_OPEN_INTERVALS = 1024;
/** Counting passes (a perf process each) open at once on one serve; one more is refused. */
export const MAX_OPEN_COUNTING = 4;

/** The control port of a serve whose backends listen from `firstPort` on, when --control-port is not given. */
export function defaultControlPort(firstPort: number): number {
  return firstPort + CONTROL_PORT_OFFSET <= 65535 ? firstPort + CONTROL_PORT_OFFSET : firstPort - CONTROL_PORT_OFFSET;
}

/**
 * Where a bench looks for the control port of a server on data port `port`:
 * it is the default of the serve's first port, which is `port` itself or up
 * to MAX_SERVED_BACKENDS - 1 below it; nearest first. `hello` then says
 * which one serves `port`.
 */
export function controlPortCandidates(port: number): number[] {
  const out: number[] = [];
  for (let k = 0; k < MAX_SERVED_BACKENDS && port - k >= 1; k++) out.push(defaultControlPort(port - k));
  return [...new Set(out)];
}

export type ControlRequest =
  | { cmd: "hello" | "context" }
  | { cmd: "begin" | "syscalls"; id: string; backend?: string }
  | { cmd: "end"; id: string }
  | { cmd: "resources"; backend?: string; fdsAtMost?: number };

export const CONTROL_COMMANDS = ["hello", "begin", "syscalls", "end", "resources", "context"];

const ID = /^[A-Za-z0-9_.:#-]{1,64}$/;

/** Whether a line may be parsed at all; false: the connection is closed. */
export const wellFormed = (line: string): boolean => line.length <= MAX_CONTROL_LINE && /^[\x20-\x7e]*$/.test(line);

/** A request line (without its newline) as a request, or what is wrong with it. */
export function parseControlLine(line: string): ControlRequest | { error: string } {
  const words = line.trim().split(/ +/).filter((w) => w !== "");
  const [cmd, ...rest] = words;
  const usage = (form: string) => ({ error: `usage: ${form}` });
  const bad = rest.find((w) => !ID.test(w));
  if (bad !== undefined) return { error: `'${bad.slice(0, 64)}' is not an id or a label (letters, digits, _ . : # -, at most 64)` };
  switch (cmd) {
    case "hello":
    case "context":
      return rest.length ? usage(cmd) : { cmd };
    case "begin":
    case "syscalls":
      return rest.length < 1 || rest.length > 2 ? usage(`${cmd} ID [BACKEND]`) : { cmd, id: rest[0], ...(rest[1] ? { backend: rest[1] } : {}) };
    case "end":
      return rest.length !== 1 ? usage("end ID") : { cmd, id: rest[0] };
    case "resources": {
      if (rest.length > 2) return usage("resources [BACKEND] [FDS]");
      const fds = rest.length && /^\d+$/.test(rest[rest.length - 1]) ? Number(rest.pop()) : undefined;
      if (rest.length > 1) return usage("resources [BACKEND] [FDS]");
      return { cmd, ...(rest[0] ? { backend: rest[0] } : {}), ...(fds !== undefined ? { fdsAtMost: fds } : {}) };
    }
    case undefined:
      return { error: `empty request; commands: ${CONTROL_COMMANDS.join(", ")}` };
    default:
      return { error: `unknown command '${cmd.slice(0, 32)}'; commands: ${CONTROL_COMMANDS.join(", ")}` };
  }
}

/** One backend as `hello` lists it. */
export interface ServedBackendInfo {
  label: string;
  backend: string;
  host: string;
  port: number;
  pid: number;
  /** The CPUs it is pinned within (every CPU serve may use when not pinned): its steal and hiccups are watched there. */
  cpus: number[];
  exited: boolean;
  /** How it ended ("exit 0", "killed by SIGKILL"), once it has. */
  exit?: string;
}

export interface HelloAnswer {
  protocol: number;
  backends: ServedBackendInfo[];
}
