// `bun run micro`: the micro-benchmarks alone (bench/micro), their table and,
// with --json, their results.
import { writeFileSync } from "node:fs";
import { ensureBuilt } from "../../ffi/build.ts";
import { parseOrExit } from "./args.ts";

ensureBuilt();
const { runMicro, fmtErr } = await import("../micro/index.ts");
const { contextLines } = await import("../measure/machine.ts");
const { microTable } = await import("../report/micro-claims-tables.ts");
const { renderTerminal } = await import("../report/terminal.ts");
type MicroResults = Awaited<ReturnType<typeof runMicro>>;

const args = parseOrExit(
  process.argv.slice(2),
  "bun run micro",
  "Times single operations: bun:ffi calls, system calls, epoll_wait, read/write on loopback TCP, an io_uring nop, JSON and matching.",
  {
    quick: { type: "bool", help: "a few seconds: 20 ms of timed calls per benchmark" },
    json: { type: "string", help: "also write the results as JSON here", placeholder: "FILE" },
  },
  { prefix: "micro", exitCodes: ["0  every benchmark ran and its result check passed", "1  a result check failed, or a benchmark failed", "2  usage error"] },
);
let r: MicroResults;
try {
  r = await runMicro({ quick: Boolean(args.quick), log: (m) => process.stderr.write(`${m}\n`) });
} catch (e) {
  process.stderr.write(`micro: ${fmtErr(e)}\n`);
  process.exit(2);
}
const lines = [...contextLines(r.context), "", renderTerminal(microTable(r))];
if (r.warnings.length) lines.push("", ...r.warnings.map((w) => `warning: ${w}`));
console.log(lines.join("\n"));
if (args.json) {
  writeFileSync(args.json as string, JSON.stringify(r, null, 2) + "\n");
  process.stderr.write(`micro: wrote ${args.json}\n`);
}
process.exit(r.benchmarks.some((b) => b.status === "check failed" || b.status === "error") ? 1 : 0);
