// Every warning a run can give, as one closed set of codes (hyperfine's
// output/warnings.rs): what it is, and by default what to do about it. A
// warning in the results is {code, text, remedy}: a reader or a test can
// match on the code; the text says what happened in this run; the remedy
// what to do, when the site has a better one than the default.

export type WarningCode =
  // The plan and the machine, before anything is measured
  | "backend-unavailable"
  | "gate-not-evaluated"
  | "fault-injection"
  | "scenario-skipped"
  | "one-cpu"
  | "few-rounds"
  | "pm-qos-not-held"
  | "pinning-failed"
  | "micro-failed"
  // The run
  | "scenario-failed"
  | "run-stopped"
  | "server-unclean"
  | "server-warmup-failed"
  | "servers-cold"
  | "sweep-descriptors"
  | "sweep-point-failed"
  | "idle-left-out"
  | "client-descriptor-leak"
  | "capacity-disagree"
  | "client-side-only"
  // What the results say (verdict/warnings.ts)
  | "backend-errors"
  | "not-measured"
  | "busy-polls"
  | "client-late"
  | "client-bound"
  | "stalls"
  | "untrusted"
  // The settings the run was made under (verdict/warnings.ts)
  | "cpufreq-governor"
  | "smt-siblings"
  | "io-uring-disabled"
  | "seccomp-filter"
  | "memlock-low"
  | "thp-always"
  | "syscall-mitigations"
  // A results file from before warnings had codes (schema 1 and 2)
  | "uncoded";

export interface RunWarning {
  code: WarningCode;
  /** What happened in this run. */
  text: string;
  /** What to do about it; empty when nothing can be done. */
  remedy: string;
}

/** The remedy each code gives when its site has none better. */
const REMEDY: Record<WarningCode, string> = {
  "backend-unavailable": "Run `bun run doctor` to see what the machine lacks and how to add it.",
  "gate-not-evaluated": "Add the missing backend to --backends, or choose another pair with --gate-pairs.",
  "fault-injection": "Leave out --corrupt and --inject-delay for a real measurement.",
  "scenario-skipped": "Run it against local servers (--backends).",
  "one-cpu": "Run on a machine with two CPUs or more for a cross-core figure.",
  "few-rounds": "Re-run with --min-rounds 5 or more.",
  "pm-qos-not-held": "Run as root (the request is held on /dev/cpu_dma_latency), or pass --cpu-idle default to measure with the idle governor on purpose.",
  "pinning-failed": "Check the CPUs this process may use (taskset -p $$) and --client-cpu.",
  "micro-failed": "Run `bun run micro` to see the error.",
  "scenario-failed": "Run the scenario alone with --scenarios to see the error, and `bun run serve --backend NAME` for a server's own.",
  "run-stopped": "Re-run; if it stops again, the message above says where.",
  "server-unclean": "Run `bun run serve --backend NAME` and stop it with Ctrl-C to see how it exits.",
  "server-warmup-failed": "Run `bun run serve --backend NAME` and send it a few thousand echoes to see the error; the round's own measurement reports what it found.",
  "servers-cold": "Leave --server-warmup at its default (15000) for figures of the TypeScript servers at their steady state.",
  "sweep-descriptors": "Raise the limit (ulimit -n 1048576 as root) or sweep fewer connections (--sweep-connections).",
  "sweep-point-failed": "Run the sweep with only that count (--sweep-connections N) to see the error.",
  "idle-left-out": "Raise the descriptor limit (ulimit -n) or lower --idle-connections.",
  "client-descriptor-leak": "Report it: the load client should close every connection it opens.",
  "capacity-disagree": "Run on a quieter host, or raise --slo-p99 if a millisecond is within the machine's own jitter.",
  "client-side-only": "Run it with `bun run serve` on its host: its control channel answers on the first data port + 10000, which this host must be able to reach (docs/two-hosts.md).",
  "backend-errors": "Check the server with `bun run serve --backend NAME`.",
  "not-measured": "See the backend's failure in the scenario table.",
  "busy-polls": "Compare its CPU per request and --placement same before crediting the latency.",
  "client-late": "Lower --rate or give the client an idle CPU.",
  "client-bound": "On a host with more cores than the server and client use, the limit lifts; or run the client on another host.",
  "stalls": "Run when the host is quieter, or on bare metal.",
  "untrusted": "Re-run with nothing else on the machine (as root, --cpu-idle poll); if it drifts again, give it more rounds (--max-rounds).",
  "cpufreq-governor": "Set the performance governor for the run (cpupower frequency-set -g performance).",
  "smt-siblings": "Choose CPUs of different cores with --server-cpus/--client-cpus, or turn SMT off (echo off > /sys/devices/system/cpu/smt/control).",
  "io-uring-disabled": "Run as root, add the user to kernel.io_uring_group, or sysctl -w kernel.io_uring_disabled=0.",
  "seccomp-filter": "Run outside the sandbox, or with a profile that allows io_uring_setup, io_uring_enter and io_uring_register.",
  "memlock-low": "Raise the limit (ulimit -l unlimited, or LimitMEMLOCK= in a systemd unit) or run as root.",
  "thp-always": "Set madvise for the run (echo madvise > /sys/kernel/mm/transparent_hugepage/enabled).",
  "syscall-mitigations": "Compare `grep . /sys/devices/system/cpu/vulnerabilities/*` on the hosts you deploy to, and measure there if they differ.",
  uncoded: "",
};

/** A warning with its code's remedy, or the one given. */
export function warning(code: WarningCode, text: string, remedy?: string): RunWarning {
  return { code, text, remedy: remedy ?? REMEDY[code] };
}

/** As a reader meets it: the text, then what to do. */
export function warningText(w: RunWarning): string {
  return w.remedy ? `${w.text} ${w.remedy}` : w.text;
}

export const WARNING_CODES = Object.keys(REMEDY) as WarningCode[];
