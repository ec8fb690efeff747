// What the core-scaling sweep says: each backend's figures at each server core
// count (as the connection sweep reads them) and its scaling efficiency,
// throughput at N cores over N times the throughput at the reference count.
// The counts are measured one after the other with their own server
// processes, so their rounds are independent samples: the efficiency's
// interval is a Welch t interval on the logs of the rounds' throughput (the
// ratio of geometric means), divided by the core ratio. Pure.
import { welchLogInterval } from "../stats/welch.ts";
import type { ScenarioResult } from "../results/schema.ts";
import type { ScalingBackend, ScalingPoint } from "../results/core-scaling-schema.ts";
import { backendFigures } from "./sweep.ts";

/** One count as measured: where it ran, and its scenario result. */
export type ScalingInput = Omit<ScalingPoint, "backends"> & { result: ScenarioResult };

/** The efficiency at `cores` of rounds `at` against rounds `ref` measured at `refCores`: linear scaling is 1. */
export function scalingEfficiency(ref: number[], at: number[], refCores: number, cores: number, confidence = 0.95): { efficiency: number | null; ci: [number, number] | null } {
  const w = welchLogInterval(ref, at, confidence);
  if (!w) return { efficiency: null, ci: null };
  const k = refCores / cores;
  return { efficiency: Math.exp(w.meanLogRatio) * k, ci: [Math.exp(w.loLog) * k, Math.exp(w.hiLog) * k] };
}

/** The reference count: 1 core when measured without sharing, else the fewest cores measured without sharing (else the fewest). */
export function referenceCores(inputs: readonly Pick<ScalingInput, "cores" | "shared">[]): number | null {
  const own = inputs.filter((i) => !i.shared).map((i) => i.cores);
  const pool = own.length ? own : inputs.map((i) => i.cores);
  return pool.length ? Math.min(...pool) : null;
}

/** Every count's figures with each backend's efficiency against the reference count. */
export function scalingPoints(inputs: readonly ScalingInput[], confidence = 0.95): { points: ScalingPoint[]; reference: number | null } {
  const reference = referenceCores(inputs);
  const refInput = inputs.find((i) => i.cores === reference);
  const points = inputs.map((x): ScalingPoint => {
    const backends = x.result.variants.flatMap((v) => v.backends).map((b): ScalingBackend => {
      const fig = backendFigures(b, x.connections);
      const ref = refInput?.result.variants.flatMap((v) => v.backends).find((r) => r.backend === b.backend);
      const refFig = ref ? backendFigures(ref, refInput!.connections) : undefined;
      const usable = refFig && refFig.throughput !== null && fig.throughput !== null && !refFig.failure && !fig.failure;
      const e = usable ? scalingEfficiency(refFig.rounds_throughput, fig.rounds_throughput, reference!, x.cores, confidence) : { efficiency: null, ci: null };
      return { ...fig, efficiency: e.efficiency, efficiency_ci: e.ci };
    });
    return { cores: x.cores, server_cpus: x.server_cpus, client_cpus: x.client_cpus, client_threads: x.client_threads, shared: x.shared, connections: x.connections, backends };
  });
  return { points, reference };
}

export interface PlacedCount {
  cores: number;
  server: number[];
  client: number[];
  shared: boolean;
}

/**
 * Which counts a machine can measure: n server CPUs (the first n this
 * process may use) and at least one more for the client (the rest); with
 * `shared`, a count that leaves none runs with the client on every CPU,
 * the server's included (marked: not a scaling figure). The rest are left
 * out, each with the reason.
 */
export function placeCounts(counts: readonly number[], allowed: readonly number[], shared: boolean): { placed: PlacedCount[]; leftOut: { cores: number; why: string }[] } {
  const placed: PlacedCount[] = [];
  const leftOut: { cores: number; why: string }[] = [];
  const m = allowed.length;
  for (const n of [...new Set(counts)].sort((a, b) => a - b)) {
    if (n > m) leftOut.push({ cores: n, why: `this process may use ${m} CPU${m > 1 ? "s" : ""}` });
    else if (n < m) placed.push({ cores: n, server: allowed.slice(0, n), client: allowed.slice(n), shared: false });
    else if (shared) placed.push({ cores: n, server: [...allowed], client: [...allowed], shared: true });
    else leftOut.push({ cores: n, why: `${n} server CPUs leave none of the ${m} for the load client (--sweep-cores-shared measures it with client and server sharing CPUs, marked)` });
  }
  return { placed, leftOut };
}
