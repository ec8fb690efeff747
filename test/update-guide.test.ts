// Writing the report into a guide between markers keeps every other byte.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BEGIN_MARKER as B, END_MARKER as E, updateGuide, updateGuideFile } from "../bench/report/update-guide.ts";

const REPORT = "#### Decision gate\n\n| a | b |\n|:---|---:|\n| µs | 1 |";

describe("markers present", () => {
  test("replaces what stands between them, nothing else", () => {
    const before = "# Guide ✅ — 75-80% network I/O\n\nintro\n";
    const after = "\ntail ✔ with no trailing newline";
    const text = `${before}${B}\nold report\nmore old${E}${after}`;
    expect(updateGuide(text, REPORT)).toBe(`${before}${B}\n${REPORT}\n${E}${after}`);
  });

  test("empty between the markers, markers mid-line", () => {
    expect(updateGuide(`x ${B}${E} y`, "R")).toBe(`x ${B}\nR\n${E} y`);
  });

  test("CRLF file: the other bytes stay, the block uses CRLF", () => {
    const text = `# Guide\r\n\r\n${B}\r\nold\r\n${E}\r\nafter\r\n`;
    const out = updateGuide(text, "line 1\nline 2");
    expect(out).toBe(`# Guide\r\n\r\n${B}\r\nline 1\r\nline 2\r\n${E}\r\nafter\r\n`);
    expect(out.replace(/\r\n/g, "")).not.toContain("\n");
  });

  test("replacing twice is idempotent, and a new report replaces the old one", () => {
    const text = `é\n${B}\n${E}`;
    const once = updateGuide(text, REPORT);
    expect(updateGuide(once, REPORT)).toBe(once);
    expect(updateGuide(once, "new")).toBe(`é\n${B}\nnew\n${E}`);
  });
});

describe("markers absent: appended at the end", () => {
  test("file ending in a newline", () => {
    expect(updateGuide("# Guide\n", "R")).toBe(`# Guide\n\n${B}\nR\n${E}\n`);
  });
  test("no trailing newline: the last line is kept as it was", () => {
    const out = updateGuide("# Guide\nlast line ✓", "R");
    expect(out.startsWith("# Guide\nlast line ✓")).toBe(true);
    expect(out).toBe(`# Guide\nlast line ✓\n\n${B}\nR\n${E}\n`);
  });
  test("CRLF file", () => {
    expect(updateGuide("a\r\nb\r\n", "R")).toBe(`a\r\nb\r\n\r\n${B}\r\nR\r\n${E}\r\n`);
  });
  test("empty file", () => {
    expect(updateGuide("", "R")).toBe(`${B}\nR\n${E}\n`);
  });
  test("append then update again is idempotent", () => {
    const once = updateGuide("# Guide 🚀", REPORT);
    expect(updateGuide(once, REPORT)).toBe(once);
  });
});

describe("bad markers", () => {
  test("two begin markers", () => {
    expect(() => updateGuide(`${B}\n${B}\n${E}`, "R")).toThrow(/appears 2 times \(line 1, line 2\)/);
  });
  test("two end markers", () => {
    expect(() => updateGuide(`${B}\n${E}\n${E}`, "R")).toThrow(/iouring-bench:end --> appears 2 times/);
  });
  test("end before begin", () => {
    expect(() => updateGuide(`a\n${E}\n${B}\n`, "R")).toThrow(/comes before .*line 3.*swap them/);
  });
  test("a lone marker", () => {
    expect(() => updateGuide(`a\n${B}\n`, "R")).toThrow(/no <!-- iouring-bench:end -->/);
    expect(() => updateGuide(`a\n${E}\n`, "R")).toThrow(/no <!-- iouring-bench:begin -->/);
  });
});

describe("updateGuideFile", () => {
  test("rewrites the file in place, byte for byte outside the markers", () => {
    const dir = mkdtempSync(join(tmpdir(), "update-guide-"));
    try {
      const path = join(dir, "guide.md");
      const original = Buffer.from(`\uFEFF# Guide ü\r\n${B}\r\nold\r\n${E}\r\nend`, "utf8");
      writeFileSync(path, original);
      expect(updateGuideFile(path, "R")).toBe(true);
      expect(readFileSync(path)).toEqual(Buffer.from(`\uFEFF# Guide ü\r\n${B}\r\nR\r\n${E}\r\nend`, "utf8"));
      expect(updateGuideFile(path, "R")).toBe(false);
      writeFileSync(path, Buffer.from([0x61, 0xff, 0x0a]));
      expect(() => updateGuideFile(path, "R")).toThrow(/not valid UTF-8/);
      expect(readFileSync(path)).toEqual(Buffer.from([0x61, 0xff, 0x0a]));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
