// `bun run doctor`: the pre-flight check. What this machine offers the run
// `bench` would make with the same placement flags, and for each thing it
// lacks, what that changes in the measurement and the command that fixes it.
// Exit 0 when a run can go (warnings allowed), 2 when it cannot.
import { ensureBuilt, ROOT } from "../../ffi/build.ts";
import { parseOrExit, usageExit, UsageError } from "./args.ts";
import { BENCH_FLAGS, placementsFromFlags } from "./bench-plan.ts";

const cmd = "bun run doctor";
const PREFIX = "doctor";
const FLAGS = Object.fromEntries(["placement", "server-cpus", "client-cpus", "client-threads"].map((f) => [f, BENCH_FLAGS[f]]));
const args = parseOrExit(process.argv.slice(2), cmd, "Checks what this machine offers a benchmark run before you start one: privileges, idle CPUs, io_uring and its features, perf, the Tokio reference, CPUs and placement, descriptors, and the kernel settings that shape the figures.", FLAGS, {
  prefix: PREFIX,
  examples: [["bun run doctor", "the default run's placement: server on CPU 0, client on CPU 1"]],
  exitCodes: ["0  a run can go (warnings say what it will measure with less)", "2  a run cannot answer its question here (each FAIL says how to fix it)"],
  root: ROOT,
});
let placement;
try {
  placement = placementsFromFlags(args, []).placements[0];
} catch (e) {
  if (e instanceof UsageError) usageExit(PREFIX, cmd, e.message);
  throw e;
}
try {
  ensureBuilt();
} catch (e) {
  // The shims cannot be built: say so in the doctor's own words.
  process.stderr.write(`${PREFIX}: FAIL compiler and liburing: ${(e as Error).message.split("\n")[0]}. Fix: sudo apt-get update && sudo apt-get install -y gcc libc6-dev liburing-dev\n`);
  process.exit(2);
}
const { readPreflight } = await import("../run/preflight.ts");
const { canRun, diagnose } = await import("../verdict/doctor.ts");
const { hanging, terminalWidth } = await import("../report/terminal.ts");
const items = diagnose(readPreflight(placement));
// One entry per check: its status and what was found, then what it changes and the fix, indented.
const width = terminalWidth();
const head = (label: string, text: string, indent: number) => hanging(label, text, indent, width);
const lines = ["Pre-flight check: what a run here can measure", ""];
const indent = 6 + Math.max(...items.map((i) => i.check.length), "changes:".length) + 2;
for (const i of items) {
  lines.push(...head(`${(i.status === "fail" ? "FAIL" : i.status).padEnd(4)}  ${i.check}`, i.found, indent));
  if (i.effect) lines.push(...head(`${" ".repeat(6)}changes:`, i.effect, indent));
  if (i.fix) lines.push(...head(`${" ".repeat(6)}fix:`, i.fix, indent));
}
lines.push("", canRun(items) ? "A run can go: npm run bench. Each warn says what it will measure with less." : "A run cannot answer its question here until each FAIL is fixed.");
console.log(lines.join("\n"));
process.exit(canRun(items) ? 0 : 2);
