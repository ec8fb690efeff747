// A gate's verdict from its criteria, and the sentence that says why in plain
// words: which criteria pass, fail, are undecided or measured the client,
// and what the guide's rule (two passes) makes of them. A criterion that is
// undecided or was not evaluated could still pass; one that is CLIENT-BOUND
// could pass where the client is not the limit, but not on this machine.
import type { Criterion, Verdict } from "../results/schema.ts";
import { GATE_PASSES_NEEDED } from "./criteria.ts";

const list = (xs: string[]) => (xs.length <= 1 ? xs.join("") : `${xs.slice(0, -1).join(", ")} and ${xs[xs.length - 1]}`);
const ids = (cs: Criterion[]) => list(cs.map((c) => c.id));
const verb = (cs: Criterion[], one: string, many: string) => (cs.length === 1 ? one : many);

/** The criteria of a gate by what they say. */
export function tally(cs: Criterion[]) {
  const passed = cs.filter((c) => c.status === "PASS");
  const failed = cs.filter((c) => c.status === "FAIL");
  return {
    passed,
    failed,
    worse: failed.filter((c) => c.fail_kind === "worse"),
    notEnough: failed.filter((c) => c.fail_kind !== "worse"),
    open: cs.filter((c) => c.status === "INCONCLUSIVE"),
    bound: cs.filter((c) => c.status === "CLIENT-BOUND"),
    unknown: cs.filter((c) => c.status === "INVALID" || c.status === "NOT EVALUATED"),
  };
}

type BackendInfo = { name: string; available: boolean; reason?: string; hint?: string };

/** The verdict and its sentence. */
export function describeVerdict(cs: Criterion[], baseline: string, candidate: string, backends: BackendInfo[]): { verdict: Verdict; reason: string } {
  const info = backends.find((b) => b.name === candidate);
  if (candidate === baseline) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} is the baseline itself: choose another --baseline.` };
  if (!info) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} was not among the backends run.` };
  if (!info.available) return { verdict: "NOT EVALUATED", reason: `The candidate ${candidate} is unavailable: ${info.reason ?? "no reason given"}${info.hint ? `. ${info.hint}` : ""}.` };
  const t = tally(cs);
  if (t.passed.length + t.failed.length + t.open.length + t.bound.length === 0)
    return { verdict: "NOT EVALUATED", reason: `No criterion could be evaluated: ${cs.map((c) => `${c.id} ${c.status.toLowerCase()} (${c.note})`).join("; ")}.` };

  const said: string[] = [];
  said.push(t.passed.length ? `${ids(t.passed)} ${verb(t.passed, "passes", "pass")}` : "no criterion passes");
  if (t.worse.length) said.push(`${ids(t.worse)} ${verb(t.worse, "fails", "fail")}: the candidate is worse`);
  if (t.notEnough.length) said.push(`${ids(t.notEnough)} ${verb(t.notEnough, "fails", "fail")}: not better by ${verb(t.notEnough, "its threshold", "their thresholds")}`);
  if (t.open.length) said.push(`${ids(t.open)} ${verb(t.open, "is", "are")} undecided (the interval spans the threshold)`);
  if (t.bound.length) said.push(`${ids(t.bound)} measured the load client, not the servers (CLIENT-BOUND), and ${verb(t.bound, "is", "are")} not counted`);
  if (t.unknown.length) said.push(`${ids(t.unknown)} ${verb(t.unknown, "was", "were")} not evaluated (see the notes)`);
  const facts = `${said.join("; ")}.`;
  const need = GATE_PASSES_NEEDED;
  const p = t.passed.length;
  const here = p + t.open.length + t.unknown.length;
  const anywhere = here + t.bound.length;
  if (p >= need) return { verdict: "PROCEED", reason: `${cap(facts)} The guide proceeds on ${need} passes: PROCEED.` };
  if (anywhere < need) {
    const still = t.open.length + t.unknown.length + t.bound.length;
    const rule = still
      ? `Even if every criterion still open passed, ${anywhere === 0 ? "none would" : `only ${anywhere} would`}; the guide needs ${need}: DO NOT PROCEED.`
      : `The guide needs ${need} passes: DO NOT PROCEED.`;
    return { verdict: "DO NOT PROCEED", reason: `${cap(facts)} ${rule}` };
  }
  if (here < need) {
    const still = [...t.open, ...t.unknown];
    const who = still.length
      ? `even if ${ids(still)} passed, the ${need - here === 1 ? "last pass" : "passes still missing"} could only come from the client-bound ${ids(t.bound)}`
      : `only the client-bound ${ids(t.bound)} could still give ${need - p === 1 ? "the last one" : "them"}`;
    return {
      verdict: "INCONCLUSIVE",
      reason: `${cap(facts)} The guide needs ${need} passes: ${who}, which this machine cannot measure. Run the load client on more CPUs, or on another host.`,
    };
  }
  const advice = roundsAdvice(t.open, p, t.unknown.length + t.bound.length);
  return { verdict: "INCONCLUSIVE", reason: `${cap(facts)} The guide needs ${need} passes and ${ids([...t.open, ...t.unknown])} could still give them.${advice ? ` ${cap(advice)}.` : ""}` };
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** How many rounds would likely settle the verdict: the open criteria nearest to deciding first. */
function roundsAdvice(open: Criterion[], pass: number, unknown: number): string {
  const noisy = open.filter((c) => c.undecided?.too_noisy);
  const byRounds = [...open].filter((c) => c.undecided).sort((a, b) => (a.undecided!.rounds_to_settle ?? Infinity) - (b.undecided!.rounds_to_settle ?? Infinity));
  let p = pass;
  let remaining = byRounds.length;
  const settled: Criterion[] = [];
  const decided = () => p >= GATE_PASSES_NEEDED || p + remaining + unknown < GATE_PASSES_NEEDED;
  for (const c of byRounds) {
    settled.push(c);
    remaining--;
    if (c.undecided!.likely === "PASS") p++;
    if (decided()) break;
  }
  const parts: string[] = [];
  if (noisy.length)
    parts.push(
      `${ids(noisy)} ${verb(noisy, "is", "are")} too noisy for this machine: even ${noisy[0].undecided!.max_rounds} rounds could resolve no less than ${noisy.map((c) => `±${c.undecided!.resolvable_pct?.toFixed(1)}%`).join(", ")} around ${verb(noisy, "its threshold", "their thresholds")}, more than the threshold itself`,
    );
  if (!settled.length) return parts.join("; ");
  const n = Math.max(...settled.map((c) => Math.max(c.undecided!.rounds_to_settle ?? Infinity, (c.rounds ?? 0) + 1)));
  const what = list(settled.map((c) => `${c.id} (likely ${c.undecided!.likely})`));
  if (!Number.isFinite(n) || n > 1000) parts.push(`more rounds are unlikely to settle ${what}: the estimate sits too close to the threshold`);
  else parts.push(`about ${n} paired rounds (--max-rounds ${n}, with a --budget to match) would likely settle ${what}${decided() ? ", and with it the verdict" : ""}, if the current estimates hold`);
  return parts.join("; ");
}
