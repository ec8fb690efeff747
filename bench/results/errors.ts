// What a client counts when an answer does not come back right, by kind:
// the data every scenario, gate and report reads. The clients fill it; the
// results own it.

export interface ClientErrors {
  /** No answer within the timeout. */
  timeout: number;
  /** The server closed the connection. */
  closed: number;
  /** An answer whose length or bytes were not the request's. */
  mismatch: number;
  /** Any other socket error. */
  io: number;
}

export const ERROR_KINDS = ["timeout", "closed", "mismatch", "io"] as const satisfies readonly (keyof ClientErrors)[];

export function noErrors(): ClientErrors {
  return { timeout: 0, closed: 0, mismatch: 0, io: 0 };
}

export function errorCount(e: ClientErrors): number {
  return e.timeout + e.closed + e.mismatch + e.io;
}

export function addErrors(into: ClientErrors, e: ClientErrors): void {
  for (const k of ERROR_KINDS) into[k] += e[k];
}

/** "3 timeout, 1 closed", or "" without errors. */
export function errorText(e: ClientErrors): string {
  return ERROR_KINDS.filter((k) => e[k] > 0)
    .map((k) => `${e[k]} ${k}`)
    .join(", ");
}
