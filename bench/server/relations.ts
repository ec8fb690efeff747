// How the backends relate, declared once beside them (backends.ts lists the
// backends themselves): which pair is the guide's question, which other
// gates a default run evaluates, and which C loop is each TypeScript loop's
// twin. The gate policy (verdict/pairs.ts), the sweep's default set and the
// report's twin table read these; none of them names a backend itself.

/** The headline gate: the guide's current stack against io_uring with no runtime between; the next pair when a backend of the first is missing. */
export const HEADLINE_PAIRS: readonly [string, string][] = [
  ["tokio", "c-uring"],
  ["epoll", "uring"],
];

/** The baselines a headline falls back to when the one asked for does not run, in order. */
export const FALLBACK_BASELINES: readonly string[] = ["epoll", "bun", "tokio"];

/** The other gates a default run evaluates beside the headline: a Bun service's question, and the kernel interface alone. */
export const DEFAULT_GATE_PAIRS: readonly [string, string][] = [
  ["bun", "uring"],
  ["epoll", "uring"],
];

/** Each TypeScript loop and its C twin: the difference is what the Bun + FFI layer costs. */
export const C_TWINS: readonly [string, string][] = [
  ["epoll", "c-epoll"],
  ["uring", "c-uring"],
];

/** What a sweep alone measures by default: every backend of the headline and default gates. */
export const SWEEP_BACKENDS: readonly string[] = [...new Set([...HEADLINE_PAIRS[0], ...DEFAULT_GATE_PAIRS.flat()])];
