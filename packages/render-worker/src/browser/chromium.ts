import { accessSync, constants } from "node:fs";
import { chromium, type Browser, type LaunchOptions } from "playwright-core";
import { EXIT_CONFIG, firstLine, StartupError } from "@ticketgen/shared";
import { CHROMIUM_LAUNCHER } from "../paths.ts";

/**
 * Flags for a server without a display, a GPU or the internet: Chromium's background
 * networking (updates, sync, metrics) would otherwise keep dialing out of a closed network.
 * No --no-sandbox here: whether Chromium's sandbox runs is chromiumSandbox() below.
 * --in-process-gpu and NetworkServiceInProcess2: two processes fewer (about 40 and 35 MB PSS;
 * every request is intercepted anyway). --disable-software-rasterizer: printing never
 * rasterises on a GPU, so SwiftShader is not loaded (13 MB less in the browser process). Not
 * --no-zygote: it saves another 40 MB but doubles the cost of every page.pdf() (measured by
 * bench/render.ts). Chromium keeps only the last of a repeated --enable-features, so ours
 * replaces Playwright's (a screenshot path and an accounts check, neither used here); a
 * --disable-features here would drop Playwright's list of phone-home features likewise.
 */
export const CHROMIUM_ARGS = [
  "--disable-gpu",
  "--disable-software-rasterizer",
  "--disable-dev-shm-usage",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-extensions",
  "--disable-default-apps",
  "--mute-audio",
  "--hide-scrollbars",
  "--in-process-gpu",
  "--enable-features=NetworkServiceInProcess2",
];

/** CHROMIUM_SANDBOX: `auto` runs the sandbox unless the worker is root, where Chromium refuses it. */
export type ChromiumSandboxSetting = "auto" | "true" | "false";

/**
 * Whether Chromium's own sandbox (user namespaces and seccomp-bpf around every renderer, the
 * processes that parse tenant templates) is on. Chromium will not start sandboxed as root, so
 * `auto` turns it off there (the image runs as UID 1000, where it is on).
 */
export function chromiumSandbox(setting: ChromiumSandboxSetting, uid: number | undefined = process.getuid?.()): boolean {
  if (setting === "auto") return uid !== 0;
  return setting === "true";
}

/**
 * Playwright adds --no-sandbox unless chromiumSandbox is true.
 *
 * Chromium must never outlive its worker. Playwright starts it in a process group of its own,
 * out of reach of signals sent to the worker's group. A worker that exits (process.exit
 * included) has Playwright's exit handler SIGKILL that group; a SIGKILLed worker closes
 * Chromium's DevTools pipe, on which Chromium quits by itself, unless it is hung, which is when
 * a worker gets killed. So Chromium runs through CHROMIUM_LAUNCHER, which sets PR_SET_PDEATHSIG
 * (Node cannot on a child; setpriv can): one kernel flag, no watchdog process to keep alive. The
 * signal follows the thread that forked, Node's main thread here, which lives as long as the
 * worker. In the image tini reaps what is left, and a container dies with its worker anyway;
 * this matters outside one (pnpm start:worker, systemd, `timeout`).
 */
export function chromiumLaunchOptions(executablePath: string, timeoutMs: number, sandbox: boolean): LaunchOptions {
  return {
    executablePath: CHROMIUM_LAUNCHER,
    env: { ...process.env, TICKETGEN_CHROMIUM: executablePath },
    headless: true,
    args: CHROMIUM_ARGS,
    chromiumSandbox: sandbox,
    timeout: timeoutMs,
    // The worker drains on SIGTERM and closes Chromium itself, after the renders in progress.
    handleSIGTERM: false,
    handleSIGINT: false,
    handleSIGHUP: false,
  };
}

const SANDBOX_UNAVAILABLE =
  "Chromium's sandbox cannot start here: it needs unprivileged user namespaces, which the container's seccomp " +
  "or AppArmor profile may forbid; allow them (see README, Chromium's sandbox) or set CHROMIUM_SANDBOX=false";

export async function launchChromium(executablePath: string, timeoutMs: number, sandbox: boolean): Promise<Browser> {
  try {
    return await chromium.launch(chromiumLaunchOptions(executablePath, timeoutMs, sandbox));
  } catch (error) {
    if (sandbox && /sandboxing failed|No usable sandbox/i.test((error as Error).message)) {
      throw new Error(SANDBOX_UNAVAILABLE, { cause: error });
    }
    throw error;
  }
}

/**
 * Why Chromium does not start at all, naming the setting to fix. Always 78: the binary, its
 * libraries and the sandbox are the installation's, and a restart changes none of them.
 */
export function chromiumStartupError(error: unknown, executablePath: string): StartupError {
  const setting = "CHROMIUM_EXECUTABLE_PATH";
  const problem = (message: string) => new StartupError(message, EXIT_CONFIG, { cause: error });
  if ((error as Error).message === SANDBOX_UNAVAILABLE) return problem(`CHROMIUM_SANDBOX: ${SANDBOX_UNAVAILABLE}`);
  try {
    accessSync(executablePath, constants.X_OK);
  } catch (access) {
    const code = (access as NodeJS.ErrnoException).code;
    const what = code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not executable" : `cannot be run (${code})`;
    return problem(
      `${setting}: ${executablePath} ${what}; install Chromium (Debian: apt-get install chromium) or set ${setting} to its binary`,
    );
  }
  return problem(
    `${setting}: Chromium at ${executablePath} does not start (${firstLine(error)}); set ${setting} to a working Chromium binary`,
  );
}
