// `bun run bench`: flags become one plan (bench-plan.ts), the run measures
// every backend in paired, randomly ordered rounds within a time budget and
// returns results that carry their gates, claims and warnings (bench/run/),
// the terminal gets the report, and one export step writes every file
// (bench/report/export.ts). This file only parses, calls and prints.
import { ensureBuilt, ROOT } from "../../ffi/build.ts";
import { parseOrExit, usageExit, UsageError } from "./args.ts";
import { BENCH_FLAGS, BENCH_GROUPS, planFromFlags } from "./bench-plan.ts";
import { EXIT_CODE_HELP, EXIT_CODES, verdictExitCode } from "../verdict/exit-code.ts";

const cmd = "bun run bench";
const PREFIX = "bench";
const SUMMARY =
  "Compares network backends on the io_uring integration guide's verification scenarios and evaluates its decision gate: " +
  "the same servers built nine ways, measured in paired rounds, every answer verified.";
const EXAMPLES: [string, string][] = [
  ["bun run bench", "the default run: every backend, six scenarios, the gates (about 4 minutes)"],
  ["bun run bench --quick", "a smoke run (about a minute)"],
  ["bun run bench --scenarios 1,6 --backends tokio,c-uring --budget 2m", "two scenarios, the headline pair only"],
  ["bun run bench --target mine=10.0.0.2:7000 --baseline mine --candidate c-uring", "gate your own server against io_uring"],
  ["bun run bench --exit-code --json - > run.json", "for CI: the verdict as the exit code, the JSON on standard output"],
];
const log = (m: string) => process.stderr.write(`${m}\n`);
// `npm run bench --quick` hands --quick to npm, not to us (npm sets npm_config_quick): a full run would start silently.
const eaten = Object.keys(BENCH_FLAGS).filter((f) => process.env.npm_lifecycle_event?.startsWith("bench") && process.env[`npm_config_${f.replace(/-/g, "_")}`] !== undefined && !["json"].includes(f));
if (eaten.length)
  usageExit(PREFIX, cmd, `npm kept ${eaten.map((f) => `--${f}`).join(" ")} for itself; run \`npm run bench -- ${eaten.map((f) => `--${f}`).join(" ")} ...\`${eaten.length === 1 && eaten[0] === "quick" ? " or `npm run bench:quick`" : ""}`);
const args = parseOrExit(process.argv.slice(2), cmd, SUMMARY, BENCH_FLAGS, { prefix: PREFIX, groups: BENCH_GROUPS, examples: EXAMPLES, exitCodes: EXIT_CODE_HELP, root: ROOT });
let plan: ReturnType<typeof planFromFlags>;
try {
  plan = planFromFlags(args, process.argv.slice(2), log);
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  usageExit(PREFIX, cmd, e.message);
}
try {
  ensureBuilt();
} catch (e) {
  process.stderr.write(`${PREFIX}: ${(e as Error).message.split("\n").slice(0, 4).join("\n")}\n`);
  process.exit(EXIT_CODES.usage);
}
// The shims are built: only now load what uses them.
const net = await import("../../ffi/net.ts");
const { runBench } = await import("../run/session.ts");
const { renderTerminalReport } = await import("../report/report.ts");
const { exportResults } = await import("../report/export.ts");
const { runMicro } = await import("../micro/index.ts");
const { warning } = await import("../results/warnings.ts");

// Where the results go must take them before anything is measured: a run of minutes lost at the end to a typo is the worst answer.
{
  const { outputProblem } = await import("../report/export.ts");
  const problem = outputProblem(plan.output);
  if (problem) usageExit(PREFIX, cmd, problem);
}
// Your own servers must answer before anything is measured: say so now, not as errors in every table.
for (const t of plan.targets) {
  try {
    net.close(net.connect(t.host, t.port));
  } catch (e) {
    process.stderr.write(`${PREFIX}: --target ${t.label}=${t.host}:${t.port}: ${(e as Error).message.replace(/^connect \S+: /, "")}; is \`bun run serve --host ADDRESS --port ${t.port}\` (or your server) running there and reachable?\n`);
    process.exit(EXIT_CODES.usage);
  }
}
// The pre-flight check's findings first (bun run doctor shows them all): what this run will measure with less.
{
  const { readPreflight } = await import("../run/preflight.ts");
  const { diagnose, preflightLines } = await import("../verdict/doctor.ts");
  for (const line of preflightLines(diagnose(readPreflight(plan.placements[0])))) log(`pre-flight: ${line}`);
}
// A sweep alone has no claims table to feed: micro-benchmarks only when asked for.
const micro = plan.backends.length > 0 && (args.micro === "on" || (args.micro === "auto" && plan.scenarios.length > 0));
log(
  `iouring-bench: ${[...plan.backends, ...plan.targets.map((t) => t.label)].join(", ")} × ${[...plan.scenarios.map((s) => s.def.slug), ...(plan.sweep ? [`sweep (${plan.sweep.parts.join(", ")}; ${plan.sweep.budgetS} s)`] : []), ...(plan.coreScaling ? [`core scaling of ${plan.coreScaling.backends.join(", ")} at ${plan.coreScaling.counts.join(",")} server cores (${plan.coreScaling.budgetS} s)`] : [])].join(", ")}; rounds ${plan.looks.join("/")} (looks), others ${plan.otherRounds}; budget ${plan.budgetS} s; placement ${plan.placements.map((p) => p.mode).join(" then ")}; idle ${plan.cpuIdle.join(" then ")}`,
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

// The report on the terminal; standard output belongs to a "-" copy when one was asked for.
const stdoutTaken = [...plan.output.copies.values()].includes("-");
(stdoutTaken ? log : console.log)(renderTerminalReport(results));
const exported = exportResults(results, samples, { ...plan.output, finished: runCode === 0 });
for (const text of exported.stdout) process.stdout.write(text);
for (const f of exported.failed) log(`${PREFIX}: could not write ${f.path}: ${f.error}`);
const [first, ...rest] = exported.written;
if (first) log(`\nresults: ${first}${rest.length ? ` (+ ${rest.length} more: ${rest.map((p) => p.split("/").pop()).join(", ")})` : ""}`);
let exitCode = runCode !== 0 ? runCode : exported.failed.length ? EXIT_CODES.stopped : EXIT_CODES.ok;
if (exitCode === EXIT_CODES.ok && plan.output.verdictExitCode) exitCode = verdictExitCode(results.gate);
process.exit(exitCode);
