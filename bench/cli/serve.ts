// `bun run serve --backend NAME`: one server backend in the foreground.
// Prints exactly one line `listening HOST:PORT backend=NAME` once it accepts
// connections; on SIGINT/SIGTERM closes every socket, prints a one-line
// summary and exits 0. SIGUSR1 prints a `stats {json}` line and keeps serving.
import { writeSync } from "node:fs";
import { ensureBuilt } from "../../ffi/build.ts";
import { cpuListFlag, parseOrExit, usageExit, UsageError, type FlagSpec } from "./args.ts";
import { allowedCpus } from "../measure/quiet.ts";
import { DEFAULT_MAX_FRAME } from "../protocol/frame.ts";

ensureBuilt();
const { SysError } = await import("../../ffi/errno.ts");
const { BACKENDS, BACKEND_NAMES } = await import("../server/backends.ts");
const { defaultConfig } = await import("../server/core.ts");
const { listeningLine, statsLine, summaryLine } = await import("../server/lines.ts");
const { corrupting, handlerFor, injectDelayArgs, MAX_INJECT_DELAY_US, MODES } = await import("../server/modes.ts");
const net = await import("../../ffi/net.ts");

const SERVER = "The server";
const THREADED = Object.values(BACKENDS).filter((b) => b.threaded).map((b) => b.name);
const LIMITS = "Limits";
const FAULT = "Fault injection (to test the harness)";
const OWN = "Backends' own flags";
const SPECS: Record<string, FlagSpec> = {
  backend: { type: "string", help: "server backend", choices: BACKEND_NAMES, placeholder: "NAME", group: SERVER, aliases: ["backends"] },
  host: { type: "string", help: "address to listen on", default: "127.0.0.1", placeholder: "ADDRESS", group: SERVER },
  port: { type: "int", help: "TCP port, 0 for an ephemeral one", default: 0, min: 0, max: 65535, placeholder: "PORT", group: SERVER },
  mode: { type: "string", help: "what each frame is answered with", choices: MODES, default: "echo", group: SERVER },
  "server-cpus": { type: "string", help: "CPUs for the server: a one-thread backend's loop is pinned to the first; a threaded one pins loop i to the i-th in turn (default: not pinned; threaded: every CPU this process may use)", placeholder: "LIST", group: SERVER, aliases: ["cpu", "server-cpu"] },
  "server-threads": { type: "int", help: `loops (threads) of a threaded backend (${THREADED.join(", ")}) (default: one per server CPU)`, min: 1, max: 256, placeholder: "N", group: SERVER },
  "max-frame": { type: "int", help: "largest payload accepted, bytes; larger closes the connection", default: DEFAULT_MAX_FRAME, min: 0, max: 1 << 30, placeholder: "BYTES", group: LIMITS },
  "max-pending": { type: "int", help: "unsent bytes held per connection before it is closed", min: 1024, placeholder: "BYTES", group: LIMITS },
  corrupt: { type: "int", help: "flip one answer byte in about every N bytes", min: 1, placeholder: "N", group: FAULT, aliases: ["corrupt-every"] },
  "inject-delay": { type: "int", help: "busy-wait this many µs before answering each frame", default: 0, min: 0, max: MAX_INJECT_DELAY_US, placeholder: "US", group: FAULT, aliases: ["inject-delay-us"] },
  // Each backend's own flags, declared with the backend (bench/server/backends.ts).
  ...Object.fromEntries(Object.values(BACKENDS).flatMap((b) => Object.entries(b.flags ?? {}).map(([n, f]) => [n, { ...f, group: OWN }]))),
};

const cmd = "bun run serve";
const PREFIX = "serve";
const args = parseOrExit(process.argv.slice(2), cmd, "Runs one server backend in the foreground: it prints `listening HOST:PORT backend=NAME`, serves until Ctrl-C or SIGTERM, then prints a summary line.", SPECS, {
  prefix: PREFIX,
  groups: [SERVER, LIMITS, FAULT, OWN],
  examples: [
    ["bun run serve --backend c-uring --port 7000", "the io_uring C loop on port 7000, for `bun run bench --target` from another host"],
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
const backend = BACKENDS[args.backend as string];
const avail = backend.availability();
if (!avail.available) fail(`backend ${backend.name} is unavailable here: ${avail.reason}. Hint: ${avail.hint}`);
if (!(await import("../server/backends.ts")).servesMode(backend, args.mode as string)) fail(`backend ${backend.name} serves ${backend.modes!.join(", ")} only, not --mode ${args.mode}`);
let serverCpus: number[] | undefined;
try {
  serverCpus = cpuListFlag(args["server-cpus"] as string | undefined, "--server-cpus", allowedCpus());
} catch (e) {
  if (e instanceof UsageError) usageExit(PREFIX, cmd, e.message);
  throw e;
}
const threads = args["server-threads"] as number | undefined;
if (!backend.threaded) {
  if (threads !== undefined && threads !== 1) usageExit(PREFIX, cmd, `backend ${backend.name} runs one thread; --server-threads is for ${THREADED.join(", ")}`);
  if (serverCpus && serverCpus.length > 1) usageExit(PREFIX, cmd, `backend ${backend.name} runs one thread: give --server-cpus one CPU (or use ${THREADED.join(", ")})`);
}
const serverThreads = backend.threaded ? (threads ?? (serverCpus ?? allowedCpus()).length) : 1;
if (backend.kind === "executable") {
  // Its own executable: run it in the foreground with our flags, forwarding signals.
  const cmd = [...backend.command({ threads: serverThreads }), "--host", args.host as string, "--port", String(args.port), "--mode", args.mode as string, "--max-frame", String(args["max-frame"]), ...injectDelayArgs(args["inject-delay"] as number)];
  const child = Bun.spawn(serverCpus ? ["taskset", "-c", serverCpus.join(","), ...cmd] : cmd, { stdio: ["ignore", "inherit", "inherit"] });
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
  injectDelayUs: args["inject-delay"] as number,
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
