// Where the compiled shims live, and building them when they are missing or
// older than their source. Used by the test preload and by every entry point,
// so `bun test` and `bun bench/cli/bench.ts` work without `npm run` in front.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const BUILD_DIR = join(ROOT, "build");

export function libPath(name: string): string {
  return join(BUILD_DIR, `${name}.so`);
}

function stale(): boolean {
  const cDir = join(ROOT, "c");
  for (const f of readdirSync(cDir)) {
    if (!f.endsWith(".c")) continue;
    const so = libPath(f.slice(0, -2));
    if (!existsSync(so)) return true;
    if (statSync(join(cDir, f)).mtimeMs > statSync(so).mtimeMs) return true;
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
