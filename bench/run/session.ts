// One benchmark run from a plan: the servers, a quiet machine (CPUs kept
// polling, the client's threads pinned, the servers not measured paused),
// every placement and idle mode asked for, the scenarios in rounds within
// the time budget, and the gates. Returns the results; writing them is the
// CLI's job.
import { clientCpusOf, machineContext, serverCpusOf, type MachineContext, type Placement, type ServerHostContext } from "../measure/machine.ts";
import { lookConfidence, minSignRounds } from "../stats/paired.ts";
import { allowedCpus, cpuIdleInfo } from "../measure/quiet.ts";
import type { BackendInfoResult, BenchResults, Gate, PlacementRun, ScenarioResult } from "../results/schema.ts";
import { SCHEMA } from "../results/schema.ts";
import { warning, type RunWarning } from "../results/warnings.ts";
import type { Scenario, ScenarioEnv } from "../scenarios/types.ts";
import { BACKENDS, servesMode, spawnOptionsFor } from "../server/backends.ts";
import { ControlFinder } from "../server/control-client.ts";
import { type ServerHandle, TargetServer } from "../server/process.ts";
import type { GatePair } from "../verdict/gate.ts";
import { evaluateGatePairs, scenarioSettled } from "../verdict/control.ts";
import { backendOf, controlLabel, resolveGates } from "../verdict/pairs.ts";
import { CRITERIA, FAMILY_CONFIDENCE, gatedScenarios } from "../verdict/criteria.ts";
import { ServerFleet } from "./fleet.ts";
import { QuietMachine } from "./quiet-machine.ts";
import { evaluateLadder, LADDER_SCENARIOS, LADDER_STEPS } from "../verdict/ladder.ts";
import { claimsOfResults } from "../verdict/claims.ts";
import { analysisWarnings, environmentWarnings } from "../verdict/warnings.ts";
import { SampleStore } from "./pool.ts";
import { Progress } from "./progress.ts";
import { runScenario } from "./rounds.ts";
import { runSweep, type SweepPlan } from "./sweep.ts";
import { runCoreScaling, type CoreScalingPlan } from "./core-scaling.ts";

export type CpuIdleMode = "poll" | "default";

export interface Target {
  label: string;
  host: string;
  port: number;
}

export interface BenchPlan {
  quick: boolean;
  seed: number;
  host: string;
  /** auto: each scenario's own choice (Scenario.autoClient: the C load client for throughput, the TypeScript loop otherwise). */
  client: "auto" | "ts" | "c";
  /** Local backends to run (names), before availability. */
  backends: string[];
  targets: Target[];
  /** Look for each target's `serve` control channel, to read its figures on its host (--server-control auto). */
  serverControl: boolean;
  /** Gate pairs asked for: headline first; undefined baseline/candidate: chosen from what runs (resolveGates). */
  baseline?: string;
  candidate?: string;
  gatePairs?: [string, string][];
  control: boolean;
  scenarios: { def: Scenario; options: unknown }[];
  placements: Placement[];
  cpuIdle: CpuIdleMode[];
  /** Rounds before the first look, and the rounds at which to look again (the last is the most). */
  looks: number[];
  otherRounds: number;
  budgetS: number;
  stallBoundMs: number;
  maxRepeats: number;
  hiccup: boolean;
  countSyscalls: boolean;
  /** The ablation ladder (--ladder): its steps get every round of the scenarios it reads, and results.ladder. */
  ladder?: boolean;
  /** The connection sweep (--sweep), run after the scenarios of the first placement. */
  sweep?: SweepPlan;
  /** The core-scaling sweep (--sweep-cores), run last with servers of its own. */
  coreScaling?: CoreScalingPlan;
  /** Backends the sweep measures; default: every backend of a gate (not the control) and the targets. */
  sweepBackends?: string[];
  /** Extra arguments per backend's server (fault injection). */
  serverArgs: Map<string, string[]>;
  /** A fresh process for every server in every round (its instance's quirks become part of the spread), or one per run. */
  freshServers: boolean;
  /** Echo round trips through each new process of a backend that warms up (JavaScriptCore) before it is measured; 0: none. */
  serverWarmup: number;
  /** Where the results go (the export step, bench/report/export.ts), and whether the exit code is the verdict's. */
  output: { outDir: string; copies: Map<string, string>; updateGuide?: { file: string; full: boolean }; verdictExitCode: boolean };
  argv: string[];
  config: Record<string, unknown>;
  warnings: RunWarning[];
  log: (m: string) => void;
  /** Run before any server starts (micro-benchmarks), its result kept in the results. */
  before?: () => Promise<Partial<BenchResults>>;
  startedAt: number;
}

