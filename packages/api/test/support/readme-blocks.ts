/**
 * The README's shell examples, as the README test runs them. A ```sh block is run; an HTML
 * comment `<!-- not run by the README test: <reason> -->` on the line before its fence exempts
 * it, with the reason; a ```text block right after it is the output it must print, where "…"
 * stands for any text within a line.
 */
export interface ShellBlock {
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  /** Set: the block is not run, for this reason. */
  skipped?: string;
  expected?: string;
}

const SKIP = /^<!-- not run by the README test: (.+?) -->$/;

export function shellBlocks(markdown: string): ShellBlock[] {
  const lines = markdown.split("\n");
  const blocks: ShellBlock[] = [];
  let shellEnd = -1;
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: a code block that never closes`);
    const body = lines.slice(i + 1, end).join("\n");
    if (fence[1] === "sh") {
      const skipped = SKIP.exec(lines[i - 1] ?? "")?.[1];
      blocks.push({ line: i + 1, code: body, ...(skipped ? { skipped } : {}) });
      shellEnd = end;
    } else if (fence[1] === "text" && shellEnd >= 0 && lines.slice(shellEnd + 1, i).every((line) => line.trim() === "")) {
      blocks.at(-1)!.expected = body;
    }
    i = end;
  }
  return blocks;
}

/** Every line of `expected`, in order, each somewhere in `actual`; "…" matches any text. */
export function printedAsShown(actual: string, expected: string): string | undefined {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  let from = 0;
  const lines = actual.split("\n");
  for (const wanted of expected.split("\n").filter((line) => line.trim() !== "")) {
    const pattern = new RegExp(`^${wanted.split("…").map(escape).join(".*")}$`);
    const at = lines.findIndex((line, index) => index >= from && pattern.test(line.trimEnd()));
    if (at < 0) return `expected a line like ${JSON.stringify(wanted)} (after line ${from + 1} of the output)`;
    from = at + 1;
  }
  return undefined;
}
