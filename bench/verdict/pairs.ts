// Which gates a run evaluates: the headline (the guide's question when its
// backends run), the other default pairs or those asked for, and last the
// A/A control. The pairs themselves are declared beside the backends
// (server/relations.ts); this is only the policy.
import { DEFAULT_GATE_PAIRS, FALLBACK_BASELINES, HEADLINE_PAIRS } from "../server/relations.ts";
import type { GatePair } from "./gate.ts";

/** What the policy reads of the plan. */
export interface GateAsk {
  baseline?: string;
  candidate?: string;
  gatePairs?: [string, string][];
  control: boolean;
}

/** The backend name of a label: `bun#2` is a second `bun`. */
export const backendOf = (label: string) => label.replace(/#\d+$/, "");

/**
 * The gates, headline first: the baseline and candidate asked for, else the
 * guide's pair when both run, else the next pair's candidate against the
 * first fallback baseline that runs; then the pairs asked for (or the
 * default ones whose backends run); then the A/A control, the headline
 * baseline against a second instance of itself, when that runs.
 */
export function resolveGates(ask: GateAsk, runnable: string[]): GatePair[] {
  const has = (b: string) => runnable.includes(b);
  const found = HEADLINE_PAIRS.find((h) => has(h.pair[0]) && has(h.pair[1]));
  const fallback = HEADLINE_PAIRS[HEADLINE_PAIRS.length - 1];
  const candidate = ask.candidate ?? (found ?? fallback).pair[1];
  const baseline = ask.baseline ?? (found && candidate === found.pair[1] ? found.pair[0] : (FALLBACK_BASELINES.find((b) => has(b) && b !== candidate) ?? fallback.pair[0]));
  const known = HEADLINE_PAIRS.find((h) => h.pair[0] === baseline && h.pair[1] === candidate);
  const why = ask.baseline !== undefined || ask.candidate !== undefined ? "asked for with --baseline/--candidate" : (known?.why ?? `the fallback: ${candidate} against the first baseline that runs (the guide's pair did not run)`);
  const pairs: GatePair[] = [{ baseline, candidate, kind: "headline", why }];
  const add = (a: string, b: string, why: string) => {
    if (!pairs.some((p) => p.baseline === a && p.candidate === b)) pairs.push({ baseline: a, candidate: b, kind: "pair", why });
  };
  if (ask.gatePairs) for (const [a, b] of ask.gatePairs) add(a, b, "asked for with --gate-pairs");
  else for (const [a, b] of DEFAULT_GATE_PAIRS) if (has(a) && has(b)) add(a, b, "a default pair");
  if (ask.control && has(`${baseline}#2`)) pairs.push({ baseline, candidate: `${baseline}#2`, kind: "control", why: `the A/A control: ${baseline} against a second instance of itself` });
  return pairs;
}

/** The label of the A/A control's second instance, or undefined. */
export function controlLabel(ask: GateAsk, runnable: string[]): string | undefined {
  if (!ask.control) return undefined;
  const head = resolveGates({ ...ask, control: false }, runnable)[0];
  return runnable.includes(head.baseline) ? `${head.baseline}#2` : undefined;
}
