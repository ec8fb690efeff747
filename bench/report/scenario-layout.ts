// How the report lays out each scenario: read from the scenario itself
// (bench/scenarios/index.ts), so a new scenario brings its own layout.
import { SCENARIOS } from "../scenarios/index.ts";
import type { ScenarioReportSpec } from "../scenarios/types.ts";

export type { ScenarioLayout, ScenarioReportSpec } from "../scenarios/types.ts";

/** Unknown scenarios: a generic table per variant. */
const DEFAULT_SPEC: ScenarioReportSpec = { layout: "by-metric" };

export function scenarioReportSpec(slug: string): ScenarioReportSpec {
  return SCENARIOS.find((s) => s.slug === slug)?.report ?? DEFAULT_SPEC;
}

/** The scenarios the C-twin table reads, in the guide's order. */
export function twinSources(): { slug: string; number: number; twin: NonNullable<ScenarioReportSpec["twin"]> }[] {
  return SCENARIOS.flatMap((s) => (s.report.twin ? [{ slug: s.slug, number: s.number, twin: s.report.twin }] : []));
}

/** The scenario whose p50 the placement effect table compares. */
export function placementEffectSource(): { slug: string; number: number } | undefined {
  const s = SCENARIOS.find((x) => x.report.placementEffect);
  return s && { slug: s.slug, number: s.number };
}
