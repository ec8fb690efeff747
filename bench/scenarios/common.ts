// The round structure every scenario shares: each round visits every backend
// in turn; a backend whose server died is marked failed and skipped from then
// on; an exception in one measurement becomes an error in that round, not the
// end of the run. Afterwards the rounds are pooled and compared to the baseline.
import { NO_METER, PerfMeter, perRequest, ProcMeter, resourceSnapshot, type Meter, type ResourceSnapshot } from "../measure/accounting.ts";
import { noErrors } from "../clients/ping-pong.ts";
import type { BackendResult, RoundResult, VariantResult } from "../results/schema.ts";
import { compareToBaseline, sumErrors } from "../results/summary.ts";
import type { ServerHandle } from "../server/process.ts";
import { median, summarize } from "../measure/stats.ts";
import type { RunContext } from "./context.ts";

/** Raw latency samples in ns per variant and backend, one array per round: for pooling and plots. */
export type RawSamples = Map<string, Map<string, Float64Array[]>>;

export function newVariant(
  ctx: RunContext,
  key: string,
  label: string,
  params: Record<string, number | string>,
  metric: string,
  higherIsBetter: boolean,
): VariantResult {
  return {
    key,
    label,
    params,
    metric,
    higherIsBetter,
    backends: ctx.backends.map((b): BackendResult => ({ backend: b, rounds: [], headline: NaN, ci95: [NaN, NaN], errors: noErrors() })),
  };
}

/** The round number measure() gets in the untimed syscall-counting pass. */
export const COUNTING_ROUND = 0;

/** Keeps a round's samples for pooling; the counting pass's are dropped (they were not timed alone). */
export function keepSamples(raw: RawSamples, variant: string, backend: string, samplesNs: Float64Array, round: number): void {
  if (round === COUNTING_ROUND) return;
  let byBackend = raw.get(variant);
  if (!byBackend) raw.set(variant, (byBackend = new Map()));
  let list = byBackend.get(backend);
  if (!list) byBackend.set(backend, (list = []));
  list.push(Float64Array.from(samplesNs));
}

export function concatSamples(parts: Float64Array[]): Float64Array {
  const out = new Float64Array(parts.reduce((s, a) => s + a.length, 0));
  let off = 0;
  for (const a of parts) {
    out.set(a, off);
    off += a.length;
  }
  return out;
}

/** Gives the Meter for a variant's measured interval (on `server`, default the backend's). */
export type MeterFor = (variantKey: string, server?: ServerHandle) => Meter;

export type Measure = (
  backend: string,
  server: ServerHandle,
  round: number,
  meter: MeterFor,
) => Promise<Record<string, RoundResult>> | Record<string, RoundResult>;

/** What runRounds learnt besides the round results, for finish(). */
export interface RoundsAccounting {
  /** variant -> backend -> syscalls per request (counting pass), or why not. */
  syscalls: Map<string, Map<string, { perRequest: number | null; note?: string }>>;
  resources: Map<string, { before: ResourceSnapshot | null; after: ResourceSnapshot | null }>;
}

/**
 * Runs `measure` for every round and backend; it returns the RoundResult of
 * each variant key it measured and calls meter(key) around exactly what it
 * times. Servers that exited are not measured again. With ctx.countSyscalls,
 * one more, untimed pass per backend counts system calls with perf.
 */
