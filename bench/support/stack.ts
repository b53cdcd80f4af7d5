import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { buildServices } from "../../scripts/build.ts";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/scratch-database.ts";
import { startScriptNodeFlags } from "../../scripts/start-script-flags.ts";

/**
 * The real stack for benchmarks: API and render-worker processes (their bundles, one
 * process each, so /proc/<pid> is the service) on a scratch PostgreSQL database and a queue
 * prefix of their own, on loopback.
 */
const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

export type { ScratchDatabase };

export function scratchDatabase(): Promise<ScratchDatabase> {
  return createScratchDatabase(adminUrl, "ticketgen_bench");
}

/** The services as production runs them: bundled by `pnpm build` (scripts/build.ts), plain node. */
export const API_ENTRY = "packages/api/dist/main.mjs";
export const WORKER_ENTRY = "packages/render-worker/dist/main.mjs";
/** The API's sources: a CPU profile of the bundle attributes everything to one file. */
export const API_SOURCE_ENTRY = "packages/api/src/main.ts";
/** BENCH_SERVICE_NODE: another Node binary for the services (the images run Node 24), say. */
const SERVICE_NODE = process.env.BENCH_SERVICE_NODE ?? process.execPath;
let built: Promise<void> | undefined;

/** Runs a service's entry; startStack has built the bundles by then. */
export function startProcess(entry: string, env: Record<string, string>, nodeFlags: string[] = [], args: string[] = []): ChildProcess {
  // A .ts entry (sources, for profiles that name each dependency) runs through tsx's loader.
  const loader = entry.endsWith(".ts") ? ["--import", "tsx"] : [];
  return spawn(SERVICE_NODE, [...nodeFlags, ...loader, entry, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
}

export const WORKER_NODE_FLAGS = startScriptNodeFlags("worker");
export const API_NODE_FLAGS = startScriptNodeFlags("api");

/**
 * Resolves with the first match of `pattern` in a child's stdout; from then on its output is
 * drained and dropped (under load a service logs a line per call, and the text would grow).
 */
function awaitOutput(child: ChildProcess, pattern: RegExp): Promise<RegExpExecArray> {
  let output = "";
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = pattern.exec(output);
      if (!match) return;
      child.stdout!.off("data", onData);
      child.stdout!.resume();
      resolve(match);
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => reject(new Error(`exited with ${code}: ${output}`)));
  });
}

export async function listening(child: ChildProcess): Promise<number> {
  return Number((await awaitOutput(child, /"port":(\d+)/))[1]);
}

/** Resolves once a worker (LOG_LEVEL info) has warmed Chromium up and taken the queue. */
export async function workerStarted(child: ChildProcess): Promise<void> {
  await awaitOutput(child, /"action":"worker_started"/);
}

export const stopProcess = (child: ChildProcess) =>
  new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : (child.once("exit", () => resolve()), child.kill("SIGTERM"))));

/** Current and peak resident memory of one process, from /proc (MB). */
export function memoryMb(pid: number): { rss: number; peak: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(text)?.[1] ?? 0) / 1024;
  return { rss: field("VmRSS"), peak: field("VmHWM") };
}

/** Linux: resets VmHWM so that the next peak read is of what follows. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}

function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, "utf8"))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // the process ended meanwhile
    }
  }
  const out: number[] = [];
  const visit = (p: number) => {
    for (const child of children.get(p) ?? []) {
      out.push(child);
      visit(child);
    }
  };
  visit(pid);
  return out;
}

/**
 * Proportional set size of a process and all its descendants, MB, by kind: "node" for the
 * service itself, Chromium's processes by their --type (browser, renderer, utility, …), any
 * other helper by its executable's name; with how many processes of each kind there were.
 */
export function treePssMb(pid: number): Record<string, { mb: number; processes: number }> {
  const byKind: Record<string, { mb: number; processes: number }> = {};
  for (const p of [pid, ...descendants(pid)]) {
    try {
      // Chromium rewrites its helpers' command lines into one space-separated string.
      const command = readFileSync(`/proc/${p}/cmdline`, "utf8").replaceAll("\0", " ");
      const program = basename(command.split(" ")[0] ?? "");
      const type = /--type=([\w-]+)/.exec(command)?.[1];
      const kind = p === pid ? "node" : (type ?? (program.includes("chrom") ? "browser" : program));
      const kb = Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/smaps_rollup`, "utf8"))?.[1] ?? 0);
      const entry = (byKind[kind] ??= { mb: 0, processes: 0 });
      entry.mb += kb / 1024;
      entry.processes += 1;
    } catch {
      // the process ended meanwhile
    }
  }
  return byKind;
}

export interface Stack {
  api: ChildProcess;
  worker: ChildProcess | undefined;
  /** gRPC on PORT (@grpc/grpc-js). */
  baseUrl: string;
  /** Connect, gRPC-Web and gRPC on WEB_PORT (connect-node). */
  webBaseUrl: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** API (+ one render worker unless `worker: false`) on a database, with extra environment. */
export async function startStack(
  databaseUrl: string,
  options: { env?: Record<string, string>; worker?: boolean; apiNodeFlags?: string[]; apiEntry?: string } = {},
): Promise<Stack> {
  // Bundles of the code being measured, never of an earlier checkout; once per process.
  await (built ??= buildServices());
  const blobDir = mkdtempSync(join(tmpdir(), "ticketgen-bench-"));
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: `tgbench-${randomBytes(4).toString("hex")}`,
    BLOB_DIR: blobDir,
    QR_SIGNATURE_SECRET: "bench secret: 32 bytes or more, not a real one!!",
    PORT: "0",
    WEB_PORT: "0",
    METRICS_PORT: "0",
    LOG_LEVEL: "info",
    ...options.env,
  };
  const api = startProcess(options.apiEntry ?? API_ENTRY, env, options.apiNodeFlags);
  const worker = options.worker === false ? undefined : startProcess(WORKER_ENTRY, env, WORKER_NODE_FLAGS);
  const [, port, webPort] = await awaitOutput(api, /"port":(\d+),"webPort":(\d+)/);
  if (worker) await workerStarted(worker);
  return {
    api,
    worker,
    baseUrl: `http://127.0.0.1:${port}`,
    webBaseUrl: `http://127.0.0.1:${webPort}`,
    env,
    async stop() {
      await Promise.all([worker && stopProcess(worker), stopProcess(api)]);
      rmSync(blobDir, { recursive: true, force: true });
    },
  };
}
