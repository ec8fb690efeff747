// What the results themselves say to be careful about, as a closed set of
// codes, each with its message and what to do (hyperfine's warnings.rs).
import type { PlacementRun } from "../results/schema.ts";
import { warning, type RunWarning, type WarningCode } from "../results/warnings.ts";
import { errorCount } from "../results/errors.ts";
import { mostlyClientBound } from "../results/summary.ts";
import { clientCpusOf, serverCpusOf, type MachineContext, type Placement } from "../measure/machine.ts";
import { BENCH_RING_ENTRIES, chargesRingsToMemlock, formatBytes, ringBytes } from "../measure/environment.ts";

export type { RunWarning, WarningCode } from "../results/warnings.ts";


/** Warnings from one or more runs (a run per placement and idle mode). */
export function analysisWarnings(runs: Pick<PlacementRun, "placement" | "cpuIdle" | "scenarios" | "gates">[]): RunWarning[] {
  const out: RunWarning[] = [];
  const w = (code: WarningCode, text: string, remedy?: string) => out.push(warning(code, text, remedy));
  for (const run of runs) {
    const where = runs.length > 1 ? ` (${run.placement.mode}${run.cpuIdle ? `, idle ${run.cpuIdle}` : ""})` : "";
    for (const s of run.scenarios) {
      for (const v of s.variants)
        for (const b of v.backends)
          if (errorCount(b.errors) > 0)
            w("backend-errors", `Scenario ${s.id}${where} ${v.key}: ${b.backend} had errors; its figures are not comparable.`, `Check the server with \`bun run serve --backend ${b.backend.replace(/#\d+$/, "")}\`.`);
          else if (b.failure) w("not-measured", `Scenario ${s.id}${where} ${v.key}: ${b.backend} not measured: ${b.failure}.`);
      const stalls = s.stalls ?? [];
      const kept = stalls.filter((x) => !x.repeated);
      if (stalls.length)
        w(
          "stalls",
          `Scenario ${s.id}${where}: ${stalls.length} unit(s) hit by a platform stall (worst ${Math.max(...stalls.map((x) => Math.max(x.stealMs, x.hiccupMs))).toFixed(0)} ms)${kept.length ? `, ${kept.length} still stalled after repeats and left out of the gate` : ", each measured again"}. A busy host steals CPU time from this VM.`,
        );
      // A throughput the client limited is the client's figure: say which, and what to do.
      for (const v of s.variants.filter((x) => x.higherIsBetter)) {
        const bound = v.backends.filter((b) => mostlyClientBound(b.rounds)).map((b) => ({ b: b.backend, k: b.rounds.filter((r) => r.client_bound).length, n: b.rounds.length }));
        if (bound.length)
          w(
            "client-bound",
            `Scenario ${s.id}${where} ${v.key}: the client was busy ≥ 90% of the measured interval in most rounds of ${bound.map((x) => `${x.b} (${x.k} of ${x.n})`).join(", ")}: those throughputs may be the client's limit.`,
            v.params.client === "c" ? undefined : "Re-run with --client c (the C load client).",
          );
      }
      // A backend that spends more CPU per request than the round trip lasts is spinning somewhere (SQPOLL):
      // its latency is bought with a core that never sleeps.
      if (s.slug === "ping-pong")
        for (const b of s.variants[0]?.backends ?? [])
          if (b.costs && b.pooled && b.costs.cpu_us > b.pooled.p50)
            w(
              "busy-polls",
              `Scenario 1${where} ${b.backend}: ${b.costs.cpu_us.toFixed(1)} µs of server CPU per request, more than its ${b.pooled.p50.toFixed(1)} µs round trip: it busy-polls, and on a VM a core that never sleeps also skips the costly wake-up.`,
            );
      if (s.slug === "latency-under-load")
        for (const b of s.variants[0]?.backends ?? []) {
          const lag = b.extra?.client_lag_p99_us;
          const p99 = b.pooled?.p99;
          if (lag !== undefined && p99 !== undefined && lag > 0.5 * p99)
            w("client-late", `Scenario 4${where} ${b.backend}: the client itself sent late (lag p99 ${lag.toFixed(0)} µs against a p99 of ${p99.toFixed(0)} µs); the tail is partly the client's.`);
        }
    }
    const control = run.gates?.find((g) => g.kind === "control");
    const drifted = control?.criteria.filter((c) => c.control === "drifted") ?? [];
    if (drifted.length)
      w(
        "untrusted",
        `The A/A control drifted${where} on ${drifted.map((c) => c.id).join(", ")}: two instances of ${control!.baseline} differed by more than a quarter of the threshold, so ${drifted.length > 1 ? "those criteria are" : "that criterion is"} not to be trusted in this run's gates.`,
      );
  }
  return out;
}

