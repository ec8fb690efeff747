// The server backends by name: what each is, whether it can run here, how to start it.
import { uringStatus, type UringStatus } from "../../ffi/uring.ts";
import { startBunServer } from "./bun-server.ts";
import type { Server, ServerConfig } from "./core.ts";
import { startEpollServer } from "./epoll-server.ts";
import { startUringServer } from "./uring-server.ts";

export interface Availability {
  available: boolean;
  errno?: number;
  reason?: string;
  hint?: string;
}

export interface Backend {
  name: string;
  description: string;
  availability(): Availability;
  start(cfg: ServerConfig): Server;
}

const always = (): Availability => ({ available: true });
let uringCached: UringStatus | undefined;
const uring = (): Availability => (uringCached ??= uringStatus());

export const BACKENDS: Record<string, Backend> = {
  bun: {
    name: "bun",
    description: "Bun.listen: the runtime's own sockets (uSockets over epoll)",
    availability: always,
    start: startBunServer,
  },
  epoll: {
    name: "epoll",
    description: "TypeScript readiness loop over the epoll shim (epoll_wait + read + write)",
    availability: always,
    start: startEpollServer,
  },
  uring: {
    name: "uring",
    description: "TypeScript completion loop over liburing (one io_uring_enter per step)",
    availability: uring,
    start: (cfg) => startUringServer(cfg),
  },
};

export const BACKEND_NAMES = Object.keys(BACKENDS);
