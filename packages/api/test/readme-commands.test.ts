import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { printedAsShown, shellBlocks, type ShellBlock } from "./support/readme-blocks.ts";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const README = readFileSync(join(ROOT, "README.md"), "utf8");
const blocks = shellBlocks(README);
/** The README's commands talk to the services' default ports. */
const PORTS = [3004, 3005, 9464, 9465];
// A bound for a stuck command, not a speed check: the suite's slowest files run beside it, and a
// slower host has taken over 240 s.
const RUN_LIMIT_MS = 480_000;

/**
 * The environment of a newcomer's shell after the two set-up commands: pnpm on PATH (corepack),
 * but not node_modules/.bin, and none of the variables the README has them set.
 */
function newcomerEnv(): NodeJS.ProcessEnv {
  const path = (process.env.PATH ?? "").split(delimiter).filter((dir) => !dir.includes("node_modules"));
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: path.join(delimiter) };
  for (const name of Object.keys(env)) {
    if (
      /^(AUTH_|QR_|TICKETGEN_|DATABASE_URL|DB_|PORT$|WEB_PORT|CORS_ORIGINS|METRICS_PORT|REDIS_|QUEUE_|BLOB_|PGLITE_|LOG_|NODE_ENV|VITEST|npm_|PNPM_|INIT_CWD)/.test(
        name,
      )
    )
      delete env[name];
  }
  // Where the stack keeps its data is the one thing not taken from the README: a fresh embedded
  // database and queue each run, so a developer's own .data/ and earlier runs change nothing.
  const data = mkdtempSync(join(tmpdir(), "ticketgen-readme-data-"));
  return { ...env, PGLITE_DIR: join(data, "pglite"), BLOB_DIR: join(data, "blobs"), QUEUE_PREFIX: `{readme-${process.pid}}` };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
      .once("error", () => resolve(false))
      .listen(port, "0.0.0.0", () => server.close(() => resolve(true)));
  });
}

interface BlockRun {
  block: ShellBlock;
  output: string;
  failed: string[];
}

/**
 * Runs every runnable block in order in one bash, as a person pasting them into one terminal
 * would: variables and background jobs carry over. Each command that fails is recorded.
 */
async function runBlocks(runnable: ShellBlock[]): Promise<BlockRun[]> {
  const dir = mkdtempSync(join(tmpdir(), "ticketgen-readme-"));
  const script = [
    // Job control as in a terminal: `kill %1` then signals the whole job, not only pnpm.
    "set -m -o pipefail",
    ...runnable.flatMap((block, i) => {
      const file = join(dir, `block-${i}.sh`);
      writeFileSync(file, `${block.code}\n`);
      return [
        `printf '\\n@@start ${i}@@\\n'`,
        `trap 'printf "\\n@@failed ${i}: %s@@\\n" "$BASH_COMMAND"' ERR`,
        `source ${file}`,
        "trap - ERR",
        `printf '\\n@@end ${i}@@\\n@@jobs %s@@\\n' "$(jobs -p | tr '\\n' ' ')"`,
      ];
    }),
    // Whatever the README left running ends with the shell, each job as a whole.
    'for job in $(jobs -p); do kill -- "-$job" 2>/dev/null; done; wait',
  ].join("\n");
  const child = spawn("bash", ["--noprofile", "--norc", "-c", script], {
    cwd: ROOT,
    env: newcomerEnv(),
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (chunk) => (output += chunk));
  child.stderr.on("data", (chunk) => (output += chunk));
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), RUN_LIMIT_MS);
  await new Promise((resolve) => child.once("close", resolve));
  clearTimeout(timer);
  // Each background job is a process group of its own (set -m): a run cut short leaves none behind.
  const groups = [...output.matchAll(/@@jobs ([\d ]*)@@/g)].flatMap((m) => m[1]!.split(" ").filter(Boolean).map(Number));
  for (const group of [child.pid!, ...groups]) {
    try {
      process.kill(-group, "SIGKILL");
    } catch {
      // that group has ended
    }
  }
  return runnable.map((block, i) => {
    const start = output.indexOf(`@@start ${i}@@`);
    const end = output.indexOf(`@@end ${i}@@`);
    const text = start < 0 ? "" : output.slice(start + `@@start ${i}@@`.length, end < 0 ? undefined : end);
    const failed = [...text.matchAll(/@@failed \d+: ([\s\S]*?)@@/g)].map((m) => m[1]!);
    if (start < 0 || end < 0) failed.push(start < 0 ? "never ran" : "did not finish");
    return { block, output: text.replace(/\n?@@failed \d+: [\s\S]*?@@\n?/g, "\n").replace(/@@jobs [\d ]*@@/g, ""), failed };
  });
}

describe("README.md", () => {
  it("says why each shell block it does not run is left out", () => {
    for (const block of blocks.filter((b) => b.skipped)) expect(block.skipped!.length, `README.md:${block.line}`).toBeGreaterThan(10);
    expect(blocks.filter((b) => !b.skipped).length).toBeGreaterThan(5);
  });

  it("runs every shell block verbatim after the set-up, printing what it shows", { timeout: RUN_LIMIT_MS + 30_000 }, async () => {
    for (const port of PORTS) expect(await portFree(port), `port ${port} is taken: the README's commands need it free`).toBe(true);
    const runs = await runBlocks(blocks.filter((b) => !b.skipped));
    const problems = runs.flatMap(({ block, output, failed }) => {
      const mismatch = block.expected === undefined ? undefined : printedAsShown(output, block.expected);
      return [
        ...failed.map((command) => `README.md:${block.line}: \`${command.trim()}\` failed`),
        ...(mismatch ? [`README.md:${block.line}: ${mismatch}`] : []),
      ].map((problem) => `${problem}\n--- it printed:\n${output.trim().slice(-2000)}\n---`);
    });
    expect(problems).toEqual([]);
  });
});
