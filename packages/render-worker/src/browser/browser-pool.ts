import type { Browser, BrowserContext, Page } from "playwright-core";
import { withTimeout, type Logger } from "@ticketgen/shared";
import { chromiumStartupError, launchChromium } from "./chromium.ts";
import { PolicyDocuments, type BlockedRequest } from "./policy-document.ts";

export interface BrowserPoolOptions {
  executablePath: string;
  /** A browser is replaced after rendering this many tickets (Chromium's memory only grows). */
  maxRendersPerBrowser: number;
  /**
   * A page is closed once it has printed this many tickets. Chromium's renderer keeps what a
   * page's documents allocated until the page goes away, so a page printing 100-ticket chunks
   * grows it by tens of MB a chunk; a fresh page costs a slower first print.
   */
  maxTicketsPerPage: number;
  /** A render that takes longer is abandoned and its browser killed (it may be hung). */
  renderTimeoutMs: number;
  /** Chromium's own sandbox (chromiumSandbox()); off only where it cannot run. */
  sandbox: boolean;
  /** Hears of a request a rendered document made past its policy (refused all the same). */
  onBlockedRequest?: (request: BlockedRequest) => void;
}

/** Bounds closing a page or a browser, the last step of a worker's drain (deploy grace periods allow for it). */
export const CLOSE_TIMEOUT_MS = 5000;
/** Not the render timeout: a cold start on a loaded node takes seconds, and is not a hung render. */
const LAUNCH_TIMEOUT_MS = 30_000;
/** After a failed launch the pool tries again on its own, so it recovers without waiting for a job. */
const LAUNCH_RETRY_MS = 5000;

export class RenderTimeoutError extends Error {
  override name = "RenderTimeoutError";
}

/** One Chromium process with reusable pages; retired after N renders, replaced when it dies. */
interface BrowserSlot {
  browser: Browser;
  context: BrowserContext;
  idlePages: Page[];
  renders: number;
  active: number;
  retired: boolean;
  dead: boolean;
  /** Rejects when Chromium goes away, failing the renders still running on it at once. */
  gone: Promise<never>;
  /** Resolves once a retired browser is closed. */
  released?: Promise<void>;
  release?: () => void;
}

/**
 * How long a print of `tickets` tickets may take: RENDER_TIMEOUT_MS, and a tenth of it more for
 * each ticket past the first (a 100-ticket chunk: 10.9×, 218 s by default). A chunk document's
 * print grows with its tickets, and on a loaded host a fixed limit failed whole chunks that
 * would have finished, then failed their retries too.
 */
export function renderTimeoutFor(renderTimeoutMs: number, tickets: number): number {
  return Math.round(renderTimeoutMs * (1 + Math.max(0, tickets - 1) / 10));
}

/**
 * Pages are reused across renders and the browser across pages: launching Chromium costs
 * seconds, a reused page tens of milliseconds. One browser at a time: on 2 cores more browsers
 * add memory, not throughput. Concurrency is bounded by the caller (the BullMQ worker).
 */
export class BrowserPool {
  private current: BrowserSlot | undefined;
  private launching: Promise<BrowserSlot> | undefined;
  /** The last retired browser: the next launch waits for it to close, so two never coexist. */
  private previous: BrowserSlot | undefined;
  private closed = false;
  /** Tickets each open page has printed. */
  private readonly printed = new WeakMap<Page, number>();
  private launchError: Error | undefined;
  private relaunchTimer: NodeJS.Timeout | undefined;
  private readonly documents: PolicyDocuments;
  launches = 0;

  constructor(
    private readonly options: BrowserPoolOptions,
    private readonly logger: Logger,
  ) {
    this.documents = new PolicyDocuments(options.onBlockedRequest);
  }

