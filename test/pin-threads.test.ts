// Pinning every thread of this process (Bun runs helper threads besides the
// JS thread): checked against what the kernel reports per thread in
// /proc/self/task/TID/status, then undone.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import * as net from "../ffi/net.ts";

/** Cpus_allowed_list of each live thread ("0", "0-1", "0,2-3"). */
function allowedLists(): Map<number, string> {
  const out = new Map<number, string>();
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/self/task/${t}/status`, "utf8"));
      if (m) out.set(Number(t), m[1]);
    } catch {
      // The thread exited between the listing and the read.
    }
  }
  return out;
}

function cpuSet(list: string): Set<number> {
  const s = new Set<number>();
  for (const part of list.split(",")) {
    const [a, b] = part.split("-").map(Number);
    for (let c = a; c <= (b ?? a); c++) s.add(c);
  }
  return s;
}

test("pinAllThreads(0): every thread's Cpus_allowed_list is 0; unpinAllThreads lets them run anywhere again", () => {
  const before = cpuSet(/^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync("/proc/self/status", "utf8"))![1]);
  expect(before.has(0)).toBe(true); // CPU 0 always exists; a runner confined elsewhere would need another CPU here
  try {
    const r = net.pinAllThreads(0);
    expect(r.failed).toBe(0);
    const lists = allowedLists();
    expect(lists.size).toBeGreaterThan(1); // the JS thread and Bun's helpers
    expect(r.pinned).toBeGreaterThanOrEqual(lists.size - 1); // a thread may have started since
    for (const [tid, list] of lists) expect(`${tid}: ${list}`).toBe(`${tid}: 0`);
  } finally {
    const r = net.unpinAllThreads();
    expect(r.failed).toBe(0);
  }
  for (const [tid, list] of allowedLists()) {
    const now = cpuSet(list);
    for (const c of before) expect(`${tid} has cpu ${c}: ${now.has(c)}`).toBe(`${tid} has cpu ${c}: true`);
  }
});

test("pinThread: a bad CPU or thread id is an error naming the call", () => {
  expect(() => net.pinThread(process.pid, 100000)).toThrow(/sched_setaffinity tid \d+ cpu 100000: EINVAL/);
  expect(() => net.pinThread(-1, 0)).toThrow(/EINVAL/);
  expect(() => net.unpinThread(0x3fffffff)).toThrow(/ESRCH/);
});
