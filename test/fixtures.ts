// Test data shared by the test files; nothing here loads a shim.
import type { MachineContext } from "../bench/measure/machine.ts";

/** Deterministic bytes for payload `seed` of size n (xorshift32; seed 0 is as good as any). */
export function payload(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  // A zero state would stay zero: every byte 0, and payloads of seed 0 alike.
  let x = (seed * 2654435761) >>> 0 || 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  return b;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A fixed machine context for reports rendered from synthetic results. */
export const SYNTHETIC_CONTEXT: MachineContext = {
  date: "2026-01-01T00:00:00.000Z",
  host: "test",
  kernel: "6.1.0",
  cpuModel: "Test CPU",
  cores: 4,
  virtualized: false,
  bun: "1.4.5",
  liburing: "2.3",
  ioUringDisabledSysctl: "0",
  gitCommit: "abc1234",
  placement: { mode: "cross", serverCpu: 0, clientCpu: 1 },
  argv: [],
};
