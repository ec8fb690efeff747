// `bun run serve --backend NAME[,NAME...]`: server backends in the foreground.
// One backend on an ephemeral port (--port 0, as bench starts its own) runs
// in this process: exactly one line `listening HOST:PORT backend=NAME` once
// it accepts connections; SIGINT/SIGTERM closes every socket, prints a
// one-line summary and exits 0; SIGUSR1 prints a `stats {json}` line. With a
// fixed --port, the control channel is on (docs/two-hosts.md): each backend
// then runs as a child process on its own port (from --port up), pinned to
// its own CPU set, and this process answers the control channel for all of
// them (bench/server/serve-many.ts).
import { writeSync } from "node:fs";
import { ensureBuilt } from "../../ffi/build.ts";
import { cpuListFlag, parseOrExit, usageExit, UsageError, type FlagSpec } from "./args.ts";
import { allowedCpus } from "../measure/quiet.ts";
import { CONTROL_PORT_OFFSET, defaultControlPort } from "../protocol/control.ts";
import { DEFAULT_MAX_FRAME } from "../protocol/frame.ts";

ensureBuilt();
const { SysError } = await import("../../ffi/errno.ts");
const { BACKENDS, BACKEND_NAMES } = await import("../server/backends.ts");
const { defaultConfig } = await import("../server/core.ts");
const { listeningLine, statsLine, summaryLine } = await import("../server/lines.ts");
const { corrupting, handlerFor, injectDelayArgs, MAX_INJECT_DELAY_US, MODES } = await import("../server/modes.ts");
const net = await import("../../ffi/net.ts");

const SERVER = "The server";
const CONTROL = "The control channel (a bench on another host reads the server's costs through it)";
const THREADED = Object.values(BACKENDS).filter((b) => b.threaded).map((b) => b.name);
const LIMITS = "Limits";
const FAULT = "Fault injection (to test the harness)";
const OWN = "Backends' own flags";
const SPECS: Record<string, FlagSpec> = {
  backend: { type: "list", help: "server backend; several (tokio,c-uring) run side by side, one process each, on ports from --port up", choices: BACKEND_NAMES, placeholder: "NAME[,NAME]", group: SERVER, aliases: ["backends"] },
  host: { type: "string", help: "address to listen on", default: "127.0.0.1", placeholder: "ADDRESS", group: SERVER },
  port: { type: "int", help: "TCP port of the first backend (the next ones take the ports after it), 0 for ephemeral ones", default: 0, min: 0, max: 65535, placeholder: "PORT", group: SERVER },
  mode: { type: "string", help: "what each frame is answered with", choices: MODES, default: "echo", group: SERVER },
  "server-cpus": { type: "string", help: "CPUs for the server: a one-thread backend's loop is pinned to the first; a threaded one pins loop i to the i-th in turn. Several backends: one LIST for each of them, or LIST/LIST/... one per backend (default: not pinned; several backends: each on its own CPU in turn; threaded: every CPU this process may use)", placeholder: "LIST[/LIST]", group: SERVER, aliases: ["cpu", "server-cpu"] },
  "server-threads": { type: "int", help: `loops (threads) of a threaded backend (${THREADED.join(", ")}) (default: one per server CPU)`, min: 1, max: 256, placeholder: "N", group: SERVER },
  "max-frame": { type: "int", help: "largest payload accepted, bytes; larger closes the connection", default: DEFAULT_MAX_FRAME, min: 0, max: 1 << 30, placeholder: "BYTES", group: LIMITS },
  "max-pending": { type: "int", help: "unsent bytes held per connection before it is closed", min: 1024, placeholder: "BYTES", group: LIMITS },
  corrupt: { type: "int", help: "flip one answer byte in about every N bytes", min: 1, placeholder: "N", group: FAULT, aliases: ["corrupt-every"] },
  "inject-delay": { type: "int", help: "busy-wait this many µs before answering each frame", default: 0, min: 0, max: MAX_INJECT_DELAY_US, placeholder: "US", group: FAULT, aliases: ["inject-delay-us"] },
  control: { type: "string", help: `the control channel: on with a fixed --port (at --port + ${CONTROL_PORT_OFFSET}), off with --port 0 unless --control-port is given`, choices: ["on", "off"], default: "on", group: CONTROL },
  "control-port": { type: "int", help: `its TCP port (default: the first data port + ${CONTROL_PORT_OFFSET}, or - ${CONTROL_PORT_OFFSET} above ${65535 - CONTROL_PORT_OFFSET}: where a bench looks; 0: an ephemeral one)`, min: 0, max: 65535, placeholder: "PORT", group: CONTROL },
  "control-host": { type: "string", help: "address it listens on (default: --host); whoever reaches it can read the server's figures and machine context", placeholder: "ADDRESS", group: CONTROL },
  "cpu-idle": { type: "string", help: "with the control channel: poll holds PM QoS 0 while serving (root), as bench does for its own servers; default leaves the idle governor", choices: ["poll", "default"], default: "poll", group: CONTROL },
  hiccup: { type: "string", help: "with the control channel: a thread per server CPU that wakes every 5 ms to catch stalls (the stall figures of each interval)", choices: ["on", "off"], default: "on", group: CONTROL },
  // Each backend's own flags, declared with the backend (bench/server/backends.ts).
  ...Object.fromEntries(Object.values(BACKENDS).flatMap((b) => Object.entries(b.flags ?? {}).map(([n, f]) => [n, { ...f, group: OWN }]))),
};

