// Scenario 2, persistent-connection throughput: one connection, 100-byte
// messages with W requests in flight (default 16). A unit is `repetitions`
// runs of the guide's `messages`-message exchange after a warm-up on the same
// connection, and its figure the median run: one run of 1000 messages lasts
// only milliseconds, so a single stray wake-up would move it, while the
// median of many runs in one unit of tens of milliseconds does not move.
import { addErrors, errorCount } from "../clients/ping-pong.ts";
import { LoadClient } from "../clients/load.ts";
import { median } from "../measure/stats.ts";
import type { Scenario } from "./types.ts";

export interface PersistentThroughputOptions {
  messages: number;
  payload: number;
  window: number;
  repetitions: number;
  warmup: number;
  timeoutMs: number;
}

export const persistentThroughput: Scenario<PersistentThroughputOptions, null> = {
  slug: "persistent-throughput",
  number: 2,
  title: "Persistent-connection throughput",
  defaults: { messages: 1000, payload: 100, window: 16, repetitions: 40, warmup: 3000, timeoutMs: 3000 },
  quick: { messages: 1000, payload: 100, window: 16, repetitions: 10, warmup: 1000, timeoutMs: 3000 },
  report: { layout: "throughput" },
  async prepare(_env, o) {
    return {
      state: null,
      variants: [{ key: "window", label: `1 connection, ${o.payload}-byte messages, window ${o.window}`, params: { ...o }, metric: "throughput, msg/s", higherIsBetter: true }],
    };
  },
  async unit(_env, o, _st, { server, round, meter, keep }) {
    using lc = new LoadClient(server, 1, o.payload, o.window, o.timeoutMs);
    const warm = lc.runClosed(o.warmup, o.window);
    const errors = { ...warm.errors };
    const rates: number[] = [];
    let messages = 0;
    const m = meter("window");
    await m.begin();
    for (let i = 0; i < o.repetitions && errorCount(errors) === 0; i++) {
      const r = lc.runClosed(o.messages, o.window);
      addErrors(errors, r.errors);
      rates.push(r.throughput);
      messages += r.completed;
      keep("window", r.latencyNs);
    }
    await m.end(messages);
    return { window: { round, throughput: median(rates), errors, extra: { runs: rates.length } } };
  },
};
