// The core-scaling sweep (`bench --sweep-cores 1,2,4,8`): the thread-per-core
// backends at each server core count, one loop (tokio-mt: one worker) per
// core, the load client on the CPUs left. Each count gets its own server
// processes on its own CPU set and is run like a scenario (the round runner:
// seeded order, the others paused, fresh servers per round, stalled units
// measured again), on the load of scenario 6 with 64 connections per server
// core, so every loop has as many as the one-core server. A count the
// machine cannot hold beside a client CPU is left out and said so, never
// measured with client and server sharing CPUs unless asked
// (--sweep-cores-shared, and then marked).
import { CLIENT_BOUND_UTIL } from "../measure/accounting.ts";
import type { Placement } from "../measure/machine.ts";
import type { CoreScalingResults, ScenarioResult } from "../results/schema.ts";
import { warning, type RunWarning } from "../results/warnings.ts";
import { sweepScenario, type SweepOptions } from "../scenarios/sweep.ts";
import type { ScenarioEnv } from "../scenarios/types.ts";
import { BACKENDS } from "../server/backends.ts";
import type { ServerHandle, ServerSpawnOptions } from "../server/process.ts";
import { placeCounts, scalingPoints, type ScalingInput } from "../verdict/core-scaling.ts";
import { ServerFleet } from "./fleet.ts";
import { SampleStore } from "./pool.ts";
import type { Progress } from "./progress.ts";
import { QuietMachine } from "./quiet-machine.ts";
import { runScenario } from "./rounds.ts";

export interface CoreScalingPlan {
  counts: number[];
  /** Counts that leave the client no CPU of its own run with it on the server's (marked). */
  shared: boolean;
  backends: string[];
  connectionsPerCore: number;
  window: number;
  payload: number;
  durationMs: number;
  warmupMs: number;
  rounds: number;
  /** Load threads (default: one per client CPU). */
  clientThreads?: number;
  budgetS: number;
}

export function coreScalingDefaults(quick: boolean): Omit<CoreScalingPlan, "counts" | "shared" | "backends"> {
  return quick
    ? { connectionsPerCore: 64, window: 8, payload: 32, durationMs: 80, warmupMs: 20, rounds: 3, budgetS: 30 }
    : { connectionsPerCore: 64, window: 8, payload: 32, durationMs: 150, warmupMs: 30, rounds: 6, budgetS: 120 };
}

export interface CoreScalingContext {
  /** The CPUs this process may use, in order: server sets are taken from the front. */
  allowed: number[];
  /** How to start a backend's server with `threads` loops. */
  spawnOptions(label: string, threads: number): Omit<ServerSpawnOptions, "cpu">;
  idle: "poll" | "default";
  hiccup: boolean;
  freshServers: boolean;
  seed: number;
  quick: boolean;
  stallBoundMs: number;
  maxRepeats: number;
  progress: Progress;
  log(msg: string): void;
  warnings: RunWarning[];
}

export const CORE_SCALING_METHOD =
  "Each server core count is measured on its own: the thread-per-core servers start with one loop per server CPU (tokio-mt: one worker), pinned within that set, the C load client on the CPUs left with one thread per CPU, and the count runs in rounds like a scenario (each round visits every backend in a seeded order with the others paused and fresh server processes). " +
  "A unit holds a closed loop of 64 connections per server core, window 8, 32-byte payloads, for the measured time after a warm-up, every answer verified. " +
  "Throughput is the median over rounds with a 95% bootstrap interval; efficiency is the throughput at N cores over N times that at the reference count (1 core when measured), the ratio of the rounds' geometric means, with a 95% Welch t interval (the counts' rounds are independent).";

