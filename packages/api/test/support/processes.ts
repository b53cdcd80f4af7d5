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
 * Runs a service as its own process group, as it runs in production: its bundle
 * (packages/<service>/dist/main.mjs, built by the global setup with scripts/build.ts) in one
 * plain Node process.
 */
export function spawnService(service: "api" | "render-worker", env: Env): Spawned {
  const child = spawn(process.execPath, [`packages/${service}/dist/main.mjs`], {
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

export const spawnWorker = (env: Env) => spawnService("render-worker", env);
