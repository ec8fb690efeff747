// Progress: an updating line on a terminal, plain lines in a log.
import { expect, test } from "bun:test";
import { Progress } from "../bench/run/progress.ts";

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 60, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream };
}

test("on a terminal: the unit line is rewritten in place, cut to the width, and cleared before a lasting line", () => {
  const { chunks, stream } = fakeStream(true);
  const p = new Progress(performance.now(), 225, stream);
  p.unit("scenario 1 (ping-pong)", 3, "uring");
  p.unit("scenario 1 (ping-pong)", 3, "epoll");
  p.line("scenario 1: round 3 done");
  expect(chunks[0]).toStartWith("\r\x1b[Kscenario 1 (ping-pong): round 3, uring | 0:00 elapsed, 3:4");
  expect(chunks[0].length).toBeLessThanOrEqual("\r\x1b[K".length + 59);
  expect(chunks[2]).toBe("\r\x1b[K");
  expect(chunks[3]).toBe("scenario 1: round 3 done\n");
});

test("in a log: no unit lines, each lasting line with the elapsed and remaining time", () => {
  const { chunks, stream } = fakeStream(false);
  const p = new Progress(performance.now() - 65_000, 225, stream);
  p.unit("scenario 1 (ping-pong)", 1, "uring");
  p.line("scenario 1: round 1 done");
  expect(chunks).toEqual(["scenario 1: round 1 done [1:05 elapsed, 2:40 of the budget left]\n"]);
});
