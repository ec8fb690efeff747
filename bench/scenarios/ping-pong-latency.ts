// Scenario 1, single ping-pong latency: one connection, one request in
// flight, payloads of 10, 100 and 1000 bytes. Each round visits every
// backend in turn (A B C A B C ...) so machine drift touches all alike.
import { NativeBuffer } from "../../ffi/memory.ts";
import { countError, errorCount, noErrors, PingPongClient, RT_ERROR_NAMES } from "../lib/client.ts";
import type { BackendResult, ScenarioResult, VariantResult } from "../lib/results.ts";
import { compareToBaseline, sumErrors } from "../lib/rounds.ts";
import { summarize } from "../lib/stats.ts";
import type { RunContext } from "./context.ts";

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

/** Raw samples (ns) per variant and backend, pooled over rounds: kept for plots, not written to JSON. */
export type RawSamples = Map<string, Map<string, Float64Array[]>>;

export async function pingPongLatency(ctx: RunContext, opts: PingPongOptions, raw: RawSamples = new Map()): Promise<ScenarioResult> {
  const variants: VariantResult[] = opts.sizes.map((size) => ({
    key: `${size}B`,
    label: `${size}-byte payload`,
    params: { payload: size, iterations: opts.iterations, warmup: opts.warmup, client: ctx.client },
    metric: "p50 latency, µs",
    higherIsBetter: false,
    backends: ctx.backends.map((b): BackendResult => ({ backend: b, rounds: [], headline: NaN, ci95: [NaN, NaN], errors: noErrors() })),
  }));
  const maxSize = Math.max(...opts.sizes);
  const samples = new Float64Array(opts.iterations);
  const cNs = new NativeBuffer(opts.iterations * 8);
  const cView = new BigInt64Array(cNs.bytes.buffer, 0, opts.iterations);
  const dead = new Set<string>();

  for (let round = 1; round <= ctx.rounds; round++) {
    for (const [bi, backend] of ctx.backends.entries()) {
      const server = ctx.servers.get(backend)!;
      if (dead.has(backend)) continue;
      if (server.exited) {
        dead.add(backend);
        for (const v of variants) v.backends[bi].failure = `server exited (code ${server.exitCode}) before round ${round}`;
        continue;
      }
      let client: PingPongClient | undefined;
      try {
        client = new PingPongClient(server.host, server.port, maxSize, opts.timeoutMs, ctx.seed + round);
        for (const [vi, size] of opts.sizes.entries()) {
          const errors = noErrors();
          client.setPayload(size);
          let seq = 0;
          let broken = false;
          for (let i = 0; i < opts.warmup && !broken; i++) {
            const t = client.roundTrip(seq++);
            if (t < 0) {
              countError(errors, t);
              broken = true;
            }
          }
          let n = 0;
          if (!broken && ctx.client === "c") {
            const got = client.roundTripsInC(opts.iterations, cNs);
            n = got > 0 ? got : 0;
            for (let i = 0; i < n; i++) samples[i] = Number(cView[i]);
            if (got < 0) {
              errors.io++;
              broken = true;
            }
          } else {
            for (; n < opts.iterations && !broken; n++) {
              const t = client.roundTrip(seq++);
              if (t < 0) {
                countError(errors, t);
                broken = true;
                break;
              }
              samples[n] = t;
            }
          }
          const measured = samples.subarray(0, n);
          variants[vi].backends[bi].rounds.push({ round, latency: summarize(measured, 1e-3), errors });
          const byBackend = raw.get(variants[vi].key) ?? new Map<string, Float64Array[]>();
          raw.set(variants[vi].key, byBackend);
          const list = byBackend.get(backend) ?? [];
          byBackend.set(backend, list);
          list.push(Float64Array.from(measured));
          if (broken) {
            const what = Object.entries(errors).filter(([, c]) => c > 0).map(([k]) => k).join(", ");
            ctx.log(`scenario 1: ${backend} round ${round} ${size} B: ${what} after ${n} round trips`);
            // The connection is unusable: reconnect for the next size.
            client.close();
            client = new PingPongClient(server.host, server.port, maxSize, opts.timeoutMs, ctx.seed + round);
          }
        }
      } catch (e) {
        ctx.log(`scenario 1: ${backend} round ${round}: ${(e as Error).message}`);
        for (const v of variants) {
          v.backends[bi].rounds.push({ round, errors: { ...noErrors(), io: 1 } });
        }
      } finally {
        client?.close();
      }
    }
    ctx.log(`scenario 1: round ${round}/${ctx.rounds} done`);
  }

  for (const v of variants) {
    for (const b of v.backends) {
      b.errors = sumErrors(b.rounds);
      b.pooled = summarize(concat(raw.get(v.key)?.get(b.backend) ?? []), 1e-3);
      if (!b.failure && b.rounds.every((r) => !r.latency || r.latency.n === 0)) b.failure = "no successful round trip";
    }
    compareToBaseline(v.backends, ctx.baseline, ctx.seed);
  }
  const anyErrors = variants.some((v) => v.backends.some((b) => errorCount(b.errors) > 0 || b.failure));
  return {
    id: 1,
    name: "Single ping-pong latency",
    status: variants.every((v) => v.backends.every((b) => b.failure)) ? "failed" : "ok",
    note: anyErrors ? "errors occurred: see the errors column" : undefined,
    variants,
  };
}

function concat(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, a) => s + a.length, 0));
  let off = 0;
  for (const a of parts) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}

export { RT_ERROR_NAMES };
