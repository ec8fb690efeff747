// What one server process did over an interval, read on its own host: the
// CPU of all its threads (user/system), context switches, descriptors and
// memory at the end, steal time and hiccups on the CPUs watched, and in the
// untimed counting pass its system calls (perf). One implementation for both
// sides: the bench reads a server on its own host with it, and `serve`'s
// control channel reads its backends with it and sends the figures as JSON
// (bench/server/control-server.ts), so a remote server's costs come from the
// same code as a local one's. No clock is shared: every interval is timed on
// the host that reads it.
import { PerfMeter, ProcMeter, resourcesOnceFdsAtMost, type CostSample, type ResourceSnapshot } from "./accounting.ts";
import type { HiccupMeter } from "./hiccup.ts";
import { StealWatch } from "./quiet.ts";

/** What the stall watch saw over one interval, in ms. */
export interface StallReading {
  stealMs: number;
  hiccupMs: number;
  /** The hiccup meter's worst lateness per watched CPU, ms. */
  hiccupByCpu?: Record<number, number>;
}

/** A CostSample's counters without the requests (the server does not know them; the client divides). */
export type CpuCounters = Omit<CostSample, "requests">;

/** One interval of one server process, as serve's control channel sends it (JSON, these field names). */
export interface IntervalFigures {
  pid: number;
  /** The interval's length on the reading host's clock, ms. */
  wallMs: number;
  cpu: CpuCounters;
  /** Descriptors and memory at the end, when asked for. */
  resources?: ResourceSnapshot | null;
  /** Steal time and hiccups on the watched CPUs, when CPUs are watched. */
  stall?: StallReading;
  /** The counting pass: system calls over the interval (null: not counted, see syscallsNote). */
  syscalls?: number | null;
  syscallsNote?: string;
}

/** The cost sample of an interval that carried `requests` requests. */
export function costSample(f: IntervalFigures, requests: number): CostSample {
  const { cpuNs, utimeTicks, stimeTicks, voluntaryCtxt, involuntaryCtxt } = f.cpu;
  return { requests, cpuNs, utimeTicks, stimeTicks, voluntaryCtxt, involuntaryCtxt };
}

/**
 * Steal time (/proc/stat) and hiccups (a sleeping thread's lateness) on a
 * set of CPUs, over intervals that may overlap: the hiccup meter resets on
 * every read, so each read is folded into every interval still open.
 */
export class CpuStallWatch {
  #open = new Set<Map<number, number>>();
  constructor(
    readonly cpus: readonly number[],
    readonly hiccups?: HiccupMeter,
  ) {}

  #fold(): void {
    if (!this.hiccups) return;
    for (const h of this.hiccups.read()) for (const late of this.#open) late.set(h.cpu, Math.max(late.get(h.cpu) ?? 0, h.maxLateUs / 1000));
  }

  /** Starts an interval on these CPUs (default: all watched); the function returned ends it and says what it saw. */
  start(only: readonly number[] = this.cpus): () => StallReading {
    // What the meter saw until now belongs to the intervals already open.
    this.#fold();
    const late = new Map<number, number>();
    this.#open.add(late);
    const steal = StealWatch.start(only);
    return () => {
      this.#fold();
      this.#open.delete(late);
      const mine = [...late].filter(([cpu]) => only.includes(cpu));
      return { stealMs: steal.stop().maxMs, hiccupMs: Math.max(0, ...mine.map(([, ms]) => ms)), hiccupByCpu: Object.fromEntries(mine) };
    };
  }
}

export interface IntervalOptions {
  /** Count system calls with perf (the untimed counting pass only: perf slows the server). */
  perf?: boolean;
  /** Read descriptors and memory at the end. */
  resources?: boolean;
  /** Watch steal time and hiccups over the interval, on these CPUs of the watch (default: all it watches). */
  stalls?: { watch: CpuStallWatch; cpus?: readonly number[] };
}

/** One interval on one process: begin() before the first measured request, end() after the last. */
export class PidInterval {
  #cpu: ProcMeter;
  #perf?: PerfMeter;
  #stalls?: () => StallReading;
  #t0 = 0;
  constructor(
    readonly pid: number,
    readonly opts: IntervalOptions = {},
  ) {
    this.#cpu = new ProcMeter(pid);
  }

  async begin(): Promise<void> {
    // perf takes milliseconds to start: before the interval's first reading, not inside it.
    if (this.opts.perf) {
      this.#perf = new PerfMeter(this.pid);
      await this.#perf.begin();
    }
    this.#stalls = this.opts.stalls?.watch.start(this.opts.stalls.cpus);
    this.#t0 = performance.now();
    this.#cpu.begin();
  }

  async end(): Promise<IntervalFigures> {
    this.#cpu.end(0);
    const wallMs = performance.now() - this.#t0;
    const stall = this.#stalls?.();
    if (!this.#cpu.sample) throw new Error("interval ended before it began");
    const { requests: _none, ...cpu } = this.#cpu.sample;
    const out: IntervalFigures = { pid: this.pid, wallMs, cpu };
    if (stall) out.stall = stall;
    if (this.#perf) {
      await this.#perf.end(0);
      out.syscalls = this.#perf.count;
      if (this.#perf.note) out.syscallsNote = this.#perf.note;
    }
    if (this.opts.resources) out.resources = (await resourcesOnceFdsAtMost(this.pid, undefined, 1)) ?? null;
    return out;
  }
}

/**
 * A server's figures, wherever they are read: "local" from this host's /proc
 * (a server of this run, or yours found by its port), "server-host" from
 * `serve`'s control channel on the host it runs on.
 */
export interface ServerAccounting {
  readonly where: "local" | "server-host";
  /** An interval on the server's process; with perf, its system calls too. */
  interval(opts?: { perf?: boolean }): { begin(): Promise<void>; end(): Promise<IntervalFigures> };
  /** Descriptors and memory, once its descriptors are back to at most `fdsAtMost` (polled every 20 ms, `tries` times at most). */
  resources(fdsAtMost?: number | null, tries?: number): Promise<ResourceSnapshot | null>;
}

/** The accounting of a process on this host. */
export function localAccounting(pid: number): ServerAccounting {
  return {
    where: "local",
    interval: (o) => new PidInterval(pid, { perf: o?.perf }),
    resources: (fds, tries = 1) => resourcesOnceFdsAtMost(pid, fds, tries),
  };
}
