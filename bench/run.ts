/**
 * `pnpm bench` (quick) and `pnpm bench --full`: runs every benchmark of bench/ in its own
 * process (so one's JIT and GC state never colours another's), prints their tables, and writes
 * bench/RESULTS.md (tables, goals met or missed) and bench/results.json (every figure) with the
 * machine, date and commit. Every baseline is measured in the same run as what it is compared to.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Figure } from "./support/report.ts";
import { GOALS, goalRows, missedGoals } from "./support/goals.ts";

// --full: the 10,000-guest batch too, and 8 s windows in the API load runs (about 2 minutes more).
const full = process.argv.includes("--full");
// --service-node PATH: the API load run again with the services on another Node binary (the
// images' Node 24, say), reported beside the main run; the goals are judged on the main run.
const serviceNodeAt = process.argv.indexOf("--service-node");
const serviceNode = serviceNodeAt > 0 ? process.argv[serviceNodeAt + 1] : undefined;
const batchSizes = full ? [1000, 10_000] : [1000];

const run = (command: string, args: string[]) => {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
};

interface Benchmark {
  file: string;
  args: string[];
  title: string;
  env?: Record<string, string>;
  /** Figures kept apart from the goals (a run on another Node). */
  aside?: boolean;
}
const loadArgs = full ? [] : ["--duration", "5"];
const BENCHMARKS: Benchmark[] = [
  { file: "qr-token.ts", args: [], title: "1. QR token: sign + draw, verify (vs the old JSON + hex HMAC + PNG design)" },
  { file: "render.ts", args: [], title: "2–3. Rendering: one ticket, one PDF; a 100-ticket chunk as one document" },
  { file: "latency.ts", args: [], title: "4. End-to-end latency at a light steady load" },
  ...batchSizes.map((guests) => ({
    file: "batch.ts",
    args: ["--guests", String(guests)],
    title: `5. End-to-end batch of ${guests.toLocaleString("en")} guests vs one Chromium print per ticket; DownloadBatchPdf memory`,
  })),
  // Quick: 5 s windows keep the whole run under 5 minutes on 2 cores; --full measures 8 s.
  { file: "load.ts", args: loadArgs, title: "6. API under load, from a separate process" },
  ...(serviceNode
    ? [
        {
          file: "load.ts",
          args: loadArgs,
          title: `6b. API under load, the services on Node ${run(serviceNode, ["--version"])} (the images' runtime)`,
          env: { BENCH_SERVICE_NODE: serviceNode },
          aside: true,
        },
      ]
    : []),
];

const dir = fileURLToPath(new URL(".", import.meta.url));
const tsx = fileURLToPath(new URL("../node_modules/.bin/tsx", import.meta.url));

const work = mkdtempSync(join(tmpdir(), "ticketgen-bench-run-"));
const figuresFile = join(work, "figures.jsonl");
const asideFile = join(work, "aside.jsonl");
writeFileSync(figuresFile, "");
writeFileSync(asideFile, "");
const started = Date.now();
const sections: string[] = [];
for (const { file, args, title, env, aside } of BENCHMARKS) {
  process.stderr.write(`running bench/${file} ${args.join(" ")}${env ? ` ${JSON.stringify(env)}` : ""}…\n`);
  const output = execFileSync(tsx, [`${dir}${file}`, ...args], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, ...env, BENCH_JSON_OUT: aside ? asideFile : figuresFile },
  });
  process.stdout.write(`${output}\n`);
  sections.push(`## ${title}\n\n\`node_modules/.bin/tsx bench/${file}${args.length ? ` ${args.join(" ")}` : ""}\`\n\n${output.trim()}\n`);
}
const readFigures = (file: string): Figure[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Figure);
const figures = readFigures(figuresFile);
const serviceNodeFigures = readFigures(asideFile);
rmSync(work, { recursive: true, force: true });

const machine = {
  cpus: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  chromium: run(process.env.CHROMIUM_EXECUTABLE_PATH ?? "/usr/bin/chromium", ["--version"]),
  postgres: run("psql", ["--version"]),
  redis: run("redis-server", ["--version"]),
};
// The previous run's own outputs do not make the code under test uncommitted.
const dirty = run("git", ["status", "--porcelain", "--", ".", ":!bench/RESULTS.md", ":!bench/results.json"]);
const commit = `${run("git", ["rev-parse", "--short", "HEAD"])}${dirty ? " (with uncommitted changes)" : ""}`;
const date = new Date().toISOString();
writeFileSync(
  `${dir}results.json`,
  `${JSON.stringify({ date, commit, full, machine, durationS: Math.round((Date.now() - started) / 1000), figures, serviceNodeFigures }, null, 2)}\n`,
);

const goals = goalRows(figures);
const missed = missedGoals(figures);
const report = `# Benchmark results

Written by \`pnpm bench${full ? " --full" : ""}\` (bench/run.ts) in ${Math.round((Date.now() - started) / 1000)} s; every figure and its baseline come
from this one run, and every figure is also in [results.json](results.json).

- Date: ${date}
- Commit: ${commit}
- Machine: ${machine.cpus} × ${machine.cpu}, ${machine.memoryGiB} GiB, Node ${machine.node}
- ${machine.chromium}; ${machine.postgres}; ${machine.redis.split(" ").slice(0, 3).join(" ")}

## Goals

| figure | old design's target | goal | measured | met? |
|---|---|---|---|---|
${goals.join("\n")}
${missed.length > 0 ? `\n### Missed goals: by how much, and what limits them\n\n${missed.join("\n")}\n` : ""}
${sections.join("\n")}
${readFileSync(`${dir}optimisations.md`, "utf8")}`;
writeFileSync(`${dir}RESULTS.md`, report);
process.stderr.write(`wrote bench/RESULTS.md and bench/results.json (${figures.length} figures, ${GOALS.length} goals)\n`);
