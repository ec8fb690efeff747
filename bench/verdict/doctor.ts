// The pre-flight check's judgement (`bun run doctor`, and the first lines of
// every run): for each fact about the machine (run/preflight.ts reads them),
// ok, warn or fail, what it changes in the measurement, and the command that
// fixes it. Pure: facts in, items out, so every rule is tested with made-up
// machines. fail means the run cannot answer its question (no shims, no
// io_uring at all, CPUs it may not use); warn means it answers with less.
import { clientCpusOf, placementText, serverCpusOf, type MachineContext, type Placement } from "../measure/machine.ts";
import { chargesRingsToMemlock, formatBytes, type Environment } from "../measure/environment.ts";
import type { WarningCode } from "../results/warnings.ts";
import { environmentWarnings } from "./warnings.ts";

export interface FeatureFact {
  /** The backend that needs it, and what it is. */
  backend: string;
  feature: string;
  available: boolean;
  reason?: string;
  hint?: string;
}

export interface PreflightFacts {
  root: boolean;
  pmQos: { held: boolean; reason?: string; remedy?: string };
  cpuIdle: { driver: string | null; governor: string | null };
  /** gcc, liburing's header, and whether the shims are built. */
  toolchain: { gcc: boolean; liburingHeader: boolean; shimsBuilt: boolean };
  ioUring: FeatureFact[];
  perf: { ok: boolean; reason?: string };
  tokio: { available: boolean; reason?: string; hint?: string };
  cpus: { online: number[]; allowed: number[] };
  placement: Placement;
  nofile: { soft: number; hard: number };
  /** The machine context the run would record (its environment: governor, SMT, mitigations, memlock, seccomp, THP). */
  context: MachineContext;
}

export type DoctorStatus = "ok" | "warn" | "fail";

export interface DoctorItem {
  check: string;
  status: DoctorStatus;
  /** What was found. */
  found: string;
  /** What it changes in the measurement (empty when ok). */
  effect: string;
  /** The command or step that fixes it (empty when ok). */
  fix: string;
}

/** Descriptors the default sweep wants: 4096 busy connections both ends, or 10 000 idle ones, and a margin. */
export const SWEEP_DESCRIPTORS = 10_000 + 8 + 256;

const item = (check: string, status: DoctorStatus, found: string, effect = "", fix = ""): DoctorItem => ({ check, status, found, effect, fix });

