// `bun run bench`'s flags, and the one typed plan they turn into. Nothing
// past this file reads a flag.
import { join, resolve } from "node:path";
import { ROOT } from "../../ffi/build.ts";
import { BACKEND_NAMES, DEFAULT_BACKEND_NAMES, THREADED_BACKEND_NAMES } from "../server/backends.ts";
import { coreScalingDefaults, type CoreScalingPlan } from "../run/core-scaling.ts";
import { SWEEP_BACKENDS } from "../server/relations.ts";
import { LADDER_STEPS } from "../verdict/ladder.ts";
import { injectDelayArgs, MAX_INJECT_DELAY_US } from "../server/modes.ts";
import { findScenario, SCENARIOS } from "../scenarios/index.ts";
import type { Scenario, ScenarioFlag } from "../scenarios/types.ts";
import { cpuListText, type Placement } from "../measure/machine.ts";
import { allowedCpus } from "../measure/quiet.ts";
import type { BenchPlan, CpuIdleMode, Target } from "../run/session.ts";
import { sweepDefaults, type SweepPart, type SweepPlan } from "../run/sweep.ts";
import { warning, type RunWarning } from "../results/warnings.ts";
import { OUTPUTS } from "../report/export.ts";
import { cpuListFlag, UsageError, type FlagSpec, type Parsed } from "./args.ts";

const SCENARIO_CHOICES = ["all", ...SCENARIOS.flatMap((s) => [s.slug, String(s.number)])];

const RUN = "What to run";
const LONG = "How long";
const PLACE = "Placement";
const SERVERS = "Servers and clients";
/** Round trips that bring a new Bun process past its warm-up (bench/run/fleet.ts, docs/method.md). */
const SERVER_WARMUP = 15000;
/** --quick is a smoke run: priming would be a third of it (126 primes, 29 s of 68 here). */
const SERVER_WARMUP_QUICK = 0;
const SCENARIO_OPTIONS = "Scenario options";
/** Each scenario's own flags (Scenario.flags), in the help under their group. */
const SCENARIO_FLAGS: Record<string, FlagSpec> = Object.fromEntries(
  SCENARIOS.flatMap((def) => Object.entries(def.flags ?? {}).map(([name, f]) => [name, { type: f.type, help: f.help, min: f.min, max: f.max, placeholder: f.placeholder, group: SCENARIO_OPTIONS } satisfies FlagSpec])),
);
const SWEEP = "The connection sweep (--sweep)";
const CORES = "The core-scaling sweep (--sweep-cores)";
const OUT = "Outputs";
const FAULT = "Fault injection (to test the harness)";
export const BENCH_GROUPS = [RUN, LONG, PLACE, SERVERS, SCENARIO_OPTIONS, SWEEP, CORES, OUT, FAULT];

/** The output formats' own flags (bench/report/export.ts): each format brings its flag. */
const OUTPUT_FLAGS: Record<string, FlagSpec> = Object.fromEntries(
  OUTPUTS.flatMap((f) => (f.flag ? [[f.flag.name, { type: "string", help: f.flag.help, placeholder: "FILE", group: OUT } satisfies FlagSpec]] : [])),
);

