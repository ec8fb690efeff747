// What `bench --exit-code` exits with, for CI: the headline verdict as a
// number (0 PROCEED, 3 DO NOT PROCEED, 4 undecided, 5 not to be trusted),
// after the run's own codes (1 stopped early, 2 usage or cannot run), which
// come first: a run that did not finish has no verdict to report.
import type { Gate } from "../results/schema.ts";

export const EXIT_CODES = {
  ok: 0,
  stopped: 1,
  usage: 2,
  doNotProceed: 3,
  undecided: 4,
  untrusted: 5,
} as const;

/** The exit code of a finished run's headline gate (untrusted first: then no verdict stands). */
export function verdictExitCode(gate: Gate | undefined): number {
  if (!gate) return EXIT_CODES.undecided;
  if (gate.trusted === false) return EXIT_CODES.untrusted;
  if (gate.verdict === "PROCEED") return EXIT_CODES.ok;
  if (gate.verdict === "DO NOT PROCEED") return EXIT_CODES.doNotProceed;
  return EXIT_CODES.undecided;
}

/** The exit codes as the help and the README list them. */
export const EXIT_CODE_HELP = [
  "0  the run finished (with --exit-code: the verdict is PROCEED)",
  "1  the run stopped early (a server or scenario failed past recovery)",
  "2  usage error, or the machine cannot run it (see `bun run doctor`)",
  "3  with --exit-code: DO NOT PROCEED",
  "4  with --exit-code: undecided (INCONCLUSIVE or NOT EVALUATED)",
  "5  with --exit-code: a criterion is not to be trusted (the A/A control drifted)",
];
