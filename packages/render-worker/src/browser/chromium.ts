import { chromium, type Browser } from "playwright-core";

/**
 * Flags for a server without a display, a GPU or the internet: Chromium's background
 * networking (updates, sync, metrics) would otherwise keep dialing out of a closed network.
 * --no-sandbox: containers run it as an unprivileged user without user namespaces.
 * --in-process-gpu and NetworkServiceInProcess2: two processes fewer (about 40 and 35 MB PSS;
 * every request is intercepted anyway). --disable-software-rasterizer: printing never
 * rasterises on a GPU, so SwiftShader is not loaded (13 MB less in the browser process). Not
 * --no-zygote: it saves another 40 MB but doubles the cost of every page.pdf() (measured by
 * bench/render.ts). Chromium keeps only the last of a repeated --enable-features, so ours
 * replaces Playwright's (a screenshot path and an accounts check, neither used here); a
 * --disable-features here would drop Playwright's list of phone-home features likewise.
 */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
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

export function launchChromium(executablePath: string, timeoutMs: number): Promise<Browser> {
  return chromium.launch({
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: timeoutMs,
    // The worker drains on SIGTERM and closes Chromium itself, after the renders in progress.
    handleSIGTERM: false,
    handleSIGINT: false,
    handleSIGHUP: false,
  });
}
