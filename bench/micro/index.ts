// Micro-benchmarks: what one operation costs on this machine, for checking the
// guide's per-call figures (epoll_wait 3-5 µs, read and write 5-10 µs each).
//
//   bun bench/cli/micro.ts [--quick] [--json FILE]   (npm run micro)
//
// Also importable: `runMicro({ quick })` returns the results as data
// (MicroResults); bench/report/micro-claims-tables.ts renders them (microTable).
//
// Method. Every benchmark is declared with mitata's `bench(name, fn)` inside a
// `group`, and run by `run({ format: "quiet" })`; sockets, rings and buffers
// are made before, never inside the timed function. Each timed function counts
// its own wrong answers (a completion with the wrong tag, a short read, a byte
// out of sequence), and after the run every benchmark's result is checked: a
// fast wrong answer is reported as a failure, not as a time.
//
// mitata times functions faster than about 65 µs in batches of 4096 calls, so
// the p50/p99 of those are percentiles of batch averages. Where a benchmark
// needs work that must not be timed (refilling a socket before reads, draining
// it after writes), it uses mitata's computed parameters: a parameter function
// runs outside the timed region before each timed call, and the timed call then
// does K operations (K large enough that mitata times single calls); the
// figures are divided by K. The write benchmark's peer acknowledges at once
// (SO_RCVLOWAT) and every write is checked to have been delivered: without
// that, small writes to a peer that is not reading soon only queue behind the
// congestion window and look several times cheaper than a real send.
//
// --quick runs the very same functions through mitata's `measure()` with a
// 20 ms budget per benchmark instead of `run()`'s fixed 642 ms (run() has no
// option for the budget, and itself spends about 2.6 s calibrating).
import { bench, group, measure, run } from "mitata";
import { ensureBuilt } from "../../ffi/build.ts";
import { contextLines, machineContext } from "../measure/machine.ts";
import { buildSpecs, isGeneratorFunction, MSG, SOCKET_OPS, SYSCALL_LOOP, type Spec } from "./specs.ts";
import { fmtErr } from "./format.ts";

export { fmtErr, MSG, SOCKET_OPS, SYSCALL_LOOP };
import type { MicroBenchResult, MicroId, MicroResults } from "../results/schema.ts";

export const MICRO_SCHEMA = "iouring-bench-micro/1";

// The result types are part of the JSON contract (bench/results/schema.ts).
export type { MicroBenchResult, MicroId, MicroResults, MicroStatus } from "../results/schema.ts";

export interface MicroOptions {
  /** A few seconds instead of about twenty: 20 ms of timed calls per benchmark. */
  quick?: boolean;
  /** Only the benchmarks whose mitata name matches (as mitata's run filter). */
  filter?: RegExp;
  /** Recorded in the machine context. */
  argv?: string[];
  /** Progress messages (default: none). */
  log?: (msg: string) => void;
}

const MITATA_VERSION = "1.0.34";
/** Timed time per benchmark in --quick mode, ns. */
export const QUICK_BUDGET_NS = 20e6;

interface Stats {
  avg: number;
  p50: number;
  p99: number;
  min: number;
  max: number;
  ticks: number;
  samples: number[];
}

function resultOf(s: Spec, stats: Stats | undefined, error: unknown): MicroBenchResult {
  const base = { id: s.id, group: s.group, name: s.name, note: s.note, opsPerCall: s.ops };
  const nan = { avgNs: NaN, p50Ns: NaN, p99Ns: NaN, minNs: NaN, maxNs: NaN, samples: 0, calls: 0, batched: false };
  if (s.skip) return { ...base, ...nan, status: "skipped", check: s.skip };
  if (!stats) return { ...base, ...nan, status: "error", check: `mitata: ${fmtErr(error ?? "no result")}` };
  let problem: string | null;
  try {
    problem = s.check();
  } catch (e) {
    problem = `check threw: ${fmtErr(e)}`;
  }
  const times = [stats.avg, stats.p50, stats.p99, stats.min, stats.max].map((t) => t / s.ops);
  if (!problem && !times.every((t) => Number.isFinite(t) && t > 0)) problem = "mitata returned a time that is not positive";
  return {
    ...base,
    avgNs: times[0],
    p50Ns: times[1],
    p99Ns: times[2],
    minNs: times[3],
    maxNs: times[4],
    samples: stats.samples.length,
    calls: stats.ticks,
    batched: stats.ticks > stats.samples.length,
    status: problem ? "check failed" : "ok",
    check: problem ?? (typeof s.verified === "function" ? s.verified() : s.verified),
  };
}

