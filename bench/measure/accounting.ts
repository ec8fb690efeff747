// What a server spends per request: CPU (all of its threads, so SQPOLL's
// kernel thread counts too), context switches, and in a separate counting
// pass the system calls (perf). Scenarios call a Meter around exactly their
// measured interval; timed passes only read /proc, and perf never runs while
// anything is being timed.
import { closeSync, constants, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clockTicksPerSecond, parseStatTimes, parseStatus, readProcStat } from "./procstat.ts";

/** Counters of a whole process, summed over its threads where the kernel keeps them per thread. */
export interface CpuSnapshot {
  /** Time on CPU of every current thread, ns (/proc/PID/task/TID/schedstat). */
  cpuNs: number;
  /** utime/stime of the thread group, clock ticks (coarse; used for the user/system split). */
  utimeTicks: number;
  stimeTicks: number;
  voluntaryCtxt: number;
  involuntaryCtxt: number;
}

export function cpuSnapshot(pid: number): CpuSnapshot {
  let cpuNs = 0, vol = 0, invol = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      cpuNs += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      const st = parseStatus(readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8"));
      vol += st.voluntary_ctxt_switches ?? 0;
      invol += st.nonvoluntary_ctxt_switches ?? 0;
    } catch {
      // the thread exited between the listing and the read
    }
  }
  const { utimeTicks, stimeTicks } = parseStatTimes(readFileSync(`/proc/${pid}/stat`, "utf8"));
  return { cpuNs, utimeTicks, stimeTicks, voluntaryCtxt: vol, involuntaryCtxt: invol };
}

/** Raw differences over one measured interval (kept per round, summed per backend). */
export interface CostSample {
  requests: number;
  cpuNs: number;
  utimeTicks: number;
  stimeTicks: number;
  voluntaryCtxt: number;
  involuntaryCtxt: number;
}

export function costBetween(a: CpuSnapshot, b: CpuSnapshot, requests: number): CostSample {
  return {
    requests,
    cpuNs: b.cpuNs - a.cpuNs,
    utimeTicks: b.utimeTicks - a.utimeTicks,
    stimeTicks: b.stimeTicks - a.stimeTicks,
    voluntaryCtxt: b.voluntaryCtxt - a.voluntaryCtxt,
    involuntaryCtxt: b.involuntaryCtxt - a.involuntaryCtxt,
  };
}

/** Per-request figures of one backend in one variant (JSON field names as documented in the README). */
export interface RequestCosts {
  requests: number;
  cpu_us: number;
  /** User and system parts of cpu_us, split by the tick counts of all rounds together. */
  user_us: number;
  sys_us: number;
  vol_ctx: number;
  invol_ctx: number;
  /** System calls per request from the counting pass; null when it could not count (see syscalls_note). */
  syscalls: number | null;
  syscalls_note?: string;
  /** Set when the figures were read on the server's own host (serve's control channel), not on the client's. */
  measured_on?: "server-host";
}

export function perRequest(samples: CostSample[]): RequestCosts {
  const sum = samples.reduce(
    (s, c) => ({
      requests: s.requests + c.requests,
      cpuNs: s.cpuNs + c.cpuNs,
      utimeTicks: s.utimeTicks + c.utimeTicks,
      stimeTicks: s.stimeTicks + c.stimeTicks,
      voluntaryCtxt: s.voluntaryCtxt + c.voluntaryCtxt,
      involuntaryCtxt: s.involuntaryCtxt + c.involuntaryCtxt,
    }),
    { requests: 0, cpuNs: 0, utimeTicks: 0, stimeTicks: 0, voluntaryCtxt: 0, involuntaryCtxt: 0 },
  );
  const n = sum.requests || NaN;
  const cpu = sum.cpuNs / 1000 / n;
  const ticks = sum.utimeTicks + sum.stimeTicks;
  const userShare = ticks > 0 ? sum.utimeTicks / ticks : NaN;
  return {
    requests: sum.requests,
    cpu_us: cpu,
    user_us: cpu * userShare,
    sys_us: cpu * (1 - userShare),
    vol_ctx: sum.voluntaryCtxt / n,
    invol_ctx: sum.involuntaryCtxt / n,
    syscalls: null,
    syscalls_note: "not counted",
  };
}

/** A unit is client-bound when the client thread was busy at least this share of the measured interval: its figure may be the client's limit. */
export const CLIENT_BOUND_UTIL = 0.9;

/** Marks the measured interval of one variant: begin() before the first timed request, end(n) after the last. */
export interface Meter {
  begin(): Promise<void> | void;
  end(requests: number): Promise<void> | void;
}

export const NO_METER: Meter = { begin() {}, end() {} };

