// Scenario 4, latency percentiles under load: an open-loop load at one fixed
// rate for every backend, over C connections. The rate defaults to half the
// lowest capacity among the compared backends, found by a short closed-loop
// calibration, so every backend runs below saturation and the comparison is
// of latency, not of who saturates first. Latency counts from each request's
// intended send time (a stalled server cannot hide the requests it delayed);
// the figure from the actual send time is kept beside it.
import { addErrors, errorCount } from "../results/errors.ts";
import { LoadClient } from "../clients/load.ts";
import { median, summarize } from "../stats/stats.ts";
import type { Scenario, ScenarioEnv } from "./types.ts";

export interface LoadLatencyOptions {
  connections: number;
  payload: number;
  /** Requests per second; undefined: half the lowest calibrated capacity. */
  rate?: number;
  durationMs: number;
  calibrationMessages: number;
  timeoutMs: number;
}

interface State {
  rate: number;
  total: number;
  maxInFlight: number;
  capacities: Record<string, number>;
}

/**
 * Capacity (msg/s) of one server for this load's shape: C connections with one
 * request in flight each. Deeper windows let servers batch many requests per
 * system call, which open-loop arrivals spread in time rarely allow, so a
 * capacity measured that way would put the open loop near saturation.
 */
function capacity(env: ScenarioEnv, backend: string, o: LoadLatencyOptions): number {
  const server = env.servers.get(backend);
  if (!server || server.exited) return NaN;
  env.focus(backend);
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

const DEFAULTS: LoadLatencyOptions = { connections: 8, payload: 100, durationMs: 500, calibrationMessages: 2000, timeoutMs: 5000 };

export const latencyUnderLoad: Scenario<LoadLatencyOptions, State> = {
  slug: "latency-under-load",
  number: 4,
  title: "Latency percentiles under load",
  defaults: DEFAULTS,
  quick: { connections: 8, payload: 100, durationMs: 300, calibrationMessages: 800, timeoutMs: 5000 },
  budgetWeight: 4,
  flags: {
    connections: { type: "int", help: `connections of the open-loop load (latency-under-load; default ${DEFAULTS.connections})`, min: 1, max: 10000, placeholder: "C", option: "connections" },
    rate: { type: "number", help: "open-loop rate, requests/s (latency-under-load; default: half the lowest capacity)", min: 1, placeholder: "R", option: "rate" },
  },
  report: { layout: "open-loop", distribution: "open-loop latency from intended send time" },
  async prepare(env, o) {
    const capacities: Record<string, number> = {};
    let rate = o.rate;
    if (rate === undefined) {
      for (const b of env.backends) {
        try {
          capacities[b] = capacity(env, b, o);
        } catch (e) {
          env.log(`scenario 4: calibration of ${b}: ${(e as Error).message}`);
          capacities[b] = NaN;
        }
      }
      const ok = Object.values(capacities).filter(Number.isFinite);
      if (ok.length === 0) return { state: { rate: 0, total: 0, maxInFlight: 0, capacities }, variants: [], failure: "calibration failed on every backend" };
      rate = Math.max(100, Math.floor(Math.min(...ok) / 2));
      env.log(`scenario 4: capacity ${Object.entries(capacities).map(([b, c]) => `${b} ${Math.round(c)}/s`).join(", ")}; rate ${rate}/s`);
    }
    const total = Math.max(50, Math.round((rate * o.durationMs) / 1000));
    return {
      // The most one connection may have outstanding: a second's worth of its share.
      state: { rate, total, maxInFlight: Math.max(64, Math.ceil(rate / o.connections)), capacities },
      variants: [
        {
          key: "open-loop",
          label: `open loop at ${rate} req/s over ${o.connections} connections, ${o.payload}-byte payload`,
          params: { ...o, rate, requests: total },
          metric: "p50 latency (from intended send time), µs",
          higherIsBetter: false,
        },
      ],
    };
  },
  async unit(_env, o, st, { backend, server, round, meter, keep }) {
    using lc = new LoadClient(server, o.connections, o.payload, st.maxInFlight, o.timeoutMs);
    const warm = lc.runClosed(50, 4);
    const m = meter("open-loop");
    await m.begin();
    const r = lc.runOpen(st.total, st.rate);
    await m.end(r.completed);
    const errors = { ...warm.errors };
    addErrors(errors, r.errors);
    keep("open-loop", r.latencyNs);
    keep("open-loop", r.uncorrectedNs!, "uncorrected");
    const lag = summarize(r.sendLagNs!, 1e-3);
    const cap = st.capacities[backend];
    return {
      "open-loop": {
        round,
        latency: summarize(r.latencyNs, 1e-3),
        uncorrected: summarize(r.uncorrectedNs!, 1e-3),
        throughput: r.throughput,
        errors,
        extra: { rate_per_s: st.rate, achieved_per_s: r.throughput, client_lag_p50_us: lag.p50, client_lag_p99_us: lag.p99, ...(cap ? { capacity_per_s: cap } : {}) },
      },
    };
  },
};
