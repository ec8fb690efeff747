// What a server says on stdout: the whole protocol between a server process
// and the bench that started it, written here once for `serve` and read here
// once for the bench; tokio's main.rs writes the same lines in its own words
// (test/tokio.test.ts reads them with these parsers).
//
//   listening HOST:PORT backend=NAME    once it accepts connections (the only line before that)
//   stats {json}                        on SIGUSR1: ServerStats, plus backend and pid
//   summary backend=NAME k=v ...        on SIGINT/SIGTERM, after every socket is closed; then exit 0
// and from a serve of several backends or with its control channel on (server/serve-many.ts):
//   control HOST:PORT                   where the control channel answers (docs/two-hosts.md)
//   targets LABEL=HOST:PORT,...         ready for bench --target
//   exited backend=NAME signal=S|code=N a backend that ended by itself
import type { ServerStats } from "./core.ts";

export const isListeningLine = (line: string) => line.startsWith("listening ");
export const listeningLine = (host: string, port: number, backend: string) => `listening ${host}:${port} backend=${backend}`;

/** A `listening` line's address and backend, or null for any other line. */
export function parseListening(line: string | null | undefined): { host: string; port: number; backend: string } | null {
  const m = line?.match(/^listening (\S+):(\d+) backend=(\S+)$/);
  return m ? { host: m[1], port: Number(m[2]), backend: m[3] } : null;
}

export const isStatsLine = (line: string) => line.startsWith("stats ");
export const statsLine = (backend: string, pid: number, s: ServerStats) => `stats ${JSON.stringify({ backend, pid, ...s })}`;

/** A `stats` line's figures (ServerStats, backend, pid), or null when it is not one or not JSON. */
export function parseStats(line: string | null | undefined): Record<string, number> | null {
  if (!line || !isStatsLine(line)) return null;
  try {
    return JSON.parse(line.slice("stats ".length));
  } catch {
    return null;
  }
}

export const isSummaryLine = (line: string) => line.startsWith("summary ");

export function summaryLine(backend: string, s: ServerStats, signal: string): string {
  const errors = s.oversize + s.overflow + s.ioErrors;
  const threads = s.perThread ? ` threads=${s.perThread.length} thread_frames=${s.perThread.map((t) => t.frames).join(",")}` : "";
  return `summary backend=${backend} connections=${s.connections} frames=${s.frames} errors=${errors} oversize=${s.oversize} overflow=${s.overflow} io_errors=${s.ioErrors} rejected=${s.rejected} bytes_in=${s.bytesIn} bytes_out=${s.bytesOut} processing_ns=${Math.round(s.processingNs)} no_buffers=${s.noBuffers}${threads} signal=${signal}`;
}

/** `summary a=1 b=x` -> { a: "1", b: "x" } */
export function parseSummary(line: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of line.split(" ").slice(1)) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return out;
}

export const controlLine = (host: string, port: number) => `control ${host}:${port}`;
export const targetsLine = (targets: { label: string; host: string; port: number }[]) => `targets ${targets.map((t) => `${t.label}=${t.host}:${t.port}`).join(",")}`;
export const exitedLine = (backend: string, signal: string | null, code: number | null) => `exited backend=${backend} ${signal ? `signal=${signal}` : `code=${code}`}`;