/** A meter for timed passes: two /proc reads, nothing that disturbs the server. */
export class ProcMeter implements Meter {
  #start?: CpuSnapshot;
  sample?: CostSample;
  constructor(readonly pid: number) {}
  begin(): void {
    this.#start = cpuSnapshot(this.pid);
  }
  end(requests: number): void {
    if (!this.#start) return;
    this.sample = costBetween(this.#start, cpuSnapshot(this.pid), requests);
  }
}

export interface PerfAvailability {
  ok: boolean;
  reason?: string;
}

let perfChecked: PerfAvailability | undefined;

/** Whether `perf stat -e raw_syscalls:sys_enter` works here (Debian linux-perf, tracefs, permissions). */
export function perfAvailable(): PerfAvailability {
  if (perfChecked) return perfChecked;
  try {
    const r = Bun.spawnSync(["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "--", "true"], { stdout: "pipe", stderr: "pipe", timeout: 10000 });
    const err = r.stderr.toString();
    if (r.exitCode === 0 && /raw_syscalls:sys_enter/.test(err) && !/not supported|<not counted>/.test(err)) perfChecked = { ok: true };
    else {
      // perf ends with its usage text; the line that says why is its "Error:" (permissions, tracefs).
      const lines = err.trim().split("\n").map((l) => l.trim());
      const why = lines.find((l) => /^Error:/.test(l))?.replace(/^Error:\s*/, "") ?? lines.find((l) => /permission|not supported|can't access/i.test(l)) ?? (lines[0] || `exit ${r.exitCode}`);
      perfChecked = { ok: false, reason: `perf cannot count raw_syscalls:sys_enter: ${why}` };
    }
  } catch {
    perfChecked = { ok: false, reason: "perf not installed (Debian: apt-get install linux-perf)" };
  }
  return perfChecked;
}

/**
 * A meter for the counting pass: `perf stat` attached to the server, started
 * disabled (-D -1) and switched on and off through its control FIFO exactly at
 * begin() and end(), so the idle wake-ups before and after are not counted.
 * The result is the count (and per request, given the requests), or the
 * reason it could not be counted.
 */
export class PerfMeter implements Meter {
  #proc?: ReturnType<typeof Bun.spawn>;
  #dir?: string;
  #ctl = -1;
  #ack = -1;
  /** System calls counted over the interval (null: not counted; see note). */
  count: number | null = null;
  /** count / requests, when end() was given the requests. */
  syscallsPerRequest: number | null = null;
  note?: string;
  constructor(readonly pid: number) {}

  /** Sends a control command and waits (at most 3 s) for perf's "ack". */
  async #command(cmd: string): Promise<boolean> {
    writeSync(this.#ctl, `${cmd}\n`);
    const buf = Buffer.alloc(64);
    const deadline = Date.now() + 3000;
    while (Date.now() < deadline) {
      try {
        if (readSync(this.#ack, buf, 0, buf.length, null) > 0) return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return false;
      }
      await Bun.sleep(2);
    }
    return false;
  }

  async begin(): Promise<void> {
    const avail = perfAvailable();
    if (!avail.ok) {
      this.note = avail.reason;
      return;
    }
    this.#dir = mkdtempSync(join(tmpdir(), "iob-perf-"));
    const ctl = join(this.#dir, "ctl"), ack = join(this.#dir, "ack");
    Bun.spawnSync(["mkfifo", ctl, ack]);
    // Read-write, non-blocking opens: neither waits for perf, so a perf that fails cannot hang us.
    this.#ctl = openSync(ctl, constants.O_RDWR | constants.O_NONBLOCK);
    this.#ack = openSync(ack, constants.O_RDWR | constants.O_NONBLOCK);
    this.#proc = Bun.spawn(
      ["perf", "stat", "-x,", "-e", "raw_syscalls:sys_enter", "-p", String(this.pid), "-D", "-1", "--control", `fifo:${ctl},${ack}`, "-o", join(this.#dir, "out")],
      { stdout: "ignore", stderr: "pipe" },
    );
    if (!(await this.#command("enable"))) this.note = "perf did not acknowledge 'enable' on its control FIFO";
  }

  async end(requests: number): Promise<void> {
    if (!this.#proc || !this.#dir) return;
    const disabled = await this.#command("disable");
    this.#proc.kill("SIGINT");
    await this.#proc.exited;
    try {
      const text = readFileSync(join(this.#dir, "out"), "utf8");
      const line = text.split("\n").find((l) => l.includes("raw_syscalls:sys_enter"));
      const count = line ? Number(line.split(",")[0]) : NaN;
      if (!this.note && disabled && Number.isFinite(count)) {
        this.count = count;
        if (requests > 0) this.syscallsPerRequest = count / requests;
      } else this.note ??= `perf gave no count (${line ?? text.trim().slice(0, 120)})`;
    } catch (e) {
      this.note = `perf output unreadable: ${(e as Error).message}`;
    } finally {
      closeSync(this.#ctl);
      closeSync(this.#ack);
      rmSync(this.#dir, { recursive: true, force: true });
    }
  }
}

/** Open descriptors and memory of a server, read before and after a scenario. */
export interface ResourceSnapshot {
  fds: number;
  rssKiB: number;
  peakRssKiB: number;
}

export function resourceSnapshot(pid: number): ResourceSnapshot | null {
  try {
    const p = readProcStat(pid);
    return { fds: p.fds, rssKiB: p.rssKiB, peakRssKiB: p.hwmKiB };
  } catch {
    return null;
  }
}

/**
 * A process's resources once its descriptors are back to at most `fds` (it sees its peers' closes
 * asynchronously), polling every 20 ms up to `tries` times; the last snapshot either way.
 */
export async function resourcesOnceFdsAtMost(pid: number, fds: number | null | undefined, tries: number): Promise<ResourceSnapshot | null> {
  for (let i = 0; ; i++) {
    const r = resourceSnapshot(pid);
    if (!r || fds === null || fds === undefined || r.fds <= fds || i + 1 >= tries) return r;
    await Bun.sleep(20);
  }
}

export { clockTicksPerSecond };
