// How the run went: the rounds each scenario got, why it stopped, and the
// platform stalls it met. The reason a verdict can be trusted (or not).
import type { BenchResults } from "../results/schema.ts";
import type { Table } from "./table.ts";

export function roundsTable(r: BenchResults): Table | undefined {
  const rows = r.scenarios
    .filter((s) => s.sequential)
    .map((s) => {
      const q = s.sequential!;
      const stalls = s.stalls ?? [];
      const kept = stalls.filter((x) => !x.repeated).length;
      return [
        `${s.id}: ${s.name}`,
        String(q.rounds),
        String(q.looks),
        stalls.length ? `${stalls.length - kept} repeated, ${kept} left out` : "none",
        q.elapsed_s.toFixed(1),
        q.stopped,
      ];
    });
  if (!rows.length) return undefined;
  const cfg = r.config as { looks?: number[]; other_rounds?: number; budget_s?: number; confidence_per_look?: number };
  const looks = cfg.looks?.length ? `Looks at the criteria after ${cfg.looks.join(", ")} rounds` : "Fixed rounds";
  return {
    title: "How the rounds went",
    columns: [
      { name: "scenario", align: "left" },
      { name: "rounds" },
      { name: "looks" },
      { name: "stalled units", align: "left" },
      { name: "time, s" },
      { name: "stopped because", align: "left" },
    ],
    rows,
    notes: [
      `${looks}${cfg.confidence_per_look ? ` (each interval at ${(cfg.confidence_per_look * 100).toFixed(1)}%, a Bonferroni share of 95%)` : ""}; a scenario stops when every criterion reading it is settled in every gate, at the most rounds, or when its share of the ${cfg.budget_s ?? "?"} s budget is used. Backends in no gate and scenarios no criterion reads get ${cfg.other_rounds ?? "?"} rounds. Each round visits the backends in a new seeded random order, with every other server paused. A unit during which the server's or client's CPU was taken away (steal time, a hiccup meter) is measured again, at most twice; one still stalled is left out of the gate.`,
    ],
  };
}
