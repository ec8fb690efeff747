// bun:ffi bindings for c/hiccup.c: a thread pinned to one CPU that sleeps a
// fixed period and records how late it wakes (jHiccup style). Its own dlopen
// table, loaded on first use, so importing this module needs no built shim.
// bench/measure/hiccup.ts is the typed wrapper over several CPUs.
import { dlopen } from "bun:ffi";
import { libPath } from "./build.ts";
import { check } from "./errno.ts";
import { NativeBuffer } from "./memory.ts";

const SYMBOLS = {
  hic_start: { args: ["i32", "i32"], returns: "i32" },
  hic_read: { args: ["i32", "ptr"], returns: "i32" },
  hic_stop: { args: ["i32"], returns: "i32" },
  hic_read_words: { args: [], returns: "i32" },
} as const;

type HiccupSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];
let lib: HiccupSymbols | undefined;

/** hic_read's output, in order (int64 each; see c/hiccup.c). */
export const HICCUP_FIELDS = ["maxLateNs", "wakes", "lateOver1ms", "lateOver1msTotalNs"] as const;
export type HiccupCounters = Record<(typeof HICCUP_FIELDS)[number], number>;

function symbols(): HiccupSymbols {
  if (lib) return lib;
  let s: HiccupSymbols;
  try {
    s = dlopen(libPath("hiccup"), SYMBOLS).symbols;
  } catch (e) {
    throw new Error(`hiccup shim not loadable (${(e as Error).message}); build it with: npm run setup`);
  }
  const words = s.hic_read_words();
  if (words !== HICCUP_FIELDS.length) {
    throw new Error(`hic_read writes ${words} int64s; ffi/hiccup.ts expects ${HICCUP_FIELDS.length}`);
  }
  return (lib = s);
}

// One output buffer for every thread: JS is single-threaded and each read
// copies the counters out before the next one. A NativeBuffer (>= 4 KiB,
// address taken once) because ptr() of a small typed array can go stale.
let out: { buf: NativeBuffer; words: BigInt64Array } | undefined;

function outBuffer(): { buf: NativeBuffer; words: BigInt64Array } {
  if (out) return out;
  const buf = new NativeBuffer(HICCUP_FIELDS.length * 8);
  return (out = { buf, words: new BigInt64Array(buf.bytes.buffer, 0, HICCUP_FIELDS.length) });
}

/** One meter thread pinned to `cpu`. Call stop() exactly when done (it joins the thread). */
export class HiccupThread {
  readonly cpu: number;
  readonly periodUs: number;
  readonly handle: number;
  #stopped = false;

  /** Throws SysError ("hic_start(cpu 7, 5000 us): EINVAL ...") for a CPU that is not online or a period outside 50 us .. 1 s. */
  constructor(cpu: number, periodUs: number) {
    this.cpu = cpu;
    this.periodUs = periodUs;
    this.handle = check(
      `hic_start(cpu ${cpu}, ${periodUs} us)`,
      symbols().hic_start(cpu, periodUs),
      "the CPU must be online and the period 50..1000000 us",
    );
  }

  /** Counters since the previous read (or the start); reading resets them. */
  read(): HiccupCounters {
    if (this.#stopped) throw new Error(`hic_read on a stopped hiccup thread (cpu ${this.cpu})`);
    const { buf, words } = outBuffer();
    check("hic_read", symbols().hic_read(this.handle, buf.addr as any));
    return {
      maxLateNs: Number(words[0]),
      wakes: Number(words[1]),
      lateOver1ms: Number(words[2]),
      lateOver1msTotalNs: Number(words[3]),
    };
  }

  /** Stops and joins the thread (takes up to one period). Idempotent. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    check("hic_stop", symbols().hic_stop(this.handle));
  }
}