export function diagnose(f: PreflightFacts): DoctorItem[] {
  const out: DoctorItem[] = [];
  out.push(
    f.root
      ? item("privileges", "ok", "root")
      : item("privileges", "warn", "not root", "idle CPUs cannot be kept polling, missing packages are not installed, and the Tokio reference may not build", "run as root: sudo npm run bench"),
  );

  const idle = `cpuidle driver ${f.cpuIdle.driver ?? "none"}, governor ${f.cpuIdle.governor ?? "none"}`;
  out.push(
    f.pmQos.held
      ? item("idle CPUs", "ok", `can be kept polling (PM QoS 0 held on /dev/cpu_dma_latency); ${idle}`)
      : item(
          "idle CPUs",
          "warn",
          `cannot be kept polling: ${f.pmQos.reason ?? "PM QoS not held"}; ${idle}`,
          "idle vCPUs halt and every wake-up pays for it: on a haltpoll VM a cross-core round trip took 2-4x longer; the first page will say it was not held",
          f.pmQos.remedy ?? "run as root, or --cpu-idle default to measure with the idle governor on purpose",
        ),
  );

  const t = f.toolchain;
  out.push(
    t.gcc && t.liburingHeader
      ? item("compiler and liburing", "ok", `gcc and liburing's headers present; shims ${t.shimsBuilt ? "built" : "not built yet (the first run builds them)"}`)
      : item("compiler and liburing", "fail", [!t.gcc ? "no gcc" : "", !t.liburingHeader ? "no liburing headers" : ""].filter(Boolean).join(", "), "the C shims cannot be built: nothing can run", "sudo apt-get update && sudo apt-get install -y gcc libc6-dev liburing-dev"),
  );

  const ring = f.ioUring.find((x) => x.backend === "uring");
  if (ring && !ring.available) out.push(item("io_uring", "fail", ring.reason ?? "refused", "no io_uring backend can run: no gate has a candidate", ring.hint ?? "sysctl -w kernel.io_uring_disabled=0"));
  else {
    const missing = f.ioUring.filter((x) => x.backend !== "uring" && !x.available);
    out.push(
      missing.length
        ? item("io_uring", "warn", `rings work; missing: ${missing.map((m) => `${m.feature} (${m.reason ?? "refused"})`).join("; ")}`, `${missing.map((m) => m.backend).join(", ")} will be skipped`, missing.find((m) => m.hint)?.hint ?? "a newer kernel")
        : item("io_uring", "ok", `rings work, with ${f.ioUring.filter((x) => x.backend !== "uring").map((x) => x.feature).join(", ")}`),
    );
  }

  out.push(f.perf.ok ? item("perf", "ok", "counts raw_syscalls:sys_enter") : item("perf", "warn", f.perf.reason ?? "cannot count", "system calls per request will say n/a, and the guide's syscall claims cannot be checked", "sudo apt-get install -y linux-perf (and run as root, or sysctl -w kernel.perf_event_paranoid=-1)"));

  out.push(
    f.tokio.available
      ? item("Tokio reference", "ok", "build/tokio-echo built")
      : item("Tokio reference", "warn", f.tokio.reason ?? "not built", "the headline gate becomes epoll -> uring instead of the guide's tokio -> c-uring", f.tokio.hint ?? "sudo bash scripts/build-tokio.sh"),
  );

  const p = f.placement;
  const used = p.mode === "off" ? [] : [...new Set([...serverCpusOf(p), ...clientCpusOf(p)])];
  const refused = used.filter((c) => !f.cpus.allowed.includes(c));
  const where = p.mode === "off" ? "not pinned" : placementText(p).replace(/^[^:]*: /, "");
  if (refused.length) out.push(item("CPUs and placement", "fail", `${where}; this process may use CPUs ${f.cpus.allowed.join(",")} only`, `CPU ${refused.join(", ")} cannot be used`, "choose others with --server-cpus/--client-cpus, or widen the CPU set (taskset)"));
  else if (f.cpus.online.length < 2)
    out.push(item("CPUs and placement", "warn", `one CPU online; ${where}`, "server and client share the CPU: no cross-core figure", "run on a machine with two CPUs or more"));
  else
    out.push(
      item(
        "CPUs and placement",
        f.cpus.online.length <= 2 ? "warn" : "ok",
        `${f.cpus.online.length} CPUs online; ${where}`,
        f.cpus.online.length <= 2 ? "one client thread on one CPU: a C client costs about what a C server does per request on loopback, so throughput figures are often the client's (the report marks them CLIENT-BOUND)" : "",
        f.cpus.online.length <= 2 ? "a machine with more CPUs, or the client on another host (bun run serve there, --target here)" : "",
      ),
    );

  out.push(
    f.nofile.soft >= SWEEP_DESCRIPTORS || f.nofile.hard >= SWEEP_DESCRIPTORS
      ? item("descriptors", "ok", `RLIMIT_NOFILE ${f.nofile.soft} (hard ${f.nofile.hard}): enough for the sweep's ${SWEEP_DESCRIPTORS}`)
      : item("descriptors", "warn", `RLIMIT_NOFILE ${f.nofile.soft} (hard ${f.nofile.hard})`, "the sweep leaves out the connection counts that do not fit", `ulimit -n ${SWEEP_DESCRIPTORS * 2} (as root), or --sweep-connections with fewer`),
  );

  // The settings the report warns about afterwards, said before the run; each one that is fine says what was found.
  const env = environmentWarnings(f.context, [p]);
  const settings: [WarningCode, string, ((e: Environment) => string) | undefined][] = [
    ["cpufreq-governor", "frequency governor", (e) => e.cpufreq.governor],
    ["smt-siblings", "SMT", (e) => (e.smt.siblings.length ? `no server CPU shares a core with a client CPU (${e.smt.siblings.length} cores run two hardware threads)` : `no core runs two hardware threads (smt/control: ${e.smt.control ?? "absent"})`)],
    ["syscall-mitigations", "mitigations", undefined],
    ["memlock-low", "RLIMIT_MEMLOCK", (e) => `soft ${formatBytes(e.memlock.soft)}${e.memlock.ipcLock ? ", CAP_IPC_LOCK" : ""}; ${chargesRingsToMemlock(f.context.kernel) ? "enough for the servers' rings" : "Linux 5.12+ charges io_uring rings to the memory cgroup, not to this limit"}`],
    ["seccomp-filter", "seccomp", (e) => `${e.seccomp.mode ?? "unknown"}: no filter taxes the system calls`],
    ["thp-always", "transparent huge pages", (e) => `${e.thp.enabled ?? "absent"}: ${e.thp.enabled === "never" ? "no 2 MiB page faults, no compaction" : "2 MiB pages only where a program asks for them"}`],
  ];
  for (const [code, check, fine] of settings) {
    const w = env.find((x) => x.code === code);
    if (w) out.push(item(check, code === "memlock-low" ? "fail" : "warn", w.text, "", w.remedy));
    else if (fine) out.push(item(check, "ok", f.context.environment ? fine(f.context.environment) : "unknown"));
  }
  return out;
}

/** A run can go unless an item failed. */
export const canRun = (items: DoctorItem[]): boolean => !items.some((i) => i.status === "fail");

/** The lines a run prints before it starts: one per item that is not ok. */
export function preflightLines(items: DoctorItem[]): string[] {
  return items.filter((i) => i.status !== "ok").map((i) => `${i.status === "fail" ? "FAIL" : "warn"} ${i.check}: ${i.found}${i.effect ? `; ${i.effect}` : ""}`.replace(/\.$/, "") + (i.fix ? `. Fix: ${i.fix}` : ""));
}
