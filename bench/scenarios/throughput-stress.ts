// Scenario 6, throughput stress: 64 connections, each sending 1000 messages
// of 32 bytes with 8 in flight; total messages per second.
import { addErrors } from "../clients/ping-pong.ts";
import { LoadClient } from "../clients/load.ts";
import type { Scenario } from "./types.ts";

export interface StressOptions {
  connections: number;
  messages: number;
  payload: number;
  window: number;
  warmup: number;
  timeoutMs: number;
}

export const throughputStress: Scenario<StressOptions, null> = {
  slug: "throughput-stress",
  number: 6,
  title: "Throughput stress",
  defaults: { connections: 64, messages: 1000, payload: 32, window: 8, warmup: 100, timeoutMs: 5000 },
  quick: { connections: 64, messages: 300, payload: 32, window: 8, warmup: 50, timeoutMs: 5000 },
  report: { layout: "throughput", twin: { measure: "msg/s", variant: "stress" } },
  async prepare(_env, o) {
    return {
      state: null,
      variants: [{ key: "stress", label: `${o.connections} connections × ${o.messages} messages of ${o.payload} bytes, ${o.window} in flight each`, params: { ...o }, metric: "throughput, msg/s", higherIsBetter: true }],
    };
  },
  async unit(_env, o, _st, { server, round, meter, keep }) {
    using lc = new LoadClient(server, o.connections, o.payload, o.window, o.timeoutMs);
    const warm = lc.runClosed(o.warmup, o.window);
    const m = meter("stress");
    await m.begin();
    const r = lc.runClosed(o.messages, o.window);
    await m.end(r.completed);
    const errors = { ...warm.errors };
    addErrors(errors, r.errors);
    keep("stress", r.latencyNs);
    return { stress: { round, throughput: r.throughput, errors, extra: { completed: r.completed } } };
  },
};
