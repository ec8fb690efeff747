// The connection sweep (`bench --sweep`): one scenario per connection count,
// whose variants are every (requests in flight, payload) pair, measured on
// one set of connections that the unit opens and closes. The load is the C
// client (c/loadgen.c through bun:ffi): a closed loop held for a fixed time,
// every answer verified, and the client's own CPU read over the interval, so
// a figure the client limited is marked, not passed off as the server's.
import { CLoadClient, threadFigures, threadOptions } from "../clients/c-load.ts";
import { summarize } from "../stats/stats.ts";
import type { RoundResult } from "../results/schema.ts";
import type { Scenario } from "./types.ts";


export interface SweepOptions {
  connections: number;
  windows: number[];
  payloads: number[];
  /** Measured time per variant, ms, after warmupMs of the same load. */
  durationMs: number;
  warmupMs: number;
  timeoutMs: number;
}

export const SWEEP_DEFAULTS = { connections: [1, 8, 64, 256, 1024, 4096], windows: [1, 8], payloads: [32, 1000], durationMs: 120, warmupMs: 30, rounds: 6 };
export const SWEEP_QUICK = { connections: [1, 64, 1024], windows: [8], payloads: [32], durationMs: 80, warmupMs: 20, rounds: 2 };

export const variantKey = (window: number, payload: number) => `w${window}-p${payload}`;

/** The sweep's scenario at one connection count. */
export function sweepScenario(connections: number): Scenario<SweepOptions, null> {
  return {
    slug: `sweep-${connections}`,
    number: 7,
    title: `Connection sweep: ${connections} connection${connections > 1 ? "s" : ""}`,
    defaults: { connections, windows: SWEEP_DEFAULTS.windows, payloads: SWEEP_DEFAULTS.payloads, durationMs: SWEEP_DEFAULTS.durationMs, warmupMs: SWEEP_DEFAULTS.warmupMs, timeoutMs: 5000 },
    quick: { connections, windows: SWEEP_QUICK.windows, payloads: SWEEP_QUICK.payloads, durationMs: SWEEP_QUICK.durationMs, warmupMs: SWEEP_QUICK.warmupMs, timeoutMs: 5000 },
    budgetWeight: 1,
    report: { layout: "throughput" },
    async prepare(_env, o) {
      return {
        state: null,
        variants: o.windows.flatMap((window) =>
          o.payloads.map((payload) => ({
            key: variantKey(window, payload),
            label: `${o.connections} connections × ${window} in flight, ${payload}-byte payloads`,
            params: { connections: o.connections, window, payload, client: "c" },
            metric: "throughput, msg/s",
            higherIsBetter: true,
          })),
        ),
      };
    },
    // Its latency samples are not kept (no keep()): each round's p99 is all the sweep reads, and
    // copies of every sample of every point would only grow the bench process.
    async unit(env, o, _st, { server, round, meter }) {
      const out: Record<string, RoundResult> = {};
      using lc = new CLoadClient(server, o.connections, Math.max(...o.payloads), Math.max(...o.windows), o.timeoutMs, threadOptions(env.clientThreads, env.clientCpus, o.connections));
      for (const window of o.windows) {
        for (const payload of o.payloads) {
          const key = variantKey(window, payload);
          const m = meter(key);
          await m.begin();
          const r = lc.closed(payload, window, o.warmupMs, o.durationMs);
          // The server's CPU is read around the whole call (warm-up and drain included), so it is
          // divided by every request of the call, not only the measured ones.
          await m.end(r.totalCompleted);
          out[key] = {
            round,
            throughput: r.throughput,
            latency: summarize(r.latencyNs, 1e-3),
            errors: r.errors,
            client_util: r.clientCpuUtil,
            client_threads: threadFigures(r),
            extra: { completed: r.completed, dead_connections: r.deadConnections },
          };
        }
      }
      return out;
    },
  };
}