  /**
   * Runs `work` on a pooled page within the render timeout. The page is on its policy document
   * (policy-document.ts): write the ticket into it with setContent, never navigate it.
   * `tickets` is how many tickets the work prints: a 100-ticket chunk grows Chromium like 100
   * single renders, so it counts 100, and it gets the time `renderTimeoutFor` gives it.
   */
  async withPage<T>(work: (page: Page) => Promise<T>, tickets = 1): Promise<T> {
    const slot = await this.slot();
    slot.active++;
    slot.renders += tickets;
    if (slot.renders >= this.options.maxRendersPerBrowser) this.retire(slot, "render limit reached");
    let page: Page | undefined;
    let healthy = false;
    try {
      // Opening the page counts as rendering: Playwright's newPage() never settles when
      // Chromium dies under it, and a job must not wait on it forever.
      const rendered = (async () => {
        page = slot.idlePages.pop() ?? (await slot.context.newPage());
        await this.documents.enter(page, this.options.renderTimeoutMs);
        return work(page);
      })();
      const timeoutMs = renderTimeoutFor(this.options.renderTimeoutMs, tickets);
      const result = await withTimeout(Promise.race([rendered, slot.gone]), timeoutMs, () => {
        throw new RenderTimeoutError(`render did not finish within ${timeoutMs} ms`);
      });
      healthy = true;
      return result;
    } catch (error) {
      // A timed-out or crashed render leaves the browser in an unknown state: replace it.
      if (error instanceof RenderTimeoutError || slot.dead || !slot.browser.isConnected()) this.kill(slot, (error as Error).message);
      else healthy = page !== undefined && !page.isClosed();
      throw error;
    } finally {
      slot.active--;
      if (page) await this.release(slot, page, tickets, healthy);
      // Not awaited: closing a crashed or hung Chromium must never hold the job that found it.
      if (slot.retired && slot.active === 0) void this.closeSlot(slot);
    }
  }

  /** Back to the idle pages, or closed once it printed its share (or is in doubt). */
  private async release(slot: BrowserSlot, page: Page, tickets: number, healthy: boolean): Promise<void> {
    const printed = (this.printed.get(page) ?? 0) + tickets;
    this.printed.set(page, printed);
    if (healthy && !slot.retired && !slot.dead && printed < this.options.maxTicketsPerPage) {
      slot.idlePages.push(page);
      return;
    }
    if (!slot.dead && !page.isClosed()) await waitAtMost(page.close(), CLOSE_TIMEOUT_MS);
    if (healthy && !slot.retired) this.openSpare(slot);
  }

  /**
   * Opens the page that replaces a recycled one, on its policy document, in the background: a
   * new page and its first navigation cost a few hundred ms, which the next render (a batch's
   * next chunk: its page is recycled every chunk) would otherwise wait for. Best effort: a
   * render that finds no idle page opens its own.
   */
  private openSpare(slot: BrowserSlot): void {
    void (async () => {
      const page = await slot.context.newPage();
      try {
        await this.documents.enter(page, this.options.renderTimeoutMs);
      } catch {
        await page.close().catch(() => {});
        return;
      }
      if (slot.retired || slot.dead || this.closed) await page.close().catch(() => {});
      else slot.idlePages.push(page);
    })().catch(() => {});
  }

  /**
   * Launches the browser ahead of the first job, so start-up fails at once, with a StartupError
   * naming the setting, when Chromium cannot start: no warning, no background retries for a
   * pool nobody will use.
   */
  async warmUp(): Promise<void> {
    try {
      await (this.launching ??= this.launch().finally(() => (this.launching = undefined)));
    } catch (error) {
      await this.close();
      throw chromiumStartupError(error, this.options.executablePath);
    }
  }

  get busyPages(): number {
    return this.current?.active ?? 0;
  }

  /** Pages of the current browser, busy or idle: the pool's size. */
  get openPages(): number {
    return (this.current?.active ?? 0) + (this.current?.idlePages.length ?? 0);
  }

  get browserAlive(): boolean {
    return this.current?.browser.isConnected() ?? false;
  }

