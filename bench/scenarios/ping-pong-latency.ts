// Scenario 1, single ping-pong latency: one connection, one request in
// flight, payloads of 10, 100 and 1000 bytes; a unit is every size, each
// after its warm-up, on one connection.
import { NativeBuffer } from "../../ffi/memory.ts";
import { countError, PingPongClient } from "../clients/ping-pong.ts";
import { errorCount, noErrors } from "../results/errors.ts";
import type { RoundResult } from "../results/schema.ts";
import { summarize } from "../stats/stats.ts";
import type { Scenario } from "./types.ts";

export interface PingPongOptions {
  sizes: number[];
  /** Measured round trips per backend, size and round. */
  iterations: number;
  /** Round trips discarded before measuring, per backend, size and round. */
  warmup: number;
  timeoutMs: number;
}

interface State {
  samples: Float64Array;
  cNs: NativeBuffer;
  cView: BigInt64Array;
  maxSize: number;
}

const DEFAULTS: PingPongOptions = { sizes: [10, 100, 1000], iterations: 3000, warmup: 300, timeoutMs: 2000 };

export const pingPong: Scenario<PingPongOptions, State> = {
  slug: "ping-pong",
  number: 1,
  title: "Single ping-pong latency",
  defaults: DEFAULTS,
  quick: { sizes: [10, 100, 1000], iterations: 600, warmup: 100, timeoutMs: 2000 },
  budgetWeight: 3,
  flags: {
    sizes: {
      type: "list",
      help: `payload sizes in bytes (ping-pong; default ${DEFAULTS.sizes.join(",")})`,
      placeholder: "a,b",
      option: "sizes",
      toOption: (v) =>
        (v as string[]).map((s) => {
          const n = Number(s);
          if (!Number.isInteger(n) || n < 0 || n > 1 << 20) throw new RangeError(`--sizes: '${s}' is not a payload size in bytes (0 to 1048576)`);
          return n;
        }),
    },
    iterations: { type: "int", help: `measured round trips per backend, size and round (ping-pong; default ${DEFAULTS.iterations})`, min: 10, placeholder: "N", option: "iterations" },
    warmup: { type: "int", help: `discarded round trips before each measurement (ping-pong; default ${DEFAULTS.warmup})`, min: 0, placeholder: "N", option: "warmup" },
  },
  headlineVariant: "100B",
  report: { layout: "by-metric", twin: { measure: "p50" }, placementEffect: true, distribution: "ping-pong latency", costView: "1: ping-pong, 100 B" },
  async prepare(env, o) {
    const cNs = new NativeBuffer(o.iterations * 8);
    return {
      state: { samples: new Float64Array(o.iterations), cNs, cView: new BigInt64Array(cNs.bytes.buffer, 0, o.iterations), maxSize: Math.max(...o.sizes) },
      variants: o.sizes.map((size) => ({
        key: `${size}B`,
        label: `${size}-byte payload`,
        params: { payload: size, iterations: o.iterations, warmup: o.warmup, client: env.client },
        metric: "p50 latency, µs",
        higherIsBetter: false,
      })),
    };
  },
  async unit(env, o, st, { backend, server, round, meter, keep }) {
    const out: Record<string, RoundResult> = {};
    let client = new PingPongClient(server.host, server.port, st.maxSize, o.timeoutMs, env.seed + round);
    try {
      for (const size of o.sizes) {
        const errors = noErrors();
        client.setPayload(size);
        let seq = 0;
        for (let i = 0; i < o.warmup && errorCount(errors) === 0; i++) {
          const t = client.roundTrip(seq++);
          if (t < 0) countError(errors, t);
        }
        let n = 0;
        const m = meter(`${size}B`);
        await m.begin();
        if (errorCount(errors) === 0 && env.client === "c") {
          const got = client.roundTripsInC(o.iterations, st.cNs);
          if (got < 0) errors.io++;
          for (; n < got; n++) st.samples[n] = Number(st.cView[n]);
        } else {
          for (; n < o.iterations && errorCount(errors) === 0; n++) {
            const t = client.roundTrip(seq++);
            if (t < 0) {
              countError(errors, t);
              break;
            }
            st.samples[n] = t;
          }
        }
        await m.end(n);
        const measured = st.samples.subarray(0, n);
        keep(`${size}B`, measured);
        out[`${size}B`] = { round, latency: summarize(measured, 1e-3), errors };
        if (errorCount(errors) > 0) {
          env.log(`scenario 1: ${backend} round ${round} ${size} B: ${JSON.stringify(errors)} after ${n} round trips`);
          // The connection is unusable: a new one for the next size.
          client.close();
          client = new PingPongClient(server.host, server.port, st.maxSize, o.timeoutMs, env.seed + round);
        }
      }
    } finally {
      client.close();
    }
    return out;
  },
};
