// Scenario 3, connection reuse impact: N requests of 100 bytes each made on a
// new connection (connect, one round trip, close) against the same N on one
// reused connection. Time per request for each, connect time, and their ratio.
import { countError, errorCount, noErrors, PingPongClient } from "../clients/ping-pong.ts";
import type { ScenarioResult } from "../results/schema.ts";
import { summarize } from "../measure/stats.ts";
import type { RunContext } from "./context.ts";
import { anyErrors, finish, keepSamples, newVariant, runRounds, type RawSamples } from "./common.ts";

export interface ReuseOptions {
  requests: number;
  payload: number;
  warmup: number;
  timeoutMs: number;
}

export const REUSE_DEFAULTS: ReuseOptions = { requests: 1000, payload: 100, warmup: 100, timeoutMs: 2000 };
export const REUSE_QUICK: ReuseOptions = { requests: 300, payload: 100, warmup: 50, timeoutMs: 2000 };

export async function connectionReuse(ctx: RunContext, o: ReuseOptions): Promise<ScenarioResult> {
  const fresh = newVariant(ctx, "new-connection", `${o.requests} requests, each on a new connection (connect, round trip, close)`, { ...o }, "p50 time per request, µs", false);
  const reused = newVariant(ctx, "reused-connection", `${o.requests} requests on one reused connection`, { ...o }, "p50 time per request, µs", false);
  const raw: RawSamples = new Map();
  const perRequest = new Float64Array(o.requests);
  const connectNs = new Float64Array(o.requests);
  const acct = await runRounds(ctx, 3, [fresh, reused], async (backend, server, round, meter) => {
    using client = new PingPongClient(server.host, server.port, o.payload, o.timeoutMs, ctx.seed + round);
    client.setPayload(o.payload);
    let seq = 0;
    const reusedErrors = noErrors();
    for (let i = 0; i < o.warmup; i++) {
      const t = client.roundTrip(seq++);
      if (t < 0) countError(reusedErrors, t);
    }
    let n = 0;
    const mr = meter(reused.key);
    await mr.begin();
    for (; n < o.requests && errorCount(reusedErrors) === 0; n++) {
      const t = client.roundTrip(seq++);
      if (t < 0) countError(reusedErrors, t);
      else perRequest[n] = t;
    }
    await mr.end(n);
    const reusedSamples = perRequest.slice(0, n);
    keepSamples(raw, reused.key, backend, reusedSamples, round);

    const freshErrors = noErrors();
    let m = 0;
    const mf = meter(fresh.key);
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
    keepSamples(raw, fresh.key, backend, freshSamples, round);
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
  });
  finish(ctx, [fresh, reused], acct, raw);
  return { id: 3, name: "Connection reuse impact", status: "ok", note: anyErrors([fresh, reused]) ? "errors occurred: see the errors column" : undefined, variants: [fresh, reused] };
}
