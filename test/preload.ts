// Runs before every test file: `bun test` on its own (without `npm test`)
// still builds missing or stale shims. Quick when nothing changed.
import { afterAll } from "bun:test";
import { ensureBuilt } from "../ffi/build.ts";
import { removeTestDirs } from "./helpers.ts";

ensureBuilt();

// Hooks in the preload file span the whole run: after the last test, the temporary folders go.
afterAll(removeTestDirs);

// The exact-text report tests compare content and alignment at any width; the
// wrapping to a terminal's width is tested on its own (test/table.test.ts).
process.env.COLUMNS = "100000";

// Priming each new TypeScript server (bench --server-warmup, 15,000 round trips
// each) only changes timings, which no test asserts: the benches the tests start
// skip it unless a test asks (test/fleet.test.ts and test/bench-run.test.ts do).
process.env.IOURING_BENCH_SERVER_WARMUP ??= "0";
