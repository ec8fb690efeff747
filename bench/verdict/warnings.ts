// What the results themselves say to be careful about, as a closed set of
// codes, each with its message and what to do (hyperfine's warnings.rs).
import type { PlacementRun } from "../results/schema.ts";

export type WarningCode = "backend-errors" | "not-measured" | "busy-polls" | "client-late" | "stalls" | "untrusted";

export interface AnalysisWarning {
  code: WarningCode;
  text: string;
}

const errorSum = (e: { timeout: number; closed: number; mismatch: number; io: number }) => e.timeout + e.closed + e.mismatch + e.io;

/** Warnings from one or more runs (a run per placement and idle mode). */
export function analysisWarnings(runs: PlacementRun[]): AnalysisWarning[] {
  const out: AnalysisWarning[] = [];
  const w = (code: WarningCode, text: string) => out.push({ code, text });
  for (const run of runs) {
    const where = runs.length > 1 ? ` (${run.placement.mode}${run.cpuIdle ? `, idle ${run.cpuIdle}` : ""})` : "";
    for (const s of run.scenarios) {
      for (const v of s.variants)
        for (const b of v.backends)
          if (errorSum(b.errors) > 0)
            w("backend-errors", `Scenario ${s.id}${where} ${v.key}: ${b.backend} had errors; its figures are not comparable. Check the server log with \`bun run serve --backend ${b.backend.replace(/#\d+$/, "")}\`.`);
          else if (b.failure) w("not-measured", `Scenario ${s.id}${where} ${v.key}: ${b.backend} not measured: ${b.failure}.`);
      const stalls = s.stalls ?? [];
      const kept = stalls.filter((x) => !x.repeated);
      if (stalls.length)
        w(
          "stalls",
          `Scenario ${s.id}${where}: ${stalls.length} unit(s) hit by a platform stall (worst ${Math.max(...stalls.map((x) => Math.max(x.stealMs, x.hiccupMs))).toFixed(0)} ms)${kept.length ? `, ${kept.length} still stalled after repeats and left out of the gate` : ", each measured again"}. A busy host steals CPU time from this VM: run when it is quieter, or on bare metal.`,
        );
      // A backend that spends more CPU per request than the round trip lasts is spinning somewhere (SQPOLL):
      // its latency is bought with a core that never sleeps.
      if (s.slug === "ping-pong")
        for (const b of s.variants[0]?.backends ?? [])
          if (b.costs && b.pooled && b.costs.cpu_us > b.pooled.p50)
            w(
              "busy-polls",
              `Scenario 1${where} ${b.backend}: ${b.costs.cpu_us.toFixed(1)} µs of server CPU per request, more than its ${b.pooled.p50.toFixed(1)} µs round trip: it busy-polls, and on a VM a core that never sleeps also skips the costly wake-up. Compare its CPU per request and --placement same before crediting the latency.`,
            );
      if (s.slug === "latency-under-load")
        for (const b of s.variants[0]?.backends ?? []) {
          const lag = b.extra?.client_lag_p99_us;
          const p99 = b.pooled?.p99;
          if (lag !== undefined && p99 !== undefined && lag > 0.5 * p99)
            w("client-late", `Scenario 4${where} ${b.backend}: the client itself sent late (lag p99 ${lag.toFixed(0)} µs against a p99 of ${p99.toFixed(0)} µs); the tail is partly the client's. Lower --rate or give the client an idle CPU.`);
        }
    }
    const bad = run.gates?.find((g) => g.untrusted);
    if (bad)
      w("untrusted", `Verdicts${where} not to be trusted: ${bad.untrusted}. Re-run on a quieter machine (--cpu-idle poll as root, nothing else running), or give it a larger --budget.`);
  }
  return out;
}
