// The ablation ladder's table (bench/verdict/ladder.ts computes it): a row per
// scenario and step, the step's figure, its paired gain over the step before
// and over the first step, and its CPU and system calls per request.
import type { LadderGain, LadderResult } from "../results/schema.ts";
import { fmtNum, fmtRate, signed } from "./format.ts";
import type { Table } from "./table.ts";

export const LADDER_TITLE = "What each io_uring feature buys: the ladder";

const gainCell = (g: LadderGain | undefined) => (g ? `${signed(g.estimate_pct)}%` : "");
const intervalCell = (g: LadderGain | undefined) => (!g ? "" : Number.isFinite(g.ci[0]) && Number.isFinite(g.ci[1]) ? `[${signed(g.ci[0])}, ${signed(g.ci[1])}]` : `n/a (${g.rounds} paired round${g.rounds === 1 ? "" : "s"})`);
const nullable = (x: number | null, digits: number) => (x === null ? "n/a" : fmtNum(x, digits));

export function ladderTable(l: LadderResult): Table {
  const rows: string[][] = [];
  for (const s of l.scenarios) {
    const unit = s.higherIsBetter ? "msg/s" : "p50 µs";
    for (const r of s.rows) {
      const value = r.value === null ? `— (${r.missing ?? "no figure"})` : s.higherIsBetter ? fmtRate(r.value) : fmtNum(r.value, 1);
      const extra = l.steps.find((x) => x.backend === r.backend)?.extra_cpu;
      const mark = r.backend === s.best_no_extra_cpu ? " ◀" : "";
      rows.push([`${s.id} ${unit}`, `${r.backend}${extra ? " (+CPU)" : ""}${mark}`, value, r.gain ? `${gainCell(r.gain)} vs ${r.gain.over}` : "", intervalCell(r.gain), gainCell(r.cumulative), nullable(r.cpu_us, 1), nullable(r.syscalls, 2)]);
    }
  }
  const best = l.scenarios.map((s) => `${s.id}: ${s.best_no_extra_cpu ?? "none"}`).join(", ");
  const gatesBest = l.scenarios.every((s) => s.best_no_extra_cpu === l.gate_backend);
  return {
    title: LADDER_TITLE,
    columns: [
      { name: "scenario", align: "left" },
      { name: "step", align: "left" },
      { name: "figure", align: "right" },
      { name: "gain over the step before", align: "right" },
      { name: "interval", align: "right" },
      { name: `over ${l.steps[0]?.backend ?? "the first"}`, align: "right" },
      { name: "CPU µs/req", align: "right" },
      { name: "syscalls/req", align: "right" },
    ],
    rows,
    notes: [
      `Each step adds one thing to the one before: ${l.steps.map((x) => `${x.backend} (${x.adds})`).join("; ")}.`,
      `Gains: positive is better (lower latency, more msg/s); ${l.method}.`,
      `◀ the best step that needs no extra CPU (SQPOLL burns a core; the highest estimated gain over the first step, however wide its interval) per scenario: ${best}. ${gatesBest ? `That is the ${l.gate_backend} the gates use.` : `The gates use ${l.gate_backend}.`}`,
      ...l.notes,
    ],
  };
}
