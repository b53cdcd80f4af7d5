import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "@ticketgen/shared";
import { BrowserPool, RenderTimeoutError } from "../src/browser/browser-pool.ts";

const pools: BrowserPool[] = [];
afterEach(async () => {
  for (const pool of pools.splice(0)) await pool.close();
});

function pool(maxRendersPerBrowser: number, renderTimeoutMs = 20_000): BrowserPool {
  const created = new BrowserPool({ executablePath: "/usr/bin/chromium", maxRendersPerBrowser, renderTimeoutMs }, createLogger("pool-test", "silent"));
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

  it("abandons a render past the timeout, kills that browser and renders the next on a new one", async () => {
    const p = pool(100, 1000);
    await printOnePage(p);
    const hung = p.withPage(() => new Promise<never>(() => {}));
    await expect(hung).rejects.toThrow(new RenderTimeoutError("render did not finish within 1000 ms"));
    expect(p.browserAlive).toBe(false);
    await printOnePage(p);
    expect(p.launches).toBe(2);
  });

  it("renders in parallel on separate pages of one browser", async () => {
    const p = pool(100);
    const pdfs = await Promise.all(Array.from({ length: 4 }, () => printOnePage(p)));
    expect(pdfs.every((pdf) => pdf.length > 500)).toBe(true);
    expect(p.launches).toBe(1);
  });
});
