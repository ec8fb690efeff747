// What the kernel reports about a process (Linux /proc/PID): open descriptors,
// resident memory, context switches and CPU time, and the parsers of its
// files. The one model of /proc: the benchmark's resources before/after a
// scenario (accounting.ts) and the leak tests read it; accounting.ts adds the
// per-thread CPU time it needs around each measured interval.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

export interface ProcStat {
  /** Entries in /proc/PID/fd: open file descriptors (sockets, the ring, epoll, pipes). */
  fds: number;
  /** VmRSS: resident set size now, KiB. */
  rssKiB: number;
  /** VmHWM: peak resident set size so far, KiB. */
  hwmKiB: number;
  /** voluntary_ctxt_switches: the process blocked (e.g. in epoll_wait or io_uring_enter). */
  voluntaryCtxt: number;
  /** nonvoluntary_ctxt_switches: the scheduler took the CPU away. */
  involuntaryCtxt: number;
  /** CPU time in user mode (all threads), ms; resolution one clock tick. */
  utimeMs: number;
  /** CPU time in the kernel (all threads), ms; resolution one clock tick. */
  stimeMs: number;
  threads: number;
}

let clkTck: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`, 100 on every common Linux build). */
export function clockTicksPerSecond(): number {
  if (clkTck !== undefined) return clkTck;
  let v = NaN;
  try {
    const r = Bun.spawnSync(["getconf", "CLK_TCK"], { stdout: "pipe", stderr: "ignore" });
    if (r.exitCode === 0) v = Number(r.stdout.toString().trim());
  } catch {
    // getconf missing: fall through to the default
  }
  clkTck = Number.isInteger(v) && v > 0 ? v : 100;
  return clkTck;
}

/** "Name:\tvalue unit" lines of /proc/PID/status as name -> first number. */
export function parseStatus(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const m = /^\s*(-?\d+)/.exec(line.slice(colon + 1));
    if (m) out[line.slice(0, colon)] = Number(m[1]);
  }
  return out;
}

/**
 * utime and stime (fields 14 and 15, clock ticks) of /proc/PID/stat. The
 * command name (field 2) is in parentheses and may itself hold spaces or
 * parentheses, so fields are counted from the last ')'.
 */
export function parseStatTimes(text: string): { utimeTicks: number; stimeTicks: number } {
  const close = text.lastIndexOf(")");
  if (close < 0) throw new Error("unexpected /proc/PID/stat format: no ')'");
  // After ')': field 3 (state) is index 0, so field k is index k - 3.
  const f = text.slice(close + 2).trim().split(/\s+/);
  const utimeTicks = Number(f[14 - 3]);
  const stimeTicks = Number(f[15 - 3]);
  if (!Number.isFinite(utimeTicks) || !Number.isFinite(stimeTicks)) throw new Error("unexpected /proc/PID/stat format: no utime/stime");
  return { utimeTicks, stimeTicks };
}

/** Counts open descriptors of a process. */
export function countFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/**
 * A snapshot of a live process. Throws (ENOENT) when the process is gone and
 * (EACCES) when it belongs to another user and we are not root.
 */
export function readProcStat(pid: number): ProcStat {
  const status = parseStatus(readFileSync(`/proc/${pid}/status`, "utf8"));
  const { utimeTicks, stimeTicks } = parseStatTimes(readFileSync(`/proc/${pid}/stat`, "utf8"));
  const msPerTick = 1000 / clockTicksPerSecond();
  return {
    fds: countFds(pid),
    rssKiB: status.VmRSS ?? 0,
    hwmKiB: status.VmHWM ?? 0,
    voluntaryCtxt: status.voluntary_ctxt_switches ?? 0,
    involuntaryCtxt: status.nonvoluntary_ctxt_switches ?? 0,
    utimeMs: utimeTicks * msPerTick,
    stimeMs: stimeTicks * msPerTick,
    threads: status.Threads ?? 0,
  };
}

/** b - a for the counters (fds, memory and threads as the difference of the two snapshots). */
export function diffProcStat(a: ProcStat, b: ProcStat): ProcStat {
  return {
    fds: b.fds - a.fds,
    rssKiB: b.rssKiB - a.rssKiB,
    hwmKiB: b.hwmKiB - a.hwmKiB,
    voluntaryCtxt: b.voluntaryCtxt - a.voluntaryCtxt,
    involuntaryCtxt: b.involuntaryCtxt - a.involuntaryCtxt,
    utimeMs: b.utimeMs - a.utimeMs,
    stimeMs: b.stimeMs - a.stimeMs,
    threads: b.threads - a.threads,
  };
}

/**
 * The pid of the process listening on a TCP port of this host, found as `ss
 * -ltnp` does: the socket's inode from /proc/net/tcp{,6}, then the process
 * holding a descriptor to it. Null when nothing here listens on it, or the
 * owner cannot be seen (another user's process, without root).
 */
export function listeningPid(port: number): number | null {
  const inodes = new Set<string>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(f, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== "0A") continue; // 0A: LISTEN
      const local = cols[1];
      if (parseInt(local.slice(local.lastIndexOf(":") + 1), 16) === port) inodes.add(cols[9]);
    }
  }
  if (!inodes.size) return null;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = readlinkSync(`/proc/${pid}/fd/${fd}`).match(/^socket:\[(\d+)\]$/);
        if (m && inodes.has(m[1])) return Number(pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  return null;
}
