import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, type WriteStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { startScriptNodeFlags } from "../../scripts/start-script-flags.ts";
import { descendants, isAlive, processInfo, type ProcessInfo } from "./proc.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));

export type ServiceName = "api" | "render-worker";

const NODE_FLAGS: Record<ServiceName, string[]> = {
  api: startScriptNodeFlags("api"),
  "render-worker": startScriptNodeFlags("worker"),
};

const READY: Record<ServiceName, RegExp> = { api: /"action":"api_started"/, "render-worker": /"action":"worker_started"/ };

/**
 * After a crash the service is started again 1 s later, then twice as long after each restart
 * that fails, up to 10 s: an orchestrator's back-off (Kubernetes' CrashLoopBackOff, on a
 * shorter scale to fit a fault run), not a restart loop.
 */
const RESTART_DELAY_MS = { first: 1_000, max: 10_000 };
/** What a crash report keeps of the output: the error it ended on, not the log. */
const SUMMARY_CHARS = 500;

/**
 * The last lines a process wrote to stderr, where Node prints the error that ended it (the
 * services log JSON to stdout): blank lines, Node's banner and its pointer at the rethrowing
 * frame left out. Falls back to the last line of stdout.
 */
function summary(stderr: string, stdout: string): string {
  const lines = stderr
    .split("\n")
    .map((line) => line.trim())
    .filter(
      (line) =>
        line &&
        line !== "^" &&
        !/^Node\.js v\d/.test(line) &&
        !line.startsWith("node:internal/") &&
        !line.startsWith("triggerUncaughtException("),
    );
  const text = lines.slice(-12).join(" ⏎ ") || stdout.trim().split("\n").at(-1) || "no output";
  return text.length > SUMMARY_CHARS ? `${text.slice(0, SUMMARY_CHARS)}…` : text;
}

/** A crash, or a run of restarts that failed the same way (counted, not repeated). */
interface Incident {
  text: string;
  failedRestart: boolean;
  count: number;
}

/**
 * One service process: its bundle (`pnpm build`) under plain node, as production runs it, in a
 * process group of its own. Every process seen under it is remembered, so that once it has
 * ended the suite can tell whether anything it started (Chromium) outlived it. A process that
 * exits by itself once ready is a crash: it is reported and started again with back-off.
 */
export class Service {
  child: ChildProcess | undefined;
  private tail = "";
  private stderrTail = "";
  private readonly log: WriteStream;
  private readonly seen = new Map<string, ProcessInfo>();
  private watcher: NodeJS.Timeout | undefined;
  /** Exit codes (or signal names) of every process this service has run, in order. */
  readonly exits: Array<number | string> = [];
  /** Exits of a ready process that nobody asked for. */
  crashes = 0;
  private readonly incidents: Incident[] = [];
  /**
   * Processes told to exit. Per process, not a flag: a restart starts the next one before the
   * signalled one's "close" (its output drained) has been seen.
   */
  private readonly exitsAsked = new WeakSet<ChildProcess>();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartDelayMs = RESTART_DELAY_MS.first;

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

  /**
   * Every crash in order, each with the error it ended on, and after it the restarts that
   * failed (identical failures in a row counted once): empty when the service never crashed.
   */
  crashReport(): string[] {
    return this.incidents.map(({ text, count }) => (count > 1 ? `${text} (${count} times in a row)` : text));
  }

  /** Starts the service and resolves once it says it is ready; rejects with the error it ended on if it exits first. */
  async start(): Promise<void> {
    const child = spawn(process.execPath, [...NODE_FLAGS[this.name], `packages/${this.name}/dist/main.mjs`], {
      cwd: root,
      env: { PATH: process.env.PATH, ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    this.child = child;
    this.tail = "";
    this.stderrTail = "";
    let ready = false;
    child.stdout!.on("data", (chunk: Buffer) => this.collect(chunk));
    child.stderr!.on("data", (chunk: Buffer) => {
      this.collect(chunk);
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-16_384);
    });
    const exited = new Promise<string>((resolve) => {
      // "close", not "exit": by then the output the process ended on has all been read.
      child.once("close", (code, signal) => {
        const status = code ?? signal ?? "unknown";
        this.exits.push(status);
        resolve(`exit ${status}: ${summary(this.stderrTail, this.tail)}`);
      });
    });
    void exited.then((why) => {
      if (!ready || this.exitsAsked.has(child) || this.stopping) return;
      this.crashes++;
      this.incidents.push({ text: `${this.name} exited by itself (${why})`, failedRestart: false, count: 1 });
      this.restartDelayMs = RESTART_DELAY_MS.first;
      this.restartLater();
    });
    this.remember(child.pid!);
    this.watcher ??= setInterval(() => this.pid && this.remember(this.pid), 250);
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!READY[this.name].test(this.tail)) return;
        ready = true;
        child.stdout!.off("data", check);
        resolve();
      };
      child.stdout!.on("data", check);
      void exited.then((why) => reject(new Error(`${this.name} ended before it was ready (${why})`)));
    });
  }

  private collect(chunk: Buffer): void {
    this.log.write(chunk);
    this.tail = (this.tail + chunk.toString()).slice(-65_536);
  }

  private restartLater(): void {
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.start().then(
        () => (this.restartDelayMs = RESTART_DELAY_MS.first),
        (error: unknown) => {
          if (this.stopping) return;
          const text = `${this.name} did not start again: ${(error as Error).message}`;
          const last = this.incidents.at(-1);
          if (last?.failedRestart && last.text === text) last.count++;
          else this.incidents.push({ text, failedRestart: true, count: 1 });
          this.restartDelayMs = Math.min(this.restartDelayMs * 2, RESTART_DELAY_MS.max);
          this.restartLater();
        },
      );
    }, this.restartDelayMs);
  }

  private remember(pid: number): void {
    const self = processInfo(pid);
    for (const p of self ? [self, ...descendants(pid)] : []) this.seen.set(`${p.pid}/${p.startTime}`, p);
  }

  /** Sends `signal` to the service's main process only (its children are its own business). */
  signal(signal: NodeJS.Signals): void {
    if (this.child) this.exitsAsked.add(this.child);
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
    clearTimeout(this.restartTimer);
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
