// The connection sweep (`bench --sweep`): every backend at every connection
// count, window and payload in paired rounds (a scenario per count, run by
// the same round runner as the guide's scenarios: seeded order, the other
// servers paused, stalled units measured again), then the capacity at a p99
// target (capacity.ts) and many idle connections (idle.ts). The descriptor
// limit is raised to what the largest count needs first; counts that still
// do not fit are left out and said so.
import { raiseNoFile } from "../../ffi/net.ts";
import { countFds } from "../measure/procstat.ts";
import { warning } from "../results/warnings.ts";
import type { CapacityResult, IdleResult, ScenarioResult, SweepResults } from "../results/schema.ts";
import type { ScenarioEnv } from "../scenarios/types.ts";
import { CLIENT_BOUND_UTIL } from "../measure/accounting.ts";
import { SWEEP_DEFAULTS, SWEEP_QUICK, sweepScenario, type SweepOptions } from "../scenarios/sweep.ts";
import type { ServerHandle } from "../server/process.ts";
import { STRESS_THRESHOLD, sweepCrossovers, sweepPoints, type SweepInput } from "../verdict/sweep.ts";
import { runCapacity, type CapacityPlan } from "./capacity.ts";
import { runIdle, type IdlePlan } from "./idle.ts";
import { withoutServerCpu, type SweepContext } from "./sweep-context.ts";
import { SampleStore } from "./pool.ts";
import { runScenario } from "./rounds.ts";

export type SweepPart = "points" | "capacity" | "idle";

export interface SweepPlan {
  parts: SweepPart[];
  connections: number[];
  windows: number[];
  payloads: number[];
  durationMs: number;
  warmupMs: number;
  rounds: number;
  capacity: Omit<CapacityPlan, "startRates">;
  idle: IdlePlan;
  /** Seconds for the whole sweep; the points get most of it, then capacity, then the idle connections. */
  budgetS: number;
}


/** The sweep's defaults, full or quick (the tests' sweep). */
export function sweepDefaults(quick: boolean): Omit<SweepPlan, "parts"> {
  const d = quick ? SWEEP_QUICK : SWEEP_DEFAULTS;
  return {
    connections: d.connections,
    windows: d.windows,
    payloads: d.payloads,
    durationMs: d.durationMs,
    warmupMs: d.warmupMs,
    rounds: d.rounds,
    capacity: quick
      ? { connections: 16, payload: 32, sloUs: 1000, searches: 1, probeMs: 80, warmupMs: 20, maxProbes: 5, precision: 1.25 }
      : { connections: 64, payload: 32, sloUs: 1000, searches: 2, probeMs: 300, warmupMs: 50, maxProbes: 10, precision: 1.1 },
    idle: quick ? { idle: 2000, active: 4, durationMs: 80 } : { idle: 10000, active: 8, durationMs: 200 },
    budgetS: quick ? 25 : 165,
  };
}

/** Descriptors the bench process needs beyond the connections it opens (its own files, the servers' pipes). */
const FD_MARGIN = 256;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const SWEEP_METHOD =
  "Each connection count is a scenario of its own, run in paired rounds: a round visits every backend in a seeded order while the others are paused. " +
  "A unit opens the connections, then for each window and payload holds a closed loop for the measured time after a warm-up, every answer verified, and closes them. " +
  "Throughput is the median over rounds with a 95% bootstrap interval; a gain is the paired t interval (95%) of the per-round log-ratio. " +
  "The crossover is a fixed-sequence test from the most connections down: the count named is ahead by more than the threshold, and so is every count above it.";

