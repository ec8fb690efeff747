// The machine context every report starts with: without it a latency figure
// cannot be compared with anything.
import { cpus, hostname, release } from "node:os";
import { readFileSync } from "node:fs";
import { ROOT } from "../../ffi/build.ts";
import { environmentLines, readEnvironment, type Environment } from "./environment.ts";

export interface Placement {
  mode: "cross" | "same" | "off";
  /** The first CPU of the servers' set (taskset), or null when not pinned. */
  serverCpu: number | null;
  /** The first CPU of the client's set: its JS thread's (sched_setaffinity), or null. */
  clientCpu: number | null;
  /** Every CPU the servers may use (their threads are pinned within it); [serverCpu] when absent (older results). */
  serverCpus?: number[];
  /** Every CPU the client may use: its load threads go one per CPU in turn; [clientCpu] when absent. */
  clientCpus?: number[];
  /** The C load client's threads. */
  clientThreads?: number;
  /** Loops of the thread-per-core backends (c-epoll-mt, c-uring-mt, tokio-mt); the others run one. */
  serverThreads?: number;
  note?: string;
}

/** The servers' CPUs of a placement (older results name only the first). */
export const serverCpusOf = (p: Placement): number[] => p.serverCpus ?? (p.serverCpu === null ? [] : [p.serverCpu]);
/** The client's CPUs of a placement. */
export const clientCpusOf = (p: Placement): number[] => p.clientCpus ?? (p.clientCpu === null ? [] : [p.clientCpu]);

/** [0, 1, 2, 3, 6] -> "0-3,6": the kernel's CPU list form. */
export function cpuListText(cpus: readonly number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j;
  }
  return out.join(",");
}

export interface MachineContext {
  date: string;
  host: string;
  kernel: string;
  cpuModel: string;
  cores: number;
  virtualized: boolean;
  bun: string;
  liburing: string;
  ioUringDisabledSysctl: string;
  gitCommit: string;
  placement: Placement;
  /** Set for --target runs (the single HOST:PORT form): the server that was measured. */
  target?: TargetInContext;
  /** Every --target server measured, by label. */
  targets?: TargetInContext[];
  /** The hosts of --target servers whose `serve` control channel answered: each one's own context, as it read it. */
  serverHosts?: ServerHostContext[];
  /** Set in a server host's context: the backends its `serve` runs, with their ports and CPUs. */
  serving?: { label: string; backend: string; port: number; cpus: number[] }[];
  /** How idle CPUs were kept: the cpuidle driver and governor, the idle modes run, and whether the PM QoS request (CPUs polling) was held. */
  cpuIdle?: { driver: string | null; governor: string | null; requested: string; pmQos: string };
  /** The settings that shape the comparison: cpufreq, SMT, CPU-vulnerability mitigations, io_uring access, seccomp, RLIMIT_MEMLOCK, THP (bench/measure/environment.ts). Absent in results from before it was recorded. */
  environment?: Environment;
  argv: string[];
}

/** A --target in the context; `figures` says where its costs were read: "server-host" (serve's control channel), "local" (its pid here), "none". */
export interface TargetInContext {
  host: string;
  port: number;
  label: string;
  figures?: "server-host" | "local" | "none";
}

/** A server host as the run saw it: the control channel it answered on, the targets it serves, and its machine context. */
export interface ServerHostContext {
  control: string;
  labels: string[];
  context: MachineContext;
}

function run(cmd: string[]): string {
  try {
    const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "ignore", cwd: ROOT });
    return r.exitCode === 0 ? r.stdout.toString().trim() : "";
  } catch {
    return "";
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return fallback;
  }
}

export function machineContext(placement: Placement, argv: string[]): MachineContext {
  const cpuinfo = readOr("/proc/cpuinfo", "");
  const commit = run(["git", "rev-parse", "--short", "HEAD"]);
  const dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]) ? "-dirty" : "";
  return {
    date: new Date().toISOString(),
    host: hostname(),
    kernel: release(),
    cpuModel: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    virtualized: /\bhypervisor\b/.test(cpuinfo),
    bun: Bun.version,
    liburing: run(["dpkg-query", "-W", "-f=${Version}", "liburing-dev"]) || "unknown",
    ioUringDisabledSysctl: readOr("/proc/sys/kernel/io_uring_disabled", "n/a"),
    gitCommit: commit ? commit + dirty : "unknown",
    placement,
    environment: readEnvironment(),
    argv,
  };
}

