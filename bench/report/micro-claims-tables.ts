// The micro-benchmarks' table (bench/micro runs them) and the guide's claims
// against this machine (bench/verdict/claims.ts computes the rows).
import type { ClaimRow, MicroResults } from "../results/schema.ts";
import { fmtNs } from "./format.ts";
import type { Table } from "./table.ts";

/** One row per micro-benchmark: times per operation, how it was timed, its result check. */
export function microTable(r: MicroResults): Table {
  return {
    title: "Micro-benchmarks: one operation, ns",
    columns: [
      { name: "group", align: "left" },
      { name: "benchmark", align: "left" },
      { name: "avg", align: "right" },
      { name: "p50", align: "right" },
      { name: "p99", align: "right" },
      { name: "timed as", align: "left" },
      { name: "result check", align: "left" },
    ],
    rows: r.benchmarks.map((b) => [
      b.group,
      b.name,
      fmtNs(b.avgNs),
      fmtNs(b.p50Ns),
      fmtNs(b.p99Ns),
      b.status === "skipped" || b.status === "error"
        ? "-"
        : `${b.batched ? "batches" : "single calls"}${b.opsPerCall > 1 ? ` of ${b.opsPerCall} ops` : ""}`,
      b.status === "ok" ? `ok: ${b.check}` : `${b.status.toUpperCase()}: ${b.check}`,
    ]),
    notes: [
      `ns per operation (a call doing N ops is divided by N); ${r.engine}.`,
      "\"batches\": mitata timed groups of 4096 calls, so p50/p99 are percentiles of batch averages, not of single calls.",
      "The socket and system-call figures include one bun:ffi crossing each (see ffiNoop); loopback TCP, 100-byte messages, TCP_NODELAY.",
    ],
  };
}

export const CLAIMS_TITLE = "The guide's claims against this machine";

/** The claims next to what was measured, a row per claim. */
export function claimsToTable(rows: ClaimRow[]): Table {
  return {
    title: CLAIMS_TITLE,
    columns: [
      { name: "claim", align: "left" },
      { name: "guide", align: "right" },
      { name: "measured", align: "right" },
      { name: "verdict", align: "left" },
      { name: "how measured", align: "left" },
    ],
    rows: rows.map((r) => [r.claim, r.claimed, r.measuredText, r.verdict, r.how]),
    notes: [
      "Ranges include their bounds; \"≈ 3\" and \"≈ 1\" are taken as ±0.5 calls, \"47%\" as 42-52%.",
      "Micro-benchmark times are p50 per operation on loopback TCP, each including one bun:ffi crossing (a few ns).",
    ],
  };
}
