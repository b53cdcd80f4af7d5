import { execFileSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "@ticketgen/shared";
import type { Page } from "playwright-core";
import { BrowserPool, RenderTimeoutError, renderTimeoutFor } from "../src/browser/browser-pool.ts";
import { chromiumSandbox } from "../src/browser/chromium.ts";

const pools: BrowserPool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

function pool(maxRendersPerBrowser: number, renderTimeoutMs = 20_000, maxTicketsPerPage = 1000): BrowserPool {
  const created = new BrowserPool(
    { executablePath: "/usr/bin/chromium", maxRendersPerBrowser, maxTicketsPerPage, renderTimeoutMs, sandbox: chromiumSandbox("auto") },
    createLogger("pool-test", "silent"),
  );
  pools.push(created);
  return created;
}

const printOnePage = (p: BrowserPool) =>
  p.withPage(async (page) => {
    await page.setContent("<p>ticket</p>", { waitUntil: "load" });
    return page.pdf({ format: "A4" });
  });

describe("BrowserPool", () => {
  it("reuses one browser and its pages across renders", async () => {
    const p = pool(100);
    for (let i = 0; i < 5; i++) expect((await printOnePage(p)).subarray(0, 5).toString()).toBe("%PDF-");
    expect(p.launches).toBe(1);
  });

  it("replaces the browser after BROWSER_MAX_RENDERS renders", async () => {
    const p = pool(2);
    for (let i = 0; i < 5; i++) await printOnePage(p);
    expect(p.launches).toBe(3);
  });

  it("counts a multi-ticket document as that many renders", async () => {
    const p = pool(100);
    await p.withPage(async (page) => {
      await page.setContent("<p>a chunk</p>", { waitUntil: "load" });
      return page.pdf({ format: "A4" });
    }, 100);
    await printOnePage(p);
    expect(p.launches).toBe(2);
  });

  it("never runs two browsers at once: the replacement starts once the retired one finished its renders and closed", async () => {
    const p = pool(2);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const held = new Promise<void>((resolve) => (holding = resolve));
    const order: string[] = [];
    // The first render holds its page until the test lets it go.
    const slow = p.withPage(async (page) => {
      page
        .context()
        .browser()!
        .once("disconnected", () => order.push("old browser closed"));
      holding();
      await released;
      await page.setContent("<p>slow ticket</p>", { waitUntil: "load" });
      const pdf = await page.pdf({ format: "A4" });
      order.push("slow render done");
      return pdf;
    });
    await held;
    await printOnePage(p); // the second render: the limit is reached, the browser retires
    const next = p.withPage(async (page) => {
      order.push("next render started");
      await page.setContent("<p>next</p>", { waitUntil: "load" });
    });
    // Waiting is a non-event: nothing to await, so the replacement gets time to start (wrongly).
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(p.launches).toBe(1); // the replacement waits for the render still holding the old browser
    expect(order).toEqual([]);
    release();
    await Promise.all([slow, next]);
    expect(p.launches).toBe(2);
    expect(order).toEqual(["slow render done", "old browser closed", "next render started"]);
  });

  it("closes a page once it has printed BROWSER_PAGE_MAX_TICKETS tickets, and opens a fresh one", async () => {
    const p = pool(1000, 20_000, 150);
    const print = (tickets: number) =>
      p.withPage(async (page) => {
        await page.setContent("<p>ticket</p>", { waitUntil: "load" });
        await page.pdf({ format: "A4" });
        return page;
      }, tickets);
    const first = await print(100);
    expect(first.isClosed()).toBe(false);
    expect(await print(49)).toBe(first);
    expect(first.isClosed()).toBe(false);
    expect(await print(1)).toBe(first); // 150 printed: closed
    expect(first.isClosed()).toBe(true);
    const second = await print(1);
    expect(second).not.toBe(first);
    expect(second.isClosed()).toBe(false);
    expect(p.launches).toBe(1);
  });

  it("abandons a render past the timeout, kills that browser and renders the next on a new one", async () => {
    // The timeout also bounds the cold first page of the replacement browser, which a loaded
    // machine (the whole suite in parallel) has taken over 3 s to open and print.
    const p = pool(100, 10_000);
    await printOnePage(p);
    const hung = p.withPage(() => new Promise<never>(() => {}));
    await expect(hung).rejects.toThrow(new RenderTimeoutError("render did not finish within 10000 ms"));
    expect(p.browserAlive).toBe(false);
    await printOnePage(p);
    expect(p.launches).toBe(2);
  });

  it("gives a print of many tickets a tenth of the render timeout more for each ticket past the first", async () => {
    const p = pool(1000, 4000);
    // 6 s of work: past a single ticket's 4 s, within a 20-ticket document's 11.6 s.
    const slow = (page: Page) => new Promise<string>((resolve) => setTimeout(() => resolve(page.url()), 6000));
    await expect(p.withPage(slow, 20)).resolves.toMatch(/^http:\/\/ticket\.invalid\//);
    await expect(p.withPage(slow, 1)).rejects.toThrow(new RenderTimeoutError("render did not finish within 4000 ms"));
    expect(renderTimeoutFor(20_000, 100)).toBe(218_000);
  });

  it("fails a render at once when Chromium dies under it (Playwright may never settle), then renders on a new browser", async () => {
    // A render timeout past the test's own: only Chromium's death can end this render in time.
    const p = pool(100, 120_000);
    await printOnePage(p);
    const orphaned = p.withPage(() => {
      // Chromium is a child of this process: kill it the hard way, and never settle, as
      // Playwright's newPage() does when the browser dies under it.
      execFileSync("pkill", ["-KILL", "-P", String(process.pid), "-f", "chromium"]);
      return new Promise<never>(() => {});
    });
    await expect(orphaned).rejects.toThrow("Chromium went away during the render");
    await printOnePage(p);
    expect(p.launches).toBe(2);
  }, 30_000);

  it("renders in parallel on separate pages of one browser", async () => {
    const p = pool(100);
    const pdfs = await Promise.all(Array.from({ length: 4 }, () => printOnePage(p)));
    expect(pdfs.every((pdf) => pdf.length > 500)).toBe(true);
    expect(p.launches).toBe(1);
  });
});