export function placementText(p: Placement): string {
  if (p.mode === "off") return "off (not pinned; the scheduler places server and client)";
  const what = p.mode === "cross" ? "cross-core" : "same core";
  const cpus = (xs: number[]) => `CPU${xs.length > 1 ? "s" : ""} ${cpuListText(xs)}`;
  const server = serverCpusOf(p);
  const client = clientCpusOf(p);
  const threads = (p.clientThreads ?? 1) > 1 ? ` (${p.clientThreads} load threads)` : "";
  const loops = (p.serverThreads ?? 1) > 1 ? ` (${p.serverThreads} loops for the thread-per-core backends)` : "";
  if (p.serverCpu === null) return `${what}: client on ${cpus(client)}${threads}; the servers are yours (--target), placed by you`;
  return `${what}: server on ${cpus(server)}${loops}, client on ${cpus(client)}${threads}${p.note ? ` (${p.note})` : ""}`;
}

const FIGURES_TEXT = { "server-host": "server-side costs measured on its host", local: "server-side costs read on this host", none: "server-side costs not available" } as const;

/** "; server-side costs measured on its host: a, b; not available: c" (nothing for results from before it was recorded). */
function targetFigures(targets: TargetInContext[]): string {
  const kinds = (["server-host", "local", "none"] as const).map((k) => [k, targets.filter((t) => t.figures === k).map((t) => t.label)] as const).filter(([, ls]) => ls.length);
  return kinds.map(([k, ls], i) => `; ${i ? FIGURES_TEXT[k].replace("server-side costs ", "") : FIGURES_TEXT[k]}: ${ls.join(", ")}`).join("");
}

/** The machine section: this host, then each server host whose control channel answered, read there. */
export function contextLines(c: MachineContext): string[] {
  const where = (t: TargetInContext) => FIGURES_TEXT[t.figures ?? "none"];
  const hostLines = (h: MachineContext) => [
    `machine   ${h.cpuModel}, ${h.cores} cores${h.virtualized ? ", virtual machine" : ""}, host ${h.host}`,
    `kernel    Linux ${h.kernel} (kernel.io_uring_disabled=${h.ioUringDisabledSysctl})`,
    `runtime   Bun ${h.bun}, liburing ${h.liburing}, iouring-bench ${h.gitCommit}`,
  ];
  const tail = (h: MachineContext) => [
    ...(h.environment ? environmentLines(h.environment) : []),
    ...(h.cpuIdle ? [`cpu idle  driver ${h.cpuIdle.driver ?? "none"}, governor ${h.cpuIdle.governor ?? "none"}; idle mode ${h.cpuIdle.requested}; PM QoS ${h.cpuIdle.pmQos}`] : []),
  ];
  // Each server host's block under its own header line, the same keys as this host's (a table's rows in markdown).
  const servers = (c.serverHosts ?? []).flatMap((s) => [
    `server    host ${s.context.host}, read through its control channel ${s.control}; serves ${s.labels.join(", ")}`,
    ...hostLines(s.context),
    ...(s.context.serving ? [`serving   ${s.context.serving.map((b) => `${b.label} on :${b.port} (CPU${b.cpus.length > 1 ? "s" : ""} ${cpuListText(b.cpus)})`).join(", ")}`] : []),
    ...tail(s.context),
  ]);
  return [
    ...(servers.length ? [`client    host ${c.host}: the bench and its load client`] : []),
    ...hostLines(c),
    `placement ${placementText(c.placement)}`,
    ...(c.target ? [`target    ${c.target.label} at ${c.target.host}:${c.target.port} (remote; ${where(c.target)})`] : []),
    ...(c.targets && !c.target ? [`targets   ${c.targets.map((t) => `${t.label} at ${t.host}:${t.port}`).join(", ")}${targetFigures(c.targets)}`] : []),
    ...tail(c),
    `date      ${c.date}`,
    ...servers,
  ];
}
