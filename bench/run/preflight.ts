// What the machine offers a run, read before anything is measured (the
// pre-flight check, `bun run doctor`, and the first lines of every run):
// privileges, whether idle CPUs can be kept polling, the compiler and
// liburing, io_uring and the features the backends need (probed, not guessed
// from the kernel version), perf, the Tokio reference, the CPUs and the
// placement the run would use, descriptors, and the settings
// environment.ts reads. Facts only; what they mean is verdict/doctor.ts's.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../ffi/build.ts";
import { noFileLimit } from "../../ffi/net.ts";
import { BACKENDS } from "../server/backends.ts";
import { perfAvailable } from "../measure/accounting.ts";
import { machineContext, type Placement } from "../measure/machine.ts";
import { cpuIdleInfo, holdPmQos, onlineCpus, threadAffinities } from "../measure/quiet.ts";
import type { PreflightFacts } from "../verdict/doctor.ts";

const onPath = (cmd: string) => Bun.spawnSync(["sh", "-c", `command -v ${cmd}`], { stdout: "pipe", stderr: "pipe" }).exitCode === 0;

/** The io_uring features the backends need, each probed by the backend that needs it. */
const FEATURES: [string, string][] = [
  ["uring", "a ring (io_uring_setup), with a registered ring fd"],
  ["uring-defer", "SINGLE_ISSUER | DEFER_TASKRUN (Linux 6.1+)"],
  ["uring-sqpoll", "SQPOLL"],
  ["uring-multishot", "multishot recv into a provided-buffer ring (Linux 6.0+)"],
];

/** Reads the facts; holds PM QoS for an instant to see whether it can be held, and lets it go. */
export function readPreflight(placement: Placement): PreflightFacts {
  const qos = holdPmQos();
  if (qos.held) qos.release();
  const idle = cpuIdleInfo();
  const allowed = [...new Set([...threadAffinities(process.pid).values()].flat())].sort((a, b) => a - b);
  const tokio = BACKENDS.tokio.availability();
  return {
    root: process.getuid?.() === 0,
    pmQos: qos.held ? { held: true } : { held: false, reason: qos.reason, remedy: qos.remedy },
    cpuIdle: { driver: idle.driver, governor: idle.governor },
    toolchain: { gcc: onPath("gcc"), liburingHeader: existsSync("/usr/include/liburing.h"), shimsBuilt: existsSync(join(ROOT, "build/uring.so")) },
    ioUring: FEATURES.map(([backend, feature]) => {
      const a = BACKENDS[backend].availability();
      return { backend, feature, available: a.available, reason: a.reason, hint: a.hint };
    }),
    perf: perfAvailable(),
    tokio: { available: tokio.available, reason: tokio.reason, hint: tokio.hint },
    cpus: { online: onlineCpus(), allowed },
    placement,
    nofile: noFileLimit(),
    context: machineContext(placement, []),
  };
}
