// The run's servers (bench/run/fleet.ts) with real processes: a renewal
// replaces each process with a fresh one that answers, sums what every
// instance counted, leaves a dead server dead for the round runner to see,
// and leaves no process behind.
import { describe, expect, test } from "bun:test";
import { PingPongClient } from "../bench/clients/ping-pong.ts";
import { ServerFleet } from "../bench/run/fleet.ts";
import { alive } from "./helpers.ts";

function echoOnce(host: string, port: number, n: number): void {
  using c = new PingPongClient(host, port, 100);
  c.setPayload(64);
  for (let i = 0; i < n; i++) expect(c.roundTrip(i)).toBeGreaterThan(0);
}

describe("ServerFleet", () => {
  test("renew: a fresh process per label that answers; the counters of every instance summed at the end; nothing left behind", async () => {
    const fleet = new ServerFleet();
    await fleet.start("epoll", { backend: "epoll" });
    await fleet.start("epoll#2", { backend: "epoll" });
    const pids = [fleet.servers.get("epoll")!.pid];
    echoOnce("127.0.0.1", fleet.servers.get("epoll")!.port, 10);
    for (let i = 0; i < 2; i++) {
      expect((await fleet.renew(["epoll", "epoll#2"])).size).toBe(0);
      const s = fleet.servers.get("epoll")!;
      expect(pids).not.toContain(s.pid);
      pids.push(s.pid);
      echoOnce(s.host, s.port, 10);
    }
    // The retired processes are gone.
    for (const pid of pids.slice(0, -1)) expect(alive(pid)).toBe(false);
    const done = await fleet.stopAll();
    expect(done.get("epoll")!.instances).toBe(3);
    expect(done.get("epoll#2")!.instances).toBe(3);
    // 30 frames over three instances, each instance's summary added up.
    expect(Number(done.get("epoll")!.summary!.frames)).toBe(30);
    expect(Number(done.get("epoll#2")!.summary!.frames)).toBe(0);
    expect(done.get("epoll")!.summary!.backend).toBe("epoll");
    expect(done.get("epoll")!.unclean).toEqual([]);
    expect(alive(pids[pids.length - 1])).toBe(false);
  }, 30000);

  test("priming: each new process of a server written in TypeScript gets its warm-up round trips before anything measures it; C servers and order-mode servers none; at start only when asked", async () => {
    const fleet = new ServerFleet();
    fleet.primeWith(500, { atStart: false });
    await fleet.start("epoll", { backend: "epoll" });
    await fleet.start("c-epoll", { backend: "c-epoll" });
    await fleet.start("order", { backend: "epoll", mode: "order" });
    expect(fleet.primed.processes).toBe(0);
    expect((await fleet.renew(["epoll", "c-epoll", "order"])).size).toBe(0);
    expect(fleet.primed.processes).toBe(1);
    expect(fleet.primed.failures).toEqual([]);
    // The new epoll process answered the warm-up before anything else reached it.
    echoOnce("127.0.0.1", fleet.servers.get("epoll")!.port, 10);
    const done = await fleet.stopAll();
    expect(Number(done.get("epoll")!.summary!.frames)).toBe(510);
    expect(Number(done.get("c-epoll")!.summary!.frames)).toBe(0);

    const atStart = new ServerFleet();
    atStart.primeWith(300);
    await atStart.start("uring", { backend: "bun" });
    expect(atStart.primed.processes).toBe(1);
    expect(Number((await atStart.stopAll()).get("uring")!.summary!.frames)).toBe(300);
  }, 30000);

  test("a server that died is not renewed: the round runner must see it dead", async () => {
    const fleet = new ServerFleet();
    const s = await fleet.start("epoll", { backend: "epoll" });
    s.kill();
    await s.proc.exited;
    expect((await fleet.renew(["epoll"])).size).toBe(0);
    expect(fleet.servers.get("epoll")).toBe(s);
    expect(fleet.servers.get("epoll")!.exited).toBe(true);
    const done = await fleet.stopAll();
    expect(done.get("epoll")!.instances).toBe(1);
    expect(done.get("epoll")!.unclean.length).toBe(1);
  }, 30000);

  test("focus pauses every server but the one measured; your own servers are never renewed", async () => {
    const fleet = new ServerFleet();
    const a = await fleet.start("epoll", { backend: "epoll" });
    const b = await fleet.start("bun", { backend: "bun" });
    fleet.focus([a]);
    expect(b.paused).toBe(true);
    expect(a.paused).toBe(false);
    fleet.addTarget("yours", { backend: "yours", host: "127.0.0.1", port: 1, pid: -1, exited: false, exitCode: null, stats: async () => null, pause() {}, resume() {} });
    expect(fleet.renewable("yours")).toBe(false);
    await fleet.renew(["yours", "epoll"]);
    expect(fleet.servers.get("yours")!.port).toBe(1);
    // A renewal lets every server run: the new process is not born paused.
    expect(b.paused).toBe(false);
    await fleet.stopAll();
  }, 30000);
});
