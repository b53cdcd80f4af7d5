/**
 * `pnpm bench`: runs every benchmark of bench/ in its own process (so one's JIT and GC state
 * never colours another's), prints their tables and writes them to bench/RESULTS.md with the
 * machine, date and commit.
 */
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

// --full: the 10,000-guest batch too (about a minute more).
const full = process.argv.includes("--full");
const batchSizes = full ? [1000, 10_000] : [1000];

const BENCHMARKS = [
  { file: "qr-token.ts", args: [], title: "QR token: sign + draw, verify (vs the old JSON + hex HMAC + PNG design)" },
  { file: "render.ts", args: [], title: "Rendering one ticket to PDF: pooled worker vs a browser launched per ticket" },
  ...batchSizes.map((guests) => ({
    file: "batch.ts",
    args: ["--guests", String(guests)],
    title: `End-to-end batch of ${guests.toLocaleString("en")} guests vs one Chromium print per ticket; DownloadBatchPdf memory`,
  })),
];

const dir = fileURLToPath(new URL(".", import.meta.url));
const tsx = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));
const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trim();

const sections: string[] = [];
for (const { file, args, title } of BENCHMARKS) {
  process.stderr.write(`running bench/${file} ${args.join(" ")}…\n`);
  const output = execFileSync(tsx, [`${dir}${file}`, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  process.stdout.write(`${output}\n`);
  sections.push(`## ${title}\n\n\`node_modules/.bin/tsx bench/${file} ${args.join(" ")}\`\n\n${output.trim()}\n`);
}

const chromium = (() => {
  try {
    return execFileSync(process.env.CHROMIUM_EXECUTABLE_PATH ?? "/usr/bin/chromium", ["--version"], { encoding: "utf8" }).trim();
  } catch {
    return "unknown";
  }
})();
const header = `# Benchmark results

Written by \`pnpm bench${full ? " --full" : ""}\` (bench/run.ts); every figure and its baseline come from the same run.

- Date: ${new Date().toISOString()}
- Commit: ${git("rev-parse", "--short", "HEAD")}${git("status", "--porcelain") ? " (with uncommitted changes)" : ""}
- Machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${chromium}
`;
writeFileSync(`${dir}RESULTS.md`, `${header}\n${sections.join("\n")}`);
process.stderr.write("wrote bench/RESULTS.md\n");
