import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Env } from "@ticketgen/shared";

const root = fileURLToPath(new URL("../../../../", import.meta.url));

export interface Spawned {
  child: ChildProcess;
  output(): string;
  /** Kills the process and everything it started (Chromium included). */
  kill(signal?: NodeJS.Signals): void;
  exited(): Promise<number | null>;
}

/**
 * Runs a package's entry point as its own process group, as it runs in production: one Node
 * process with tsx's loader. Not the tsx CLI: it relays SIGTERM to its child and SIGKILLs it
 * if the child's event loop does not acknowledge within 30 ms (busy printing, say), which
 * would turn a drain into a kill.
 */
export function spawnEntry(entry: string, env: Env): Spawned {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    cwd: root,
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const closed = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    child,
    output: () => output,
    kill(signal = "SIGKILL") {
      try {
        process.kill(signal === "SIGKILL" ? -child.pid! : child.pid!, signal);
      } catch {
        // already gone
      }
    },
    exited: () => closed,
  };
}

export const spawnWorker = (env: Env) => spawnEntry("packages/render-worker/src/main.ts", env);
