// The scenarios, in the guide's order. The CLI's choices, the runner, the
// report and the results JSON all read this list: adding a scenario is its
// module plus one line here.
import { connectionReuse } from "./connection-reuse.ts";
import { latencyUnderLoad } from "./latency-under-load.ts";
import { persistentThroughput } from "./persistent-throughput.ts";
import { pingPong } from "./ping-pong-latency.ts";
import { requestOverhead } from "./request-overhead.ts";
import { throughputStress } from "./throughput-stress.ts";
import type { Scenario } from "./types.ts";

export const SCENARIOS: readonly Scenario[] = [pingPong, persistentThroughput, connectionReuse, latencyUnderLoad, requestOverhead, throughputStress];

export const SCENARIO_SLUGS: readonly string[] = SCENARIOS.map((s) => s.slug);

/** A scenario by slug or by the guide's number ("4"), or undefined. */
export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.slug === name || String(s.number) === name);
}

/** The variant of a scenario's results that stands for it: its declared headline variant when it ran, else its first. */
export function headlineVariantOf<V extends { key: string }>(s: { slug: string; variants: V[] }): V | undefined {
  const want = findScenario(s.slug)?.headlineVariant;
  return s.variants.find((v) => v.key === want) ?? s.variants[0];
}

export type { Scenario, ScenarioEnv, Unit, VariantSpec, Prepared, ScenarioReportSpec } from "./types.ts";
