/** An error's message for a one-line report. */
export function fmtErr(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