/**
 * Warnings from the settings the run was made under (context.environment),
 * each with what to do. `placements`: every placement run (the first is
 * context.placement). Nothing for results recorded before the environment was.
 */
export function environmentWarnings(context: MachineContext, placements: readonly Placement[] = [context.placement]): RunWarning[] {
  const e = context.environment;
  if (!e) return [];
  const out: RunWarning[] = [];
  const w = (code: WarningCode, text: string, remedy?: string) => out.push(warning(code, text, remedy));

  const g = e.cpufreq.governor;
  if (g !== "none" && g !== "performance") {
    const which = g === "mixed" ? `differs between CPUs (${Object.entries(e.cpufreq.byCpu ?? {}).map(([cpu, x]) => `${cpu}: ${x ?? "none"}`).join(", ")})` : `is ${g}`;
    w("cpufreq-governor", `The CPU frequency governor ${which}: frequency scaling moves latencies between rounds and between backends that load the CPU differently.`);
  }

  for (const p of placements) {
    if (p.mode !== "cross" || p.serverCpu === null || p.clientCpu === null) continue;
    const server = serverCpusOf(p);
    const client = clientCpusOf(p);
    const pair = e.smt.siblings.flatMap((grp) => server.filter((s) => grp.includes(s)).flatMap((s) => client.filter((c) => c !== s && grp.includes(c)).map((c) => [s, c] as const)))[0];
    if (pair)
      w("smt-siblings", `Cross-core placement put a server CPU (${pair[0]}) and a client CPU (${pair[1]}) on two hardware threads of one core: they share its caches and execution units, so the figures are neither cross-core nor same-core.`, `Choose CPUs of different cores with --server-cpus/--client-cpus (see /sys/devices/system/cpu/cpu${pair[0]}/topology/thread_siblings_list), or turn SMT off (echo off > /sys/devices/system/cpu/smt/control).`);
  }

  if (e.ioUring.allowed === false) {
    const d = e.ioUring.disabled;
    const why = d === 1 ? `kernel.io_uring_disabled=1 and this process has neither CAP_SYS_ADMIN nor the group kernel.io_uring_group${e.ioUring.group !== null && e.ioUring.group >= 0 ? ` (${e.ioUring.group})` : " (none set)"}` : `kernel.io_uring_disabled=${d}`;
    w("io-uring-disabled", `io_uring is disabled for this process (${why}): the io_uring backends cannot create a ring, so there is no comparison.`);
  }

  if (e.seccomp.mode === "filter")
    w("seccomp-filter", `This process runs under ${e.seccomp.filters === null || e.seccomp.filters === 1 ? "a seccomp filter" : `${e.seccomp.filters} seccomp filters`}, inherited by the servers it starts: the filter is consulted on system calls, taxing the backend that makes more of them, and container runtimes' default profiles (Docker's since 25.0, containerd's since 2.0) deny io_uring_setup.`);

  const need = ringBytes(BENCH_RING_ENTRIES);
  const soft = e.memlock.soft;
  if (chargesRingsToMemlock(context.kernel) && e.memlock.ipcLock !== true && typeof soft === "number" && soft < need)
    w("memlock-low", `RLIMIT_MEMLOCK is ${formatBytes(soft)} and Linux ${context.kernel} (before 5.12) charges io_uring rings to it: the servers' ${BENCH_RING_ENTRIES}-entry ring needs about ${formatBytes(need)}, so creating it fails with ENOMEM.`);

  if (e.thp.enabled === "always")
    w("thp-always", `Transparent huge pages are 'always' (defrag '${e.thp.defrag ?? "unknown"}'): a page fault may take and zero a 2 MiB page${e.thp.defrag === "always" ? " or stall in direct compaction" : ""}, and khugepaged collapses pages in the background; either can show up as latency spikes.`);

  const m = e.mitigations;
  if (m?.bootParam === "off")
    w("syscall-mitigations", "The kernel runs with mitigations=off: system calls cost less here than on a kernel with its default mitigations, so io_uring's advantage from making fewer of them is smaller here than on such hosts.");
  else if (m && m.syscallTax.length)
    w("syscall-mitigations", `CPU-vulnerability mitigations that tax system calls are in force: ${m.syscallTax.map((t) => `${t.name}: ${t.mechanisms.join(", ")}`).join("; ")}. io_uring's advantage comes from making fewer system calls, so its margin here holds for hosts with the same mitigations, not for CPUs that need others or kernels booted with mitigations=off.`);
  return out;
}
