// Scenario 2, persistent-connection throughput: one connection, 100-byte
// messages with W requests in flight (default 16). A unit is `repetitions`
// runs of the guide's `messages`-message exchange after a warm-up on the same
// connection, and its figure the median run: one run of 1000 messages lasts
// only milliseconds, so a single stray wake-up would move it, while the
// median of many runs in one unit of tens of milliseconds does not move.
// With `--client c` each run is the C client (c/loadgen.c) holding the window
// for `runMs` (about the time of 1000 messages), its figure the median too.
import { addErrors, errorCount } from "../results/errors.ts";
import { CLoadClient } from "../clients/c-load.ts";
import { LoadClient } from "../clients/load.ts";
import { median } from "../stats/stats.ts";
import type { Scenario } from "./types.ts";

export interface PersistentThroughputOptions {
  messages: number;
  payload: number;
  window: number;
  repetitions: number;
  warmup: number;
  timeoutMs: number;
  /** With the C client: each run's measured time, ms (the first run warms up for warmupMs before it). */
  runMs: number;
  warmupMs: number;
}

const DEFAULTS: PersistentThroughputOptions = { messages: 1000, payload: 100, window: 16, repetitions: 40, warmup: 3000, timeoutMs: 3000, runMs: 10, warmupMs: 30 };

export const persistentThroughput: Scenario<PersistentThroughputOptions, null> = {
  slug: "persistent-throughput",
  number: 2,
  title: "Persistent-connection throughput",
  defaults: DEFAULTS,
  quick: { messages: 1000, payload: 100, window: 16, repetitions: 10, warmup: 1000, timeoutMs: 3000, runMs: 10, warmupMs: 10 },
  // Measured here (4 rounds, epoll/c-uring/tokio): the C load client carries 2-8% more in scenario 6 and 10-12% more
  // in scenario 2 than the TypeScript one at the same client CPU: less of the closed loop is the client's own time.
  autoClient: "c",
  budgetWeight: 2,
  flags: { window: { type: "int", help: `requests in flight on the connection (persistent-throughput; default ${DEFAULTS.window})`, min: 1, max: 4096, placeholder: "W", option: "window" } },
  report: { layout: "throughput" },
  async prepare(env, o) {
    return {
      state: null,
      variants: [
        {
          key: "window",
          label: `1 connection, ${o.payload}-byte messages, window ${o.window}${env.client === "c" ? ` (C client, runs of ${o.runMs} ms)` : ""}`,
          params: { ...o, client: env.client },
          metric: "throughput, msg/s",
          higherIsBetter: true,
        },
      ],
    };
  },
  async unit(env, o, _st, { server, round, meter, keep }) {
    if (env.client === "c") {
      using lc = new CLoadClient(server, 1, o.payload, o.window, o.timeoutMs);
      const errors = { timeout: 0, closed: 0, mismatch: 0, io: 0 };
      const rates: number[] = [];
      const utils: number[] = [];
      let requests = 0;
      const m = meter("window");
      await m.begin();
      for (let i = 0; i < o.repetitions && errorCount(errors) === 0; i++) {
        const r = lc.closed(o.payload, o.window, i === 0 ? o.warmupMs : 0, o.runMs);
        addErrors(errors, r.errors);
        rates.push(r.throughput);
        utils.push(r.clientCpuUtil);
        requests += r.totalCompleted;
        keep("window", r.latencyNs);
      }
      await m.end(requests);
      return { window: { round, throughput: median(rates), errors, client_util: median(utils), extra: { runs: rates.length } } };
    }
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
