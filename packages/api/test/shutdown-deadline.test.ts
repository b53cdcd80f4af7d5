import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { afterEach, describe, expect, inject, it } from "vitest";
import { spawnService, type Spawned } from "./support/processes.ts";
import { freePort } from "./support/redis-server.ts";
import { testEnv, waitFor } from "./support/stack.ts";
import { proxyFor, type TcpProxy } from "./support/tcp-proxy.ts";

/** Small, so that a stop that waits out its drain still ends quickly; the assertions are relative to it. */
const SHUTDOWN_TIMEOUT_MS = 2000;
/** What a stop may take beyond SHUTDOWN_TIMEOUT_MS: closing what is left, and the process ending. */
const MARGIN_MS = 3000;
/** How long the test waits for an exit before it gives up (and kills the process): far past the limit. */
const GIVE_UP_MS = 30_000;

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function spawn(service: "api" | "render-worker", env: Record<string, string | undefined>): Spawned {
  const spawned = spawnService(service, testEnv({ LOG_LEVEL: "info", SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), ...env }));
  cleanup.push(async () => spawned.kill("SIGKILL"));
  return spawned;
}

async function proxied(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const proxy = proxyFor(url);
  await proxy.start();
  cleanup.push(() => proxy.stop());
  const through = new URL(url);
  through.port = String(proxy.port);
  return { proxy, url: through.href };
}

/** Sends `signal` and measures how long the process takes to exit; kills it and fails if it never does. */
async function stopTime(spawned: Spawned, signal: NodeJS.Signals): Promise<{ code: number | null; elapsedMs: number }> {
  const exited = once(spawned.child, "exit") as Promise<[number | null]>;
  const started = performance.now();
  spawned.child.kill(signal);
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), GIVE_UP_MS)));
  const outcome = await Promise.race([exited, gaveUp]);
  clearTimeout(timer);
  const elapsedMs = performance.now() - started;
  if (outcome === "hung") {
    spawned.kill("SIGKILL");
    throw new Error(`still running ${GIVE_UP_MS} ms after ${signal}: ${spawned.output()}`);
  }
  return { code: outcome[0], elapsedMs };
}

const withinDeadline = (elapsedMs: number) => expect(elapsedMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + MARGIN_MS);

describe("a render worker stops within SHUTDOWN_TIMEOUT_MS whatever Redis does", () => {
  // Connections refused from a point in the worker's life on: running, or between the start-up
  // check and BullMQ's connection (Chromium starts after the Redis check, before BullMQ connects).
  it.each([
    ["SIGTERM after Redis went down while it ran (connections refused)", /"action":"worker_started"/],
    ["SIGTERM after Redis went away between the start-up check and BullMQ's connection", /"action":"browser_launched"/],
  ])(
    "%s",
    async (_title, reached) => {
      const redis = await proxied(inject("redisUrl"));
      const worker = spawn("render-worker", { REDIS_URL: redis.url });
      await worker.outputMatching(reached);

      await redis.proxy.stop();
      const { code, elapsedMs } = await stopTime(worker, "SIGTERM");
      withinDeadline(elapsedMs);
      expect(code).toBe(0);
    },
    60_000,
  );

  // Unreachable as behind a network partition: connections stay open, nothing answers.
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s while Redis black-holes everything",
    async (signal) => {
      const redis = await proxied(inject("redisUrl"));
      const worker = spawn("render-worker", { REDIS_URL: redis.url });
      await worker.outputMatching(/"action":"worker_started"/);

      redis.proxy.freeze();
      const { code, elapsedMs } = await stopTime(worker, signal);
      withinDeadline(elapsedMs);
      expect(code).toBe(0);
    },
    60_000,
  );

  // Redis unreachable from the start: the worker waits up to REDIS_STARTUP_TIMEOUT_MS for it.
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s while still waiting for Redis at start-up",
    async (signal) => {
      const worker = spawn("render-worker", { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, REDIS_STARTUP_TIMEOUT_MS: "600000" });
      await worker.outputMatching(/"action":"waiting_for_redis"/);

      const { code, elapsedMs } = await stopTime(worker, signal);
      withinDeadline(elapsedMs);
      expect(code).toBe(0);
    },
    60_000,
  );
});

describe("the API stops within SHUTDOWN_TIMEOUT_MS", () => {
  it("SIGTERM with PostgreSQL and Redis both down", async () => {
    const database = await proxied(inject("databaseUrl"));
    const redis = await proxied(inject("redisUrl"));
    const api = spawn("api", { DATABASE_URL: database.url, REDIS_URL: redis.url });
    await api.outputMatching(/"action":"api_started"/);

    database.proxy.freeze();
    await redis.proxy.stop();
    const { code, elapsedMs } = await stopTime(api, "SIGTERM");
    withinDeadline(elapsedMs);
    expect(code).toBe(0);
  }, 60_000);
});

/** The processes of the Chromium whose browser process is `browserPid`, as /proc tells: its process group, or its profile on their command line. */
function chromiumProcesses(browserPid: number, profile: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const processGroup = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
      const commandLine = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (processGroup === browserPid || commandLine.includes(profile)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** The browser process a worker launched: its child running Chromium, and that Chromium's profile directory. */
function browserOf(workerPid: number): { pid: number; profile: string } {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const profile = args.find((arg) => arg.startsWith("--user-data-dir="));
      if (parent === workerPid && profile) return { pid: Number(entry), profile };
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no Chromium launched by process ${workerPid}`);
}

describe("Chromium never outlives its worker", () => {
  it("is gone within seconds of its worker's SIGKILL, even while it hangs", async () => {
    const worker = spawn("render-worker", {});
    await worker.outputMatching(/"action":"worker_started"/);
    const browser = browserOf(worker.child.pid!);
    cleanup.push(async () => {
      for (const pid of chromiumProcesses(browser.pid, browser.profile)) process.kill(pid, "SIGKILL");
    });
    expect(chromiumProcesses(browser.pid, browser.profile).length).toBeGreaterThan(1);

    // A hung browser process reads nothing, so it never sees its DevTools pipe close.
    process.kill(browser.pid, "SIGSTOP");
    process.kill(worker.child.pid!, "SIGKILL");
    await once(worker.child, "exit");
    await waitFor(
      async () => (chromiumProcesses(browser.pid, browser.profile).length === 0 ? true : undefined),
      10_000,
      `Chromium's processes gone (left: ${chromiumProcesses(browser.pid, browser.profile).join(", ")})`,
    );
  }, 60_000);
});
