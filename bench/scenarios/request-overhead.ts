// Scenario 5, request-response overhead: order requests (parse, match,
// serialize) against echo of the very same payload bytes, one request in
// flight on one connection. The server counts its own processing time; the
// share of the round trip that is not processing is the network I/O share
// the guide puts at 75-80%.
import { countError, errorCount, noErrors, PingPongClient, RT_MISMATCH } from "../clients/ping-pong.ts";
import { checkOrderResponse, makeOrderPayload } from "../clients/order.ts";
import type { RoundResult, ScenarioResult } from "../results/schema.ts";
import type { Meter } from "../measure/accounting.ts";
import type { ServerHandle, ServerProcess } from "../server/process.ts";
import { summarize } from "../measure/stats.ts";
import type { RunContext } from "./context.ts";
import { anyErrors, finish, keepSamples, newVariant, runRounds, type RawSamples } from "./common.ts";

export interface OverheadOptions {
  requests: number;
  warmup: number;
  timeoutMs: number;
}

export const OVERHEAD_DEFAULTS: OverheadOptions = { requests: 2000, warmup: 300, timeoutMs: 2000 };
export const OVERHEAD_QUICK: OverheadOptions = { requests: 500, warmup: 100, timeoutMs: 2000 };

/**
 * Server processing µs per frame between two stats snapshots; NaN when the
 * server does not measure it (the C twins and tokio report 0).
 */
function processingPerFrameUs(before: Record<string, number> | null, after: Record<string, number> | null): number {
  if (!before || !after) return NaN;
  const frames = after.frames - before.frames;
  const ns = (after.processingNs ?? 0) - (before.processingNs ?? 0);
  return frames > 0 && ns > 0 ? ns / frames / 1000 : NaN;
}

export async function requestOverhead(ctx: RunContext, o: OverheadOptions): Promise<ScenarioResult> {
  // Order ids must not repeat within one server's book: each round and backend takes its own range.
  const payloads = Array.from({ length: o.warmup + o.requests }, (_, i) => makeOrderPayload(i));
  const size = Math.round(payloads.reduce((s, p) => s + p.length, 0) / payloads.length);
  const echo = newVariant(ctx, "echo", `echo of the order payloads (about ${size} bytes)`, { ...o, payload_bytes: size }, "p50 round trip, µs", false);
  const order = newVariant(ctx, "order", `order requests (about ${size} bytes): parse, match, serialize`, { ...o, payload_bytes: size }, "p50 round trip, µs", false);
  const raw: RawSamples = new Map();
  const orderServers = new Map<string, ServerProcess>();
  for (const b of ctx.backends) {
    try {
      orderServers.set(b, await ctx.spawnServer(b, "order"));
    } catch (e) {
      ctx.log(`scenario 5: order server ${b}: ${(e as Error).message}`);
    }
  }
  const samples = new Float64Array(o.requests);
  let idBase = 0;
  const measure = async (server: ServerHandle, isOrder: boolean, round: number, m: Meter) => {
    using client = new PingPongClient(server.host, server.port, 4096, o.timeoutMs);
    const errors = noErrors();
    const stride = o.warmup + o.requests;
    const base = idBase;
    idBase += stride;
    const req = (i: number) => (isOrder ? makeOrderPayload(base + i) : payloads[i]);
    for (let i = 0; i < o.warmup && errorCount(errors) === 0; i++) {
      const t = client.request(req(i));
      if (t < 0) countError(errors, t);
    }
    const before = await server.stats();
    await m.begin();
    let n = 0;
    for (let i = 0; i < o.requests && errorCount(errors) === 0; i++) {
      const p = req(o.warmup + i);
      const t = client.request(p);
      if (t < 0) {
        countError(errors, t);
        break;
      }
      const wrong = isOrder ? checkOrderResponse(p, client.lastAnswer()) : Buffer.compare(client.lastAnswer(), p) === 0 ? null : "echo differs";
      if (wrong) {
        countError(errors, RT_MISMATCH);
        ctx.log(`scenario 5: ${server.backend} ${isOrder ? "order" : "echo"} round ${round}: ${wrong}`);
        break;
      }
      samples[n++] = t;
    }
    await m.end(n);
    const after = await server.stats();
    const latency = summarize(samples.subarray(0, n), 1e-3);
    const proc = processingPerFrameUs(before, after);
    return { latency, errors, proc, samples: samples.slice(0, n) };
  };
  const acct = await runRounds(ctx, 5, [echo, order], async (backend, server, round, meter): Promise<Record<string, RoundResult>> => {
    const e = await measure(server, false, round, meter("echo"));
    keepSamples(raw, "echo", backend, e.samples, round);
    const echoResult: RoundResult = { round, latency: e.latency, errors: e.errors, extra: { server_processing_us: e.proc, network_share_pct: 100 * (1 - e.proc / e.latency.p50) } };
    const orderServer = orderServers.get(backend);
    if (!orderServer) return { echo: echoResult };
    if (orderServer.exited) throw new Error(`order server exited (code ${orderServer.exitCode})`);
    const r = await measure(orderServer, true, round, meter("order", orderServer));
    keepSamples(raw, "order", backend, r.samples, round);
    return {
      echo: echoResult,
      order: {
        round,
        latency: r.latency,
        errors: r.errors,
        extra: { server_processing_us: r.proc, network_share_pct: 100 * (1 - r.proc / r.latency.p50), order_minus_echo_us: r.latency.p50 - e.latency.p50 },
      },
    };
  });
  for (const s of orderServers.values()) await s.stop();
  for (const b of order.backends) if (!orderServers.has(b.backend)) b.failure = "order mode is not implemented by this backend (echo only)";
  finish(ctx, [echo, order], acct, raw);
  return { id: 5, name: "Request-response overhead", status: "ok", note: anyErrors([echo, order]) ? "errors occurred: see the errors column" : undefined, variants: [echo, order] };
}
