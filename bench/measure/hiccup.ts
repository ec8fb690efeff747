// Hiccups: how late a thread that only sleeps wakes up, on each CPU we care
// about (c/hiccup.c). A wake-up late by tens of ms means the vCPU was not
// running (a hypervisor stall; StealWatch in quiet.ts confirms it at 10 ms
// resolution); a timed unit that saw one should be flagged or repeated.
import { HiccupThread } from "../../ffi/hiccup.ts";

export interface CpuHiccups {
  cpu: number;
  /** Latest single wake-up since the previous read, µs. */
  maxLateUs: number;
  /** Wake-ups since the previous read (about elapsed / period). */
  wakes: number;
  /** Wake-ups late by more than 1 ms. */
  lateOver1ms: number;
  /** Sum of the lateness of those wake-ups, µs. */
  lateOver1msTotalUs: number;
}

/** 5 ms: the thread wakes on the CPU of the server being measured, so it wakes rarely. */
export const DEFAULT_HICCUP_PERIOD_US = 5000;

/** One meter thread per CPU, started now; `using m = new HiccupMeter([0, 1])` stops them at scope end. */
export class HiccupMeter {
  readonly cpus: readonly number[];
  readonly periodUs: number;
  #threads: HiccupThread[] = [];

  /** Throws SysError naming hic_start when a CPU is not online; threads already started are stopped. */
  constructor(cpus: number[], periodUs = DEFAULT_HICCUP_PERIOD_US) {
    this.cpus = [...cpus];
    this.periodUs = periodUs;
    try {
      for (const cpu of cpus) this.#threads.push(new HiccupThread(cpu, periodUs));
    } catch (e) {
      this.stop();
      throw e;
    }
  }

  /** Counters of each CPU since the previous read (or the start); reading resets them. */
  read(): CpuHiccups[] {
    return this.#threads.map((t) => {
      const c = t.read();
      return {
        cpu: t.cpu,
        maxLateUs: c.maxLateNs / 1000,
        wakes: c.wakes,
        lateOver1ms: c.lateOver1ms,
        lateOver1msTotalUs: c.lateOver1msTotalNs / 1000,
      };
    });
  }

  /** Stops and joins every thread (up to one period). Idempotent. */
  stop(): void {
    const threads = this.#threads;
    this.#threads = [];
    let first: unknown;
    for (const t of threads) {
      try {
        t.stop();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }

  [Symbol.dispose](): void {
    this.stop();
  }
}
