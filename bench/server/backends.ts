// The server backends by name: what each is, whether it can run here, how to start it.
import { errnoName } from "../../ffi/errno.ts";
import {
  hintFor,
  IORING_SETUP_DEFER_TASKRUN,
  IORING_SETUP_SINGLE_ISSUER,
  IORING_SETUP_SQPOLL,
  probeSetupFlags,
  uringStatus,
  type UringStatus,
} from "../../ffi/uring.ts";
import { probeMultishot } from "../../ffi/uring-probe.ts";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../ffi/build.ts";
import { allowedCpus } from "../measure/quiet.ts";
import { startBunServer } from "./bun-server.ts";
import { startCEpollMtServer, startCEpollServer, startCUringMtServer, startCUringServer } from "./c-servers.ts";
import type { Server, ServerConfig } from "./core.ts";
import type { ServerSpawnOptions } from "./process.ts";
import { startEpollServer } from "./epoll-server.ts";
import { startUringServer } from "./uring-server.ts";

export interface Availability {
  available: boolean;
  errno?: number;
  reason?: string;
  hint?: string;
}

interface BackendCommon {
  name: string;
  description: string;
  availability(): Availability;
  /** Modes it can serve (default: every mode). */
  modes?: readonly string[];
  /**
   * Runs several threads (`serve --server-threads N`, `bench` gives it one
   * per server CPU by default); the others run one event loop on one thread.
   */
  threaded?: boolean;
  /** Flags of this backend alone (`serve --NAME N`), each with the ServerConfig field it sets. */
  flags?: Record<string, BackendFlag>;
  /**
   * A step of the ablation ladder only (bench/verdict/ladder.ts): `bench
   * --backends all` leaves it out unless `--ladder`; serve, --backends NAME and
   * the tests run it like any other.
   */
  ladderOnly?: boolean;
  /**
   * Its loop runs in JavaScriptCore: a new process answers more slowly until
   * about 14,000 round trips have passed through it (tiers, inline caches and
   * GC heuristics settling; docs/method.md). The fleet primes each new process
   * before it is measured (bench --server-warmup).
   */
  warmsUp?: boolean;
}

/** A server this suite runs in a `serve` process: started from its config. */
export interface InProcessBackend extends BackendCommon {
  kind: "in-process";
  start(cfg: ServerConfig): Server;
}

/**
 * A server that is its own executable (tokio): the command to run. It takes
 * --host, --port, --mode, --max-frame and --inject-delay-us and prints the
 * lines of server/lines.ts in its own words; `threads` for a threaded one.
 */
export interface ExecutableBackend extends BackendCommon {
  kind: "executable";
  command(opts?: { threads?: number }): string[];
}

export type Backend = InProcessBackend | ExecutableBackend;

/** The command of an executable backend, undefined for one that runs in `serve`. */
export const commandOf = (b: Backend, opts?: { threads?: number }): string[] | undefined => (b.kind === "executable" ? b.command(opts) : undefined);

/** A serve flag a backend declares (the shape of bench/cli/args.ts's FlagSpec, for an integer). */
export interface BackendFlag {
  type: "int";
  help: string;
  min?: number;
  max?: number;
  placeholder?: string;
  /** The ServerConfig field it sets. */
  config: "providedBuffers" | "sqpollIdleMs";
  /** What is wrong with a value the range allows, or undefined. */
  check?: (n: number) => string | undefined;
}

/** Whether a backend serves a mode. */
export function servesMode(b: Backend, mode: string): boolean {
  return !b.modes || b.modes.includes(mode);
}

const TOKIO_BINARY = join(ROOT, "build/tokio-echo");
const TOKIO_HINT = "bash scripts/build-tokio.sh (as root it installs cargo, librust-tokio-dev and librust-tokio-util-dev from Debian, then builds offline)";

