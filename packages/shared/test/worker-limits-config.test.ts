import { describe, expect, it } from "vitest";
import { loadWorkerConfig } from "../src/index.ts";

describe("render worker limits on tenant templates (WorkerConfig)", () => {
  it("defaults: a template thread per render at once, 2 s per ticket's template, 2 MB of HTML, 64 MB of heap per thread, 10 pages, sandbox auto", () => {
    expect(loadWorkerConfig({})).toMatchObject({
      templateThreads: 2,
      templateTimeoutMs: 2000,
      templateMaxOutputBytes: 2 * 1024 * 1024,
      templateMaxMemoryMb: 64,
      maxPagesPerTicket: 10,
      chromiumSandbox: "auto",
    });
  });

  it("reads each from the environment", () => {
    expect(loadWorkerConfig({ QUEUE_CONCURRENCY: "4" }).templateThreads).toBe(4);
    const config = loadWorkerConfig({
      TEMPLATE_THREADS: "1",
      TEMPLATE_TIMEOUT_MS: "500",
      TEMPLATE_MAX_OUTPUT_BYTES: "1048576",
      TEMPLATE_MAX_MEMORY_MB: "128",
      MAX_PAGES_PER_TICKET: "2",
      CHROMIUM_SANDBOX: "false",
    });
    expect(config).toMatchObject({
      templateThreads: 1,
      templateTimeoutMs: 500,
      templateMaxOutputBytes: 1048576,
      templateMaxMemoryMb: 128,
      maxPagesPerTicket: 2,
      chromiumSandbox: "false",
    });
  });

  it("names every bad value in one error, one line each", () => {
    expect(() =>
      loadWorkerConfig({
        TEMPLATE_THREADS: "0",
        TEMPLATE_TIMEOUT_MS: "0",
        TEMPLATE_MAX_OUTPUT_BYTES: "1kb",
        TEMPLATE_MAX_MEMORY_MB: "8",
        MAX_PAGES_PER_TICKET: "0",
        CHROMIUM_SANDBOX: "yes",
      }),
    ).toThrow(
      [
        "invalid configuration:",
        '  CHROMIUM_SANDBOX: must be auto, true or false (got "yes")',
        '  TEMPLATE_THREADS: must be an integer from 1 to 64 (got "0")',
        '  TEMPLATE_TIMEOUT_MS: must be an integer from 10 to 600000 (got "0")',
        '  TEMPLATE_MAX_OUTPUT_BYTES: must be an integer from 16384 to 268435456 (got "1kb")',
        '  TEMPLATE_MAX_MEMORY_MB: must be an integer from 16 to 4096 (got "8")',
        '  MAX_PAGES_PER_TICKET: must be an integer from 1 to 1000 (got "0")',
      ].join("\n"),
    );
  });

  it("a template time limit must end a bomb before the render timeout would", () => {
    expect(() => loadWorkerConfig({ RENDER_TIMEOUT_MS: "5000", TEMPLATE_TIMEOUT_MS: "5000" })).toThrow(
      'TEMPLATE_TIMEOUT_MS: must be less than RENDER_TIMEOUT_MS (5000) (got "5000")',
    );
  });

  it("CHROMIUM_SANDBOX=true is refused for a root worker, where Chromium will not start sandboxed", () => {
    const asRoot = process.getuid?.() === 0;
    const load = () => loadWorkerConfig({ CHROMIUM_SANDBOX: "true" });
    if (asRoot) expect(load).toThrow(/CHROMIUM_SANDBOX: Chromium will not run its sandbox as root; run the worker as a non-root user/);
    else expect(load().chromiumSandbox).toBe("true");
  });
});