export const BENCH_FLAGS: Record<string, FlagSpec> = {
  scenarios: { type: "list", help: "scenarios to run, by name or number, or all", choices: SCENARIO_CHOICES, default: SCENARIOS.map((s) => s.slug), placeholder: "a,b", group: RUN },
  backends: { type: "list", help: "backends to compare (all: every one but the ladder's steps and the thread-per-core backends, which run when named here or in --gate-pairs; those this machine lacks are reported and skipped)", choices: ["all", ...BACKEND_NAMES], default: ["all"], placeholder: "a,b", group: RUN, aliases: ["backend"] },
  baseline: { type: "string", help: "the headline gate's baseline (default tokio when it runs, else epoll), also the reference of the ratios", placeholder: "NAME", group: RUN },
  candidate: { type: "string", help: "the headline gate's candidate (default c-uring when tokio runs, else uring)", placeholder: "NAME", group: RUN },
  "gate-pairs": { type: "list", help: "more gates as baseline:candidate pairs (default bun:uring,epoll:uring where run)", placeholder: "a:b,c:d", group: RUN },
  control: { type: "string", help: "A/A control: a second instance of the headline baseline (NAME#2), tested for equivalence within a quarter of each threshold", choices: ["on", "off"], default: "on", group: RUN },
  ladder: { type: "bool", help: "the ablation ladder: each io_uring feature's paired gain in scenarios 1, 2 and 6", group: RUN },
  target: { type: "list", help: "your own servers, each a backend of its own (labels usable in --baseline, --candidate, --gate-pairs), or one HOST:PORT", placeholder: "LABEL=HOST:PORT,...", group: RUN },
  "server-control": { type: "string", help: "read each --target's costs on its own host through `serve`'s control channel, found from its data port (the first data port + 10000; docs/two-hosts.md); off: never ask", choices: ["auto", "off"], default: "auto", group: RUN },
  "backend-label": { type: "string", help: "name of a single HOST:PORT --target in the report", placeholder: "NAME", group: RUN },
  quick: { type: "bool", help: "smoke run: fewer rounds and round trips (about a minute)", group: LONG },
  budget: { type: "duration", unit: "s", help: "how long the whole run may take (90s, 4m); rounds stop when their share is used (default 225 s, --quick 55 s)", min: 10, placeholder: "TIME", group: LONG },
  rounds: { type: "int", help: "fixed rounds: no sequential looks, every backend measured N times", min: 1, max: 1000, placeholder: "N", group: LONG },
  "min-rounds": { type: "int", help: "rounds before the first look at the criteria (default 6, --quick 4)", min: 1, max: 1000, placeholder: "N", group: LONG },
  "max-rounds": { type: "int", help: "most rounds of a gated scenario (default 20, --quick 6)", min: 1, max: 1000, placeholder: "N", group: LONG },
  "other-rounds": { type: "int", help: "rounds of backends in no gate and of scenarios no criterion reads (default 3)", min: 1, max: 1000, placeholder: "N", group: LONG },
  placement: { type: "string", help: "CPU placement of server and client (both: cross, then same, a gate for each)", choices: ["cross", "same", "both", "off"], default: "cross", group: PLACE },
  "cpu-idle": { type: "string", help: "idle CPUs: poll (PM QoS 0 on /dev/cpu_dma_latency, needs root), default (the cpuidle governor), both (a gate for each)", choices: ["poll", "default", "both"], default: "poll", group: PLACE },
  "server-cpus": { type: "string", help: "CPUs for the servers, every thread pinned within them (default: the first CPU this process may use: one for the single-threaded servers)", placeholder: "LIST", group: PLACE, aliases: ["server-cpu"] },
  "client-cpus": { type: "string", help: "CPUs for the client (cross; default: every other CPU this process may use)", placeholder: "LIST", group: PLACE, aliases: ["client-cpu"] },
  "server-threads": { type: "int", help: "loops of the thread-per-core backends (c-epoll-mt, c-uring-mt, tokio-mt's workers) (default: one per server CPU)", min: 1, max: 256, placeholder: "N", group: PLACE },
  "client-threads": { type: "int", help: "threads of the C load client, one per client CPU in turn (default: as many as client CPUs); each has its own connections", min: 1, max: 256, placeholder: "N", group: PLACE },
  "stall-bound": { type: "duration", unit: "ms", help: "a unit whose server or client CPU lost more than this (steal time, hiccups) is measured again", default: 5, min: 0, placeholder: "TIME", group: PLACE },
  hiccup: { type: "string", help: "a thread per measured CPU that wakes every 5 ms to catch stalls", choices: ["on", "off"], default: "on", group: PLACE },
  "fresh-servers": { type: "string", help: "a fresh process for every server in every round, so what differs between server instances is inside the intervals (off: one process per run)", choices: ["on", "off"], default: "on", group: SERVERS },
  "server-warmup": { type: "int", help: `echo round trips through every new process of a server written in TypeScript before it is measured: a new Bun process answers more slowly for about the first 14,000 (0: none; default ${SERVER_WARMUP}, --quick ${SERVER_WARMUP_QUICK}, or $IOURING_BENCH_SERVER_WARMUP)`, min: 0, max: 10_000_000, placeholder: "N", group: SERVERS },
  host: { type: "string", help: "address the servers listen on", default: "127.0.0.1", placeholder: "ADDRESS", group: SERVERS },
  client: { type: "string", help: "auto: the C load client for the throughput scenarios 2 and 6, the TypeScript loops elsewhere; ts: TypeScript everywhere; c: C everywhere it exists", choices: ["auto", "ts", "c"], default: "auto", group: SERVERS },
  syscalls: { type: "string", help: "count syscalls per request with perf in an untimed pass (auto: on, off with --quick)", choices: ["auto", "on", "off"], default: "auto", group: SERVERS },
  micro: { type: "string", help: "micro-benchmarks for the claims table (auto: on; about 15 s, 1 s with --quick)", choices: ["auto", "on", "off"], default: "auto", group: SERVERS },
  seed: { type: "int", help: "seed for payloads, the order of backends in each round and resampling", default: 1, min: 0, placeholder: "N", group: SERVERS },
  ...SCENARIO_FLAGS,
  sweep: { type: "bool", help: "the connection sweep: throughput, CPU and p99 from 1 to 4096 connections, where io_uring overtakes, capacity at --slo-p99 and 10 000 idle connections (about 3 min; --quick 30 s); alone unless --scenarios is given", group: SWEEP },
  "sweep-connections": { type: "list", help: "connection counts (default 1,8,64,256,1024,4096)", placeholder: "a,b", group: SWEEP },
  "sweep-window": { type: "list", help: "requests in flight per connection (default 1,8)", placeholder: "a,b", group: SWEEP },
  "sweep-sizes": { type: "list", help: "payload sizes in bytes, 4 to 65536 (default 32,1000)", placeholder: "a,b", group: SWEEP },
  "sweep-rounds": { type: "int", help: "paired rounds per connection count (default 6, --quick 2)", min: 1, max: 100, placeholder: "N", group: SWEEP },
  "sweep-parts": { type: "list", help: "what to run (default all three)", choices: ["points", "capacity", "idle"], default: ["points", "capacity", "idle"], placeholder: "a,b", group: SWEEP },
  "sweep-cores": { type: "list", help: "the core-scaling sweep: the thread-per-core backends (c-epoll-mt, c-uring-mt, tokio-mt) at each server core count, the client on the CPUs left; throughput, CPU per request, p99 and scaling efficiency; counts this machine cannot hold beside a client CPU are left out and said so; alone unless --scenarios is given", placeholder: "a,b", group: CORES },
  "sweep-cores-shared": { type: "bool", help: "also measure counts that leave the client no CPU of its own, client and server sharing CPUs (marked: not a scaling figure)", group: CORES },
  "sweep-cores-budget": { type: "duration", unit: "s", help: "how long the core-scaling sweep may take (default 120 s, --quick 30 s)", min: 5, placeholder: "TIME", group: CORES },
  "sweep-budget": { type: "duration", unit: "s", help: "how long the sweep may take (default 165 s, --quick 25 s)", min: 5, placeholder: "TIME", group: SWEEP },
  "slo-p99": { type: "duration", unit: "ms", help: "the p99 latency target of the capacity search (default 1 ms)", min: 0.01, max: 10000, placeholder: "TIME", group: SWEEP },
  "capacity-connections": { type: "int", help: "connections of the capacity search's open-loop load (default 64)", min: 1, max: 16384, placeholder: "C", group: SWEEP },
  "idle-connections": { type: "int", help: "idle connections held open beside the active ones (default 10000)", min: 1, max: 100000, placeholder: "N", group: SWEEP },
  "out-dir": { type: "string", help: "where every run's files go (also $IOURING_BENCH_OUT_DIR; default results/ in the checkout)", placeholder: "DIR", group: OUT },
  ...OUTPUT_FLAGS,
  "update-guide": { type: "string", help: "put the report's first page (with --full: all of it) between <!-- iouring-bench:begin/end --> in FILE", placeholder: "FILE", group: OUT },
  full: { type: "bool", help: "--update-guide: insert the whole report, not only its first page", group: OUT },
  "exit-code": { type: "bool", help: "exit with the verdict: 0 PROCEED, 3 DO NOT PROCEED, 4 undecided, 5 not to be trusted (see Exit codes)", group: OUT },
  corrupt: { type: "string", help: "BACKEND:N flips one answer byte in about every N (BACKEND#2 for the control)", placeholder: "B:N", group: FAULT, aliases: ["corrupt-every"] },
  "inject-delay": { type: "string", help: "BACKEND:MICROS makes that server busy-wait MICROS µs per request (BACKEND#2 for the control)", placeholder: "B:US", group: FAULT, aliases: ["inject-delay-us"] },
};