export async function runSweep(plan: SweepPlan, ctx: SweepContext): Promise<{ sweep?: SweepResults; capacity?: CapacityResult[]; idle?: IdleResult[] }> {
  const t0 = performance.now();
  const end = t0 + plan.budgetS * 1000;
  const out: { sweep?: SweepResults; capacity?: CapacityResult[]; idle?: IdleResult[] } = {};
  const notes: string[] = [];
  const biggest = Math.max(plan.parts.includes("points") ? Math.max(...plan.connections) : 0, plan.parts.includes("idle") ? plan.idle.idle + plan.idle.active : 0, plan.capacity.connections);
  const limit = raiseNoFile(biggest + FD_MARGIN);
  const fits = (n: number) => n + FD_MARGIN <= limit.soft;
  if (limit.short) ctx.warnings.push(warning("sweep-descriptors", `The sweep needs ${biggest + FD_MARGIN} descriptors but has ${limit.soft}: ${limit.short}`));
  const connections = plan.connections.filter(fits);
  const dropped = plan.connections.filter((n) => !fits(n));
  if (dropped.length) notes.push(`Left out for want of descriptors (limit ${limit.soft}): ${dropped.join(", ")} connections.`);
  const clientFdsBefore = countFds(process.pid);
  const pairs = ctx.pairs.filter((p) => p.kind !== "control" && ctx.backends.includes(p.baseline) && ctx.backends.includes(p.candidate));
  const confidence = 0.95;

  // ---- the points ----
  const inputs: SweepInput[] = [];
  /** The server CPU's worst real-time delay per `connections/backend/round`, ms. */
  const delays = new Map<string, number>();
  if (plan.parts.includes("points") && connections.length) {
    const samples = new SampleStore();
    const pointsEnd = t0 + plan.budgetS * 1000 * (plan.parts.length === 1 ? 0.97 : plan.parts.includes("capacity") ? 0.74 : 0.88);
    // A unit costs its connects and closes (about linear in the count) on top of its measured time.
    // (measured here: about 0.2 ms per connection at 4096, for the connects, the first requests and the closes).
    const unitCost = (n: number) => plan.windows.length * plan.payloads.length * (plan.durationMs + plan.warmupMs + 10) + n * 0.2;
    for (const [i, n] of connections.entries()) {
      const def = sweepScenario(n);
      const options: SweepOptions = { connections: n, windows: plan.windows, payloads: plan.payloads, durationMs: plan.durationMs, warmupMs: plan.warmupMs, timeoutMs: 5000 };
      const rest = connections.slice(i).reduce((s, m) => s + unitCost(m), 0);
      const now = performance.now();
      const deadlineMs = now + Math.max(0, pointsEnd - now) * (unitCost(n) / rest);
      const env: ScenarioEnv = {
        backends: ctx.backends,
        servers: ctx.servers,
        seed: ctx.seed,
        quick: ctx.quick,
        client: "c",
        clientThreads: ctx.clientThreads,
        clientCpus: ctx.clientCpus,
        log: ctx.log,
        spawnServer: () => Promise.reject(new Error("the sweep starts no servers")),
        focus: (label) => ctx.focus([ctx.servers.get(label)].filter((s): s is ServerHandle => s !== undefined)),
      };
      // The hiccup meter on the server's CPU sees the server's own kernel work as well as the
      // platform's stalls: at thousands of busy connections an io_uring server's batched kernel
      // work keeps a real-time thread off that CPU for ms (PREEMPT_NONE kernels). So here a
      // stall is steal time or a hiccup on the client's CPU, and the server CPU's worst delay
      // is kept as a figure of the backend (sched_delay_ms).
      let current = { round: 0, backend: "" };
      const probe = {
        begin: () => ctx.probe.begin(),
        end: () => {
          const { reading, serverMs } = withoutServerCpu(ctx.probe.end(), ctx.serverCpu);
          if (serverMs !== undefined) delays.set(`${n}/${current.backend}/${current.round}`, serverMs);
          return reading;
        },
      };
      let result: ScenarioResult;
      try {
        result = await runScenario(
          def,
          options,
          env,
          {
            gated: new Set(ctx.backends),
            minRounds: Math.min(2, plan.rounds),
            otherRounds: plan.rounds,
            blockRounds: 1,
            maxRounds: plan.rounds,
            deadlineMs,
            seed: ctx.seed + n,
            stallBoundMs: ctx.stallBoundMs,
            maxRepeats: Math.min(1, ctx.maxRepeats),
            countSyscalls: false,
            confidence: 0.95,
            sequential: true,
          },
          {
            baseline: pairs[0]?.baseline ?? ctx.backends[0],
            focus: ctx.focus,
            renew: ctx.renew,
            probe,
            progress: {
              unit: (_s, r, b) => {
                current = { round: r, backend: b };
                ctx.progress.unit(`sweep, ${n} connections`, r, b);
              }, line: (t) => ctx.progress.line(t.replace(/^scenario \d+:/, `sweep, ${n} connections:`)),
            },
          },
          samples,
        );
      } catch (e) {
        ctx.warnings.push(warning("sweep-point-failed", `Sweep at ${n} connections failed: ${(e as Error).message}`));
        continue;
      }
      inputs.push({ connections: n, result });
      ctx.progress.line(`sweep: ${n} connections, ${result.sequential?.rounds ?? 0} rounds (${result.sequential?.elapsed_s.toFixed(1)} s)`);
    }
  }
  const points = sweepPoints(inputs, pairs, confidence, (n, backend, round) => delays.get(`${n}/${backend}/${round}`));
  if (plan.parts.includes("points")) {
    // The servers have just seen every close; give them a moment before the client's own count is compared.
    await sleep(50);
    const rounds = inputs.map((x) => x.result.sequential?.rounds ?? 0);
    if (rounds.some((r) => r < plan.rounds)) notes.push(`Rounds per count: ${inputs.map((x, i) => `${x.connections}: ${rounds[i]}`).join(", ")} (planned ${plan.rounds}; the budget ran out).`);
    const figures = points.flatMap((p) => p.backends.filter((b) => b.throughput !== null));
    const bound = figures.filter((b) => b.client_bound);
    if (bound.length) {
      const by = ctx.backends.map((b) => [b, bound.filter((x) => x.backend === b).length] as const).filter(([, k]) => k > 0);
      notes.push(
        `${bound.length} of ${figures.length} figures are client-bound (†: the load client busy ≥ ${CLIENT_BOUND_UTIL * 100}% of the interval in most rounds; ${by.map(([b, k]) => `${b} ${k}`).join(", ")}): there the throughput is the client's and the server's together, a lower bound of the server's.`,
      );
    }
    const stalls = inputs.reduce((s, x) => s + (x.result.stalls?.length ?? 0), 0);
    if (stalls) notes.push(`${stalls} unit${stalls > 1 ? "s were" : " was"} hit by a platform stall (see the rounds).`);
    out.sweep = {
      client: "c (c/loadgen.c through bun:ffi: one epoll thread, every answer verified)",
      connections,
      windows: plan.windows,
      payloads: plan.payloads,
      duration_s: plan.durationMs / 1000,
      warmup_s: plan.warmupMs / 1000,
      rounds: plan.rounds,
      confidence,
      client_bound_util: CLIENT_BOUND_UTIL,
      method: SWEEP_METHOD,
      points,
      crossover: sweepCrossovers(points, pairs, STRESS_THRESHOLD),
      stalls: inputs.flatMap((x) => (x.result.stalls ?? []).map((e) => ({ connections: x.connections, ...e }))),
      nofile: { needed: biggest + FD_MARGIN, soft: limit.soft, ...(limit.short ? { note: limit.short } : {}) },
      client_fds: { before: clientFdsBefore, after: countFds(process.pid) },
      elapsed_s: 0,
      notes,
    };
  }

  // ---- capacity at the p99 target ----
  if (plan.parts.includes("capacity") && fits(plan.capacity.connections)) {
    const capEnd = plan.parts.includes("idle") ? t0 + plan.budgetS * 1000 * 0.9 : end;
    // Start each search at an eighth of the best closed-loop throughput the sweep saw at or below that count:
    // a p99 target of about a millisecond holds far below saturation, and doubling is cheaper than halving from above.
    const startRates = new Map<string, number>();
    for (const b of ctx.backends) {
      const seen = points.filter((p) => p.connections <= plan.capacity.connections).flatMap((p) => p.backends.filter((x) => x.backend === b && x.throughput !== null).map((x) => x.throughput!));
      if (seen.length) startRates.set(b, Math.max(...seen) / 8);
    }
    out.capacity = await runCapacity({ ...plan.capacity, startRates }, ctx, capEnd);
  }

  // ---- many idle connections ----
  if (plan.parts.includes("idle")) {
    if (fits(plan.idle.idle + plan.idle.active)) out.idle = await runIdle(plan.idle, ctx);
    else ctx.warnings.push(warning("idle-left-out", `Idle connections left out: ${plan.idle.idle} need ${plan.idle.idle + plan.idle.active + FD_MARGIN} descriptors, the limit is ${limit.soft}.`));
  }
  if (out.sweep) {
    out.sweep.client_fds.after = countFds(process.pid);
    if (out.sweep.client_fds.after > out.sweep.client_fds.before) ctx.warnings.push(warning("client-descriptor-leak", `The bench process has ${out.sweep.client_fds.after - out.sweep.client_fds.before} more descriptors open after the sweep than before: a client leak.`));
    out.sweep.elapsed_s = (performance.now() - t0) / 1000;
  }
  return out;
}
