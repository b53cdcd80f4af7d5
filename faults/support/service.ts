import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { descendants, isAlive, processInfo, type ProcessInfo } from "./proc.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

export type ServiceName = "api" | "render-worker";

/** The worker's Node flags, as `pnpm start:worker` runs it (package.json). */
const NODE_FLAGS: Record<ServiceName, string[]> = {
  api: [],
  "render-worker": ["--max-old-space-size=256", "--max-semi-space-size=4"],
};

const READY: Record<ServiceName, RegExp> = { api: /"action":"api_started"/, "render-worker": /"action":"worker_started"/ };

/**
 * One service process: its bundle (`pnpm build`) under plain node, as production runs it, in a
 * process group of its own. Every process seen under it is remembered, so that once it has
 * ended the suite can tell whether anything it started (Chromium) outlived it.
 */
export class Service {
  child: ChildProcess | undefined;
  private tail = "";
  private readonly log: WriteStream;
  private readonly seen = new Map<string, ProcessInfo>();
  private watcher: NodeJS.Timeout | undefined;
  /** Exit codes (or signal names) of every process this service has run, in order. */
  readonly exits: Array<number | string> = [];
  /** Exits nobody asked for, with the output's last lines; each was followed by a restart, as an orchestrator would. */
  readonly crashes: string[] = [];
  private exitExpected = false;
  private stopping = false;

  constructor(
    readonly name: ServiceName,
    private readonly env: Record<string, string>,
    logFile: string,
  ) {
    this.log = createWriteStream(logFile, { flags: "a" });
  }

  get pid(): number | undefined {
    return this.child?.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  /** Starts the service and resolves once it says it is ready; rejects with its output if it exits first. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [...NODE_FLAGS[this.name], `packages/${this.name}/dist/main.mjs`], {
      cwd: root,
      env: { PATH: process.env.PATH, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    this.tail = "";
    const collect = (chunk: Buffer) => {
      this.log.write(chunk);
      this.tail = (this.tail + chunk.toString()).slice(-65_536);
    };
    child.stdout!.on("data", collect);
    child.stderr!.on("data", collect);
    this.exitExpected = false;
    child.once("exit", (code, signal) => {
      this.exits.push(code ?? signal ?? "unknown");
      if (this.exitExpected || this.stopping) return;
      this.crashes.push(
        `${this.name} exited by itself (${code ?? signal}): ${this.tail.trim().split("\n").slice(-12).join(" ").slice(-600)}`,
      );
      void this.start().catch((error: unknown) => this.crashes.push(`${this.name} did not start again: ${String(error)}`));
    });
    this.remember(child.pid!);
    this.watcher ??= setInterval(() => this.pid && this.remember(this.pid), 250);
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!READY[this.name].test(this.tail)) return;
        child.stdout!.off("data", check);
        resolve();
      };
      child.stdout!.on("data", check);
      child.once("exit", (code, signal) => reject(new Error(`${this.name} exited (${code ?? signal}) before it was ready:\n${this.tail}`)));
    });
  }

  private remember(pid: number): void {
    const self = processInfo(pid);
    for (const p of self ? [self, ...descendants(pid)] : []) this.seen.set(`${p.pid}/${p.startTime}`, p);
  }

  /** Sends `signal` to the service's main process only (its children are its own business). */
  signal(signal: NodeJS.Signals): void {
    this.exitExpected = true;
    if (this.pid) process.kill(this.pid, signal);
  }

  /** Resolves with the exit code (or signal) once the current process has ended. */
  async exited(): Promise<number | string> {
    const child = this.child;
    if (!child) return "never started";
    if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once("exit", resolve));
    return child.exitCode ?? child.signalCode ?? "unknown";
  }

  /** The exit code, or "killed" when it had to be SIGKILLed (with its group) after `ms`. */
  async exitedWithin(ms: number): Promise<number | string> {
    let killed = false;
    const timer = setTimeout(() => ((killed = true), this.killGroup()), ms);
    const code = await this.exited();
    clearTimeout(timer);
    return killed ? "killed" : code;
  }

  private killGroup(): void {
    try {
      if (this.child?.pid) process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // the group has gone
    }
  }

  /** SIGTERM, then SIGKILL to the whole group after `graceMs`: what an orchestrator does. */
  async stop(graceMs = 15_000): Promise<number | string> {
    this.stopping = true;
    const child = this.child;
    if (!child || !this.pid) return child ? this.exited() : "never started";
    this.remember(this.pid);
    child.kill("SIGTERM");
    return this.exitedWithin(graceMs);
  }

  /** Every process ever seen in this service's tree that is still alive (the service itself included). */
  leftovers(): ProcessInfo[] {
    return [...this.seen.values()].filter(isAlive);
  }

  output(): string {
    return this.tail;
  }

  close(): void {
    clearInterval(this.watcher);
    this.log.end();
  }
}