function parseHostPort(s: string, flag: string): { host: string; port: number } {
  const m = s.match(/^\[?([^\]]+?)\]?:(\d+)$/);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) throw new UsageError(`${flag} '${s}' is not HOST:PORT with a port from 1 to 65535`);
  return { host: m[1], port };
}

export function parseTargets(items: string[] | undefined, label: string | undefined): Target[] {
  if (!items) {
    if (label !== undefined) throw new UsageError("--backend-label names a --target server; add --target HOST:PORT");
    return [];
  }
  const out = items.map((item): Target => {
    const eq = item.indexOf("=");
    if (eq < 0) {
      if (items.length > 1) throw new UsageError(`--target '${item}': with several targets, name each one LABEL=HOST:PORT`);
      return { label: label ?? "remote", ...parseHostPort(item, "--target") };
    }
    const name = item.slice(0, eq);
    if (!/^[A-Za-z0-9][A-Za-z0-9_.#-]*$/.test(name)) throw new UsageError(`--target '${item}': the label '${name}' must be letters, digits, '_', '.', '-' or '#'`);
    return { label: name, ...parseHostPort(item.slice(eq + 1), "--target") };
  });
  const dup = out.find((t, i) => out.findIndex((u) => u.label === t.label) !== i);
  if (dup) throw new UsageError(`--target: the label '${dup.label}' is used twice`);
  if (label !== undefined && items.some((i) => i.includes("="))) throw new UsageError("--backend-label is for a single HOST:PORT --target; name targets LABEL=HOST:PORT instead");
  return out;
}

/** The BACKEND:N items of a fault-injection flag (--corrupt, --inject-delay), as the server arguments they become. */
function faultTargetsOf(v: string | undefined, flag: string, what: string, known: string[], min: number, max: number, args: (n: number) => string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (v === undefined) return out;
  for (const item of v.split(",")) {
    const [b, n, ...rest] = item.split(":");
    const x = Number(n);
    if (!known.includes(b) || rest.length || n === undefined || n.trim() === "" || !Number.isInteger(x) || x < min || x > max) throw new UsageError(`${flag} '${item}' is not BACKEND:${what}`);
    out.set(b, args(x));
  }
  return out;
}

function intList(v: unknown, flag: string, min: number, max: number): number[] | undefined {
  if (v === undefined) return undefined;
  const out = (v as string[]).map((x) => {
    const n = Number(x);
    if (x.trim() === "" || !Number.isInteger(n) || n < min || n > max) throw new UsageError(`${flag}: '${x}' is not an integer from ${min} to ${max}`);
    return n;
  });
  return [...new Set(out)].sort((a, b) => a - b);
}

/** The core-scaling sweep's plan from its flags, or undefined without --sweep-cores. */
function coreScalingFromFlags(args: Parsed, quick: boolean, argv: string[], listed: string[], explicitBackends: boolean): CoreScalingPlan | undefined {
  if (args["sweep-cores"] === undefined) {
    const stray = ["sweep-cores-shared", "sweep-cores-budget"].find((f) => argv.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)));
    if (stray) throw new UsageError(`--${stray} belongs to the core-scaling sweep; add --sweep-cores`);
    return undefined;
  }
  const d = coreScalingDefaults(quick);
  // The thread-per-core backends named in --backends, else all of them.
  const named = explicitBackends ? listed.filter((b) => THREADED_BACKEND_NAMES.includes(b)) : [];
  return {
    ...d,
    counts: intList(args["sweep-cores"], "--sweep-cores", 1, 1024)!,
    shared: Boolean(args["sweep-cores-shared"]),
    backends: named.length ? named : [...THREADED_BACKEND_NAMES],
    clientThreads: args["client-threads"] as number | undefined,
    budgetS: (args["sweep-cores-budget"] as number | undefined) ?? d.budgetS,
  };
}

