// Scenario 5, request-response overhead: order requests (parse, match,
// serialize) against echo of the very same payload bytes, one request in
// flight on one connection. The server counts its own processing time; the
// share of the round trip that is not processing is the network I/O share
// the guide puts at 75-80%.
import { countError, PingPongClient, RT_MISMATCH } from "../clients/ping-pong.ts";
import { errorCount, noErrors } from "../results/errors.ts";
import { checkOrderResponse, makeOrderPayload } from "../clients/order.ts";
import type { RoundResult } from "../results/schema.ts";
import type { Meter } from "../measure/accounting.ts";
import type { ServerHandle, ServerProcess } from "../server/process.ts";
import { summarize } from "../stats/stats.ts";
import type { Scenario, ScenarioEnv } from "./types.ts";

export interface OverheadOptions {
  requests: number;
  warmup: number;
  timeoutMs: number;
}

interface State {
  payloads: Uint8Array[];
  samples: Float64Array;
  /** Order ids must not repeat within one server's book: each round and backend takes its own range. */
  idBase: number;
  orderServers: Map<string, ServerProcess>;
}

/**
 * Server processing µs per frame between two stats snapshots; NaN when the
 * server does not measure it (the C twins, and tokio in echo mode, report 0).
 */
function processingPerFrameUs(before: Record<string, number> | null, after: Record<string, number> | null): number {
  if (!before || !after) return NaN;
  const frames = after.frames - before.frames;
  const ns = (after.processingNs ?? 0) - (before.processingNs ?? 0);
  return frames > 0 && ns > 0 ? ns / frames / 1000 : NaN;
}

async function measureOnce(env: ScenarioEnv, o: OverheadOptions, st: State, server: ServerHandle, isOrder: boolean, round: number, m: Meter) {
  using client = new PingPongClient(server.host, server.port, 4096, o.timeoutMs);
  const errors = noErrors();
  const stride = o.warmup + o.requests;
  const base = st.idBase;
  st.idBase += stride;
  const req = (i: number) => (isOrder ? makeOrderPayload(base + i) : st.payloads[i]);
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
      env.log(`scenario 5: ${server.backend} ${isOrder ? "order" : "echo"} round ${round}: ${wrong}`);
      break;
    }
    st.samples[n++] = t;
  }
  await m.end(n);
  const after = await server.stats();
  const latency = summarize(st.samples.subarray(0, n), 1e-3);
  const proc = processingPerFrameUs(before, after);
  return { latency, errors, proc, samples: st.samples.slice(0, n) };
}

export const requestOverhead: Scenario<OverheadOptions, State> = {
  slug: "request-overhead",
  number: 5,
  title: "Request-response overhead",
  defaults: { requests: 2000, warmup: 300, timeoutMs: 2000 },
  quick: { requests: 500, warmup: 100, timeoutMs: 2000 },
  budgetWeight: 1,
  report: { layout: "overhead" },
  localOnly: "it needs the server's own processing time and an order-mode server, which a --target run cannot see",
  async prepare(env, o) {
    const payloads = Array.from({ length: o.warmup + o.requests }, (_, i) => makeOrderPayload(i));
    const size = Math.round(payloads.reduce((s, p) => s + p.length, 0) / payloads.length);
    const orderServers = new Map<string, ServerProcess>();
    const unsupported: { variant: string; backend: string; why: string }[] = [];
    for (const b of env.backends) {
      try {
        orderServers.set(b, await env.spawnServer(b, "order"));
      } catch (e) {
        env.log(`scenario 5: order server ${b}: ${(e as Error).message}`);
        unsupported.push({ variant: "order", backend: b, why: "echo only" });
      }
    }
    return {
      state: { payloads, samples: new Float64Array(o.requests), idBase: 0, orderServers },
      variants: [
        { key: "echo", label: `echo of the order payloads (about ${size} bytes)`, params: { ...o, payload_bytes: size }, metric: "p50 round trip, µs", higherIsBetter: false },
        { key: "order", label: `order requests (about ${size} bytes): parse, match, serialize`, params: { ...o, payload_bytes: size }, metric: "p50 round trip, µs", higherIsBetter: false },
      ],
      extraServers: orderServers,
      unsupported,
    };
  },
  async unit(env, o, st, { backend, server, round, meter, keep }): Promise<Record<string, RoundResult>> {
    const e = await measureOnce(env, o, st, server, false, round, meter("echo"));
    keep("echo", e.samples);
    const echoResult: RoundResult = { round, latency: e.latency, errors: e.errors, extra: { server_processing_us: e.proc, network_share_pct: 100 * (1 - e.proc / e.latency.p50) } };
    const orderServer = st.orderServers.get(backend);
    if (!orderServer) return { echo: echoResult };
    if (orderServer.exited) throw new Error(`order server exited (code ${orderServer.exitCode})`);
    const r = await measureOnce(env, o, st, orderServer, true, round, meter("order", orderServer));
    keep("order", r.samples);
    return {
      echo: echoResult,
      order: {
        round,
        latency: r.latency,
        errors: r.errors,
        extra: { server_processing_us: r.proc, network_share_pct: 100 * (1 - r.proc / r.latency.p50), order_minus_echo_us: r.latency.p50 - e.latency.p50 },
      },
    };
  },
  async cleanup(st) {
    for (const s of st.orderServers.values()) await s.stop();
  },
};