export async function runRounds(
  ctx: RunContext,
  scenario: number,
  variants: VariantResult[],
  measure: Measure,
  servers: Map<string, ServerHandle> = ctx.servers,
): Promise<RoundsAccounting> {
  const acct: RoundsAccounting = { syscalls: new Map(), resources: new Map() };
  for (const b of ctx.backends) {
    const s = servers.get(b);
    acct.resources.set(b, { before: s && s.pid > 0 ? resourceSnapshot(s.pid) : null, after: null });
  }
  const failed = new Set<string>();
  for (let round = 1; round <= ctx.rounds; round++) {
    for (const [bi, backend] of ctx.backends.entries()) {
      if (failed.has(backend)) continue;
      const server = servers.get(backend);
      if (!server || server.exited) {
        failed.add(backend);
        const why = server ? `server exited (code ${server.exitCode}) before round ${round}` : "server not started";
        for (const v of variants) v.backends[bi].failure = why;
        ctx.log(`scenario ${scenario}: ${backend}: ${why}`);
        continue;
      }
      try {
        const meters = new Map<string, ProcMeter>();
        const meterFor: MeterFor = (key, s = server) => {
          // A remote server has no pid here: its costs cannot be read.
          if (s.pid < 0) return NO_METER;
          const m = new ProcMeter(s.pid);
          meters.set(key, m);
          return m;
        };
        const got = await measure(backend, server, round, meterFor);
        for (const v of variants) {
          const r = got[v.key];
          if (!r) continue;
          const sample = meters.get(v.key)?.sample;
          if (sample) r.costs = sample;
          v.backends[bi].rounds.push(r);
        }
      } catch (e) {
        ctx.log(`scenario ${scenario}: ${backend} round ${round}: ${(e as Error).message}`);
        for (const v of variants) v.backends[bi].rounds.push({ round, errors: { ...noErrors(), io: 1 } });
      }
      // The measurements block the JS thread; between them, let queued signals
      // (Ctrl-C) and child-exit events run.
      await new Promise<void>((r) => setImmediate(r));
    }
    ctx.log(`scenario ${scenario}: round ${round}/${ctx.rounds} done`);
  }
  // The client has just closed its connections: give each server a moment to
  // see the closes before its descriptors are counted.
  for (const b of ctx.backends) {
    const s = servers.get(b);
    const r = acct.resources.get(b)!;
    if (!s || s.exited || s.pid < 0) continue;
    for (let i = 0; i < 50; i++) {
      r.after = resourceSnapshot(s.pid);
      if (!r.after || !r.before || r.after.fds <= r.before.fds) break;
      await Bun.sleep(20);
    }
  }
  if (ctx.countSyscalls) {
    for (const backend of ctx.backends) {
      const server = servers.get(backend);
      if (!server || server.exited || server.pid < 0 || failed.has(backend)) continue;
      const meters = new Map<string, PerfMeter>();
      const meterFor: MeterFor = (key, s = server) => {
        const m = new PerfMeter(s.pid);
        meters.set(key, m);
        return m;
      };
      try {
        await measure(backend, server, COUNTING_ROUND, meterFor);
      } catch (e) {
        ctx.log(`scenario ${scenario}: counting pass ${backend}: ${(e as Error).message}`);
      }
      for (const [key, m] of meters) {
        let byBackend = acct.syscalls.get(key);
        if (!byBackend) acct.syscalls.set(key, (byBackend = new Map()));
        byBackend.set(backend, { perRequest: m.syscallsPerRequest, note: m.note });
      }
    }
    ctx.log(`scenario ${scenario}: syscall counting pass done`);
  }
  return acct;
}

/** Pools rounds, sums errors, takes medians of the extras and compares with the baseline. */
export function finish(ctx: RunContext, variants: VariantResult[], acct: RoundsAccounting, raw?: RawSamples, rawUncorrected?: RawSamples): void {
  for (const v of variants) {
    for (const b of v.backends) {
      b.errors = sumErrors(b.rounds);
      const samples = b.rounds.map((r) => r.costs).filter((c) => c !== undefined);
      if (samples.length) {
        b.costs = perRequest(samples);
        const sc = acct.syscalls.get(v.key)?.get(b.backend);
        if (sc) {
          b.costs.syscalls = sc.perRequest;
          if (sc.perRequest !== null) delete b.costs.syscalls_note;
          else b.costs.syscalls_note = sc.note ?? "not counted";
        } else b.costs.syscalls_note = ctx.countSyscalls ? "no counting pass for this backend" : "counting pass off (--syscalls on to count)";
      }
      const res = acct.resources.get(b.backend);
      if (res) b.resources = res;
      const parts = raw?.get(v.key)?.get(b.backend);
      if (parts) b.pooled = summarize(concatSamples(parts), 1e-3);
      const partsU = rawUncorrected?.get(v.key)?.get(b.backend);
      if (partsU) b.pooledUncorrected = summarize(concatSamples(partsU), 1e-3);
      const names = new Set(b.rounds.flatMap((r) => Object.keys(r.extra ?? {})));
      if (names.size) {
        b.extra = {};
        for (const n of names) b.extra[n] = median(b.rounds.map((r) => r.extra?.[n]).filter((x): x is number => x !== undefined && Number.isFinite(x)));
      }
      const measured = b.rounds.some((r) => (r.latency && r.latency.n > 0) || (r.throughput !== undefined && r.throughput > 0));
      if (!b.failure && !measured) b.failure = "nothing measured";
    }
    compareToBaseline(v.backends, ctx.baseline, ctx.seed);
  }
}

export function anyErrors(variants: VariantResult[]): boolean {
  return variants.some((v) => v.backends.some((b) => b.failure || b.errors.timeout + b.errors.closed + b.errors.mismatch + b.errors.io > 0));
}