/** The sweep's plan from its flags (defaults: sweepDefaults), or undefined without --sweep. */
function sweepFromFlags(args: Parsed, quick: boolean, argv: string[]): SweepPlan | undefined {
  const sweepFlags = Object.keys(BENCH_FLAGS).filter((f) => (f.startsWith("sweep-") && !f.startsWith("sweep-cores")) || f === "slo-p99" || f === "capacity-connections" || f === "idle-connections");
  if (!args.sweep) {
    const stray = sweepFlags.find((f) => argv.some((a) => a === `--${f}` || a.startsWith(`--${f}=`)));
    if (stray) throw new UsageError(`--${stray} belongs to the sweep; add --sweep`);
    return undefined;
  }
  const d = sweepDefaults(quick);
  const slo = args["slo-p99"] as number | undefined;
  return {
    ...d,
    parts: [...new Set(args["sweep-parts"] as SweepPart[])],
    connections: intList(args["sweep-connections"], "--sweep-connections", 1, 16384) ?? d.connections,
    windows: intList(args["sweep-window"], "--sweep-window", 1, 256) ?? d.windows,
    payloads: intList(args["sweep-sizes"], "--sweep-sizes", 4, 65536) ?? d.payloads,
    rounds: (args["sweep-rounds"] as number | undefined) ?? d.rounds,
    budgetS: (args["sweep-budget"] as number | undefined) ?? d.budgetS,
    capacity: { ...d.capacity, sloUs: slo !== undefined ? Math.round(slo * 1000) : d.capacity.sloUs, connections: (args["capacity-connections"] as number | undefined) ?? d.capacity.connections },
    idle: { ...d.idle, idle: (args["idle-connections"] as number | undefined) ?? d.idle.idle },
  };
}



