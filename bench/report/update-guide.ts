// Puts the markdown report into a design guide between two markers, keeping
// every other byte of the guide as it was (line endings, a missing final
// newline, any unicode). Without markers, both are appended with the report.
import { readFileSync, writeFileSync } from "node:fs";

export const BEGIN_MARKER = "<!-- iouring-bench:begin -->";
export const END_MARKER = "<!-- iouring-bench:end -->";

function positions(text: string, marker: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf(marker); i !== -1; i = text.indexOf(marker, i + marker.length)) out.push(i);
  return out;
}

function lineOf(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < index; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * Returns fileText with the report between the markers: what stood between
 * them (exclusive) becomes newline + report + newline. The inserted block
 * uses the file's line ending (CRLF when the file's first line ends so).
 * Throws on a repeated, lone or misordered marker.
 */
export function updateGuide(fileText: string, reportMarkdown: string): string {
  const begins = positions(fileText, BEGIN_MARKER);
  const ends = positions(fileText, END_MARKER);
  const where = (ps: number[]) => ps.map((p) => `line ${lineOf(fileText, p)}`).join(", ");
  if (begins.length > 1) throw new Error(`update-guide: ${BEGIN_MARKER} appears ${begins.length} times (${where(begins)}); keep exactly one begin and one end marker`);
  if (ends.length > 1) throw new Error(`update-guide: ${END_MARKER} appears ${ends.length} times (${where(ends)}); keep exactly one begin and one end marker`);
  if (begins.length !== ends.length) {
    const [has, lacks] = begins.length ? [BEGIN_MARKER, END_MARKER] : [END_MARKER, BEGIN_MARKER];
    throw new Error(`update-guide: ${has} found (${where(begins.length ? begins : ends)}) but no ${lacks}; add it, or remove both to have them appended`);
  }
  const firstNl = fileText.indexOf("\n");
  const eol = firstNl > 0 && fileText[firstNl - 1] === "\r" ? "\r\n" : "\n";
  const body = reportMarkdown.replace(/\r?\n/g, eol);
  const block = `${eol}${body}${eol}`;
  if (begins.length === 0) {
    // Append: a blank line between the existing text and the markers.
    const sep = fileText.length === 0 ? "" : fileText.endsWith("\n") ? eol : eol + eol;
    return `${fileText}${sep}${BEGIN_MARKER}${block}${END_MARKER}${eol}`;
  }
  const [b] = begins;
  const [e] = ends;
  if (e < b) throw new Error(`update-guide: ${END_MARKER} (line ${lineOf(fileText, e)}) comes before ${BEGIN_MARKER} (line ${lineOf(fileText, b)}); swap them`);
  return fileText.slice(0, b + BEGIN_MARKER.length) + block + fileText.slice(e);
}

/**
 * Updates the guide at path in place. Refuses a file that is not valid
 * UTF-8, since rewriting it would change bytes outside the markers.
 * Returns whether the file changed.
 */
export function updateGuideFile(path: string, reportMarkdown: string): boolean {
  const bytes = readFileSync(path);
  const text = bytes.toString("utf8");
  if (!Buffer.from(text, "utf8").equals(bytes)) throw new Error(`update-guide: ${path} is not valid UTF-8; not rewriting it`);
  const next = updateGuide(text, reportMarkdown);
  if (next === text) return false;
  writeFileSync(path, next, "utf8");
  return true;
}
