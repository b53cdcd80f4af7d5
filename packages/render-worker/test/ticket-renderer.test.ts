import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createLogger, splitPdfPages, type RenderTicketJob } from "@ticketgen/shared";
import { BrowserPool } from "../src/browser/browser-pool.ts";
import { chromiumSandbox } from "../src/browser/chromium.ts";
import type { BlockedRequest } from "../src/browser/policy-document.ts";
import { TicketRenderer } from "../src/pipeline/ticket-renderer.ts";
import { TemplateLimitError, TemplateRegistry, TemplateSandbox } from "../src/templates/index.ts";
import { pdfText } from "../../api/test/support/pdf.ts";

const TOKEN = "TG1.K1.AGIS2TEKHZ5V7HBBHZHVU234RUM7QKW5CF2SNTTIWYLWB7CFEL7X64JF6G5FYWVG3KIPTJA";

function job(firstName: string, overrides: Partial<RenderTicketJob> = {}): RenderTicketJob {
  return {
    tenantId: "tenant-1",
    ticketId: `ticket-${firstName}`,
    ticketCode: "TKT-MF3K2Q1Z-7QX4PB-3F9A1C2E",
    qrPayload: TOKEN,
    templateId: "custom",
    templateVersion: 1,
    locale: "en",
    event: { id: "e", name: "Gala", startsAt: "2027-03-05T18:30:00Z", endsAt: null, location: "Paris", timezone: "Europe/Paris" },
    guest: { id: `g-${firstName}`, firstName, lastName: "Lovelace", email: "ada@example.org" },
    ticketType: { id: "t", name: "VIP" },
    createdAt: "2027-01-10T10:00:00Z",
    ...overrides,
  };
}

let pool: BrowserPool;
let sandbox: TemplateSandbox;
let renderer: TicketRenderer;
let listener: Server;
let origin: string;
const hits: string[] = [];
const blocked: BlockedRequest[] = [];
/** What each test's tenant template is: the registry fetches version 1 of "custom" from here. */
let stored = "";

beforeAll(async () => {
  listener = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end("pwned");
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
  pool = new BrowserPool(
    {
      executablePath: process.env.CHROMIUM_EXECUTABLE_PATH ?? "/usr/bin/chromium",
      maxRendersPerBrowser: 10_000,
      maxTicketsPerPage: 10_000,
      renderTimeoutMs: 20_000,
      sandbox: chromiumSandbox("auto"),
      onBlockedRequest: (request) => blocked.push(request),
    },
    createLogger("renderer-test", "silent"),
  );
  sandbox = new TemplateSandbox({ threads: 1, timeoutMs: 5000, maxOutputBytes: 2 * 1024 * 1024, maxMemoryMb: 64 });
  const templates = new TemplateRegistry({ cacheTtlMs: 0, fetchCustom: async () => stored });
  renderer = new TicketRenderer(pool, templates, sandbox, { qr: { size: 200, margin: 1 }, timeoutMs: 20_000, maxPagesPerTicket: 3 });
});

afterAll(async () => {
  await pool?.close();
  await sandbox?.close();
  listener?.close();
});

beforeEach(() => {
  hits.length = 0;
  blocked.length = 0;
});