/**
 * The placements the flags ask for (the doctor reads them too), with a
 * warning when cross-core is impossible. Defaults on a machine with N CPUs:
 * the servers get the first CPU this process may use (the single-threaded
 * servers need one), the client every other; same-core puts the client on
 * the servers' CPUs.
 */
export function placementsFromFlags(args: Parsed, warnings: RunWarning[], allowed: number[] = allowedCpus()): { placements: Placement[]; mode: Placement["mode"] | "both"; warnings: RunWarning[] } {
  const mode = args.placement as Placement["mode"] | "both";
  const server = cpuListFlag(args["server-cpus"] as string | undefined, "--server-cpus", allowed) ?? [allowed[0]];
  const givenClient = cpuListFlag(args["client-cpus"] as string | undefined, "--client-cpus", allowed);
  const others = allowed.filter((c) => !server.includes(c));
  const client = givenClient ?? (others.length ? others : server);
  const threads = (args["client-threads"] as number | undefined) ?? undefined;
  const serverThreads = args["server-threads"] as number | undefined;
  if ((mode === "cross" || mode === "both") && allowed.length >= 2 && client.some((c) => server.includes(c)))
    throw new UsageError(`--placement ${mode} needs --server-cpus and --client-cpus that do not overlap (here ${cpuListText(server)} and ${cpuListText(client)})`);
  const place = (m: "cross" | "same", serverSet: number[], clientSet: number[], note?: string): Placement => ({
    mode: m,
    serverCpu: serverSet[0],
    clientCpu: clientSet[0],
    serverCpus: serverSet,
    clientCpus: clientSet,
    clientThreads: threads ?? clientSet.length,
    serverThreads: serverThreads ?? serverSet.length,
    ...(note ? { note } : {}),
  });
  const cross = (): Placement => {
    if (allowed.length < 2) {
      warnings.push(warning("one-cpu", "Only one CPU: cross-core placement is impossible, ran same-core instead."));
      return place("same", server, server, "cross requested but only one CPU");
    }
    return place("cross", server, client);
  };
  const same = (): Placement => place("same", server, server);
  const placements: Placement[] =
    mode === "both" ? (allowed.length < 2 ? [same()] : [cross(), same()]) : mode === "cross" ? [cross()] : mode === "same" ? [same()] : [{ mode: "off", serverCpu: null, clientCpu: null }];
  return { placements, mode, warnings };
}