/** The context of each host whose control channel answered for a target, asked once per channel. */
async function serverHostContexts(targets: TargetServer[], log: (m: string) => void): Promise<ServerHostContext[]> {
  const byChannel = new Map<string, TargetServer[]>();
  for (const t of targets) {
    if (!t.control) continue;
    const key = `${t.host}:${t.control.client.port}`;
    byChannel.set(key, [...(byChannel.get(key) ?? []), t]);
  }
  const out: ServerHostContext[] = [];
  for (const [control, ts] of byChannel) {
    try {
      out.push({ control, labels: ts.map((t) => t.backend), context: await ts[0].control!.client.json<MachineContext>("context", 15000) });
    } catch (e) {
      log(`server host ${control}: no machine context: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Seconds kept for the gates, the reports and stopping the servers. */
const RESERVE_S = 6;


/** What a run gives: the results, its exit code, and per placement run ("cross/poll") the latency samples behind the pooled figures. */
export interface BenchRun {
  results: BenchResults;
  exitCode: number;
  samples: Map<string, SampleStore>;
}

export async function runBench(plan: BenchPlan): Promise<BenchRun> {
  const { log, warnings } = plan;
  let exitCode = 0;
  // Before anything is pinned: the core-scaling sweep takes its CPU sets from these.
  const allowedAtStart = allowedCpus();
  const pre = plan.before ? await plan.before() : {};

  // ---- which backends can run here, and their servers ----
  const fleet = new ServerFleet();
  fleet.primeWith(plan.serverWarmup, { atStart: !plan.freshServers });
  const servers = fleet.servers;
  const backendInfo: BackendInfoResult[] = plan.backends.map((name) => {
    const a = BACKENDS[name].availability();
    return { name, description: BACKENDS[name].description, available: a.available, reason: a.reason, hint: a.hint };
  });
  for (const b of backendInfo) if (!b.available) warnings.push(warning("backend-unavailable", `Backend ${b.name} skipped: ${b.reason}.`, b.hint));
  let runnable = backendInfo.filter((b) => b.available).map((b) => b.name);
  const control = controlLabel(plan, runnable);
  if (control && runnable.includes(backendOf(control))) {
    backendInfo.push({ name: control, description: `a second, independent ${backendOf(control)} server: the A/A control`, available: true });
    runnable = [...runnable, control];
  }
  const placement0 = plan.placements[0];
  const spawnOptions = (label: string, mode: string | undefined, loops?: number) => {
    const b = BACKENDS[backendOf(label)];
    if (mode && !servesMode(b, mode)) throw new Error(`${backendOf(label)} serves ${b.modes!.join(", ")} only`);
    // Thread-per-core: one loop per server CPU unless --server-threads says otherwise; each pins within the set taskset gives it.
    const threads = loops ?? placement0.serverThreads ?? (serverCpusOf(placement0).length || undefined);
    return spawnOptionsFor(backendOf(label), { host: plan.host, mode, threads, extraArgs: mode ? [] : (plan.serverArgs.get(label) ?? []) });
  };
  fleet.placeOn(serverCpusOf(placement0));
  // Your servers: read on their own host when serve's control channel answers for them, else here by pid, else not at all.
  const finder = plan.serverControl ? new ControlFinder() : undefined;
  const targets = new Map<string, TargetServer>();
  for (const t of plan.targets) {
    const s = await TargetServer.find(t.label, t.host, t.port, finder);
    targets.set(t.label, s);
    fleet.addTarget(t.label, s);
    backendInfo.push({ name: t.label, description: `your server at ${t.host}:${t.port}; ${s.accountingNote}`, available: true, figures: s.accounting?.where ?? "none" });
    if (!s.accounting)
      warnings.push(warning("client-side-only", `Target ${t.label} (${t.host}:${t.port}) has client-side figures only (${s.accountingNote.replace(/^client-side figures only: /, "")}): no server CPU, context switches, system calls or descriptors per request, no stall detection on its host, and its host is not in the machine section.`));
  }
  for (const name of runnable) {
    try {
      await fleet.start(name, spawnOptions(name, undefined));
    } catch (e) {
      const info = backendInfo.find((b) => b.name === name)!;
      info.available = false;
      info.reason = (e as Error).message;
      info.hint = "run `bun run serve --backend " + backendOf(name) + "` to see the error";
      warnings.push(warning("backend-unavailable", `Backend ${name} skipped: ${info.reason}.`, info.hint));
    }
  }
  const labels = [...servers.keys()];
  const pairs = resolveGates(plan, labels);
  // A sweep alone evaluates no gate: nothing to warn about.
  for (const p of plan.scenarios.length ? pairs : [])
    for (const b of [p.baseline, p.candidate]) if (!labels.includes(b)) warnings.push(warning("gate-not-evaluated", `Gate ${p.baseline} → ${p.candidate}: ${b} is not running; that gate is not evaluated.`));
  const gated = new Set(pairs.flatMap((p) => [p.baseline, p.candidate]));
  // The ladder's steps are paired like a gate's backends, in the scenarios the ladder reads.
  const ladderGated = new Set([...gated, ...(plan.ladder ? LADDER_STEPS.map((x) => x.backend).filter((b) => labels.includes(b)) : [])]);
  const baseline = pairs[0].baseline;
  const looks = plan.looks;
  const confidence = lookConfidence(FAMILY_CONFIDENCE, looks.length);
  const maxRounds = looks[looks.length - 1];
  // A criterion read with the sign test cannot be decided before its interval exists (7 rounds at 98.3%): its scenario's first look waits for it.
  const signRounds = minSignRounds(confidence);
  const firstLook = (slug: string) => Math.min(maxRounds, Math.max(looks[0], CRITERIA.some((c) => c.scenario === slug && c.parts.some((p) => p.method === "sign")) ? signRounds : 0));

  const results: BenchResults = {
    schema: SCHEMA,
    context: machineContext(placement0, plan.argv),
    config: { ...plan.config, looks, confidence_per_look: confidence, gated: [...gated] },
    backends: backendInfo,
    baseline,
    scenarios: [],
    warnings,
    ...pre,
  };
  const idle = cpuIdleInfo();
  results.context.cpuIdle = { driver: idle.driver, governor: idle.governor, requested: plan.cpuIdle.join(" then "), pmQos: "not held" };
  const inContext = plan.targets.map((t) => ({ ...t, figures: targets.get(t.label)?.accounting?.where ?? ("none" as const) }));
  if (plan.targets.length) results.context.targets = inContext;
  // One server of yours and nothing local: the two-host form (serve there, bench here).
  if (plan.targets.length === 1 && !plan.backends.length) results.context.target = inContext[0];
  const serverHosts = await serverHostContexts([...targets.values()], log);
  if (serverHosts.length) results.context.serverHosts = serverHosts;

  // ---- every idle mode × placement ----
  const runs: PlacementRun[] = [];
  const samplesByRun = new Map<string, SampleStore>();
  // The scenarios and the connection sweep share the run's servers; the core-scaling sweep alone needs none of them.
  const mainPhase = plan.scenarios.length > 0 || plan.sweep !== undefined || plan.coreScaling === undefined;
  const combos = mainPhase ? plan.cpuIdle.flatMap((mode) => plan.placements.map((p) => ({ mode, placement: p }))) : [];
  const focus = (keep: ServerHandle[] | undefined) => fleet.focus(keep);
  let quiet: QuietMachine | undefined;
  const progress = new Progress(plan.startedAt, (plan.scenarios.length || (!plan.sweep && !plan.coreScaling) ? plan.budgetS : 0) + (plan.sweep?.budgetS ?? 0) + (plan.coreScaling?.budgetS ?? 0));
  try {
    if (servers.size === 0 && mainPhase) throw new Error("no server started");
    for (const [runIndex, { mode, placement }] of combos.entries()) {
      quiet?.release();
      quiet = QuietMachine.hold({ idle: mode, placement, hiccup: plan.hiccup }, warnings);
      if (mode === "poll") results.context.cpuIdle!.pmQos = quiet.pmQos;
      const probe = quiet.probe;
      try {
        fleet.placeOn(serverCpusOf(placement));
        const samples = new SampleStore();
        const where = combos.length > 1 ? ` (${placement.mode}${plan.cpuIdle.length > 1 ? `, idle ${mode}` : ""})` : "";
        samplesByRun.set(`${placement.mode}/${mode}`, samples);
        const scenarios: ScenarioResult[] = [];
        const runEnd = plan.startedAt + ((runIndex + 1) / combos.length) * (plan.budgetS - RESERVE_S) * 1000;
        for (const [si, { def, options }] of plan.scenarios.entries()) {
          const backends = labels.filter((l) => !def.localOnly || fleet.isLocal(l));
          if (!backends.length) {
            scenarios.push({ id: def.number, slug: def.slug, name: def.title, status: "skipped", note: def.localOnly, variants: [] });
            continue;
          }
          const rest = plan.scenarios.slice(si).reduce((s, x) => s + x.def.budgetWeight, 0);
          const now = performance.now();
          const deadlineMs = now + Math.max(0, runEnd - now) * (def.budgetWeight / rest);
          const env: ScenarioEnv = {
            backends,
            servers,
            seed: plan.seed,
            quick: plan.quick,
            client: plan.client === "auto" ? (def.autoClient ?? "ts") : plan.client,
            clientThreads: placement.clientThreads ?? 1,
            clientCpus: clientCpusOf(placement),
            log,
            spawnServer: (label, m) => fleet.startExtra(spawnOptions(label, m)),
            focus: (label) => focus([servers.get(label)].filter((s): s is ServerHandle => s !== undefined)),
          };
          const sequential = gatedScenarios().has(def.slug);
          const t0 = performance.now();
          let result: ScenarioResult;
          try {
            result = await runScenario(
              def,
              options,
              env,
              {
                gated: LADDER_SCENARIOS.has(def.slug) ? ladderGated : gated,
                minRounds: sequential ? firstLook(def.slug) : plan.otherRounds,
                otherRounds: plan.otherRounds,
                blockRounds: looks.length > 1 ? looks[1] - looks[0] : 1,
                maxRounds: sequential ? looks[looks.length - 1] : plan.otherRounds,
                deadlineMs,
                seed: plan.seed + runIndex,
                stallBoundMs: plan.stallBoundMs,
                maxRepeats: plan.maxRepeats,
                countSyscalls: plan.countSyscalls && servers.size > 0,
                sequential,
                confidence,
              },
              {
                baseline,
                focus,
                probe,
                progress,
                look: (partial) => scenarioSettled({ scenarios: [partial], backends: backendInfo }, def.slug, pairs, { confidence, maxRounds }),
                renew: plan.freshServers ? (l) => fleet.renew(l) : undefined,
              },
              samples,
            );
          } catch (e) {
            result = { id: def.number, slug: def.slug, name: def.title, status: "failed", note: (e as Error).message, variants: [] };
            warnings.push(warning("scenario-failed", `Scenario ${def.number}${where} failed: ${(e as Error).message}`));
          }
          scenarios.push(result);
          progress.line(`scenario ${def.number}${where}: ${((performance.now() - t0) / 1000).toFixed(1)} s, ${result.sequential ? result.sequential.stopped : result.status}`);
        }
        runs.push({ placement, cpuIdle: mode, scenarios });
        if (plan.sweep && runIndex === 0) {
          const sweepBackends = (plan.sweepBackends ?? [...new Set(pairs.filter((p) => p.kind !== "control").flatMap((p) => [p.baseline, p.candidate])), ...plan.targets.map((t) => t.label)]).filter((b) => servers.has(b));
          const got = await runSweep(plan.sweep, {
            backends: [...new Set(sweepBackends)],
            servers,
            pairs,
            focus,
            probe,
            progress,
            serverCpu: placement.serverCpu,
            clientThreads: placement.clientThreads ?? 1,
            clientCpus: clientCpusOf(placement),
            seed: plan.seed,
            quick: plan.quick,
            stallBoundMs: plan.stallBoundMs,
            maxRepeats: plan.maxRepeats,
            log,
            warnings,
            renew: plan.freshServers ? (l) => fleet.renew(l) : undefined,
          });
          Object.assign(results, got);
        }
      } finally {
        quiet.release();
        focus(undefined);
      }
    }
  } catch (e) {
    warnings.push(warning("run-stopped", `The run stopped early: ${(e as Error).message}`));
    exitCode = 1;
  } finally {
    quiet?.release();
    focus(undefined);
    finder?.close();
    for (const [name, r] of await fleet.stopAll()) {
      const info = backendInfo.find((b) => b.name === name)!;
      if (r.summary) info.serverSummary = r.summary;
      info.instances = r.instances;
      for (const u of r.unclean) warnings.push(warning("server-unclean", `Server ${name} did not stop cleanly (exit ${u.exitCode}${u.killed ? ", killed" : ""}).`, `Run \`bun run serve --backend ${backendOf(name)}\` and stop it with Ctrl-C to see how it exits.`));
    }
    const cold = plan.serverWarmup === 0 ? backendInfo.filter((b) => b.available && !plan.targets.some((t) => t.label === b.name) && BACKENDS[backendOf(b.name)]?.warmsUp).map((b) => b.name) : [];
    if (cold.length)
      warnings.push(warning("servers-cold", `${cold.join(", ")} ${cold.length > 1 ? "were" : "was"} measured without the warm-up a new Bun process needs (--server-warmup 0${plan.quick ? ", as --quick does" : ""}): ${plan.freshServers ? "with a fresh process every round, " : ""}their per-request figures read a few percent slower than the same code's steady state (docs/method.md, "Warmed-up servers").`));
    const p = fleet.primed;
    if (p.processes || p.failures.length) plan.log(`server warm-up: ${p.processes} new processes primed with ${plan.serverWarmup} round trips each, ${p.seconds.toFixed(1)} s in all`);
    if (p.failures.length)
      warnings.push(warning("server-warmup-failed", `${p.failures.length} new server process${p.failures.length > 1 ? "es" : ""} could not be warmed up before being measured (${[...new Set(p.failures)].slice(0, 3).join("; ")}): their first round trips were measured cold.`));
  }

  // ---- the core-scaling sweep: servers of its own per core count ----
  if (plan.coreScaling) {
    try {
      results.core_scaling = await runCoreScaling(plan.coreScaling, {
        allowed: allowedAtStart,
        spawnOptions: (label, threads) => spawnOptions(label, undefined, threads),
        idle: plan.cpuIdle[0] === "poll" ? "poll" : "default",
        hiccup: plan.hiccup,
        freshServers: plan.freshServers,
        seed: plan.seed,
        quick: plan.quick,
        stallBoundMs: plan.stallBoundMs,
        maxRepeats: plan.maxRepeats,
        progress,
        log,
        warnings,
      });
      if (!mainPhase && results.context.cpuIdle) results.context.cpuIdle.pmQos = results.core_scaling.pm_qos;
    } catch (e) {
      warnings.push(warning("run-stopped", `The core-scaling sweep stopped: ${(e as Error).message}`));
      exitCode = 1;
    }
  }

  // ---- gates, per run ----
  // A sweep alone decides nothing: no gate to show as NOT EVALUATED.
  for (const run of plan.scenarios.length ? runs : []) {
    const gates: Gate[] = evaluateGatePairs({ scenarios: run.scenarios, backends: backendInfo }, pairs, { confidence, maxRounds });
    run.gate = gates[0];
    run.gates = gates;
  }
  results.scenarios = runs[0]?.scenarios ?? [];
  results.gate = runs[0]?.gate;
  results.gates = runs[0]?.gates;
  if (runs.length > 1) results.placements = runs;
  if (plan.ladder) results.ladder = evaluateLadder({ scenarios: results.scenarios, backends: backendInfo }, LADDER_STEPS, confidence);
  // What the results themselves say to be careful about, and the guide's claims (a sweep alone measured none).
  const placed = runs.length ? runs : [{ placement: placement0, scenarios: [] }];
  warnings.push(...analysisWarnings(placed), ...environmentWarnings(results.context, placed.map((r) => r.placement)));
  if (plan.scenarios.length || results.micro) results.claims = claimsOfResults(results);
  return { results, exitCode, samples: samplesByRun };
}
