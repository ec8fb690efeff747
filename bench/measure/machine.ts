// The machine context every report starts with: without it a latency figure
// cannot be compared with anything.
import { cpus, hostname, release } from "node:os";
import { readFileSync } from "node:fs";
import { ROOT } from "../../ffi/build.ts";
import { environmentLines, readEnvironment, type Environment } from "./environment.ts";

export interface Placement {
  mode: "cross" | "same" | "off";
  /** CPU the server process is pinned to (taskset), or null when not pinned. */
  serverCpu: number | null;
  /** CPU the client's thread is pinned to (sched_setaffinity), or null. */
  clientCpu: number | null;
  note?: string;
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
  target?: { host: string; port: number; label: string };
  /** Every --target server measured, by label. */
  targets?: { host: string; port: number; label: string }[];
  /** How idle CPUs were kept: the cpuidle driver and governor, the idle modes run, and whether the PM QoS request (CPUs polling) was held. */
  cpuIdle?: { driver: string | null; governor: string | null; requested: string; pmQos: string };
  /** The settings that shape the comparison: cpufreq, SMT, CPU-vulnerability mitigations, io_uring access, seccomp, RLIMIT_MEMLOCK, THP (bench/measure/environment.ts). Absent in results from before it was recorded. */
  environment?: Environment;
  argv: string[];
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
  if (p.serverCpu === null) return `${what}: client on CPU ${p.clientCpu}; the servers are yours (--target), placed by you`;
  return `${what}: server on CPU ${p.serverCpu}, client on CPU ${p.clientCpu}${p.note ? ` (${p.note})` : ""}`;
}

export function contextLines(c: MachineContext): string[] {
  return [
    `machine   ${c.cpuModel}, ${c.cores} cores${c.virtualized ? ", virtual machine" : ""}, host ${c.host}`,
    `kernel    Linux ${c.kernel} (kernel.io_uring_disabled=${c.ioUringDisabledSysctl})`,
    `runtime   Bun ${c.bun}, liburing ${c.liburing}, iouring-bench ${c.gitCommit}`,
    `placement ${placementText(c.placement)}`,
    ...(c.target ? [`target    ${c.target.label} at ${c.target.host}:${c.target.port} (remote; server-side costs not available)`] : []),
    ...(c.targets && !c.target ? [`targets   ${c.targets.map((t) => `${t.label} at ${t.host}:${t.port}`).join(", ")}`] : []),
    ...(c.environment ? environmentLines(c.environment) : []),
    ...(c.cpuIdle ? [`cpu idle  driver ${c.cpuIdle.driver ?? "none"}, governor ${c.cpuIdle.governor ?? "none"}; idle mode ${c.cpuIdle.requested}; PM QoS ${c.cpuIdle.pmQos}`] : []),
    `date      ${c.date}`,
  ];
}
