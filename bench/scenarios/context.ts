// What every scenario receives: the running servers, the rounds to make, and where to log.
import type { ServerHandle, ServerProcess } from "../server/process.ts";

export interface RunContext {
  /** Backends to measure, in the order each round visits them. */
  backends: string[];
  servers: Map<string, ServerHandle>;
  baseline: string;
  rounds: number;
  quick: boolean;
  seed: number;
  host: string;
  /** Client choice for scenario 1: the TypeScript loop, or the C reference loop. */
  client: "ts" | "c";
  log: (msg: string) => void;
  /** Run the untimed perf pass that counts system calls per request after each scenario's rounds. */
  countSyscalls: boolean;
  /** Starts another server of a backend (e.g. in order mode), placed like the others. */
  spawnServer: (backend: string, mode: string) => Promise<ServerProcess>;
}