/**
 * Runs the micro-benchmarks and checks their results. Not reentrant: mitata
 * keeps the declared benchmarks in one global list until `run()` consumes it,
 * so nothing else may declare mitata benchmarks while this runs.
 */
export async function runMicro(opts: MicroOptions = {}): Promise<MicroResults> {
  ensureBuilt();
  const log = opts.log ?? (() => {});
  const quick = opts.quick ?? false;
  const filter = opts.filter ?? /.*/;
  const context = machineContext({ mode: "off", serverCpu: null, clientCpu: null }, opts.argv ?? process.argv.slice(2));
  const warnings: string[] = [];
  const cleanups: (() => void)[] = [];
  try {
    const specs = (await buildSpecs(cleanups)).filter((s) => filter.test(s.name));
    const runnable = specs.filter((s) => !s.skip);
    // A few calls first, so that a slow first call (JIT, first system call) does not
    // make mitata skip its warm-up and time single calls; they are checked like the rest.
    for (const s of runnable) if (!isGeneratorFunction(s.fn)) for (let i = 0; i < 3; i++) s.fn();
    for (const s of specs) if (s.skip) warnings.push(`${s.name}: skipped (${s.skip})`);
    const byName = new Map<string, { stats?: Stats; error?: unknown }>();
    let engine: string;
    if (quick) {
      engine = `mitata ${MITATA_VERSION} measure(), ${QUICK_BUDGET_NS / 1e6} ms of timed calls per benchmark (--quick)`;
      for (const s of runnable) {
        log(`micro: ${s.name}`);
        try {
          byName.set(s.name, { stats: (await measure(s.fn, { min_cpu_time: QUICK_BUDGET_NS })) as Stats });
        } catch (e) {
          byName.set(s.name, { error: e });
        }
      }
    } else {
      engine = `mitata ${MITATA_VERSION} bench() in group(), run({ format: "quiet" }): about 642 ms of timed calls per benchmark`;
      const groups = [...new Set(runnable.map((s) => s.group))];
      for (const g of groups) {
        group(g, () => {
          for (const s of runnable) if (s.group === g) bench(s.name, s.fn);
        });
      }
      log(`micro: running ${runnable.length} benchmarks with mitata (about ${Math.round(2.6 + runnable.length * 1.2)} s)`);
      const out = await run({ format: "quiet", filter, throw: false });
      for (const trial of out.benchmarks) for (const r of trial.runs) byName.set(r.name, { stats: r.stats as Stats | undefined, error: r.error });
    }
    const benchmarks = specs.map((s) => {
      const r = byName.get(s.name);
      return resultOf(s, r?.stats, r ? r.error : s.skip ? undefined : "not run");
    });
    for (const b of benchmarks) if (b.status === "check failed" || b.status === "error") warnings.push(`${b.name}: ${b.status}: ${b.check}`);
    return { schema: MICRO_SCHEMA, context, quick, engine, benchmarks, warnings };
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch {
        // closing is best effort
      }
    }
  }
}

/** The result with this id, when it ran and its check passed. */
export function microOk(r: { benchmarks: MicroBenchResult[] } | undefined, id: MicroId): MicroBenchResult | undefined {
  const b = r?.benchmarks.find((x) => x.id === id);
  return b && b.status === "ok" ? b : undefined;
}
