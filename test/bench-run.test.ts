// `bench` end to end, as a child process, with tiny settings: the JSON is
// well formed, every backend measured, every echo verified (no errors).
import { expect, test } from "bun:test";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../ffi/build.ts";
import { URING_SKIP_REASON } from "./helpers.ts";

const BENCH = join(ROOT, "bench/main.ts");

test("bench: scenario 1 on every backend, JSON and markdown written", () => {
  const dir = mkdtempSync(join(tmpdir(), "iob-"));
  const backends = URING_SKIP_REASON ? "bun,epoll" : "bun,epoll,uring";
  const r = Bun.spawnSync(
    [process.execPath, BENCH, "--rounds", "2", "--iterations", "50", "--warmup", "5", "--backends", backends, "--json", join(dir, "r.json"), "--markdown", join(dir, "r.md")],
    { stdout: "pipe", stderr: "pipe", timeout: 120000 },
  );
  expect(r.exitCode).toBe(0);
  const out = r.stdout.toString();
  expect(out).toMatch(/^machine /m);
  expect(out).toMatch(/^placement cross-core: server on CPU 0, client on CPU 1/m);
  const json = JSON.parse(readFileSync(join(dir, "r.json"), "utf8"));
  expect(json.schema).toBe("iouring-bench/1");
  expect(json.context.placement.mode).toBe("cross");
  const s1 = json.scenarios.find((s: { id: number }) => s.id === 1);
  expect(s1.variants.map((v: { key: string }) => v.key)).toEqual(["10B", "100B", "1000B"]);
  for (const v of s1.variants) {
    expect(v.backends.map((b: { backend: string }) => b.backend)).toEqual(backends.split(","));
    for (const b of v.backends) {
      expect(b.failure).toBeUndefined();
      expect(b.errors).toEqual({ timeout: 0, closed: 0, mismatch: 0, io: 0 });
      expect(b.rounds.length).toBe(2);
      expect(b.pooled.n).toBe(100);
      expect(b.pooled.p50).toBeGreaterThan(0);
      expect(b.pooled.min).toBeLessThanOrEqual(b.pooled.p50);
      expect(b.pooled.p50).toBeLessThanOrEqual(b.pooled.p99);
    }
    expect(v.backends[0].relative.ratio).toBe(1);
  }
  for (const b of json.backends) expect(b.serverSummary.errors).toBe("0");
  const md = readFileSync(join(dir, "r.md"), "utf8");
  expect(md).toContain("| backend | p50 | p95 | p99 | p99.9 | mean | min | max |");
}, 130000);

test("bench: a bad flag prints usage and exits 2", () => {
  const r = Bun.spawnSync([process.execPath, BENCH, "--rounds", "zero"], { stdout: "pipe", stderr: "pipe" });
  expect(r.exitCode).toBe(2);
  expect(r.stderr.toString()).toMatch(/--rounds must be an integer.*\n\nusage: bun run bench/s);
});
