// Backends `c-epoll` and `c-uring`: the epoll and uring echo loops written in
// C (c/loop_epoll.c, c/loop_uring.c). JS listens, starts the C loop once and then lets it
// run 20 ms per call, yielding to Bun in between so that signal handlers and
// stop() get their turn. Set against `epoll` and `uring`, they separate what
// the Bun + bun:ffi layer costs from what the kernel interface costs.
import { CServer, CS_EPOLL, CS_URING, type CServerKind } from "../../ffi/cserver.ts";
import * as net from "../../ffi/net.ts";
import { echoHandler, loopServer, newStats, type RunFlag, type Server, type ServerConfig } from "./core.ts";

/** How long one cs_run call keeps the thread before Bun gets it back. */
const RUN_MS = 20;

function startCServer(backend: string, kind: CServerKind, cfg: ServerConfig): Server {
  // The C loops only echo: another mode would silently measure something else.
  if (cfg.handler !== echoHandler) throw new Error(`backend ${backend} answers in echo mode only`);
  const lfd = net.listen(cfg.host, cfg.port);
  let port: number;
  let cs: CServer;
  try {
    port = net.boundPort(lfd);
    cs = new CServer(kind, lfd, cfg.maxFrame, cfg.maxPendingBytes, cfg.injectDelayUs ?? 0);
  } catch (e) {
    net.close(lfd);
    throw e;
  }
  const stats = newStats();
  const flag: RunFlag = { running: true };

  const loop = async () => {
    try {
      while (flag.running) {
        cs.run(RUN_MS, stats);
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      // cs_destroy closes every connection; the listening socket is ours.
      cs.destroy();
      stats.active = 0;
      net.close(lfd);
    }
  };

  const done = loop();
  return loopServer(backend, cfg.host, port, stats, flag, done);
}

export function startCEpollServer(cfg: ServerConfig): Server {
  return startCServer("c-epoll", CS_EPOLL, cfg);
}

export function startCUringServer(cfg: ServerConfig): Server {
  return startCServer("c-uring", CS_URING, cfg);
}