describe("the Content-Security-Policy of every printed document", () => {
  /**
   * Everything a document can load, a policy of its own that would allow it all, and a head
   * tag holding `</head>` in an attribute: the combined document of a chunk used to be cut at
   * that `</head>`, which left a policy delivered as `<meta>` behind.
   */
  const hostile =
    () => `<!DOCTYPE html><html><head data-x="</head>"><meta http-equiv="Content-Security-Policy" content="default-src * 'unsafe-inline'">
    <link rel="stylesheet" href="${origin}/style.css">
    <style>@import url("${origin}/import.css"); @font-face { font-family: X; src: url("${origin}/font.woff"); } body { background: url("${origin}/bg.png"); } p { font-family: X; }</style>
    </head><body><img src="${origin}/img.png"><img src="relative.png"><iframe src="${origin}/frame"></iframe>
    <object data="${origin}/object"></object><video poster="${origin}/poster.png"></video>
    <p>Hostile {{firstName}}</p>{{qrCode}}</body></html>`;

  it("a single ticket: nothing loads, and Chromium's policy stops every request before the worker's router has to", async () => {
    stored = hostile();
    const pdf = await renderer.pdf(await renderer.html(job("Ada")), job("Ada"));
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(hits).toEqual([]);
    expect(blocked).toEqual([]);
  });

  it("a preview (inline content): the same", async () => {
    const pdf = await renderer.pdf(await renderer.html(job("Ada", { templateVersion: 0 }), hostile()), job("Ada"));
    expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
    expect(hits).toEqual([]);
    expect(blocked).toEqual([]);
  });

  it("a batch chunk's combined document, whose head the template tries to cut short: the same", async () => {
    stored = hostile();
    const jobs = [job("Ada"), job("Bob"), job("Cid")];
    const htmls = (await renderer.htmls(jobs)) as string[];
    expect(htmls.every((html) => typeof html === "string")).toBe(true);
    const { document, tickets } = await renderer.pdfs(htmls, jobs);
    expect(tickets).toHaveLength(3);
    expect(await splitPdfPages(document!)).toHaveLength(3);
    expect(hits).toEqual([]);
    expect(blocked).toEqual([]);
  });

  it("a template's meta refresh cannot take the page off its document, so it never blanks the next ticket printed there", async () => {
    // Delayed, so that it would fire while a later ticket is on the page.
    const refresh = `<meta http-equiv="refresh" content="1; url=about:blank"><p>first</p>`;
    const { page, refusal } = await pool.withPage(async (p: Page) => {
      // Chromium says so when the policy's sandbox stops the refresh, as it parses the tag: the
      // refresh is then never scheduled, so the test need not wait out its delay.
      const refusal = p.waitForEvent("console", {
        predicate: (message) => message.text().includes("<meta http-equiv='refresh'") && message.text().includes("sandboxed"),
      });
      await p.setContent(refresh, { waitUntil: "load" });
      return { page: p, refusal: await refusal };
    });
    expect(refusal.type()).toBe("error");
    expect(page.url()).toMatch(/^http:\/\/ticket\.invalid\//);
    expect(blocked).toEqual([]);
  });
});

describe("a chunk's document", () => {
  it("keeps one ticket per page whatever the template's stylesheet says about breaks", async () => {
    // Tickets of 0.8 page each: were the breaks between them undone, three tickets would still
    // print on three pages, and the split would hand guests each other's pages.
    stored = '<style>div { break-before: auto !important; display: inline !important }</style><p style="height: 200mm">{{firstName}}</p>';
    const jobs = [job("Ada"), job("Bob"), job("Cid")];
    const htmls = (await renderer.htmls(jobs)) as string[];
    const { tickets } = await renderer.pdfs(htmls, jobs);
    const texts = await Promise.all(tickets.map((pdf) => pdfText(pdf as Uint8Array)));
    expect(texts.map((text) => text.match(/\b(Ada|Bob|Cid)\b/g))).toEqual([["Ada"], ["Bob"], ["Cid"]]);
  });

  it("keeps a template's fixed-position element on its own ticket's page", async () => {
    // In print, a fixed element repeats on every page of its document: in a chunk's document,
    // one guest's name would be printed on every other guest's ticket.
    stored = '<div style="position: fixed; top: 0; left: 0">{{firstName}}</div><p>ticket</p>';
    const jobs = [job("Ada"), job("Bob"), job("Cid")];
    const htmls = (await renderer.htmls(jobs)) as string[];
    const { tickets } = await renderer.pdfs(htmls, jobs);
    const texts = await Promise.all(tickets.map((pdf) => pdfText(pdf as Uint8Array)));
    expect(texts.map((text) => text.match(/\b(Ada|Bob|Cid)\b/g))).toEqual([["Ada"], ["Bob"], ["Cid"]]);
  });
});

describe("pages per ticket (MAX_PAGES_PER_TICKET = 3 here)", () => {
  const TALL = '<div style="height: 1000000px">{{firstName}} is very tall</div>';
  const TWO_PAGES = '<p>{{firstName}}</p><p style="break-before: page">page two</p>';

  it("a ticket printing past the cap fails with the reason", async () => {
    stored = TALL;
    const error = await renderer.pdf(await renderer.html(job("Ada")), job("Ada")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TemplateLimitError);
    expect((error as Error).message).toBe("template printed more than 3 pages for one ticket (MAX_PAGES_PER_TICKET)");
  });

  it("in a chunk, the ticket over the cap fails alone; the others print, one PDF each and in the chunk's document", async () => {
    const html = async (name: string, template: string) => (await renderer.htmls([job(name)], template))[0] as string;
    const htmls = [await html("Ada", "<p>{{firstName}}</p>"), await html("Bob", TALL), await html("Cid", "<p>{{firstName}}</p>")];
    const { document, tickets } = await renderer.pdfs(htmls, [job("Ada"), job("Bob"), job("Cid")]);
    expect(tickets[0]).toBeInstanceOf(Uint8Array);
    expect((tickets[1] as Error).message).toBe("template printed more than 3 pages for one ticket (MAX_PAGES_PER_TICKET)");
    expect(tickets[2]).toBeInstanceOf(Uint8Array);
    expect(await splitPdfPages(document!)).toHaveLength(2);
  });

  it("a ticket of a few pages, within the cap, prints whole on its own and in the chunk", async () => {
    stored = TWO_PAGES;
    const single = await renderer.pdf(await renderer.html(job("Ada")), job("Ada"));
    expect(await splitPdfPages(single)).toHaveLength(2);
    const jobs = [job("Ada"), job("Bob")];
    const htmls = (await renderer.htmls(jobs)) as string[];
    const { document, tickets } = await renderer.pdfs(htmls, jobs);
    expect(tickets.every((t) => t instanceof Uint8Array)).toBe(true);
    expect(await splitPdfPages(document!)).toHaveLength(4);
  });
});
