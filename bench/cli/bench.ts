// `bun run bench`: flags become one plan (bench-plan.ts), the run measures
// every backend in paired, randomly ordered rounds within a time budget
// (bench/run/), and the results (the JSON, the source of truth) are rendered
// to the terminal, markdown and SVG.
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { ensureBuilt, ROOT } from "../../ffi/build.ts";
import { parseOrExit, usageText, UsageError } from "./args.ts";
import { BENCH_FLAGS, planFromFlags } from "./bench-plan.ts";

const cmd = "bun run bench";
const SUMMARY = "Compares network backends on the guide's verification scenarios and evaluates its decision gate.";
const log = (m: string) => process.stderr.write(`${m}\n`);
const args = parseOrExit(process.argv.slice(2), cmd, SUMMARY, BENCH_FLAGS);
let plan: ReturnType<typeof planFromFlags>;
try {
  plan = planFromFlags(args, process.argv.slice(2), log);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  process.stderr.write(`${cmd}: ${e.message}\n\n${usageText(cmd, SUMMARY, BENCH_FLAGS)}\n`);
  process.exit(2);
}
try {
  ensureBuilt();
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message.split("\n").slice(0, 4).join("\n")}\n`);
  process.exit(2);
}
// The shims are built: only now load what uses them.
const net = await import("../../ffi/net.ts");
const { runBench } = await import("../run/session.ts");
const { renderTerminalReport, renderMarkdownReport } = await import("../report/report.ts");
const { updateGuideFile } = await import("../report/update-guide.ts");
const { latencyDistributionSvg, latencySeriesFromSamples } = await import("../report/svg.ts");
const { forestGates, gatesForestSvg } = await import("../report/forest.ts");
const { sweepChartsSvg } = await import("../report/sweep-chart.ts");
const { runMicro } = await import("../micro/index.ts");
const { warning } = await import("../results/warnings.ts");

// Your own servers must answer before anything is measured: say so now, not as errors in every table.
for (const t of plan.targets) {
  try {
    net.close(net.connect(t.host, t.port));
  } catch (e) {
    process.stderr.write(`bench: --target ${t.label}=${t.host}:${t.port}: ${(e as Error).message.replace(/^connect \S+: /, "")}; is \`bun run serve --host ADDRESS --port ${t.port}\` (or your server) running there and reachable?\n`);
    process.exit(2);
  }
}
// A sweep alone has no claims table to feed: micro-benchmarks only when asked for.
const micro = plan.backends.length > 0 && (args.micro === "on" || (args.micro === "auto" && plan.scenarios.length > 0));
log(
  `iouring-bench: ${[...plan.backends, ...plan.targets.map((t) => t.label)].join(", ")} × ${[...plan.scenarios.map((s) => s.def.slug), ...(plan.sweep ? [`sweep (${plan.sweep.parts.join(", ")}; ${plan.sweep.budgetS} s)`] : [])].join(", ")}; rounds ${plan.looks.join("/")} (looks), others ${plan.otherRounds}; budget ${plan.budgetS} s; placement ${plan.placements.map((p) => p.mode).join(" then ")}; idle ${plan.cpuIdle.join(" then ")}`,
);
const { results, exitCode: runCode, samples } = await runBench({
  ...plan,
  // Micro-benchmarks first: before any thread is pinned and while no server runs.
  before: async () => {
    if (!micro) return {};
    try {
      log("micro-benchmarks (bun:ffi, epoll_wait, read, write, io_uring nop, JSON, matching)");
      return { micro: await runMicro({ quick: plan.quick, log: () => {} }) };
    } catch (e) {
      plan.warnings.push(warning("micro-failed", `Micro-benchmarks failed: ${(e as Error).message}. The claims table lacks their rows.`));
      return {};
    }
  },
});
let exitCode = runCode;

// ---- output: terminal, JSON (the source of truth), SVGs, markdown, guide ----
console.log(renderTerminalReport(results));
const stamp = results.context.date.replace(/[:.]/g, "-");
const resultsDir = join(ROOT, "results");
mkdirSync(resultsDir, { recursive: true });
const jsonText = JSON.stringify(results, null, 2) + "\n";
const jsonPath = join(resultsDir, `bench-${stamp}.json`);
writeFileSync(jsonPath, jsonText);
writeFileSync(join(resultsDir, "latest.json"), jsonText);
if (args.json) writeFileSync(args.json as string, jsonText);
// Latency distributions of the scenarios that ask for the picture, on a percentile axis that stretches the tail.
const series = latencySeriesFromSamples(results, samples);
const latencyPath = join(resultsDir, `bench-${stamp}.svg`);
if (series.length) {
  const svg = latencyDistributionSvg(series, { baseline: results.gate?.baseline ?? results.baseline, candidate: results.gate?.candidate });
  writeFileSync(latencyPath, svg);
  if (args.svg) writeFileSync(args.svg as string, svg);
}
// The verdict as a picture: every gate's criteria, intervals and thresholds.
const gates = forestGates(results);
const forestPath = join(resultsDir, `bench-${stamp}-gates.svg`);
if (gates.length) {
  const forest = gatesForestSvg(gates);
  writeFileSync(forestPath, forest);
  if (args.forest) writeFileSync(args.forest as string, forest);
}
// The sweep: one chart per (window, payload), throughput over connections with each backend's band.
const sweepCharts = results.sweep ? sweepChartsSvg(results.sweep).map((c) => ({ ...c, path: join(resultsDir, `bench-${stamp}-sweep-w${c.window}-p${c.payload}.svg`) })) : [];
for (const c of sweepCharts) writeFileSync(c.path, c.svg);
// The markdown links the pictures relative to where it is written.
const picturesFor = (mdPath: string) => {
  const rel = (p: string) => relative(dirname(resolve(mdPath)), p) || basename(p);
  return {
    gates: gates.length ? rel(forestPath) : undefined,
    latency: series.length ? rel(latencyPath) : undefined,
    sweep: sweepCharts.length ? sweepCharts.map((c) => ({ window: c.window, payload: c.payload, src: rel(c.path) })) : undefined,
  };
};
const mdPath = join(resultsDir, `bench-${stamp}.md`);
writeFileSync(mdPath, renderMarkdownReport(results, { pictures: picturesFor(mdPath) }));
if (args.markdown) writeFileSync(args.markdown as string, renderMarkdownReport(results, { pictures: picturesFor(args.markdown as string) }));
if (args["update-guide"]) {
  const guide = args["update-guide"] as string;
  try {
    updateGuideFile(guide, renderMarkdownReport(results, { firstPageOnly: !args.full, pictures: picturesFor(guide) }));
  } catch (e) {
    log(`bench: --update-guide: ${(e as Error).message}`);
    exitCode = 1;
  }
}
log(`\nresults: ${jsonPath} (+ .md${series.length ? ", .svg" : ""}${gates.length ? ", -gates.svg" : ""}${sweepCharts.length ? `, ${sweepCharts.length} -sweep-*.svg` : ""})${[args.json, args.markdown, args["update-guide"], args.svg, args.forest].filter(Boolean).map((f) => `, ${f}`).join("")}`);
process.exit(exitCode);
