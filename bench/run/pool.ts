// After the rounds: each backend's samples pooled, errors summed, costs per
// request, the medians of the rounds' extras, and the comparison with the
// baseline (bench/results/summary.ts).
import { noErrors } from "../results/errors.ts";
import { perRequest, type ResourceSnapshot } from "../measure/accounting.ts";
import { median, summarize } from "../stats/stats.ts";
import { compareToBaseline, sumErrors } from "../results/summary.ts";
import type { BackendResult, VariantResult } from "../results/schema.ts";
import type { VariantSpec } from "../scenarios/types.ts";

export function newVariant(spec: VariantSpec, backends: string[]): VariantResult {
  return {
    ...spec,
    backends: backends.map((b): BackendResult => ({ backend: b, rounds: [], headline: NaN, range: [NaN, NaN], errors: noErrors() })),
  };
}

export type Series = "corrected" | "uncorrected";

/**
 * Latency samples (ns) of every accepted unit, per series, scenario, variant
 * and backend, for pooled percentiles and plots (two scenarios may name a
 * variant alike: they stay apart). mark()/rollback() drop what a unit kept
 * when that unit is measured again (it was hit by a stall).
 */
export class SampleStore {
  #parts: { series: Series; scenario: string; key: string; backend: string; samples: Float64Array }[] = [];
  add(series: Series, scenario: string, key: string, backend: string, samples: Float64Array): void {
    this.#parts.push({ series, scenario, key, backend, samples });
  }
  mark(): number {
    return this.#parts.length;
  }
  rollback(mark: number): void {
    this.#parts.length = mark;
  }
  /** Every sample of one series, scenario, variant and backend, concatenated (ns). */
  get(series: Series, scenario: string, key: string, backend: string): Float64Array | undefined {
    const parts = this.#parts.filter((p) => p.series === series && p.scenario === scenario && p.key === key && p.backend === backend).map((p) => p.samples);
    return parts.length ? concatSamples(parts) : undefined;
  }
  /** Backends with samples for a scenario's variant, in first-seen order. */
  backends(series: Series, scenario: string, key: string): string[] {
    return [...new Set(this.#parts.filter((p) => p.series === series && p.scenario === scenario && p.key === key).map((p) => p.backend))];
  }
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

export type SyscallCounts = Map<string, Map<string, { perRequest: number | null; note?: string }>>;

/** Pools rounds, sums errors, takes medians of the extras and compares with the baseline. */
export function finishVariants(
  scenario: string,
  variants: VariantResult[],
  samples: SampleStore,
  opts: { baseline: string; confidence: number },
  syscalls: SyscallCounts | null,
  resources: Map<string, { before: ResourceSnapshot | null; after: ResourceSnapshot | null }>,
  countSyscalls: boolean,
): void {
  for (const v of variants) {
    for (const b of v.backends) {
      b.errors = sumErrors(b.rounds);
      const costs = b.rounds.map((r) => r.costs).filter((c) => c !== undefined);
      if (costs.length) {
        b.costs = perRequest(costs);
        const sc = syscalls?.get(v.key)?.get(b.backend);
        if (sc) {
          b.costs.syscalls = sc.perRequest;
          if (sc.perRequest !== null) delete b.costs.syscalls_note;
          else b.costs.syscalls_note = sc.note ?? "not counted";
        } else b.costs.syscalls_note = countSyscalls ? "no counting pass for this backend" : "counting pass off (--syscalls on to count)";
      }
      const res = resources.get(b.backend);
      if (res) b.resources = res;
      const pooled = samples.get("corrected", scenario, v.key, b.backend);
      if (pooled) b.pooled = summarize(pooled, 1e-3);
      const pooledU = samples.get("uncorrected", scenario, v.key, b.backend);
      if (pooledU) b.pooledUncorrected = summarize(pooledU, 1e-3);
      const names = new Set(b.rounds.flatMap((r) => Object.keys(r.extra ?? {})));
      if (names.size) {
        b.extra = {};
        for (const n of names) b.extra[n] = median(b.rounds.map((r) => r.extra?.[n]).filter((x): x is number => x !== undefined && Number.isFinite(x)));
      }
      const measured = b.rounds.some((r) => (r.latency && r.latency.n > 0) || (r.throughput !== undefined && r.throughput > 0));
      if (!b.failure && !b.unsupported && !measured) b.failure = "nothing measured";
    }
    compareToBaseline(v.backends, opts.baseline, opts.confidence, v.higherIsBetter);
  }
}