  /**
   * Why no render can start now, or undefined when one can: a browser is up, or the last
   * launch worked so the next one is expected to. Never launches anything itself.
   */
  get unusable(): string | undefined {
    if (this.closed) return "the browser pool is closed";
    if (this.browserAlive || !this.launchError) return undefined;
    return `launch failed: ${this.launchError.message.split("\n")[0]}`;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.relaunchTimer);
    const slot = this.current ?? (await this.launching?.catch(() => undefined));
    this.current = undefined;
    if (slot) await this.closeSlot(slot);
  }

  private async slot(): Promise<BrowserSlot> {
    if (this.closed) throw new Error("the browser pool is closed");
    const current = this.current;
    if (current && !current.dead && !current.retired && current.browser.isConnected()) return current;
    this.launching ??= this.launch()
      .then(
        (slot) => {
          if (this.launchError) this.logger.info({ action: "browser_recovered" }, "Chromium starts again");
          this.launchError = undefined;
          return slot;
        },
        (error: Error) => {
          if (!this.launchError) this.logger.warn({ action: "browser_launch_failed", err: error }, "Chromium does not start; retrying");
          this.launchError = error;
          this.relaunchSoon(LAUNCH_RETRY_MS);
          throw error;
        },
      )
      .finally(() => {
        this.launching = undefined;
      });
    return this.launching;
  }

  /** Replaces a crashed or unlaunchable browser in the background, ahead of the next job. */
  private relaunchSoon(delayMs: number): void {
    if (this.closed || this.relaunchTimer) return;
    this.relaunchTimer = setTimeout(() => {
      this.relaunchTimer = undefined;
      if (!this.closed) this.slot().catch(() => {});
    }, delayMs);
    this.relaunchTimer.unref();
  }

  private async launch(): Promise<BrowserSlot> {
    // A retired browser finishes its renders first (bounded by the render timeout): a second
    // Chromium alongside it would double the worker's peak memory for a few hundred ms of overlap.
    const previous = this.previous;
    this.previous = undefined;
    if (previous?.released) await waitAtMost(previous.released, this.options.renderTimeoutMs + CLOSE_TIMEOUT_MS);
    const started = performance.now();
    const browser = await launchChromium(this.options.executablePath, LAUNCH_TIMEOUT_MS, this.options.sandbox);
    const context = await browser.newContext({ javaScriptEnabled: false, serviceWorkers: "block", acceptDownloads: false });
    await this.documents.install(context);
    let markGone!: (error: Error) => void;
    const gone = new Promise<never>((_, reject) => (markGone = reject));
    gone.catch(() => {});
    const slot: BrowserSlot = { browser, context, idlePages: [], renders: 0, active: 0, retired: false, dead: false, gone };
    browser.once("disconnected", () => {
      slot.dead = true;
      markGone(new Error("Chromium went away during the render"));
      if (this.current === slot) this.current = undefined;
      if (slot.retired || this.closed) return;
      this.logger.warn({ action: "browser_disconnected" }, "Chromium went away; starting a new one");
      this.relaunchSoon(0);
    });
    this.current = slot;
    this.launches++;
    this.logger.info({ action: "browser_launched", launchMs: Math.round(performance.now() - started) }, "Chromium launched");
    return slot;
  }

  private retire(slot: BrowserSlot, reason: string): void {
    if (slot.retired) return;
    slot.retired = true;
    slot.released = new Promise<void>((resolve) => (slot.release = resolve));
    this.previous = slot;
    if (this.current === slot) this.current = undefined;
    this.logger.info({ action: "browser_retired", reason, renders: slot.renders }, "retiring Chromium");
  }

  private kill(slot: BrowserSlot, reason: string): void {
    this.retire(slot, reason);
    slot.dead = true;
    void this.closeSlot(slot);
  }

  /** Closes a browser, giving up after a few seconds (a hung Chromium may never answer). */
  private async closeSlot(slot: BrowserSlot): Promise<void> {
    slot.idlePages.length = 0;
    await waitAtMost(slot.browser.close(), CLOSE_TIMEOUT_MS);
    slot.release?.();
  }
}

/** Waits for `promise`, or `ms` at most; never rejects. */
function waitAtMost(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return withTimeout(
    promise.catch(() => {}),
    ms,
    () => {},
  );
}
