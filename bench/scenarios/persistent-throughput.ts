// Scenario 2, persistent-connection throughput: one connection, 100-byte
// messages with W requests in flight (default 16). A round is `repetitions`
// runs of `messages` messages after a warm-up on the same connection; the
// round's figure is the median of its runs (one run of 1000 messages lasts
// only milliseconds, too short to stand alone on a shared machine).
import { LoadClient } from "../clients/load.ts";
import type { ScenarioResult } from "../results/schema.ts";
import { median } from "../measure/stats.ts";
import type { RunContext } from "./context.ts";
import { anyErrors, finish, keepSamples, newVariant, runRounds, type RawSamples } from "./common.ts";
import { addErrors } from "../clients/ping-pong.ts";

export interface PersistentThroughputOptions {
  messages: number;
  payload: number;
  window: number;
  repetitions: number;
  warmup: number;
  timeoutMs: number;
}

export const PERSISTENT_DEFAULTS: PersistentThroughputOptions = { messages: 1000, payload: 100, window: 16, repetitions: 7, warmup: 3000, timeoutMs: 3000 };
export const PERSISTENT_QUICK: PersistentThroughputOptions = { messages: 1000, payload: 100, window: 16, repetitions: 3, warmup: 1000, timeoutMs: 3000 };

export async function persistentThroughput(ctx: RunContext, o: PersistentThroughputOptions): Promise<ScenarioResult> {
  const v = newVariant(ctx, "window", `1 connection, ${o.payload}-byte messages, window ${o.window}`, { ...o }, "throughput, msg/s", true);
  const raw: RawSamples = new Map();
  const acct = await runRounds(ctx, 2, [v], async (backend, server, round, meter) => {
    using lc = new LoadClient(server, 1, o.payload, o.window, o.timeoutMs);
    const warm = lc.runClosed(o.warmup, o.window);
    const errors = { ...warm.errors };
    const rates: number[] = [];
    let messages = 0;
    const m = meter(v.key);
    await m.begin();
    for (let i = 0; i < o.repetitions && errors.timeout + errors.closed + errors.mismatch + errors.io === 0; i++) {
      const r = lc.runClosed(o.messages, o.window);
      addErrors(errors, r.errors);
      rates.push(r.throughput);
      messages += r.completed;
      keepSamples(raw, v.key, backend, r.latencyNs, round);
    }
    await m.end(messages);
    return { window: { round, throughput: median(rates), errors, extra: { runs: rates.length } } };
  });
  finish(ctx, [v], acct, raw);
  return { id: 2, name: "Persistent-connection throughput", status: "ok", note: anyErrors([v]) ? "errors occurred: see the errors column" : undefined, variants: [v] };
}
