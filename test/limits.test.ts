// Process limits and per-thread CPU, through real system calls: raiseNoFile
// (setrlimit RLIMIT_NOFILE) and threadCpuNs (CLOCK_THREAD_CPUTIME_ID).
//
// Limits are changed in child processes only, so the test runner keeps the
// limits it started with. Bun raises its own soft limit to the hard one when
// it starts (so a `ulimit -Sn` before it has no effect): a child lowers its
// soft limit after start-up with util-linux's prlimit, and util-linux's
// setpriv runs a child as another user or without a capability.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import * as net from "../ffi/net.ts";
import { asNobodySkipReason, SETPRIV } from "./helpers.ts";

const BUN = process.execPath;
const NET = JSON.stringify(join(ROOT, "ffi/net.ts"));
const IS_ROOT = process.getuid?.() === 0;
// As root, the non-root cases run the child as nobody, who must be able to read this checkout.
const AS_NOBODY = IS_ROOT ? asNobodySkipReason(ROOT) : "";
const PRLIMIT = ["/usr/bin/prlimit", "/bin/prlimit"].find((p) => existsSync(p));
const NR_OPEN = Number(readFileSync("/proc/sys/fs/nr_open", "utf8").trim());
/** CAP_SYS_RESOURCE (bit 24) in this process's effective set: it may raise its hard limit. */
const CAP_SYS_RESOURCE = (() => {
  const m = readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)$/m);
  return m ? (BigInt(`0x${m[1]}`) >> 24n) & 1n ? true : false : false;
})();

interface Limits {
  before: { soft: number; hard: number };
  result: net.NoFileResult;
  after: { soft: number; hard: number };
}

/**
 * Runs raiseNoFile(want) in a fresh process, `prefix` (e.g. setpriv ...) in
 * front, its soft limit first lowered to `soft` when given; returns what it saw.
 */
