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
  /** The first match of `pattern` in the output, as it arrives; rejects, with the output, if the process ends first. */
  outputMatching(pattern: RegExp): Promise<RegExpExecArray>;
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
    outputMatching: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = pattern.exec(output);
          if (!match) return;
          stop();
          resolve(match);
        };
        const stop = () => {
          child.stdout!.off("data", check);
          child.stderr!.off("data", check);
        };
        // Registered after the output collectors above: each chunk is in `output` when checked.
        child.stdout!.on("data", check);
        child.stderr!.on("data", check);
        check();
        // Settled already if it matched: then this rejection is ignored.
        void closed.then((code) => {
          stop();
          reject(new Error(`the process ended (exit ${code}) before printing ${pattern}: ${output}`));
        });
      }),
  };
}

export const spawnWorker = (env: Env) => spawnService("render-worker", env);
