// Scenario 4, latency percentiles under load: an open-loop load at one fixed
// rate for every backend, over C connections. The rate defaults to half the
// lowest capacity among the compared backends, found by a short closed-loop
// calibration, so every backend runs below saturation and the comparison is
// of latency, not of who saturates first. Latency counts from each request's
// intended send time (a stalled server cannot hide the requests it delayed);
// the figure from the actual send time is kept beside it.
import { addErrors, errorCount } from "../clients/ping-pong.ts";
import { LoadClient } from "../clients/load.ts";
import type { ScenarioResult } from "../results/schema.ts";
import { median, summarize } from "../measure/stats.ts";
import type { RunContext } from "./context.ts";
import { anyErrors, finish, keepSamples, newVariant, runRounds, type RawSamples } from "./common.ts";

export interface LoadLatencyOptions {
  connections: number;
  payload: number;
  /** Requests per second; undefined: half the lowest calibrated capacity. */
  rate?: number;
  durationMs: number;
  calibrationMessages: number;
  timeoutMs: number;
}

export const LOAD_DEFAULTS: LoadLatencyOptions = { connections: 8, payload: 100, durationMs: 2000, calibrationMessages: 2000, timeoutMs: 5000 };
export const LOAD_QUICK: LoadLatencyOptions = { connections: 8, payload: 100, durationMs: 700, calibrationMessages: 800, timeoutMs: 5000 };

/**
 * Capacity (msg/s) of one server for this load's shape: C connections with one
 * request in flight each. Deeper windows let servers batch many requests per
 * system call, which open-loop arrivals spread in time rarely allow, so a
 * capacity measured that way would put the open loop near saturation.
 */
function capacity(ctx: RunContext, backend: string, o: LoadLatencyOptions): number {
  const server = ctx.servers.get(backend);
  if (!server || server.exited) return NaN;
  using lc = new LoadClient(server, o.connections, o.payload, 1, o.timeoutMs);
  lc.runClosed(Math.ceil(o.calibrationMessages / 4 / o.connections), 1);
  const runs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = lc.runClosed(Math.ceil(o.calibrationMessages / o.connections), 1);
    if (errorCount(r.errors) > 0) return NaN;
    runs.push(r.throughput);
  }
  return median(runs);
}

export async function latencyUnderLoad(ctx: RunContext, o: LoadLatencyOptions, raw: RawSamples = new Map()): Promise<ScenarioResult> {
  const capacities: Record<string, number> = {};
  let rate = o.rate;
  if (rate === undefined) {
    for (const b of ctx.backends) {
      try {
        capacities[b] = capacity(ctx, b, o);
      } catch (e) {
        ctx.log(`scenario 4: calibration of ${b}: ${(e as Error).message}`);
        capacities[b] = NaN;
      }
    }
    const ok = Object.values(capacities).filter(Number.isFinite);
    if (ok.length === 0) return { id: 4, name: "Latency percentiles under load", status: "failed", note: "calibration failed on every backend", variants: [] };
    rate = Math.max(100, Math.floor(Math.min(...ok) / 2));
    ctx.log(`scenario 4: capacity ${Object.entries(capacities).map(([b, c]) => `${b} ${Math.round(c)}/s`).join(", ")}; rate ${rate}/s`);
  }
  const total = Math.max(50, Math.round((rate * o.durationMs) / 1000));
  const v = newVariant(ctx, "open-loop", `open loop at ${rate} req/s over ${o.connections} connections, ${o.payload}-byte payload`, { ...o, rate, requests: total }, "p50 latency (from intended send time), µs", false);
  const rawU: RawSamples = new Map();
  // The most one connection may have outstanding: a second's worth of its share.
  const maxInFlight = Math.max(64, Math.ceil(rate / o.connections));
  const acct = await runRounds(ctx, 4, [v], async (backend, server, round, meter) => {
    using lc = new LoadClient(server, o.connections, o.payload, maxInFlight, o.timeoutMs);
    const warm = lc.runClosed(50, 4);
    const m = meter(v.key);
    await m.begin();
    const r = lc.runOpen(total, rate!);
    await m.end(r.completed);
    const errors = { ...warm.errors };
    addErrors(errors, r.errors);
    keepSamples(raw, v.key, backend, r.latencyNs, round);
    keepSamples(rawU, v.key, backend, r.uncorrectedNs!, round);
    const lag = summarize(r.sendLagNs!, 1e-3);
    return {
      "open-loop": {
        round,
        latency: summarize(r.latencyNs, 1e-3),
        uncorrected: summarize(r.uncorrectedNs!, 1e-3),
        throughput: r.throughput,
        errors,
        extra: { rate_per_s: rate!, achieved_per_s: r.throughput, client_lag_p50_us: lag.p50, client_lag_p99_us: lag.p99, ...(capacities[backend] ? { capacity_per_s: capacities[backend] } : {}) },
      },
    };
  });
  finish(ctx, [v], acct, raw, rawU);
  return { id: 4, name: "Latency percentiles under load", status: "ok", note: anyErrors([v]) ? "errors occurred: see the errors column" : undefined, variants: [v] };
}
