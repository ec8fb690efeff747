// What the sweep's parts (sweep.ts, capacity.ts, idle.ts) get from the run:
// the servers, how to pause the others, the stall probe and where to report.
import type { RunWarning } from "../results/warnings.ts";
import type { ServerHandle } from "../server/process.ts";
import type { GatePair } from "../verdict/gate.ts";
import type { Progress } from "./progress.ts";
import type { StallProbe, StallReading } from "./rounds.ts";

export interface SweepContext {
  backends: string[];
  servers: Map<string, ServerHandle>;
  pairs: GatePair[];
  focus(keep: ServerHandle[] | undefined): void;
  probe: StallProbe;
  /** The servers' CPU (null: not pinned): its hiccups are the server's own kernel work, not the platform's. */
  serverCpu: number | null;
  /** The C load client's threads and their CPUs (the placement's client set). */
  clientThreads: number;
  clientCpus: readonly number[];
  progress: Progress;
  seed: number;
  quick: boolean;
  stallBoundMs: number;
  maxRepeats: number;
  log(msg: string): void;
  warnings: RunWarning[];
  /** Fresh server processes before each round (undefined: one process per run). */
  renew?(labels: string[]): Promise<Map<string, Error>>;
}

/**
 * A reading without the server CPU's hiccups: at thousands of busy
 * connections an io_uring server's batched kernel work keeps a real-time
 * thread off its CPU for ms (PREEMPT_NONE kernels), which is the server's
 * doing, not the platform's. Steal time and the other CPUs' hiccups remain.
 */
export function withoutServerCpu(seen: StallReading, serverCpu: number | null): { reading: StallReading; serverMs: number | undefined } {
  const byCpu = seen.hiccupByCpu ?? {};
  const serverMs = serverCpu !== null ? byCpu[serverCpu] : undefined;
  if (serverMs === undefined) return { reading: seen, serverMs };
  const others = Object.entries(byCpu)
    .filter(([cpu]) => Number(cpu) !== serverCpu)
    .map(([, ms]) => ms);
  return { reading: { ...seen, hiccupMs: others.length ? Math.max(...others) : 0 }, serverMs };
}
