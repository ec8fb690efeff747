// Runs before every test file: `bun test` on its own (without `npm test`)
// still builds missing or stale shims. Quick when nothing changed.
import { ensureBuilt } from "../ffi/build.ts";

ensureBuilt();
