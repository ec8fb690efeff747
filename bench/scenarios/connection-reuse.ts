// Scenario 3, connection reuse impact: N requests of 100 bytes each made on a
// new connection (connect, one round trip, close) against the same N on one
// reused connection. Time per request for each, connect time, and their ratio.
import { countError, PingPongClient } from "../clients/ping-pong.ts";
import { errorCount, noErrors } from "../results/errors.ts";
import { summarize } from "../stats/stats.ts";
import type { Scenario } from "./types.ts";

export interface ReuseOptions {
  requests: number;
  payload: number;
  warmup: number;
  timeoutMs: number;
}

interface State {
  perRequest: Float64Array;
  connectNs: Float64Array;
}

export const connectionReuse: Scenario<ReuseOptions, State> = {
  slug: "connection-reuse",
  number: 3,
  title: "Connection reuse impact",
  defaults: { requests: 1000, payload: 100, warmup: 100, timeoutMs: 2000 },
  quick: { requests: 300, payload: 100, warmup: 50, timeoutMs: 2000 },
  budgetWeight: 1,
  report: { layout: "connection-reuse" },
  async prepare(_env, o) {
    return {
      state: { perRequest: new Float64Array(o.requests), connectNs: new Float64Array(o.requests) },
      variants: [
        { key: "new-connection", label: `${o.requests} requests, each on a new connection (connect, round trip, close)`, params: { ...o }, metric: "p50 time per request, µs", higherIsBetter: false },
        { key: "reused-connection", label: `${o.requests} requests on one reused connection`, params: { ...o }, metric: "p50 time per request, µs", higherIsBetter: false },
      ],
    };
  },
  async unit(env, o, { perRequest, connectNs }, { server, round, meter, keep }) {
    using client = new PingPongClient(server.host, server.port, o.payload, o.timeoutMs, env.seed + round);
    client.setPayload(o.payload);
    let seq = 0;
    const reusedErrors = noErrors();
    for (let i = 0; i < o.warmup; i++) {
      const t = client.roundTrip(seq++);
      if (t < 0) countError(reusedErrors, t);
    }
    let n = 0;
    const mr = meter("reused-connection");
    await mr.begin();
    for (; n < o.requests && errorCount(reusedErrors) === 0; n++) {
      const t = client.roundTrip(seq++);
      if (t < 0) countError(reusedErrors, t);
      else perRequest[n] = t;
    }
    await mr.end(n);
    const reusedSamples = perRequest.slice(0, n);
    keep("reused-connection", reusedSamples);

    const freshErrors = noErrors();
    let m = 0;
    const mf = meter("new-connection");
    await mf.begin();
    for (; m < o.requests && errorCount(freshErrors) === 0; m++) {
      const t0 = Bun.nanoseconds();
      let c: number;
      try {
        c = client.reconnect();
      } catch {
        freshErrors.io++;
        break;
      }
      const t = client.roundTrip(seq++);
      client.socket.close();
      const t1 = Bun.nanoseconds();
      if (t < 0) countError(freshErrors, t);
      else {
        perRequest[m] = t1 - t0;
        connectNs[m] = c;
      }
    }
    await mf.end(m);
    const freshSamples = perRequest.slice(0, m);
    keep("new-connection", freshSamples);
    const conn = summarize(connectNs.subarray(0, m), 1e-3);
    const freshSummary = summarize(freshSamples, 1e-3);
    const reusedSummary = summarize(reusedSamples, 1e-3);
    return {
      "new-connection": {
        round,
        latency: freshSummary,
        errors: freshErrors,
        extra: { connect_p50_us: conn.p50, connect_p99_us: conn.p99, new_over_reused: freshSummary.p50 / reusedSummary.p50 },
      },
      "reused-connection": { round, latency: reusedSummary, errors: reusedErrors },
    };
  },
};
