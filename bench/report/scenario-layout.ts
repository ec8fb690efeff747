// How the report lays out each scenario, keyed by scenario id: the one place
// in bench/report that knows what scenario 1, 3 or 6 is. When scenarios carry
// their own description (a registry), this table is what moves there.

export type ScenarioLayout =
  /** A table per variant: throughput when higher is better, else latency percentiles. */
  | "by-metric"
  /** A throughput table per variant. */
  | "throughput"
  /** A table per variant: latency from the intended send time and from the actual one. */
  | "open-loop"
  /** One table: a new connection per request against a reused one. */
  | "connection-reuse"
  /** One table: echo against order matching, and the network's share. */
  | "overhead";

export interface ScenarioReportSpec {
  layout: ScenarioLayout;
  /**
   * Read by the C-twin table (each FFI loop against its C twin): the p50 of
   * every variant, or the throughput of one variant.
   */
  twin?: { measure: "p50" } | { measure: "msg/s"; variant: string };
  /** Its pooled p50 is compared across placements (the placement effect table). */
  placementEffect?: boolean;
}

const SPECS: Record<number, ScenarioReportSpec> = {
  1: { layout: "by-metric", twin: { measure: "p50" }, placementEffect: true },
  2: { layout: "throughput" },
  3: { layout: "connection-reuse" },
  4: { layout: "open-loop" },
  5: { layout: "overhead" },
  6: { layout: "throughput", twin: { measure: "msg/s", variant: "stress" } },
};

/** Unknown ids: a generic table per variant. */
const DEFAULT_SPEC: ScenarioReportSpec = { layout: "by-metric" };

export function scenarioReportSpec(id: number): ScenarioReportSpec {
  return SPECS[id] ?? DEFAULT_SPEC;
}

/** The scenarios the C-twin table reads, in id order. */
export function twinSources(): { id: number; twin: NonNullable<ScenarioReportSpec["twin"]> }[] {
  return Object.entries(SPECS).flatMap(([id, s]) => (s.twin ? [{ id: Number(id), twin: s.twin }] : []));
}

/** The scenario whose p50 the placement effect table compares. */
export function placementEffectSource(): number | undefined {
  const e = Object.entries(SPECS).find(([, s]) => s.placementEffect);
  return e ? Number(e[0]) : undefined;
}
