// The quiet-machine helpers against the real kernel: the PM QoS device, the
// cpuidle sysfs files, /proc/stat, taskset and a real hiccup thread. No
// timing thresholds beyond "it ran": the machine is shared.
import { afterAll, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HiccupMeter } from "../bench/measure/hiccup.ts";
import {
  cpuIdleInfo,
  holdPmQos,
  idleStates,
  onlineCpus,
  parseCpuList,
  parseStealTicks,
  pinProcessThreads,
  PM_QOS_PATH,
  readPmQos,
  StealWatch,
  stealTicks,
  threadAffinities,
} from "../bench/measure/quiet.ts";
import { HiccupThread } from "../ffi/hiccup.ts";
import { SysError } from "../ffi/errno.ts";

function canOpenPmQos(): string | null {
  try {
    closeSync(openSync(PM_QOS_PATH, "r+"));
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

const scratch = mkdtempSync(join(tmpdir(), "quiet-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("PM QoS", () => {
  const cannot = canOpenPmQos();
  test.skipIf(cannot !== null)(`holding makes the device read 0, release restores it${cannot ? ` (skipped: ${cannot})` : ""}`, () => {
    const before = readPmQos();
    expect(typeof before).toBe("number");
    const hold = holdPmQos();
    if (!hold.held) throw new Error(`${hold.reason}; ${hold.remedy}`);
    try {
      expect(readPmQos()).toBe(0);
    } finally {
      hold.release();
    }
    hold.release(); // idempotent
    expect(readPmQos()).toBe(before);
  });

  test("a missing device fails with the errno and a remedy, and leaks nothing", () => {
    const fds = fdCount();
    const r = holdPmQos(join(scratch, "no-such-device"));
    expect(r.held).toBe(false);
    if (r.held) return;
    expect(r.reason).toContain("ENOENT");
    expect(r.reason).toContain("no-such-device");
    expect(r.remedy.length).toBeGreaterThan(0);
    expect(readPmQos(join(scratch, "no-such-device"))).toBeNull();
    expect(fdCount()).toBe(fds);
  });

  test("a path that cannot be opened for writing (a directory) fails cleanly", () => {
    const r = holdPmQos(scratch);
    expect(r.held).toBe(false);
    if (!r.held) expect(r.reason).toContain("EISDIR");
  });

  test("a failing write (/dev/full) fails cleanly and closes the descriptor", () => {
    const fds = fdCount();
    const r = holdPmQos("/dev/full");
    expect(r.held).toBe(false);
    if (!r.held) expect(r.reason).toMatch(/^write \/dev\/full: ENOSPC/);
    expect(fdCount()).toBe(fds);
  });

  test("an injected file gets the native int32 0 and readPmQos reads it back", () => {
    const path = join(scratch, "latency");
    writeFileSync(path, new Uint8Array(new Int32Array([12345]).buffer));
    expect(readPmQos(path)).toBe(12345);
    const fds = fdCount();
    const hold = holdPmQos(path);
    expect(hold.held).toBe(true);
    expect(fdCount()).toBe(fds + 1);
    expect(readPmQos(path)).toBe(0);
    if (hold.held) hold.release();
    expect(fdCount()).toBe(fds);
  });
});

describe("cpuidle", () => {
  test("driver and governor are strings or null, never empty", () => {
    const info = cpuIdleInfo();
    for (const v of [info.driver, info.governor]) {
      expect(v === null || (typeof v === "string" && v.length > 0)).toBe(true);
    }
  });

  test("idle states have names and disable flags (or there are none)", () => {
    const states = idleStates(0);
    if (cpuIdleInfo().driver === null) return;
    for (const s of states) {
      expect(s.state).toMatch(/^state\d+$/);
      expect(s.name.length).toBeGreaterThan(0);
      expect(typeof s.disabled).toBe("boolean");
    }
    expect(idleStates(100000)).toEqual([]);
  });
});

describe("steal", () => {
  test("parseStealTicks reads the 8th value of each cpuN line", () => {
    const text = "cpu  1 2 3 4 5 6 7 80 0 0\ncpu0 1 2 3 4 5 6 7 30 0 0\ncpu1 1 2 3 4 5 6 7 50 0 0\nintr 1\n";
    expect(parseStealTicks(text, [1, 0])).toEqual([50, 30]);
    expect(() => parseStealTicks(text, [2])).toThrow("cpu2");
  });

  test("stealTicks and StealWatch give non-negative numbers for every online CPU", async () => {
    const cpus = onlineCpus();
    for (const t of stealTicks(cpus)) expect(t).toBeGreaterThanOrEqual(0);
    const w = StealWatch.start(cpus);
    await Bun.sleep(50);
    const r = w.stop();
    expect(r.cpus).toEqual(cpus);
    expect(r.stealMs.length).toBe(cpus.length);
    for (const ms of r.stealMs) {
      expect(Number.isFinite(ms)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(0);
    }
    expect(r.maxMs).toBe(Math.max(...r.stealMs));
  });
});

describe("pinProcessThreads", () => {
  test("parseCpuList", () => {
    expect(parseCpuList("0-2,5\n")).toEqual([0, 1, 2, 5]);
    expect(parseCpuList("1")).toEqual([1]);
  });

  test("pins every thread of the process to CPU 0, then back to where it was", () => {
    const all = threadAffinities().get(process.pid) ?? onlineCpus();
    try {
      const r = pinProcessThreads(0);
      expect(r.error).toBeUndefined();
      expect(r.failed).toBe(0);
      expect(r.pinned).toBeGreaterThan(1); // Bun has helper threads
      // Read straight from /proc (threads started since inherit the pinning).
      const tids = readdirSync("/proc/self/task");
      expect(tids.length).toBeGreaterThan(1);
      for (const tid of tids) {
        const status = readFileSync(`/proc/self/task/${tid}/status`, "utf8");
        expect(`${tid}: ${/^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1]}`).toBe(`${tid}: 0`);
      }
    } finally {
      const back = pinProcessThreads(all);
      expect(back.error).toBeUndefined();
    }
    for (const allowed of threadAffinities().values()) expect(allowed).toEqual(all);
  });

  test("a CPU that is not online is reported, not thrown", () => {
    const before = threadAffinities();
    const r = pinProcessThreads(4000);
    expect(r.error).toBeDefined();
    expect(r.pinned).toBe(0);
    expect(threadAffinities()).toEqual(before);
  });
});

describe("HiccupMeter", () => {
  test("a 5 ms meter on CPU 0 wakes about 40 times in 200 ms and stops cleanly", async () => {
    const tasks = readdirSync("/proc/self/task").length;
    {
      using m = new HiccupMeter([0]);
      expect(readdirSync("/proc/self/task").length).toBe(tasks + 1);
      await Bun.sleep(200);
      const [r] = m.read();
      expect(r.cpu).toBe(0);
      expect(r.wakes).toBeGreaterThanOrEqual(10);
      expect(r.maxLateUs).toBeGreaterThanOrEqual(0);
      expect(r.lateOver1ms).toBeLessThanOrEqual(r.wakes);
      expect(r.lateOver1msTotalUs).toBeGreaterThanOrEqual(r.lateOver1ms * 1000);
      // Reading resets: right after a read few or no wakes have happened.
      expect(m.read()[0].wakes).toBeLessThanOrEqual(2);
    }
    expect(readdirSync("/proc/self/task").length).toBe(tasks);
  });

  test("one thread per CPU, each pinned to its CPU", async () => {
    const cpus = onlineCpus();
    const before = new Set(threadAffinities().keys());
    using m = new HiccupMeter(cpus, 2000);
    const added = [...threadAffinities()].filter(([tid]) => !before.has(tid)).map(([, a]) => a.join(","));
    expect(added.sort()).toEqual(cpus.map(String).sort());
    await Bun.sleep(50);
    expect(m.read().map((r) => r.cpu)).toEqual(cpus);
    m.stop();
    m.stop(); // idempotent
    expect(m.read()).toEqual([]);
  });

  test("an invalid CPU is EINVAL from hic_start, as a SysError naming the call", () => {
    for (const cpu of [4000, -1]) {
      let err: unknown;
      try {
        new HiccupThread(cpu, 5000).stop();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SysError);
      expect((err as SysError).errno).toBe(22);
      expect((err as SysError).message).toContain(`hic_start(cpu ${cpu}, 5000 us): EINVAL`);
    }
    const tasks = readdirSync("/proc/self/task").length;
    expect(() => new HiccupMeter([0, 4000])).toThrow("hic_start(cpu 4000");
    expect(readdirSync("/proc/self/task").length).toBe(tasks); // the CPU 0 thread was stopped
    expect(() => new HiccupThread(0, 10)).toThrow("EINVAL");
  });
});
