// Backends `c-epoll` and `c-uring`: the epoll and uring echo loops written in
// C (c/loop_epoll.c, c/loop_uring.c). JS listens, starts the C loop once and then lets it
// run 20 ms per call, yielding to Bun in between so that signal handlers and
// stop() get their turn. Set against `epoll` and `uring`, they separate what
// the Bun + bun:ffi layer costs from what the kernel interface costs.
// `c-epoll-mt` and `c-uring-mt`: the same loops thread-per-core, as io_uring
// servers that win in production are built: one loop per thread, each its own
// SO_REUSEPORT listener (the kernel spreads connections by the 4-tuple's hash,
// no accept shared, no loop woken for another's connection) and its own ring,
// pinned to one CPU of the server's set. The JS thread only reads counters.
import { CServer, CServerGroup, CS_EPOLL, CS_URING, type CServerKind } from "../../ffi/cserver.ts";
import { allowedCpus } from "../measure/quiet.ts";
import { errnoName } from "../../ffi/errno.ts";
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

/** How often the JS thread of a thread-per-core server looks at its loops' counters. */
const WATCH_MS = 50;

/** Loop i's CPU: cpus[i mod n], n the server's CPUs (the caller's, else every CPU this process may use). */
export function loopCpus(threads: number, cpus: readonly number[]): number[] {
  return Array.from({ length: threads }, (_, i) => cpus[i % cpus.length]);
}

function startCServerMt(backend: string, kind: CServerKind, cfg: ServerConfig): Server {
  if (cfg.handler !== echoHandler) throw new Error(`backend ${backend} answers in echo mode only`);
  const cpus = cfg.cpus?.length ? cfg.cpus : allowedCpus();
  const threads = cfg.threads ?? cpus.length;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`backend ${backend}: threads must be a positive integer, not ${threads}`);
  const lfds: number[] = [];
  let group: CServerGroup;
  let port = cfg.port;
  try {
    for (let i = 0; i < threads; i++) {
      lfds.push(net.listenReusePort(cfg.host, port));
      if (i === 0) port = net.boundPort(lfds[0]);
    }
    group = new CServerGroup(kind, lfds, loopCpus(threads, cpus), cfg.maxFrame, cfg.maxPendingBytes, cfg.injectDelayUs ?? 0);
  } catch (e) {
    for (const fd of lfds) net.close(fd);
    throw e;
  }
  const stats = newStats();
  const pinned = loopCpus(threads, cpus);
  const flag: RunFlag = { running: true };
  const read = () => {
    const per = group.stats(stats);
    stats.perThread = per.map((t, i) => ({ cpu: pinned[i], connections: t.connections, frames: t.frames }));
  };

  const loop = async () => {
    try {
      while (flag.running) {
        read();
        await Bun.sleep(WATCH_MS);
      }
      read();
    } finally {
      const err = group.stop();
      stats.active = 0;
      for (const fd of lfds) net.close(fd);
      if (err < 0) throw new Error(`${backend}: a loop failed: ${errnoName(-err)}`);
    }
  };

  const done = loop();
  return { ...loopServer(backend, cfg.host, port, stats, flag, done), refresh: () => flag.running && read() };
}

export function startCEpollMtServer(cfg: ServerConfig): Server {
  return startCServerMt("c-epoll-mt", CS_EPOLL, cfg);
}

export function startCUringMtServer(cfg: ServerConfig): Server {
  return startCServerMt("c-uring-mt", CS_URING, cfg);
}

export function startCEpollServer(cfg: ServerConfig): Server {
  return startCServer("c-epoll", CS_EPOLL, cfg);
}

export function startCUringServer(cfg: ServerConfig): Server {
  return startCServer("c-uring", CS_URING, cfg);
}
