// `bun run bench`: runs the scenarios against every selected backend,
// alternating backends in rounds, then prints the machine context and one
// table per scenario, and writes the JSON (the source of truth) to results/.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpus } from "node:os";
import { ensureBuilt, ROOT } from "../../ffi/build.ts";
import { parseOrExit, usageText, type FlagSpec } from "./args.ts";

try {
  ensureBuilt();
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message.split("\n").slice(0, 4).join("\n")}\n`);
  process.exit(2);
}
const net = await import("../../ffi/net.ts");
const { BACKENDS, BACKEND_NAMES, servesMode } = await import("../server/backends.ts");
const { ServerProcess, RemoteServer } = await import("../server/process.ts");
const { machineContext } = await import("../measure/machine.ts");
const { renderTerminalReport, renderMarkdownReport } = await import("../report/report.ts");
const { SCHEMA } = await import("../results/schema.ts");
const { evaluateGatePairs } = await import("../verdict/gate.ts");
const { updateGuideFile } = await import("../report/update-guide.ts");
const { latencyDistributionSvg } = await import("../report/svg.ts");
const { concatSamples } = await import("../scenarios/common.ts");
const { runMicro } = await import("../micro/index.ts");
const { claimsTable, scenario5Share } = await import("../verdict/claims.ts");
const { pingPongLatency, PING_PONG_DEFAULTS, PING_PONG_QUICK } = await import("../scenarios/ping-pong-latency.ts");
const { persistentThroughput, PERSISTENT_DEFAULTS, PERSISTENT_QUICK } = await import("../scenarios/persistent-throughput.ts");
const { connectionReuse, REUSE_DEFAULTS, REUSE_QUICK } = await import("../scenarios/connection-reuse.ts");
const { latencyUnderLoad, LOAD_DEFAULTS, LOAD_QUICK } = await import("../scenarios/latency-under-load.ts");
const { requestOverhead, OVERHEAD_DEFAULTS, OVERHEAD_QUICK } = await import("../scenarios/request-overhead.ts");
const { throughputStress, STRESS_DEFAULTS, STRESS_QUICK } = await import("../scenarios/throughput-stress.ts");
import type { BenchResults, BackendInfoResult, PlacementRun, ScenarioResult as ScenarioResultT } from "../results/schema.ts";
import type { RawSamples } from "../scenarios/common.ts";
import type { MicroResults as MicroResultsT } from "../micro/index.ts";

const SCENARIO_NAMES: Record<number, string> = {
  1: "Single ping-pong latency",
  2: "Persistent-connection throughput",
  3: "Connection reuse impact",
  4: "Latency percentiles under load",
  5: "Request-response overhead",
  6: "Throughput stress",
};

import type { Placement } from "../measure/machine.ts";
import type { ServerHandle, ServerProcess as ServerProcessT } from "../server/process.ts";

const SPECS: Record<string, FlagSpec> = {
  quick: { type: "bool", help: "smoke run: fewer rounds and round trips (about a minute)" },
  backends: { type: "list", help: "backends to compare (all: every one; those this machine lacks are reported and skipped)", choices: ["all", ...BACKEND_NAMES], default: ["all"], placeholder: "a,b" },
  baseline: { type: "string", help: "backend the others are compared with, and the gate's baseline", choices: BACKEND_NAMES, default: "bun", placeholder: "NAME" },
  candidate: { type: "string", help: "the gate's candidate", choices: BACKEND_NAMES, default: "uring", placeholder: "NAME" },
  "gate-pairs": { type: "list", help: "more gates as baseline:candidate pairs, after the headline --baseline:--candidate (default epoll:uring,tokio:c-uring where run)", placeholder: "a:b,c:d" },
  scenarios: { type: "list", help: "scenarios to run", choices: ["1", "2", "3", "4", "5", "6"], default: ["1", "2", "3", "4", "5", "6"], placeholder: "1,4,..." },
  placement: { type: "string", help: "CPU placement of server and client (both: cross, then same, a gate for each)", choices: ["cross", "same", "both", "off"], default: "cross" },
  "server-cpu": { type: "int", help: "CPU for the servers (cross/same)", default: 0, min: 0, placeholder: "N" },
  "client-cpu": { type: "int", help: "CPU for the client (cross)", default: 1, min: 0, placeholder: "N" },
  rounds: { type: "int", help: "rounds; each visits every backend once (default 5, --quick 3)", min: 1, max: 1000, placeholder: "N" },
  iterations: { type: "int", help: "measured round trips per backend, size and round (scenario 1)", min: 10, placeholder: "N" },
  warmup: { type: "int", help: "discarded round trips before each measurement (scenario 1)", min: 0, placeholder: "N" },
  sizes: { type: "list", help: "payload sizes in bytes (scenario 1)", default: ["10", "100", "1000"], placeholder: "a,b" },
  client: { type: "string", help: "scenario 1 client loop: TypeScript, or the C reference loop", choices: ["ts", "c"], default: "ts" },
  window: { type: "int", help: "requests in flight on the connection (scenario 2)", default: 16, min: 1, max: 4096, placeholder: "W" },
  connections: { type: "int", help: "connections of the open-loop load (scenario 4)", default: 8, min: 1, max: 10000, placeholder: "C" },
  syscalls: { type: "string", help: "count syscalls per request with perf in an untimed pass (auto: on, off with --quick)", choices: ["auto", "on", "off"], default: "auto" },
  rate: { type: "number", help: "open-loop rate, requests/s (scenario 4; default: half the lowest capacity)", min: 1, placeholder: "R" },
  host: { type: "string", help: "address the servers listen on", default: "127.0.0.1" },
  seed: { type: "int", help: "seed for payloads and bootstrap resampling", default: 1, min: 0 },
  micro: { type: "string", help: "micro-benchmarks for the claims table (auto: on; about 15 s, 1 s with --quick)", choices: ["auto", "on", "off"], default: "auto" },
  json: { type: "string", help: "also write the JSON results here", placeholder: "FILE" },
  markdown: { type: "string", help: "write the report as markdown here", placeholder: "FILE" },
  "update-guide": { type: "string", help: "put the markdown report between <!-- iouring-bench:begin/end --> in FILE (appended when absent)", placeholder: "FILE" },
  svg: { type: "string", help: "also write the latency distribution plot here (one is always written under results/)", placeholder: "FILE" },
  target: { type: "string", help: "measure a server already running on another host (bun run serve there); no local servers", placeholder: "HOST:PORT" },
  "backend-label": { type: "string", help: "name of the --target server in the report (e.g. the backend it runs)", placeholder: "NAME" },
  corrupt: { type: "string", help: "fault injection, to test the harness: BACKEND:N flips one answer byte in about every N", placeholder: "B:N" },
};

const cmd = "bun run bench";
const SUMMARY = "Compares network backends on the guide's verification scenarios.";
const args = parseOrExit(process.argv.slice(2), cmd, SUMMARY, SPECS);
const usage = (msg: string): never => {
  process.stderr.write(`bench: ${msg}\n\n${usageText(cmd, SUMMARY, SPECS)}\n`);
  process.exit(2);
};
const log = (m: string) => process.stderr.write(`${m}\n`);

// ---- flags ---------------------------------------------------------------
const quick = Boolean(args.quick);
const seed = args.seed as number;
const sizes = (args.sizes as string[]).map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0 || n > 1 << 20) usage(`--sizes: '${s}' is not a payload size in bytes (0 to 1048576)`);
  return n;
});

// A remote target replaces the local servers: one backend, measured from outside only.
let target: { host: string; port: number; label: string } | undefined;
if (args.target !== undefined) {
  const m = (args.target as string).match(/^\[?([^\]]+?)\]?:(\d+)$/);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) usage(`--target '${args.target}' is not HOST:PORT with a port from 1 to 65535`);
  target = { host: m![1], port, label: (args["backend-label"] as string | undefined) ?? "remote" };
  // Nothing to measure if it cannot be reached: say so now, not as errors in every table.
  try {
    net.close(net.connect(target.host, target.port));
  } catch (e) {
    process.stderr.write(`bench: --target ${target.host}:${target.port}: ${(e as Error).message.replace(/^connect \S+: /, "")}; is \`bun run serve --host ADDRESS --port ${target.port}\` running there and reachable?\n`);
    process.exit(2);
  }
} else if (args["backend-label"] !== undefined) usage("--backend-label names a --target server; add --target HOST:PORT");