const cmd = "bun run serve";
const PREFIX = "serve";
const args = parseOrExit(process.argv.slice(2), cmd, "Runs server backends in the foreground: each prints `listening HOST:PORT backend=NAME`, serves until Ctrl-C or SIGTERM, then prints a summary line. With a fixed --port a control channel answers a bench on another host with the servers' own costs (`control HOST:PORT`).", SPECS, {
  prefix: PREFIX,
  groups: [SERVER, CONTROL, LIMITS, FAULT, OWN],
  examples: [
    ["bun run serve --backend c-uring --port 7000", "the io_uring C loop on port 7000, for `bun run bench --target` from another host"],
    ["bun run serve --backend tokio,c-uring --host 0.0.0.0 --port 7000 --server-cpus 0/1", "the guide's pair side by side: tokio on 7000 (CPU 0), c-uring on 7001 (CPU 1), their control channel on 17000"],
    ["bun run serve --backend tokio --host 0.0.0.0 --port 7000 --server-cpus 2", "the Tokio reference on every address, pinned to CPU 2"],
    ["bun run serve --backend c-uring-mt --server-cpus 0-3", "four io_uring loops, one pinned to each of CPUs 0-3, on one port"],
  ],
  exitCodes: ["0  stopped by a signal", "2  usage error, the backend is unavailable here, or the port is in use"],
});
const fail = (msg: string): never => {
  process.stderr.write(`${PREFIX}: ${msg}\n`);
  process.exit(2);
};
const backendFlags = Object.values(BACKENDS).flatMap((b) => Object.entries(b.flags ?? {}));
for (const [name, f] of backendFlags) {
  const problem = args[name] !== undefined ? f.check?.(args[name] as number) : undefined;
  if (problem) fail(problem);
}
if (!args.backend) usageExit(PREFIX, cmd, `--backend is required (one of ${BACKEND_NAMES.join(", ")})`);
const names = args.backend as string[];
const twice = names.find((n, i) => names.indexOf(n) !== i);
if (twice) usageExit(PREFIX, cmd, `--backend names ${twice} twice; one serve runs each backend once`);
const port = args.port as number;
if (port && port + names.length - 1 > 65535) usageExit(PREFIX, cmd, `--port ${port}: ${names.length} backends need ports ${port} to ${port + names.length - 1}, past 65535`);
const controlGiven = args["control-port"] !== undefined || args["control-host"] !== undefined;
if (args.control === "off" && controlGiven) usageExit(PREFIX, cmd, "--control-port and --control-host are for the control channel; leave out --control off");
// With --port 0 no data port is known in advance, so no bench could find the control port from it.
const controlOn = args.control === "on" && (port !== 0 || controlGiven);
const controlPort = (args["control-port"] as number | undefined) ?? defaultControlPort(port);
if (controlOn && port && controlPort >= port && controlPort < port + names.length) usageExit(PREFIX, cmd, `--control-port ${controlPort} is one of the backends' ports (${port}-${port + names.length - 1})`);
for (const name of names) {
  const b = BACKENDS[name];
  const avail = b.availability();
  if (!avail.available) fail(`backend ${b.name} is unavailable here: ${avail.reason}. Hint: ${avail.hint}`);
  if (!(await import("../server/backends.ts")).servesMode(b, args.mode as string)) fail(`backend ${b.name} serves ${b.modes!.join(", ")} only, not --mode ${args.mode}`);
}
// One CPU set for every backend, or one per backend; by default several backends go each on its own CPU in turn.
let cpuSets: (number[] | undefined)[] = [];
try {
  const allowed = allowedCpus();
  const given = (args["server-cpus"] as string | undefined)?.split("/");
  if (given && given.length !== 1 && given.length !== names.length) throw new UsageError(`--server-cpus: ${given.length} CPU sets for ${names.length} backend${names.length === 1 ? "" : "s"}; give one for all, or one per backend (LIST/LIST/...)`);
  const sets = given?.map((g) => cpuListFlag(g, "--server-cpus", allowed)!);
  cpuSets = names.map((_, i) => (sets ? sets[sets.length === 1 ? 0 : i] : names.length > 1 ? [allowed[i % allowed.length]] : undefined));
} catch (e) {
  if (e instanceof UsageError) usageExit(PREFIX, cmd, e.message);
  throw e;
}
const threads = args["server-threads"] as number | undefined;
names.forEach((name, i) => {
  const b = BACKENDS[name];
  if (b.threaded) return;
  if (threads !== undefined && threads !== 1 && names.length === 1) usageExit(PREFIX, cmd, `backend ${b.name} runs one thread; --server-threads is for ${THREADED.join(", ")}`);
  if ((cpuSets[i]?.length ?? 0) > 1) usageExit(PREFIX, cmd, `backend ${b.name} runs one thread: give --server-cpus one CPU${names.length > 1 ? " for it" : ""} (or use ${THREADED.join(", ")})`);
});
const injectUs = args["inject-delay"] as number;
if (names.length > 1 || controlOn) {
  // Several processes: each backend started as bench starts its own, this process reading them.
  const { spawnOptionsFor } = await import("../server/backends.ts");
  const { serveMany } = await import("../server/serve-many.ts");
  const host = args.host as string;
  await serveMany({
    backends: names.map((name, i) => {
      const b = BACKENDS[name];
      const own = Object.keys(b.flags ?? {}).filter((f) => args[f] !== undefined).flatMap((f) => [`--${f}`, String(args[f])]);
      const extraArgs = b.kind === "executable"
        ? injectDelayArgs(injectUs)
        : [...(args["max-pending"] ? ["--max-pending", String(args["max-pending"])] : []), ...(args.corrupt ? ["--corrupt-every", String(args.corrupt)] : []), ...injectDelayArgs(injectUs), ...own];
      const spawn = spawnOptionsFor(name, { host, mode: args.mode as string, threads: threads ?? (cpuSets[i] ?? allowedCpus()).length, extraArgs });
      return { label: name, cpus: cpuSets[i] ?? [], spawn: { ...spawn, port: port ? port + i : 0, maxFrame: args["max-frame"] as number } };
    }),
    control: controlOn ? { host: (args["control-host"] as string | undefined) ?? host, port: controlPort } : undefined,
    hiccup: args.hiccup === "on",
    cpuIdle: args["cpu-idle"] as "poll" | "default",
    argv: process.argv.slice(2),
  });
}
const backend = BACKENDS[names[0]];
const serverCpus = cpuSets[0];
const serverThreads = backend.threaded ? (threads ?? (serverCpus ?? allowedCpus()).length) : 1;
if (backend.kind === "executable") {
  // Its own executable: run it in the foreground with our flags, forwarding signals; launched as bench launches it.
  const { spawnOptionsFor } = await import("../server/backends.ts");
  const { serverCommand, serverEnv } = await import("../server/process.ts");
  const spawn = spawnOptionsFor(names[0], { host: args.host as string, mode: args.mode as string, threads: serverThreads, extraArgs: injectDelayArgs(injectUs) });
  const child = Bun.spawn(serverCommand({ ...spawn, port: args.port as number, maxFrame: args["max-frame"] as number, cpus: serverCpus }), { stdio: ["ignore", "inherit", "inherit"], env: serverEnv() });
  for (const sig of ["SIGINT", "SIGTERM", "SIGUSR1"] as const) process.on(sig, () => child.kill(sig));
  process.exit(await child.exited);
}
// Started by bench (IOURING_BENCH_PARENT_DEATH=1): never outlive it, even if it is killed outright.
// SIGKILL, not SIGTERM: bench pauses the servers it is not measuring (SIGSTOP), and a
// stopped process would hold a SIGTERM pending for ever.
if (process.env.IOURING_BENCH_PARENT_DEATH === "1" && net.terminateWithParent(9)) process.exit(0);
if (serverCpus && !backend.threaded) {
  try {
    net.pinThisThread(serverCpus[0]);
  } catch (e) {
    fail((e as Error).message);
  }
}

