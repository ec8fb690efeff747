// Scenario 6, throughput stress: 64 connections, each sending 1000 messages
// of 32 bytes with 8 in flight; total messages per second. With `--client c`
// the load is the C client (c/loadgen.c), holding the same connections and
// window for `durationMs` (about the guide's message count at these rates),
// so the TypeScript client's own cost cannot cap the figure.
import { addErrors } from "../results/errors.ts";
import { CLoadClient, threadFigures, threadOptions } from "../clients/c-load.ts";
import { LoadClient } from "../clients/load.ts";
import type { Scenario } from "./types.ts";

export interface StressOptions {
  connections: number;
  messages: number;
  payload: number;
  window: number;
  warmup: number;
  timeoutMs: number;
  /** With the C client: measured time, ms, after warmupMs. */
  durationMs: number;
  warmupMs: number;
}

export const throughputStress: Scenario<StressOptions, null> = {
  slug: "throughput-stress",
  number: 6,
  title: "Throughput stress",
  defaults: { connections: 64, messages: 1000, payload: 32, window: 8, warmup: 100, timeoutMs: 5000, durationMs: 400, warmupMs: 50 },
  quick: { connections: 64, messages: 300, payload: 32, window: 8, warmup: 50, timeoutMs: 5000, durationMs: 150, warmupMs: 20 },
  // Measured here (4 rounds, epoll/c-uring/tokio): the C load client carries 2-8% more in scenario 6 and 10-12% more
  // in scenario 2 than the TypeScript one at the same client CPU: less of the closed loop is the client's own time.
  autoClient: "c",
  budgetWeight: 2,
  report: { layout: "throughput", twin: { measure: "msg/s", variant: "stress" }, costView: "6: 64 connections" },
  async prepare(env, o) {
    const label =
      env.client === "c"
        ? `${o.connections} connections × ${o.payload}-byte messages, ${o.window} in flight each, held ${o.durationMs} ms (C client)`
        : `${o.connections} connections × ${o.messages} messages of ${o.payload} bytes, ${o.window} in flight each`;
    return {
      state: null,
      variants: [{ key: "stress", label, params: { ...o, client: env.client }, metric: "throughput, msg/s", higherIsBetter: true }],
    };
  },
  async unit(env, o, _st, { server, round, meter, keep }) {
    if (env.client === "c") {
      using lc = new CLoadClient(server, o.connections, o.payload, o.window, o.timeoutMs, threadOptions(env.clientThreads, env.clientCpus, o.connections));
      const m = meter("stress");
      await m.begin();
      const r = lc.closed(o.payload, o.window, o.warmupMs, o.durationMs);
      // Read around the whole call (warm-up and drain too), so divided by every request of it.
      await m.end(r.totalCompleted);
      keep("stress", r.latencyNs);
      return { stress: { round, throughput: r.throughput, errors: r.errors, client_util: r.clientCpuUtil, client_threads: threadFigures(r), extra: { completed: r.completed } } };
    }
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
