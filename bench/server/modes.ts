// What a server answers: `echo` (the same frame) or, later, `order`.
import { echoHandler, type FrameHandler } from "./core.ts";

export const MODES = ["echo"] as const;

export function handlerFor(mode: string): FrameHandler {
  switch (mode) {
    case "echo":
      return echoHandler;
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}
