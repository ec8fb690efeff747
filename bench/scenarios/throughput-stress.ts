// Scenario 6, throughput stress: 64 connections, each sending 1000 messages
// of 32 bytes with 8 in flight; total messages per second.
import { addErrors } from "../clients/ping-pong.ts";
import { LoadClient } from "../clients/load.ts";
import type { ScenarioResult } from "../results/schema.ts";
import type { RunContext } from "./context.ts";
import { anyErrors, finish, keepSamples, newVariant, runRounds, type RawSamples } from "./common.ts";

export interface StressOptions {
  connections: number;
  messages: number;
  payload: number;
  window: number;
  warmup: number;
  timeoutMs: number;
}

export const STRESS_DEFAULTS: StressOptions = { connections: 64, messages: 1000, payload: 32, window: 8, warmup: 100, timeoutMs: 5000 };
export const STRESS_QUICK: StressOptions = { connections: 64, messages: 300, payload: 32, window: 8, warmup: 50, timeoutMs: 5000 };

export async function throughputStress(ctx: RunContext, o: StressOptions): Promise<ScenarioResult> {
  const v = newVariant(ctx, "stress", `${o.connections} connections × ${o.messages} messages of ${o.payload} bytes, ${o.window} in flight each`, { ...o }, "throughput, msg/s", true);
  const raw: RawSamples = new Map();
  const acct = await runRounds(ctx, 6, [v], async (backend, server, round, meter) => {
    using lc = new LoadClient(server, o.connections, o.payload, o.window, o.timeoutMs);
    const warm = lc.runClosed(o.warmup, o.window);
    const m = meter(v.key);
    await m.begin();
    const r = lc.runClosed(o.messages, o.window);
    await m.end(r.completed);
    const errors = { ...warm.errors };
    addErrors(errors, r.errors);
    keepSamples(raw, v.key, backend, r.latencyNs, round);
    return { stress: { round, throughput: r.throughput, errors, extra: { completed: r.completed } } };
  });
  finish(ctx, [v], acct, raw);
  return { id: 6, name: "Throughput stress", status: "ok", note: anyErrors([v]) ? "errors occurred: see the errors column" : undefined, variants: [v] };
}