function raiseInChild(want: number, opts: { soft?: number; prefix?: string[] } = {}): Limits {
  const lower =
    opts.soft === undefined
      ? ""
      : `const p = Bun.spawnSync([${JSON.stringify(PRLIMIT)}, "--pid", String(process.pid), "--nofile=${opts.soft}:"], { stderr: "pipe" });
         if (p.exitCode !== 0) throw new Error("prlimit: " + p.stderr.toString());`;
  const script = `
    const net = await import(${NET});
    ${lower}
    const before = net.noFileLimit();
    const result = net.raiseNoFile(${want});
    console.log(JSON.stringify({ before, result, after: net.noFileLimit() }));`;
  const r = Bun.spawnSync([...(opts.prefix ?? []), BUN, "-e", script], { cwd: ROOT, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  if (r.exitCode !== 0) throw new Error(`child exited ${r.exitCode}: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString().trim().split("\n").at(-1)!);
}

describe("raiseNoFile", () => {
  const { soft, hard } = net.noFileLimit();

  test("reads the limits this process runs with", () => {
    expect(soft).toBeGreaterThan(0);
    expect(hard).toBeGreaterThanOrEqual(soft);
  });

  test("never lowers the limit: a smaller want leaves it as it is", () => {
    const r = net.raiseNoFile(1);
    expect(r).toEqual({ soft, hard, raised: false });
    expect(net.noFileLimit()).toEqual({ soft, hard });
  });

  test("a want that is not a positive integer is refused before any system call", () => {
    expect(() => net.raiseNoFile(0)).toThrow(RangeError);
    expect(() => net.raiseNoFile(1.5)).toThrow(/positive integer/);
  });

  test.skipIf(hard < 64 || !PRLIMIT)("raises the soft limit by one when the hard limit allows it", () => {
    const lowered = hard - 10;
    const r = raiseInChild(lowered + 1, { soft: lowered });
    expect(r.before).toEqual({ soft: lowered, hard });
    expect(r.result).toEqual({ soft: lowered + 1, hard, raised: true });
    expect(r.after).toEqual({ soft: lowered + 1, hard });
  });

  // With CAP_SYS_RESOURCE the hard limit itself would move: covered below.
  test.skipIf(hard < 64 || !PRLIMIT || CAP_SYS_RESOURCE)("a want above the hard limit raises the soft one to the hard one", () => {
    const r = raiseInChild(hard + 1, { soft: hard - 10 });
    expect(r.result.soft).toBe(hard);
    expect(r.result.hard).toBe(hard);
    expect(r.result.raised).toBe(true);
    expect(r.result.short).toContain(`below the ${hard + 1} descriptors wanted`);
  });

  test.skipIf((!IS_ROOT && !SETPRIV) || AS_NOBODY !== "")(`as non-root, a want above the hard limit reports short, with the remedy${AS_NOBODY ? ` (skipped: ${AS_NOBODY})` : ""}`, () => {
    // As root, become nobody for the child: a non-root user may not raise a hard limit.
    const prefix = IS_ROOT ? [SETPRIV!, "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    const r = raiseInChild(hard + 1, { prefix });
    expect(r.result.hard).toBe(r.before.hard);
    expect(r.result.soft).toBe(r.before.hard);
    expect(r.result.short).toContain(`RLIMIT_NOFILE is ${r.before.hard} (hard ${r.before.hard})`);
    expect(r.result.short).toContain(`ulimit -n ${hard + 1}`);
    expect(r.result.short).toContain("root");
  });

  test.skipIf(!IS_ROOT || !SETPRIV)("as root without CAP_SYS_RESOURCE (a container), short names the capability", () => {
    const prefix = [SETPRIV!, "--inh-caps=-sys_resource", "--bounding-set=-sys_resource"];
    const r = raiseInChild(hard + 1, { prefix });
    expect(r.result.hard).toBe(hard);
    expect(r.result.short).toContain("CAP_SYS_RESOURCE");
    expect(r.result.short).toContain(`--ulimit nofile=${hard + 1}:${hard + 1}`);
  });

  test.skipIf((!IS_ROOT && !SETPRIV) || !(NR_OPEN > 0) || AS_NOBODY !== "")(`a want above fs.nr_open names that sysctl${AS_NOBODY ? ` (skipped: ${AS_NOBODY})` : ""}`, () => {
    const prefix = IS_ROOT ? [SETPRIV!, "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    const r = raiseInChild(NR_OPEN + 1, { prefix });
    expect(r.result.soft).toBeLessThan(NR_OPEN + 1);
    expect(r.result.short).toContain(`fs.nr_open (${NR_OPEN})`);
    expect(r.result.short).toContain(`sysctl -w fs.nr_open=${NR_OPEN + 1}`);
  });

  test.skipIf(!CAP_SYS_RESOURCE || hard >= NR_OPEN)("with CAP_SYS_RESOURCE the hard limit is raised too", () => {
    const r = raiseInChild(hard + 1);
    expect(r.result).toEqual({ soft: hard + 1, hard: hard + 1, raised: true });
  });
});

describe("threadCpuNs", () => {
  test("grows while this thread computes", () => {
    const t0 = net.threadCpuNs();
    expect(t0).toBeGreaterThanOrEqual(0);
    // Busy until the clock moves (its resolution is the scheduler's), never for longer than a wall-clock bound.
    let t1 = t0;
    let x = 0;
    const giveUp = Date.now() + 5000;
    while (t1 === t0 && Date.now() < giveUp) {
      for (let i = 0; i < 100_000; i++) x = (x * 31 + i) | 0;
      t1 = net.threadCpuNs();
    }
    expect(x).not.toBe(0.5); // keeps the loop's work observable
    expect(t1).toBeGreaterThan(t0);
  });

  test("counts this thread only: never more than the whole process's CPU time", () => {
    const thread = net.threadCpuNs();
    const { user, system } = process.cpuUsage();
    // cpuUsage is in µs, truncated: one µs of slack.
    expect(thread).toBeLessThanOrEqual((user + system + 1) * 1000);
  });
});
