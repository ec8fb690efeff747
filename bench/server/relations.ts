// How the backends relate, declared once beside them (backends.ts lists the
// backends themselves): which pair is the guide's question, which other
// gates a default run evaluates, and which C loop is each TypeScript loop's
// twin. The gate policy (verdict/pairs.ts), the sweep's default set and the
// report's twin table read these; none of them names a backend itself.

/**
 * The headline gate: the first pair whose backends both run, with why it is
 * the headline. One server core stays first: that is where the guide's
 * numbers were made; the thread-per-core pair heads a run that names it
 * without the one-core pair; the last is the fallback (its candidate against
 * the first fallback baseline that runs).
 */
export const HEADLINE_PAIRS: readonly { pair: [string, string]; why: string }[] = [
  { pair: ["tokio", "c-uring"], why: "the guide's question: its current stack (Tokio, one thread) against io_uring with no runtime between, on one server thread, where the guide's numbers were made" },
  { pair: ["tokio-mt", "c-uring-mt"], why: "the guide's question on many cores: Tokio's multi-thread runtime against thread-per-core io_uring, one loop per server CPU (tokio and c-uring did not both run)" },
  { pair: ["epoll", "uring"], why: "the kernel interface alone, both loops in TypeScript (the guide's pair did not run)" },
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
export const SWEEP_BACKENDS: readonly string[] = [...new Set([...HEADLINE_PAIRS[0].pair, ...DEFAULT_GATE_PAIRS.flat()])];
