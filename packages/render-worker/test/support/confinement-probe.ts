/**
 * Run as a process of its own (chromium-sandbox.test.ts starts it as an unprivileged user):
 * prints one ticket on a BrowserPool launched as the worker launches it (CHROMIUM_SANDBOX from
 * the environment), then prints JSON telling how Chromium's renderer processes are confined.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createLogger, loadWorkerConfig } from "@ticketgen/shared";
import { BrowserPool } from "../../src/browser/browser-pool.ts";
import { chromiumSandbox } from "../../src/browser/chromium.ts";

interface Renderer {
  pid: number;
  /** 2: a seccomp-bpf filter, as Chromium's sandbox installs; 0: none. */
  seccomp: number;
  noNewPrivs: number;
  /** PID namespaces the process is in (its NSpid): more than the probe's when the sandbox gave it its own. */
  pidNamespaces: number;
}

function status(pid: string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined; // gone meanwhile
  }
}

const field = (text: string, name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(text)?.[1] ?? -1);
const pidNamespaces = (text: string) => /^NSpid:\s+(.*)$/m.exec(text)?.[1]?.trim().split(/\s+/).length ?? 0;

/** Chromium's renderers among this process's descendants. */
function renderers(): Renderer[] {
  const parents = new Map<number, number>();
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    const text = status(pid);
    if (text) parents.set(Number(pid), field(text, "PPid"));
  }
  const descends = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p)) if (p === process.pid) return true;
    return false;
  };
  const found: Renderer[] = [];
  for (const pid of parents.keys()) {
    if (!descends(pid)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    } catch {
      continue;
    }
    if (!cmdline.includes("--type=renderer")) continue;
    const text = status(String(pid));
    if (text)
      found.push({ pid, seccomp: field(text, "Seccomp"), noNewPrivs: field(text, "NoNewPrivs"), pidNamespaces: pidNamespaces(text) });
  }
  return found;
}

const config = loadWorkerConfig({ CHROMIUM_SANDBOX: process.env.CHROMIUM_SANDBOX });
const sandbox = chromiumSandbox(config.chromiumSandbox);
const pool = new BrowserPool(
  { executablePath: config.chromiumPath, maxRendersPerBrowser: 100, maxTicketsPerPage: 100, renderTimeoutMs: 30_000, sandbox },
  createLogger("confinement-probe", "silent"),
);
try {
  const result = await pool.withPage(async (page) => {
    await page.setContent("<p>confined?</p>", { waitUntil: "load" });
    const pdf = await page.pdf({ format: "A4" });
    return { pdf: pdf.subarray(0, 5).toString("latin1"), renderers: renderers() };
  });
  const own = { seccomp: field(status("self")!, "Seccomp"), pidNamespaces: pidNamespaces(status("self")!) };
  console.log(JSON.stringify({ uid: process.getuid?.(), sandbox, own, ...result }));
} finally {
  await pool.close();
}