/** The plan, or a UsageError saying what is wrong with the flags. */
export function planFromFlags(args: Parsed, argv: string[], log: (m: string) => void): BenchPlan {
  const quick = Boolean(args.quick);
  const warnings: RunWarning[] = [];
  const targets = parseTargets(args.target as string[] | undefined, args["backend-label"] as string | undefined);
  const listed = args.backends as string[];
  // With --target only the targets run, unless --backends names local ones too.
  const explicitBackends = argv.some((a) => a === "--backends" || a.startsWith("--backends="));
  const ladder = Boolean(args.ladder);
  const sweepOnly = Boolean(args.sweep) && !argv.some((a) => a === "--scenarios" || a.startsWith("--scenarios="));
  const coreScaling = coreScalingFromFlags(args, quick, argv, listed, explicitBackends);
  // A sweep alone runs the gates' backends only: the pairs its crossover is read for.
  const all = sweepOnly ? DEFAULT_BACKEND_NAMES.filter((b) => SWEEP_BACKENDS.includes(b)) : [...DEFAULT_BACKEND_NAMES];
  // --sweep-cores alone starts its own servers per core count: nothing else runs.
  const coreOnly = coreScaling !== undefined && !args.sweep && !argv.some((a) => a === "--scenarios" || a.startsWith("--scenarios="));
  const chosenBackends = coreOnly || (targets.length && !explicitBackends) ? [] : listed.includes("all") ? all : listed;
  // --ladder runs every step, whatever else runs.
  const backends = ladder ? [...new Set([...chosenBackends, ...LADDER_STEPS.map((x) => x.backend)])] : chosenBackends;
  const labels = [...backends, ...targets.map((t) => t.label)];
  const clash = targets.find((t) => backends.includes(t.label));
  if (clash) throw new UsageError(`--target label '${clash.label}' is also a local backend; choose another label`);
  const known = (name: string) => labels.includes(name) || BACKEND_NAMES.includes(name);
  const baseline = args.baseline as string | undefined;
  const candidate = args.candidate as string | undefined;
  for (const [flag, v] of [["--baseline", baseline], ["--candidate", candidate]] as const)
    if (v !== undefined && !known(v)) throw new UsageError(`${flag} ${v} is neither a backend (${BACKEND_NAMES.join(", ")}) nor a --target label`);
  if (baseline !== undefined && !labels.includes(baseline)) throw new UsageError(`--baseline ${baseline} is not among --backends ${labels.join(",")}`);
  let gatePairs: [string, string][] | undefined;
  if (args["gate-pairs"] !== undefined) {
    gatePairs = (args["gate-pairs"] as string[]).map((p) => {
      const [a, b, ...rest] = p.split(":");
      if (!a || !b || rest.length || !known(a) || !known(b)) throw new UsageError(`--gate-pairs: '${p}' is not baseline:candidate with known backends (${BACKEND_NAMES.join(", ")}) or --target labels`);
      return [a, b];
    });
  }
  // A gate's backends run, whatever --backends says (the thread-per-core pair is not in "all").
  for (const name of (gatePairs ?? []).flat()) if (BACKEND_NAMES.includes(name) && !backends.includes(name)) backends.push(name);
  const serverArgs = new Map<string, string[]>();
  const faultTargets = [...BACKEND_NAMES, ...BACKEND_NAMES.map((b) => `${b}#2`)];
  for (const [b, a] of faultTargetsOf(args.corrupt as string | undefined, "--corrupt", "N (N >= 1)", faultTargets, 1, Number.MAX_SAFE_INTEGER, (n) => ["--corrupt-every", String(n)])) serverArgs.set(b, a);
  const delays = faultTargetsOf(args["inject-delay"] as string | undefined, "--inject-delay", `MICROS (an integer from 0 to ${MAX_INJECT_DELAY_US})`, faultTargets, 0, MAX_INJECT_DELAY_US, injectDelayArgs);
  for (const [b, a] of delays) serverArgs.set(b, [...(serverArgs.get(b) ?? []), ...a]);
  for (const [b, a] of serverArgs) warnings.push(warning("fault-injection", `Fault injection: ${b} runs with ${a.join(" ")}. Its figures are not real.`));

  // ---- scenarios and their options ----
  const sweep = sweepFromFlags(args, quick, argv);
  // --sweep alone measures the sweep only; --scenarios adds the guide's scenarios (and the gate).
  const explicitScenarios = argv.some((a) => a === "--scenarios" || a.startsWith("--scenarios="));
  const scenarios = (sweep || coreScaling) && !explicitScenarios ? [] : [...new Set((args.scenarios as string[]).flatMap((n) => (n === "all" ? SCENARIOS : [findScenario(n)!])))].sort((a, b) => a.number - b.number);
  // The flags that set a scenario's options (each scenario declares its own); what is not given keeps its default.
  const options = (def: Scenario, o: Record<string, unknown>) => {
    const set: Record<string, unknown> = {};
    for (const [name, f] of Object.entries(def.flags ?? {}) as [string, ScenarioFlag][]) {
      if (args[name] === undefined) continue;
      try {
        set[f.option] = f.toOption ? f.toOption(args[name] as number | string[]) : args[name];
      } catch (e) {
        if (e instanceof RangeError) throw new UsageError(e.message);
        throw e;
      }
    }
    return { ...o, ...set };
  };  // A scenario that needs local servers is not run against your servers alone.
  const runnable = scenarios.filter((def) => {
    if (!def.localOnly || backends.length) return true;
    warnings.push(warning("scenario-skipped", `Scenario ${def.number} skipped: ${def.localOnly}.`));
    return false;
  });
  const chosen = runnable.map((def) => ({ def, options: options(def, { ...(quick ? def.quick : def.defaults) }) }));

  // ---- placement ----
  const { placements, mode, warnings: placed } = placementsFromFlags(args, warnings);
  void placed;
  // Your servers only (--target): nothing of ours to place on the server side.
  if (coreOnly) for (const p of placements) p.note = "the core-scaling sweep places each core count itself";
  else if (!backends.length)
    for (const p of placements) {
      p.serverCpu = null;
      delete p.serverCpus;
    }
  const idle = args["cpu-idle"] as string;
  const cpuIdle: CpuIdleMode[] = idle === "both" ? ["poll", "default"] : [idle as CpuIdleMode];

  // ---- rounds and budget ----
  let looks: number[];
  if (args.rounds !== undefined) looks = [args.rounds as number];
  else {
    const min = (args["min-rounds"] as number | undefined) ?? (quick ? 4 : 6);
    const max = Math.max(min, (args["max-rounds"] as number | undefined) ?? (quick ? 6 : 20));
    // Looks after the first block and then after blocks of about a third of what remains: three looks by default.
    looks = [min];
    const step = Math.max(2, Math.ceil((max - min) / 2));
    for (let n = min + step; n < max; n += step) looks.push(n);
    if (max > min) looks.push(max);
  }
  const otherRounds = (args["other-rounds"] as number | undefined) ?? (args.rounds as number | undefined) ?? 3;
  const budgetS = (args.budget as number | undefined) ?? (quick ? 55 : 225);
  const warmupEnv = process.env.IOURING_BENCH_SERVER_WARMUP;
  if (warmupEnv !== undefined && !/^\d{1,8}$/.test(warmupEnv)) throw new UsageError(`$IOURING_BENCH_SERVER_WARMUP must be a number of round trips (0 or more), not '${warmupEnv}'`);
  const serverWarmup = (args["server-warmup"] as number | undefined) ?? (warmupEnv !== undefined ? Number(warmupEnv) : quick ? SERVER_WARMUP_QUICK : SERVER_WARMUP);
  if (looks[0] < 3) warnings.push(warning("few-rounds", `Only ${looks[0]} round(s) before the first look: intervals need at least 3.`));
  const toStdout = OUTPUTS.filter((f) => f.flag && args[f.flag.name] === "-");
  if (toStdout.length > 1) throw new UsageError(`only one output can go to standard output, not ${toStdout.map((f) => `--${f.flag!.name} -`).join(" and ")}`);
  for (const f of OUTPUTS) if (f.flag && !f.flag.stdout && args[f.flag.name] === "-") throw new UsageError(`--${f.flag.name} cannot go to standard output; give a file`);
  // Targets too: those whose figures are read (serve's control channel, or a pid here) get a counting pass.
  const countSyscalls = backends.length + targets.length > 0 && (args.syscalls === "on" || (args.syscalls === "auto" && !quick));
  void log;
  return {
    quick,
    seed: args.seed as number,
    host: args.host as string,
    client: args.client as "auto" | "ts" | "c",
    backends,
    targets,
    serverControl: args["server-control"] === "auto",
    baseline,
    candidate,
    gatePairs,
    control: args.control === "on" && backends.length > 0 && chosen.length > 0,
    sweepBackends: explicitBackends ? labels : undefined,
    scenarios: chosen,
    placements,
    cpuIdle,
    looks,
    otherRounds,
    budgetS,
    stallBoundMs: (args["stall-bound"] as number | undefined) ?? 5,
    maxRepeats: 2,
    hiccup: args.hiccup === "on",
    countSyscalls,
    ladder,
    sweep,
    coreScaling,
    serverArgs,
    freshServers: args["fresh-servers"] === "on",
    serverWarmup,
    output: {
      outDir: resolve((args["out-dir"] as string | undefined) ?? process.env.IOURING_BENCH_OUT_DIR ?? join(ROOT, "results")),
      copies: new Map(OUTPUTS.flatMap((f) => (f.flag && args[f.flag.name] !== undefined ? [[f.flag.name, args[f.flag.name] as string] as [string, string]] : []))),
      updateGuide: args["update-guide"] !== undefined ? { file: args["update-guide"] as string, full: Boolean(args.full) } : undefined,
      verdictExitCode: Boolean(args["exit-code"]),
    },
    argv,
    config: {
      quick,
      budget_s: budgetS,
      looks,
      other_rounds: otherRounds,
      seed: args.seed,
      scenarios: chosen.map((s) => s.def.slug),
      options: Object.fromEntries(chosen.map((s) => [s.def.slug, s.options])),
      backends,
      targets,
      baseline: baseline ?? null,
      candidate: candidate ?? null,
      client: args.client,
      placement: mode,
      cpu_idle: idle,
      control: args.control,
      fresh_servers: args["fresh-servers"],
      server_warmup: serverWarmup,
      syscalls: args.syscalls,
      ladder,
      sweep: sweep ?? null,
      core_scaling: coreScaling ?? null,
    },
    warnings,
    log,
    startedAt: performance.now(),
  };
}
