// Scenario 1, single ping-pong latency: one connection, one request in
// flight, payloads of 10, 100 and 1000 bytes. Each round visits every
// backend in turn (A B C A B C ...) so machine drift touches all alike.
import { NativeBuffer } from "../../ffi/memory.ts";
import { countError, errorCount, noErrors, PingPongClient } from "../clients/ping-pong.ts";
import type { RoundResult, ScenarioResult } from "../results/schema.ts";
import { summarize } from "../measure/stats.ts";
import type { RunContext } from "./context.ts";
import { anyErrors, finish, keepSamples, newVariant, runRounds, type RawSamples } from "./common.ts";

export interface PingPongOptions {
  sizes: number[];
  /** Measured round trips per backend, size and round. */
  iterations: number;
  /** Round trips discarded before measuring, per backend, size and round. */
  warmup: number;
  timeoutMs: number;
}

export const PING_PONG_DEFAULTS: PingPongOptions = { sizes: [10, 100, 1000], iterations: 3000, warmup: 300, timeoutMs: 2000 };
export const PING_PONG_QUICK: PingPongOptions = { sizes: [10, 100, 1000], iterations: 600, warmup: 100, timeoutMs: 2000 };

export async function pingPongLatency(ctx: RunContext, opts: PingPongOptions, raw: RawSamples = new Map()): Promise<ScenarioResult> {
  const variants = opts.sizes.map((size) =>
    newVariant(ctx, `${size}B`, `${size}-byte payload`, { payload: size, iterations: opts.iterations, warmup: opts.warmup, client: ctx.client }, "p50 latency, µs", false),
  );
  const maxSize = Math.max(...opts.sizes);
  const samples = new Float64Array(opts.iterations);
  const cNs = new NativeBuffer(opts.iterations * 8);
  const cView = new BigInt64Array(cNs.bytes.buffer, 0, opts.iterations);

  const acct = await runRounds(ctx, 1, variants, async (backend, server, round, meter) => {
    const out: Record<string, RoundResult> = {};
    let client = new PingPongClient(server.host, server.port, maxSize, opts.timeoutMs, ctx.seed + round);
    try {
      for (const size of opts.sizes) {
        const errors = noErrors();
        client.setPayload(size);
        let seq = 0;
        for (let i = 0; i < opts.warmup && errorCount(errors) === 0; i++) {
          const t = client.roundTrip(seq++);
          if (t < 0) countError(errors, t);
        }
        let n = 0;
        const m = meter(`${size}B`);
        await m.begin();
        if (errorCount(errors) === 0 && ctx.client === "c") {
          const got = client.roundTripsInC(opts.iterations, cNs);
          if (got < 0) errors.io++;
          for (; n < got; n++) samples[n] = Number(cView[n]);
        } else {
          for (; n < opts.iterations && errorCount(errors) === 0; n++) {
            const t = client.roundTrip(seq++);
            if (t < 0) {
              countError(errors, t);
              break;
            }
            samples[n] = t;
          }
        }
        await m.end(n);
        const measured = samples.subarray(0, n);
        keepSamples(raw, `${size}B`, backend, measured, round);
        out[`${size}B`] = { round, latency: summarize(measured, 1e-3), errors };
        if (errorCount(errors) > 0) {
          ctx.log(`scenario 1: ${backend} round ${round} ${size} B: ${JSON.stringify(errors)} after ${n} round trips`);
          // The connection is unusable: a new one for the next size.
          client.close();
          client = new PingPongClient(server.host, server.port, maxSize, opts.timeoutMs, ctx.seed + round);
        }
      }
    } finally {
      client.close();
    }
    return out;
  });
  finish(ctx, variants, acct, raw);
  return {
    id: 1,
    name: "Single ping-pong latency",
    status: variants.every((v) => v.backends.every((b) => b.failure)) ? "failed" : "ok",
    note: anyErrors(variants) ? "errors occurred: see the errors column" : undefined,
    variants,
  };
}