const maxFrame = args["max-frame"] as number;
const cfg = defaultConfig({
  host: args.host as string,
  port: args.port as number,
  maxFrame,
  handler: args.corrupt ? corrupting(handlerFor(args.mode as string), args.corrupt as number) : handlerFor(args.mode as string),
  ...(args["max-pending"] ? { maxPendingBytes: args["max-pending"] as number } : { maxPendingBytes: 4 * maxFrame + 64 * 1024 }),
  ...Object.fromEntries(backendFlags.filter(([name]) => args[name] !== undefined).map(([name, f]) => [f.config, args[name] as number])),
  injectDelayUs: injectUs,
  ...(backend.threaded ? { threads: serverThreads, cpus: serverCpus } : {}),
});

let server;
try {
  server = backend.start(cfg);
} catch (e) {
  const err = e as Error & { code?: string; errno?: number };
  if (e instanceof SysError && e.code === "EADDRINUSE") fail(`${e.message}: port ${cfg.port} is in use; pick another --port or 0`);
  if (err.code === "EADDRINUSE") fail(`listen ${cfg.host}:${cfg.port}: EADDRINUSE: port ${cfg.port} is in use; pick another --port or 0`);
  fail(err.message);
}
const srv = server!;

// Handlers first: whoever reads the `listening` line may signal at once (an
// early SIGUSR1 with no handler installed would kill the server).
let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  srv.stop();
  await srv.done;
  writeSync(1, `${summaryLine(srv.backend, srv.stats, signal)}\n`);
  process.exit(0);
};
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));
process.on("SIGUSR1", () => {
  srv.refresh?.();
  writeSync(1, `${statsLine(srv.backend, process.pid, srv.stats)}\n`);
});
// Written synchronously: the uring and epoll loops hold the thread, and a
// buffered console.log could sit unflushed.
writeSync(1, `${listeningLine(srv.host, srv.port, srv.backend)}\n`);
await srv.done;
