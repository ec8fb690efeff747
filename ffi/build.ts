// Where the compiled shims live, and building them when they are missing or
// stale (scripts/setup.sh says which: the build rule lives there alone). Used by the test preload and by every entry point,
// so `bun test` and `bun bench/cli/bench.ts` work without `npm run` in front.
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");
export const BUILD_DIR = join(ROOT, "build");

export function libPath(name: string): string {
  return join(BUILD_DIR, `${name}.so`);
}

/**
 * Whether a shim is missing or stale. The rule (which sources make which
 * library, and what makes one stale) is written once, in scripts/setup.sh;
 * this asks it (`--check`: reads file times, builds nothing; ~5 ms).
 */
function stale(): boolean {
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/setup.sh"), "--check"], { stdout: "ignore", stderr: "ignore" });
  return r.exitCode !== 0;
}

/**
 * Set once this process has seen the shims up to date; its children (the
 * servers a run starts, a server per backend per round) inherit it and skip
 * the check, which would otherwise cost each start a shell.
 */
const CHECKED = "IOURING_BENCH_SHIMS_CHECKED";

/** Runs scripts/setup.sh when a shim is missing or stale; throws with its output on failure. */
export function ensureBuilt(): void {
  if (process.env[CHECKED] === ROOT) return;
  if (stale()) build();
  process.env[CHECKED] = ROOT;
}

function build(): void {
  const r = Bun.spawnSync(["bash", join(ROOT, "scripts/setup.sh")], {
    env: { ...process.env, SETUP_QUIET: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) {
    throw new Error(`scripts/setup.sh failed (exit ${r.exitCode}):\n${r.stderr.toString()}${r.stdout.toString()}`);
  }
}