const listed = args.backends as string[];
const requested = target ? [target.label] : listed.includes("all") ? BACKEND_NAMES : listed;
const baseline = target ? target.label : (args.baseline as string);
const candidate = args.candidate as string;
if (!target && !requested.includes(baseline)) usage(`--baseline ${baseline} is not among --backends ${requested.join(",")}`);
const gatePairs: [string, string][] = [[baseline, candidate]];
// The other questions of the guide, by default: the kernel interface alone (same loop), and its Rust engine's.
const defaultPairs = ["epoll:uring", "tokio:c-uring"].filter((p) => p.split(":").every((b) => requested.includes(b)));
for (const p of (args["gate-pairs"] as string[] | undefined) ?? defaultPairs) {
  const [a, b, ...rest] = p.split(":");
  if (!a || !b || rest.length || !BACKEND_NAMES.includes(a) || !BACKEND_NAMES.includes(b)) usage(`--gate-pairs: '${p}' is not baseline:candidate with known backends (${BACKEND_NAMES.join(", ")})`);
  if (!gatePairs.some(([x, y]) => x === a && y === b)) gatePairs.push([a, b]);
}
const corrupt = new Map<string, number>();
if (args.corrupt !== undefined) {
  const [b, n] = (args.corrupt as string).split(":");
  if (!BACKEND_NAMES.includes(b) || !(Number(n) >= 1)) usage(`--corrupt '${args.corrupt}' is not BACKEND:N (N >= 1)`);
  corrupt.set(b, Number(n));
}
const wanted = new Set(args.scenarios as string[]);
const warnings: string[] = [];
if (target && wanted.has("5")) {
  wanted.delete("5");
  warnings.push("Scenario 5 skipped: it needs the server's own processing time and an order-mode server, which a --target run cannot see.");
}

