// What the sweep's parts (sweep.ts, capacity.ts, idle.ts) get from the run:
// the servers, how to pause the others, the stall probe and where to report.
import type { ServerHandle } from "../server/process.ts";
import type { GatePair } from "../verdict/gate.ts";
import type { Progress } from "./progress.ts";
import type { StallProbe } from "./rounds.ts";

export interface SweepContext {
  backends: string[];
  servers: Map<string, ServerHandle>;
  pairs: GatePair[];
  focus(keep: ServerHandle[] | undefined): void;
  probe: StallProbe;
  progress: Progress;
  seed: number;
  quick: boolean;
  stallBoundMs: number;
  maxRepeats: number;
  log(msg: string): void;
  warnings: string[];
}