function newestSource(dir: string): number {
  let newest = 0;
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    if (f.isDirectory()) newest = Math.max(newest, newestSource(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let tokioCached: Availability | undefined;
/** Built and up to date, or built now when cargo and Debian's crates are present (never installs). */
function tokioAvailability(): Availability {
  if (tokioCached) return tokioCached;
  const fresh = () => existsSync(TOKIO_BINARY) && statSync(TOKIO_BINARY).mtimeMs >= newestSource(join(ROOT, "bench/tokio-echo/src"));
  if (fresh()) return (tokioCached = { available: true });
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/build-tokio.sh")], {
    env: { ...process.env, IOURING_BENCH_SKIP_APT: "1", SETUP_QUIET: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode === 0 && existsSync(TOKIO_BINARY)) return (tokioCached = { available: true });
  const why = r.stderr.toString().trim().split("\n")[0] || `build exited ${r.exitCode}`;
  return (tokioCached = { available: false, reason: `tokio server not built: ${why}`, hint: TOKIO_HINT });
}

const always = (): Availability => ({ available: true });
let uringCached: UringStatus | undefined;
const uring = (): Availability => (uringCached ??= uringStatus());

/** Available when io_uring is and the probe returns 0; else the probe's errno with a hint. */
function probed(what: string, probe: () => number, hint: string): () => Availability {
  let cached: Availability | undefined;
  return () => {
    if (cached) return cached;
    const base = uring();
    if (!base.available) return (cached = base);
    const errno = probe();
    cached = errno === 0 ? { available: true } : { available: false, errno, reason: `${what}: ${errnoName(errno)}`, hint: errno === 22 ? hint : hintFor(errno) };
    return cached;
  };
}

const SQPOLL_IDLE_DEFAULT_MS = 100;

const sqpollFlag: BackendFlag = { type: "int", help: `uring-sqpoll: ms the kernel thread polls before sleeping (default ${SQPOLL_IDLE_DEFAULT_MS})`, min: 0, max: 60000, placeholder: "MS", config: "sqpollIdleMs" };
const buffersFlag: BackendFlag = {
  type: "int",
  help: "uring-multishot: provided buffers of 16 KiB (a power of two; default 1024)",
  min: 1,
  max: 32768,
  placeholder: "N",
  config: "providedBuffers",
  check: (n) => ((n & (n - 1)) !== 0 ? `--buffers must be a power of two, not ${n}` : undefined),
};
const probeSqpoll = probed("io_uring_setup SQPOLL", () => probeSetupFlags(IORING_SETUP_SQPOLL), "SQPOLL for unprivileged users needs Linux 5.11+");
const probeMultishotRecv = probed("multishot recv into a buffer ring, tried on a loopback connection", probeMultishot, "multishot recv needs Linux 6.0+ (buffer rings 5.19+)");

export const BACKENDS: Record<string, Backend> = {
  bun: {
    name: "bun",
    description: "Bun.listen: the runtime's own sockets (uSockets over epoll)",
    availability: always,
    kind: "in-process",
    warmsUp: true,
    start: startBunServer,
  },
  epoll: {
    name: "epoll",
    description: "TypeScript readiness loop over the epoll shim (epoll_wait + read + write)",
    availability: always,
    kind: "in-process",
    warmsUp: true,
    start: startEpollServer,
  },
  uring: {
    name: "uring",
    description: "TypeScript completion loop over liburing (one io_uring_enter per step)",
    availability: uring,
    kind: "in-process",
    warmsUp: true,
    start: (cfg) => startUringServer(cfg),
  },
  "uring-sqpoll": {
    name: "uring-sqpoll",
    description: "uring with SQPOLL: a kernel thread polls the submission queue (its CPU counts as the server's)",
    availability: probeSqpoll,
    kind: "in-process",
    warmsUp: true,
    start: (cfg) =>
      startUringServer(cfg, { backend: "uring-sqpoll", ring: { flags: IORING_SETUP_SQPOLL, sqIdleMs: cfg.sqpollIdleMs ?? SQPOLL_IDLE_DEFAULT_MS } }),
    flags: { "sqpoll-idle": sqpollFlag },
  },
  "uring-defer": {
    name: "uring-defer",
    description: "uring with SINGLE_ISSUER and DEFER_TASKRUN: completions run only when the loop waits for them",
    availability: probed(
      "io_uring_setup SINGLE_ISSUER|DEFER_TASKRUN",
      () => probeSetupFlags(IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN),
      "DEFER_TASKRUN needs Linux 6.1+",
    ),
    kind: "in-process",
    warmsUp: true,
    start: (cfg) => startUringServer(cfg, { backend: "uring-defer", ring: { flags: IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN } }),
  },
  "uring-multishot": {
    name: "uring-multishot",
    description: "uring with multishot accept and multishot recv into a provided-buffer ring",
    availability: probeMultishotRecv,
    // Exact flags 0, as before the plain loop took proxy.c's set-up: with SINGLE_ISSUER|DEFER_TASKRUN
    // (kernel 6.18 here) a peer that never reads was at times not cut off for overflow: the server
    // stopped reading it for seconds (test/faults.test.ts, about 2 runs in 3). Not yet understood.
    kind: "in-process",
    warmsUp: true,
    start: (cfg) => startUringServer(cfg, { backend: "uring-multishot", ring: { flags: 0 }, multishot: { buffers: cfg.providedBuffers ?? 1024, bufferSize: 16 * 1024 } }),
    flags: { buffers: buffersFlag },
  },
  // The ablation ladder's steps that no other backend is (bench/verdict/ladder.ts; `bench --ladder`).
  "uring-basic": {
    name: "uring-basic",
    description: "ladder step 1: the naive uring loop (ring flags 0, no registered ring fd, waits for one completion: 2 enters per request)",
    availability: uring,
    kind: "in-process",
    warmsUp: true,
    start: (cfg) => startUringServer(cfg, { backend: "uring-basic", ring: { flags: 0, registerRingFd: false }, oneEnter: false }),
    ladderOnly: true,
  },
  "uring-1enter": {
    name: "uring-1enter",
    description: "ladder step 2: uring-basic + one enter per request (waits for one completion more than the quick sends)",
    availability: uring,
    kind: "in-process",
    warmsUp: true,
    start: (cfg) => startUringServer(cfg, { backend: "uring-1enter", ring: { flags: 0, registerRingFd: false } }),
    ladderOnly: true,
  },
  "uring-taskrun": {
    name: "uring-taskrun",
    description: "ladder step 3: uring-1enter + SINGLE_ISSUER|DEFER_TASKRUN (else COOP_TASKRUN|TASKRUN_FLAG); no registered ring fd",
    availability: uring,
    kind: "in-process",
    warmsUp: true,
    start: (cfg) => startUringServer(cfg, { backend: "uring-taskrun", ring: { registerRingFd: false } }),
    ladderOnly: true,
  },
  "c-epoll": {
    name: "c-epoll",
    description: "the epoll loop written in C, started through bun:ffi; no FFI crossing per request",
    availability: always,
    modes: ["echo"],
    kind: "in-process",
    start: startCEpollServer,
  },
  "c-uring": {
    name: "c-uring",
    description: "the io_uring loop written in C, started through bun:ffi; no FFI crossing per request",
    availability: uring,
    modes: ["echo"],
    kind: "in-process",
    start: startCUringServer,
  },
  "c-epoll-mt": {
    name: "c-epoll-mt",
    description: "c-epoll thread-per-core: one loop per server CPU, each pinned, with its own SO_REUSEPORT listener",
    availability: always,
    modes: ["echo"],
    threaded: true,
    kind: "in-process",
    start: startCEpollMtServer,
  },
  "c-uring-mt": {
    name: "c-uring-mt",
    description: "c-uring thread-per-core: one ring per server CPU (set up as c-uring's), each loop pinned, with its own SO_REUSEPORT listener",
    availability: uring,
    modes: ["echo"],
    threaded: true,
    kind: "in-process",
    start: startCUringMtServer,
  },
  tokio: {
    name: "tokio",
    description: "Rust: Tokio current_thread runtime with tokio-util's LengthDelimitedCodec (the guide's current stack)",
    availability: tokioAvailability,
    modes: ["echo", "order"],
    kind: "executable",
    command: () => [TOKIO_BINARY],
  },
  "tokio-mt": {
    name: "tokio-mt",
    description: "Rust: the tokio reference on Tokio's multi-thread runtime (#[tokio::main]'s), one worker per server CPU, each pinned to its CPU",
    availability: tokioAvailability,
    modes: ["echo", "order"],
    threaded: true,
    kind: "executable",
    command: (opts) => [TOKIO_BINARY, "--runtime", "multi", "--threads", String(opts?.threads ?? allowedCpus().length)],
  },
};

export const BACKEND_NAMES = Object.keys(BACKENDS);
/**
 * What `bench --backends all` runs: every backend but the ladder's own steps
 * (those join with --ladder) and the thread-per-core ones (named, in
 * --gate-pairs or by --sweep-cores): on the guide's one server core they are
 * their single-threaded twins again, and would only lengthen the run.
 */
export const DEFAULT_BACKEND_NAMES = BACKEND_NAMES.filter((n) => !BACKENDS[n].ladderOnly && !BACKENDS[n].threaded);
/** The thread-per-core backends. */
export const THREADED_BACKEND_NAMES = BACKEND_NAMES.filter((n) => BACKENDS[n].threaded);

/**
 * How a backend's server process is started: bench's fleet and a serve of
 * several backends start theirs alike (its executable for tokio, serve.ts
 * otherwise; a threaded one's loops), so both measure the same process.
 */
export function spawnOptionsFor(name: string, o: { host: string; mode?: string; threads?: number; extraArgs?: string[] }): ServerSpawnOptions {
  const b = BACKENDS[name];
  const threads = b.threaded ? o.threads : undefined;
  const threadArgs = threads !== undefined && b.kind === "in-process" ? ["--server-threads", String(threads)] : [];
  return { backend: name, mode: o.mode, host: o.host, command: commandOf(b, { threads }), extraArgs: [...threadArgs, ...(o.extraArgs ?? [])] };
}
