/**
 * Rendering cost on this machine: the render worker's pooled Chromium against the old design's
 * browser launched per ticket (waitUntil networkidle), measured in the same run on the same
 * ticket HTML (built-in template, French, QR drawn as in production).
 *
 *   node_modules/.bin/tsx bench/render.ts [--pooled N] [--per-ticket N]
 *
 * Prints a Markdown table: per-ticket median and p95, tickets per second, ratio to the baseline.
 */
import { randomUUID } from "node:crypto";
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";
import { createKeyRing, createLogger, generateTicketCode, signToken, type RenderTicketJob } from "@ticketgen/shared";
import { BrowserPool, CHROMIUM_ARGS, TemplateRegistry, TicketRenderer } from "@ticketgen/render-worker";

const { values } = parseArgs({ options: { pooled: { type: "string", default: "60" }, "per-ticket": { type: "string", default: "8" } } });
const POOLED = Number(values.pooled);
const PER_TICKET = Number(values["per-ticket"]);
const CHROMIUM = process.env.CHROMIUM_EXECUTABLE_PATH ?? "/usr/bin/chromium";
const PDF = { format: "A4", printBackground: true, margin: { top: "20mm", right: "20mm", bottom: "20mm", left: "20mm" } } as const;

const ring = createKeyRing([{ kid: "K1", secret: Buffer.from("bench secret: 32 bytes or more, not a real one!!") }]);

function job(i: number): RenderTicketJob {
  const ticketId = randomUUID();
  return {
    tenantId: "bench",
    ticketId,
    ticketCode: generateTicketCode(),
    qrPayload: signToken(ring, { ticketId, eventId: "bench-gala", expiresAt: new Date(Date.now() + 86_400_000) }),
    templateId: "",
    templateVersion: 0,
    locale: "fr",
    event: { id: "bench-gala", name: "Gala de bienfaisance", startsAt: "2031-03-05T18:30:00Z", endsAt: "2031-03-05T23:00:00Z", location: "Salle Pleyel, Paris", timezone: "Europe/Paris" },
    guest: { id: `g${i}`, firstName: "Guest", lastName: `Number ${i}`, email: `guest${i}@example.com` },
    ticketType: { id: "std", name: "Standard" },
    createdAt: new Date().toISOString(),
  };
}

const quantile = (xs: number[], q: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};

interface Row {
  name: string;
  perTicketMs: number[];
  wallMs: number;
  count: number;
}

async function pooled(renderer: TicketRenderer, concurrency: number): Promise<Row> {
  const htmls = await Promise.all(Array.from({ length: POOLED }, (_, i) => renderer.html(job(i))));
  const perTicketMs: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < htmls.length) {
        const html = htmls[next++]!;
        const t = performance.now();
        await renderer.pdf(html);
        perTicketMs.push(performance.now() - t);
      }
    }),
  );
  return { name: `pooled worker, ${concurrency} page${concurrency > 1 ? "s" : ""} in parallel`, perTicketMs, wallMs: performance.now() - started, count: POOLED };
}

async function browserPerTicket(renderer: TicketRenderer): Promise<Row> {
  const perTicketMs: number[] = [];
  const started = performance.now();
  for (let i = 0; i < PER_TICKET; i++) {
    const html = await renderer.html(job(i));
    const t = performance.now();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    await page.setContent(html, { waitUntil: "networkidle" });
    await page.pdf(PDF);
    await browser.close();
    perTicketMs.push(performance.now() - t);
  }
  return { name: "old design: a browser launched per ticket (networkidle)", perTicketMs, wallMs: performance.now() - started, count: PER_TICKET };
}

async function main() {
  const pool = new BrowserPool({ executablePath: CHROMIUM, maxRendersPerBrowser: 100_000, renderTimeoutMs: 60_000 }, createLogger("bench", "warn"));
  const renderer = new TicketRenderer(pool, new TemplateRegistry({}), { size: 200, margin: 1 }, 60_000);
  for (let i = 0; i < 5; i++) await renderer.pdf(await renderer.html(job(i)));

  const baseline = await browserPerTicket(renderer);
  const rows = [await pooled(renderer, 1), await pooled(renderer, 2), baseline];
  await pool.close();

  const baselineRate = baseline.count / (baseline.wallMs / 1000);
  console.log(`Render benchmark — node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "unknown"}), ${new Date().toISOString()}`);
  console.log();
  console.log("| rendering one ticket to PDF | tickets | median per ticket | p95 per ticket | tickets/s | vs browser per ticket |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const row of rows) {
    const rate = row.count / (row.wallMs / 1000);
    const ratio = row === baseline ? "baseline" : `${(rate / baselineRate).toFixed(1)}× the throughput`;
    console.log(`| ${row.name} | ${row.count} | ${quantile(row.perTicketMs, 0.5).toFixed(0)} ms | ${quantile(row.perTicketMs, 0.95).toFixed(0)} ms | ${rate.toFixed(2)} | ${ratio} |`);
  }
  console.log();
  console.log("Same HTML on both sides (built-in fr template, QR as SVG); times exclude templating; per-ticket time of the parallel row is one page's latency.");
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
