// The core-scaling sweep's part of the results (`bench --sweep-cores`): the
// thread-per-core backends at each server core count, the client on the CPUs
// left; each backend's figures as the connection sweep records them, and
// its scaling efficiency.
import type { SweepBackend } from "./sweep-schema.ts";

export interface ScalingBackend extends SweepBackend {
  /**
   * Throughput at this count over `cores` times the throughput at the
   * reference count (1 core when measured; else the fewest measured,
   * scaled): 1 is linear scaling. The ratio of the rounds' geometric means,
   * null without 2 usable rounds at both counts.
   */
  efficiency: number | null;
  /** 95% Welch t interval of the efficiency (the counts' rounds are independent, not paired). */
  efficiency_ci: [number, number] | null;
}

export interface ScalingPoint {
  /** Server cores: the thread-per-core backends run one loop (tokio-mt: one worker) per core. */
  cores: number;
  server_cpus: number[];
  client_cpus: number[];
  client_threads: number;
  /** The client shares CPUs with the server (--sweep-cores-shared): not a scaling figure. */
  shared: boolean;
  connections: number;
  backends: ScalingBackend[];
}

export interface CoreScalingResults {
  /** The counts asked for, and those measured; the others are in left_out with the reason. */
  counts: number[];
  measured: number[];
  left_out: { cores: number; why: string }[];
  /** The core count efficiency is relative to (null: nothing measured). */
  reference_cores: number | null;
  connections_per_core: number;
  window: number;
  payload: number;
  duration_s: number;
  warmup_s: number;
  rounds: number;
  client_bound_util: number;
  method: string;
  points: ScalingPoint[];
  notes: string[];
  /** Whether the idle CPUs were kept polling (PM QoS) while it ran. */
  pm_qos: string;
  elapsed_s: number;
}