// ---- placement: server process pinned with taskset, the client's JS thread with sched_setaffinity ----
const ncpu = cpus().length;
const serverCpu = args["server-cpu"] as number;
const clientCpu = args["client-cpu"] as number;
if (serverCpu >= ncpu || clientCpu >= ncpu) usage(`--server-cpu/--client-cpu must be below ${ncpu} (this machine's CPU count)`);
const mode = args.placement as Placement["mode"] | "both";
if ((mode === "cross" || mode === "both") && ncpu >= 2 && serverCpu === clientCpu) usage(`--placement ${mode} needs different --server-cpu and --client-cpu`);
const cross = (): Placement => {
  if (ncpu < 2) {
    warnings.push("Only one CPU: cross-core placement is impossible, ran same-core instead.");
    return { mode: "same", serverCpu, clientCpu: serverCpu, note: "cross requested but only one CPU" };
  }
  return { mode: "cross", serverCpu, clientCpu };
};
const same = (): Placement => ({ mode: "same", serverCpu, clientCpu: serverCpu });
const placements: Placement[] =
  mode === "both" ? (ncpu < 2 ? [same()] : [cross(), same()]) : mode === "cross" ? [cross()] : mode === "same" ? [same()] : [{ mode: "off", serverCpu: null, clientCpu: null }];
if (target) for (const p of placements) p.serverCpu = null;
const context = machineContext(placements[0], process.argv.slice(2));
if (target) context.target = target;
const rounds = (args.rounds as number | undefined) ?? (quick ? 3 : 5);
if (rounds < 3) warnings.push(`Only ${rounds} round(s): confidence intervals need at least 3; re-run with --rounds 5 or more.`);