export async function runCoreScaling(plan: CoreScalingPlan, ctx: CoreScalingContext): Promise<CoreScalingResults> {
  const t0 = performance.now();
  const end = t0 + plan.budgetS * 1000;
  const { placed, leftOut } = placeCounts(plan.counts, ctx.allowed, plan.shared);
  const notes: string[] = [];
  const backends = plan.backends.filter((b) => {
    const a = BACKENDS[b].availability();
    if (!a.available) ctx.warnings.push(warning("backend-unavailable", `Backend ${b} skipped in the core-scaling sweep: ${a.reason}.`, a.hint));
    return a.available;
  });
  const inputs: ScalingInput[] = [];
  let pmQos = "not held";
  if (!backends.length) notes.push("No thread-per-core backend could run: nothing measured.");
  for (const [i, p] of (backends.length ? placed : []).entries()) {
    const connections = plan.connectionsPerCore * p.cores;
    const clientThreads = plan.clientThreads ?? p.client.length;
    const placement: Placement = { mode: p.shared ? "same" : "cross", serverCpu: p.server[0], clientCpu: p.client[0], serverCpus: p.server, clientCpus: p.client, clientThreads, serverThreads: p.cores };
    const fleet = new ServerFleet();
    fleet.placeOn(p.server);
    let quiet: QuietMachine | undefined;
    try {
      for (const b of backends) await fleet.start(b, ctx.spawnOptions(b, p.cores));
      quiet = QuietMachine.hold({ idle: ctx.idle, placement, hiccup: ctx.hiccup }, ctx.warnings);
      if (ctx.idle === "poll") pmQos = quiet.pmQos;
      const now = performance.now();
      const deadlineMs = now + Math.max(0, end - now) / (placed.length - i);
      const options: SweepOptions = { connections, windows: [plan.window], payloads: [plan.payload], durationMs: plan.durationMs, warmupMs: plan.warmupMs, timeoutMs: 5000 };
      const env: ScenarioEnv = {
        backends,
        servers: fleet.servers,
        seed: ctx.seed,
        quick: ctx.quick,
        client: "c",
        clientThreads,
        clientCpus: p.client,
        log: ctx.log,
        spawnServer: () => Promise.reject(new Error("the core-scaling sweep starts no extra servers")),
        focus: (label) => fleet.focus([fleet.servers.get(label)].filter((s): s is ServerHandle => s !== undefined)),
      };
      const what = `cores ${p.cores}`;
      const result: ScenarioResult = await runScenario(
        { ...sweepScenario(connections), slug: `cores-${p.cores}`, title: `Core scaling: ${p.cores} server core${p.cores > 1 ? "s" : ""}` },
        options,
        env,
        {
          gated: new Set(backends),
          minRounds: plan.rounds,
          otherRounds: plan.rounds,
          blockRounds: 1,
          maxRounds: plan.rounds,
          deadlineMs,
          seed: ctx.seed + p.cores,
          stallBoundMs: ctx.stallBoundMs,
          maxRepeats: Math.min(1, ctx.maxRepeats),
          countSyscalls: false,
          confidence: 0.95,
          sequential: true,
        },
        {
          baseline: backends[0],
          focus: (keep) => fleet.focus(keep),
          renew: ctx.freshServers ? (l) => fleet.renew(l) : undefined,
          probe: quiet.probe,
          progress: {
            unit: (_s, r, b) => ctx.progress.unit(`core scaling, ${what}`, r, b),
            line: (t) => ctx.progress.line(t.replace(/^scenario \d+:/, `core scaling, ${what}:`)),
          },
        },
        new SampleStore(),
      );
      inputs.push({ cores: p.cores, server_cpus: p.server, client_cpus: p.client, client_threads: clientThreads, shared: p.shared, connections, result });
      ctx.progress.line(`core scaling: ${what}, ${result.sequential?.rounds ?? 0} rounds`);
    } catch (e) {
      ctx.warnings.push(warning("sweep-point-failed", `Core scaling at ${p.cores} server cores failed: ${(e as Error).message}`));
    } finally {
      quiet?.release();
      fleet.focus(undefined);
      await fleet.stopAll();
    }
  }
  const { points, reference } = scalingPoints(inputs);
  if (leftOut.length) notes.push(`Left out: ${leftOut.map((l) => `${l.cores} core${l.cores > 1 ? "s" : ""} (${l.why})`).join("; ")}.`);
  if (reference !== null && reference !== 1) notes.push(`Efficiency is against ${reference} cores (1 was not measured): throughput at N cores over N/${reference} times that at ${reference}.`);
  if (points.some((p) => p.shared)) notes.push("Shared: the load client ran on the server's CPUs at that count; its figures are not a scaling figure (client and server take CPU from each other).");
  const bound = points.flatMap((p) => p.backends.filter((b) => b.client_bound).map((b) => `${b.backend} at ${p.cores}`));
  if (bound.length) notes.push(`Client-bound (†: the busiest client CPU ≥ ${CLIENT_BOUND_UTIL * 100}% busy in most rounds): ${bound.join(", ")}; there the throughput is a lower bound of the server's, and so is the efficiency.`);
  return {
    counts: [...new Set(plan.counts)].sort((a, b) => a - b),
    measured: points.map((p) => p.cores),
    left_out: leftOut,
    reference_cores: reference,
    connections_per_core: plan.connectionsPerCore,
    window: plan.window,
    payload: plan.payload,
    duration_s: plan.durationMs / 1000,
    warmup_s: plan.warmupMs / 1000,
    rounds: plan.rounds,
    client_bound_util: CLIENT_BOUND_UTIL,
    method: CORE_SCALING_METHOD,
    points,
    notes,
    pm_qos: pmQos,
    elapsed_s: (performance.now() - t0) / 1000,
  };
}
