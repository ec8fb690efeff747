// Capacity at a p99 target, per backend: bounded searches over open-loop
// rates (capacity-search.ts) with the C load client, each probe a
// fixed-rate run whose latency counts from every request's intended send
// time. The backends take turns in a seeded order per search, the others
// paused; the answer is the lowest of the searches' answers, the rate to
// provision with.
import { CLoadClient, threadOptions } from "../clients/c-load.ts";
import { errorCount } from "../results/errors.ts";
import { warning } from "../results/warnings.ts";
import { ProcMeter } from "../measure/accounting.ts";
import { judgeProbe, searchCapacity, type LimitedBy } from "./capacity-search.ts";
import type { CapacityProbe, CapacityResult } from "../results/schema.ts";
import { seededRandom, summarize } from "../stats/stats.ts";
import { isStalled, shuffled } from "./rounds.ts";
import { withoutServerCpu, type SweepContext } from "./sweep-context.ts";

export interface CapacityPlan {
  connections: number;
  payload: number;
  sloUs: number;
  /** Searches per backend (rounds). */
  searches: number;
  probeMs: number;
  warmupMs: number;
  maxProbes: number;
  precision: number;
  /** Where each backend's first search starts (req/s); 10 000 when absent. */
  startRates: Map<string, number>;
}

/** Requests a connection may have outstanding in open loop before the client counts an overflow. */
const OPEN_WINDOW = 256;
const MIN_RATE = 200;
const MAX_RATE = 4_000_000;

/** The client could not send on time: its send lag's p99 ate more than this share of the target. */
const LAG_SHARE = 0.25;

export async function runCapacity(plan: CapacityPlan, ctx: SweepContext, deadlineMs: number): Promise<CapacityResult[]> {
  const rnd = seededRandom(ctx.seed * 7919 + 11);
  const results = new Map<string, CapacityResult>(
    ctx.backends.map((b) => [b, { backend: b, connections: plan.connections, payload: plan.payload, slo_p99_us: plan.sloUs, rate: null, searches: [], p99_us: null, cpu_us: null, client_bound: false }]),
  );
  const cpuAt = new Map<string, Map<number, number | null>>();
  let repeats = 0;
  for (let round = 1; round <= plan.searches; round++) {
    for (const backend of shuffled(ctx.backends, rnd)) {
      const res = results.get(backend)!;
      const server = ctx.servers.get(backend);
      if (!server || server.exited) {
        res.failure ??= "server not running";
        continue;
      }
      if (performance.now() > deadlineMs && round > 1) break;
      ctx.focus([server]);
      ctx.progress.unit("capacity", round, backend);
      const prev = res.searches.find((s) => s.rate !== null)?.rate;
      const start = prev ?? plan.startRates.get(backend) ?? 10_000;
      const cpus = cpuAt.get(backend) ?? new Map<number, number | null>();
      cpuAt.set(backend, cpus);
      try {
        using lc = new CLoadClient(server, plan.connections, plan.payload, OPEN_WINDOW, 5000, threadOptions(ctx.clientThreads, ctx.clientCpus, plan.connections));
        const probe = (rate: number): CapacityProbe => {
          const meter = server.pid > 0 ? new ProcMeter(server.pid) : undefined;
          // A probe a platform stall hit says nothing about the server: measured again, at most twice.
          let r: ReturnType<typeof lc.open>;
          for (let attempt = 0; ; attempt++) {
            ctx.probe.begin();
            meter?.begin();
            r = lc.open(plan.payload, rate, plan.warmupMs, plan.probeMs);
            meter?.end(r.totalCompleted);
            const { reading } = withoutServerCpu(ctx.probe.end(), ctx.serverCpu);
            if (!isStalled(reading, ctx.stallBoundMs) || attempt >= Math.min(2, ctx.maxRepeats)) break;
            repeats++;
          }
          cpus.set(rate, meter?.sample ? meter.sample.cpuNs / 1000 / Math.max(1, meter.sample.requests) : null);
          const lagP99Us = r.sendLagNs && r.sendLagNs.length ? summarize(r.sendLagNs).p99 / 1000 : 0;
          const p99Us = r.latencyNs.length ? summarize(r.latencyNs).p99 / 1000 : null;
          // In open loop the client spins until each send is due, so its CPU share says nothing; its lateness does.
          const clientBound = lagP99Us > LAG_SHARE * plan.sloUs;
          return judgeProbe({ rate, achieved: r.throughput, sent: r.sent, completed: r.completed, errors: errorCount(r.errors), p99Us, sloUs: plan.sloUs, clientBound });
        };
        const s = await searchCapacity({ startRate: start, minRate: MIN_RATE, maxRate: MAX_RATE, precision: plan.precision, maxProbes: plan.maxProbes }, probe);
        res.searches.push({ round, rate: s.rate, limited_by: s.limited_by as LimitedBy, probes: s.probes });
      } catch (e) {
        res.failure ??= (e as Error).message;
        ctx.log(`capacity: ${backend} search ${round}: ${(e as Error).message}`);
      }
      await new Promise<void>((r) => setImmediate(r));
    }
  }
  ctx.focus(undefined);
  if (repeats) ctx.log(`capacity: ${repeats} probe${repeats > 1 ? "s" : ""} measured again after a platform stall`);
  for (const res of results.values()) {
    const found = res.searches.filter((s) => s.rate !== null);
    if (!found.length) continue;
    // The lowest answer: a team provisions with what held every time.
    const least = found.reduce((a, b) => (b.rate! < a.rate! ? b : a));
    const most = Math.max(...found.map((x) => x.rate!));
    if (found.length > 1 && most > 1.5 * least.rate!)
      ctx.warnings.push(
        warning("capacity-disagree", `Capacity of ${res.backend}: its searches disagree by more than 1.5× (${found.map((x) => Math.round(x.rate!)).join(" vs ")} req/s): this machine's noise is larger than the search's precision, and the lower figure is reported.`),
      );
    res.rate = least.rate;
    res.client_bound = least.limited_by === "client";
    const at = least.probes.find((p) => p.rate === least.rate && p.ok);
    res.p99_us = at?.p99_us ?? null;
    res.cpu_us = cpuAt.get(res.backend)?.get(least.rate!) ?? null;
  }
  return [...results.values()];
}