// ---- which backends can run here ------------------------------------------
const backendInfo: BackendInfoResult[] = target
  ? [{ name: target.label, description: `remote server at ${target.host}:${target.port} (started there with bun run serve)`, available: true }]
  : requested.map((name) => {
      const b = BACKENDS[name];
      const a = b.availability();
      return { name, description: b.description, available: a.available, reason: a.reason, hint: a.hint };
    });
for (const b of backendInfo) if (!b.available) warnings.push(`Backend ${b.name} skipped: ${b.reason}. ${b.hint}`);
const runnable = backendInfo.filter((b) => b.available).map((b) => b.name);
if (runnable.length === 0) usage("no requested backend can run here (see the reasons above)");
if (!target && !runnable.includes(baseline)) warnings.push(`Baseline ${baseline} is unavailable: no ratios are given.`);
for (const [b, n] of corrupt) warnings.push(`Fault injection: ${b} flips one answer byte in about every ${n} (--corrupt). Its figures are not real.`);

log(`iouring-bench: ${runnable.join(", ")} × scenarios ${[...wanted].join(",")}, ${rounds} rounds, placement ${placements.map((p) => p.mode).join(" then ")}`);

// ---- micro-benchmarks first: before any thread is pinned and while no server runs ----
let micro: MicroResultsT | undefined;
if (args.micro !== "off" && !target) {
  try {
    log("micro-benchmarks (bun:ffi, epoll_wait, read, write, io_uring nop, JSON, matching)");
    micro = await runMicro({ quick, log: () => {} });
  } catch (e) {
    warnings.push(`Micro-benchmarks failed: ${(e as Error).message}. The claims table lacks their rows.`);
  }
}

// ---- servers and scenarios -------------------------------------------------
const servers = new Map<string, ServerHandle>();
const local = new Map<string, ServerProcessT>();
const rawByPlacement = new Map<string, { s1: RawSamples; s4: RawSamples }>();
let exitCode = 0;
const results: BenchResults = {
  schema: SCHEMA,
  context,
  config: {
    quick,
    rounds,
    seed,
    sizes,
    scenarios: [...wanted],
    window: args.window,
    connections: args.connections,
    rate: args.rate ?? null,
    backends: requested,
    baseline,
    candidate,
    client: args.client,
    placement: mode,
    syscalls: args.syscalls,
  },
  backends: backendInfo,
  baseline,
  scenarios: [],
  warnings,
};
const runs: PlacementRun[] = [];
const serverCpuOf = (p: Placement) => p.serverCpu ?? undefined;

