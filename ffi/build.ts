// Where the compiled shims live, and building them when they are missing or
// older than their source (or a header it includes). Used by the test preload and by every entry point,
// so `bun test` and `bun bench/cli/bench.ts` work without `npm run` in front.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const BUILD_DIR = join(ROOT, "build");

export function libPath(name: string): string {
  return join(BUILD_DIR, `${name}.so`);
}

/**
 * A shim is stale when its .so is missing or older than its source or than a
 * header in c/ that the source includes (`#include "x.h"`, as setup.sh reads them).
 */
function stale(): boolean {
  const cDir = join(ROOT, "c");
  for (const f of readdirSync(cDir)) {
    if (!f.endsWith(".c")) continue;
    const so = libPath(f.slice(0, -2));
    if (!existsSync(so)) return true;
    const built = statSync(so).mtimeMs;
    const src = join(cDir, f);
    if (statSync(src).mtimeMs > built) return true;
    for (const m of readFileSync(src, "utf8").matchAll(/^#include "([^"]+)"/gm)) {
      const h = join(cDir, m[1]);
      if (existsSync(h) && statSync(h).mtimeMs > built) return true;
    }
  }
  return false;
}

/** Runs scripts/setup.sh when a shim is missing or stale; throws with its output on failure. */
export function ensureBuilt(): void {
  if (!stale()) return;
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/setup.sh")], {
    env: { ...process.env, SETUP_QUIET: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) {
    throw new Error(`scripts/setup.sh failed (exit ${r.exitCode}):\n${r.stderr.toString()}${r.stdout.toString()}`);
  }
}