async function runScenarios(placement: Placement, raw: { s1: RawSamples; s4: RawSamples }): Promise<ScenarioResultT[]> {
  const out: ScenarioResultT[] = [];
  const spawnServer = async (backend: string, mode: string) => {
    const b = BACKENDS[backend];
    if (!servesMode(b, mode)) throw new Error(`${backend} serves ${b.modes!.join(", ")} only`);
    return ServerProcess.start({ backend, mode, host: args.host as string, cpu: serverCpuOf(placement), command: b.external?.() });
  };
  const countSyscalls = !target && (args.syscalls === "on" || (args.syscalls === "auto" && !quick));
  const ctx = { backends: [...servers.keys()], servers, baseline, rounds, quick, seed, host: args.host as string, client: args.client as "ts" | "c", log, spawnServer, countSyscalls };
  const run = async (id: number, f: () => Promise<ScenarioResultT>) => {
    if (!wanted.has(String(id))) return;
    const t0 = performance.now();
    try {
      out.push(await f());
    } catch (e) {
      out.push({ id, name: SCENARIO_NAMES[id], status: "failed", note: (e as Error).message, variants: [] });
      warnings.push(`Scenario ${id} (${placement.mode}) failed: ${(e as Error).message}`);
    }
    log(`scenario ${id} (${placement.mode}): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  };
  await run(1, () => {
    const o = { ...(quick ? PING_PONG_QUICK : PING_PONG_DEFAULTS), sizes };
    if (args.iterations !== undefined) o.iterations = args.iterations as number;
    if (args.warmup !== undefined) o.warmup = args.warmup as number;
    return pingPongLatency(ctx, o, raw.s1);
  });
  await run(2, () => persistentThroughput(ctx, { ...(quick ? PERSISTENT_QUICK : PERSISTENT_DEFAULTS), window: args.window as number }));
  await run(3, () => connectionReuse(ctx, quick ? REUSE_QUICK : REUSE_DEFAULTS));
  await run(4, () => latencyUnderLoad(ctx, { ...(quick ? LOAD_QUICK : LOAD_DEFAULTS), connections: args.connections as number, rate: args.rate as number | undefined }, raw.s4));
  await run(5, () => requestOverhead(ctx, quick ? OVERHEAD_QUICK : OVERHEAD_DEFAULTS));
  await run(6, () => throughputStress(ctx, quick ? STRESS_QUICK : STRESS_DEFAULTS));
  return out;
}

try {
  if (target) servers.set(target.label, new RemoteServer(target.label, target.host, target.port));
  for (const name of target ? [] : runnable) {
    try {
      const extraArgs = corrupt.has(name) ? ["--corrupt-every", String(corrupt.get(name))] : [];
      const s = await ServerProcess.start({ backend: name, host: args.host as string, cpu: serverCpuOf(placements[0]), command: BACKENDS[name].external?.(), extraArgs });
      servers.set(name, s);
      local.set(name, s);
    } catch (e) {
      const info = backendInfo.find((b) => b.name === name)!;
      info.available = false;
      info.reason = (e as Error).message;
      info.hint = "run `bun run serve --backend " + name + "` to see the error";
      warnings.push(`Backend ${name} skipped: ${info.reason}`);
    }
  }
  if (servers.size === 0) throw new Error("no server started");
  for (const placement of placements) {
    if (placement.clientCpu !== null) net.pinThisThread(placement.clientCpu);
    const raw = { s1: new Map(), s4: new Map() };
    rawByPlacement.set(placement.mode, raw);
    runs.push({ placement, scenarios: await runScenarios(placement, raw) });
  }
} catch (e) {
  warnings.push(`The run stopped early: ${(e as Error).message}`);
  exitCode = 1;
} finally {
  for (const [name, s] of local) {
    const r = await s.stop();
    const info = backendInfo.find((b) => b.name === name)!;
    if (r.summary) info.serverSummary = r.summary;
    if (r.killed || r.exitCode !== 0) warnings.push(`Server ${name} did not stop cleanly (exit ${r.exitCode}${r.killed ? ", killed" : ""}).`);
  }
}

// ---- warnings, claims, gates -------------------------------------------------
for (const run of runs) {
  const where = runs.length > 1 ? ` (${run.placement.mode})` : "";
  for (const s of run.scenarios)
    for (const v of s.variants)
      for (const b of v.backends)
        if (b.errors.timeout + b.errors.closed + b.errors.mismatch + b.errors.io > 0)
          warnings.push(`Scenario ${s.id}${where} ${v.key}: ${b.backend} had errors; its figures are not comparable. Check the server log with \`bun run serve --backend ${b.backend}\`.`);
        else if (b.failure) warnings.push(`Scenario ${s.id}${where} ${v.key}: ${b.backend} not measured: ${b.failure}.`);
  // A backend that spends more CPU per request than the round trip lasts is spinning somewhere (SQPOLL):
  // its latency is bought with a core that never sleeps.
  for (const v of run.scenarios.find((x) => x.id === 1)?.variants.slice(0, 1) ?? [])
    for (const b of v.backends)
      if (b.costs && b.pooled && b.costs.cpu_us > b.pooled.p50)
        warnings.push(`Scenario 1${where} ${b.backend}: ${b.costs.cpu_us.toFixed(1)} µs of server CPU per request, more than its ${b.pooled.p50.toFixed(1)} µs round trip: it busy-polls, and on a VM a core that never sleeps also skips the costly wake-up. Compare its CPU per request and --placement same before crediting the latency.`);
  for (const s of run.scenarios.filter((x) => x.id === 4))
    for (const b of s.variants[0]?.backends ?? []) {
      const lag = b.extra?.client_lag_p99_us;
      const p99 = b.pooled?.p99;
      if (lag !== undefined && p99 !== undefined && lag > 0.5 * p99)
        warnings.push(`Scenario 4${where} ${b.backend}: the client itself sent late (lag p99 ${lag.toFixed(0)} µs against a p99 of ${p99.toFixed(0)} µs); the tail is partly the client's. Lower --rate or give the client an idle CPU.`);
    }
}

results.scenarios = runs[0]?.scenarios ?? [];
results.micro = micro;
const s1Costs = results.scenarios.find((s) => s.id === 1)?.variants.find((v) => v.key === "100B")?.backends ?? [];
const syscallsPerRequest = Object.fromEntries(s1Costs.filter((b) => b.costs?.syscalls != null).map((b) => [b.backend, b.costs!.syscalls as number]));
results.claims = claimsTable({ micro, scenario5: scenario5Share(results, baseline), syscallsPerRequest });
for (const run of runs) {
  const gates = evaluateGatePairs({ ...results, scenarios: run.scenarios }, gatePairs, seed);
  run.gate = gates[0];
  if (gates.length > 1) run.gates = gates;
}
results.gate = runs[0]?.gate;
results.gates = runs[0]?.gates;
if (runs.length > 1) results.placements = runs;

// ---- output: terminal, JSON (the source of truth), markdown, guide, SVG ----
console.log(renderTerminalReport(results));
const stamp = context.date.replace(/[:.]/g, "-");
const resultsDir = join(ROOT, "results");
mkdirSync(resultsDir, { recursive: true });
const jsonText = JSON.stringify(results, null, 2) + "\n";
const jsonPath = join(resultsDir, `bench-${stamp}.json`);
writeFileSync(jsonPath, jsonText);
writeFileSync(join(resultsDir, "latest.json"), jsonText);
if (args.json) writeFileSync(args.json as string, jsonText);
const md = renderMarkdownReport(results);
writeFileSync(join(resultsDir, `bench-${stamp}.md`), md);
if (args.markdown) writeFileSync(args.markdown as string, md);
if (args["update-guide"]) {
  try {
    updateGuideFile(args["update-guide"] as string, md);
  } catch (e) {
    log(`bench: --update-guide: ${(e as Error).message}`);
    exitCode = 1;
  }
}
// Latency distributions of scenario 1 (100 bytes) and 4, on a percentile axis that stretches the tail.
const panel = (title: string, raw: RawSamples, key: string) => ({
  title,
  lines: [...(raw.get(key) ?? new Map<string, Float64Array[]>())].map(([backend, parts]) => ({ backend, samplesUs: concatSamples(parts).map((x) => x * 1e-3) })),
});
const s1Key = sizes.includes(100) ? "100B" : `${sizes[0]}B`;
const series = [];
for (const [where, raw] of rawByPlacement) {
  if (raw.s1.has(s1Key)) series.push(panel(`Scenario 1: ping-pong latency, ${s1Key} (${where})`, raw.s1, s1Key));
  if (raw.s4.has("open-loop")) series.push(panel(`Scenario 4: open-loop latency from intended send time (${where})`, raw.s4, "open-loop"));
}
if (series.length) {
  const svg = latencyDistributionSvg(series);
  writeFileSync(join(resultsDir, `bench-${stamp}.svg`), svg);
  if (args.svg) writeFileSync(args.svg as string, svg);
}
log(`\nresults: ${jsonPath} (+ .md${series.length ? ", .svg" : ""})${[args.json, args.markdown, args["update-guide"], args.svg].filter(Boolean).map((f) => `, ${f}`).join("")}`);
process.exit(exitCode);
