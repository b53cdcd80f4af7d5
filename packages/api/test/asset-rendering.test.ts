import { randomUUID } from "node:crypto";
import { readFileSync, rmSync } from "node:fs";
import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assetManifestKey } from "@ticketgen/shared";
import { BatchStatus } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import type { Asset } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { TicketStatus, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import type { RenderWorker } from "@ticketgen/render-worker";
import { noisePng } from "./support/assets.ts";
import { batchRequest } from "./support/batches.ts";
import { pdfFonts, pdfImages, pdfPageCount, pdfPageSize, pdfText } from "./support/pdf.ts";
import { ticketRequest } from "./support/requests.ts";
import {
  clientsFor,
  startTestApi,
  startTestWorker,
  TEST_AUTH_SECRET,
  testToken,
  waitFor,
  type Clients,
  type TestApi,
} from "./support/stack.ts";

/** How long a worker reuses a tenant's manifest here: a replaced logo shows this long after. */
const MANIFEST_TTL_MS = 100;
const MM = 72 / 25.4;

let api: TestApi;
let worker: RenderWorker;
let redis: Redis;

beforeAll(async () => {
  // Ten chunks of the 200-ticket batch below.
  api = await startTestApi({ AUTH_JWT_SECRET: TEST_AUTH_SECRET, BATCH_SIZE: "20" });
  // Sizes, not speed, are measured here: a chunk with a logo, drawn while other test files load
  // the two cores, gets more than the default 20 s before it counts as failed.
  // Bounds for a stuck render, not speed checks: on a slow host under the whole suite, templating
  // one ticket with the 100 KB logo below has taken over TEMPLATE_TIMEOUT_MS's default of 2 s.
  worker = await startTestWorker(api, {
    ASSET_MANIFEST_TTL_MS: String(MANIFEST_TTL_MS),
    RENDER_TIMEOUT_MS: "90000",
    TEMPLATE_TIMEOUT_MS: "20000",
  });
  redis = new Redis(api.env.REDIS_URL!);
});

afterAll(async () => {
  redis?.disconnect();
  await worker?.stop();
  await api?.stop();
  // Two 200-ticket batches leave about 40 MB of PDFs.
  if (api) rmSync(api.env.BLOB_DIR!, { recursive: true, force: true });
});

/** A tenant of its own for each test: its assets and templates meet no other test's. */
async function tenant(label: string): Promise<{ id: string; clients: Clients }> {
  const id = `${label}-${randomUUID().slice(0, 8)}`;
  return { id, clients: clientsFor(api.baseUrl, await testToken(id)) };
}

/** Stores an asset through PutAsset, as an organiser does. */
async function putAsset(clients: Clients, id: string, data: Uint8Array, contentType: string): Promise<Asset> {
  const { asset } = await clients.templates.putAsset({ id, contentType, data });
  return asset!;
}

async function rendered(clients: Clients, id: string): Promise<Ticket> {
  return waitFor(
    async () => {
      const { ticket } = await clients.tickets.getTicket({ lookup: { case: "id", value: id } });
      return ticket?.status === TicketStatus.GENERATED || ticket?.status === TicketStatus.FAILED ? ticket : undefined;
    },
    30_000,
    `ticket ${id} rendered`,
  );
}

async function collect(stream: AsyncIterable<{ chunk: Uint8Array }>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** Issues a ticket (built-in template unless `templateId`) and returns it once rendered, with its PDF when generated. */
async function issue(clients: Clients, templateId = ""): Promise<{ ticket: Ticket; pdf?: Buffer }> {
  const request = ticketRequest();
  request.templateId = templateId;
  const { ticket: created } = await clients.tickets.createTicket(request);
  const ticket = await rendered(clients, created!.id);
  if (ticket.status !== TicketStatus.GENERATED) return { ticket };
  return { ticket, pdf: await collect(clients.tickets.downloadTicketPdf({ id: ticket.id })) };
}

async function putTemplate(clients: Clients, content: string): Promise<string> {
  const id = `tpl-${randomUUID().slice(0, 8)}`;
  await clients.templates.putTemplate({ id, name: id, content });
  return id;
}

/** The worker's asset_fetches_total, read from its /metrics as Prometheus scrapes it. */
async function assetFetches(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
  return Number(/^asset_fetches_total(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1]);
}

const LOGO = noisePng(120, 60, 7);

describe("the organiser's logo on the built-in templates", () => {
  it("is drawn when the tenant has an asset named logo, and nothing is drawn without it", async () => {
    const withLogo = await tenant("logo");
    await putAsset(withLogo.clients, "logo", LOGO, "image/png");
    const { pdf } = await issue(withLogo.clients);
    expect((await pdfImages(pdf!)).map(({ width, height }) => [width, height])).toEqual([[120, 60]]);
    expect(await pdfText(pdf!)).toContain("Ada Lovelace");

    const without = await tenant("nologo");
    const { pdf: plain } = await issue(without.clients);
    expect(await pdfImages(plain!)).toEqual([]);
  });

  it("is replaced on tickets once the worker reads the manifest again (ASSET_MANIFEST_TTL_MS)", async () => {
    const { clients } = await tenant("relogo");
    await putAsset(clients, "logo", LOGO, "image/png");
    expect((await pdfImages((await issue(clients)).pdf!)).map((i) => i.width)).toEqual([120]);
    await putAsset(clients, "logo", noisePng(90, 45, 8), "image/png");
    await new Promise((resolve) => setTimeout(resolve, MANIFEST_TTL_MS + 100));
    expect((await pdfImages((await issue(clients)).pdf!)).map((i) => [i.width, i.height])).toEqual([[90, 45]]);
  });
});

describe("a tenant template using assets", () => {
  it("draws {{asset}} images and embeds a TTF asset through @font-face", async () => {
    const { clients } = await tenant("brand");
    await putAsset(clients, "logo", LOGO, "image/png");
    await putAsset(clients, "brand-font", readFileSync("/usr/share/fonts/truetype/dejavu/DejaVuSans-ExtraLight.ttf"), "font/ttf");
    const templateId = await putTemplate(
      clients,
      `<!DOCTYPE html><html lang="en"><head><style>
@font-face { font-family: Brand; src: url({{asset "brand-font"}}) format("truetype"); }
body { font-family: Brand, monospace; }
</style></head><body><img src="{{asset 'logo'}}" alt="Organiser"><p>{{guestName}}</p>{{qrCode}}</body></html>`,
    );
    const { ticket, pdf } = await issue(clients, templateId);
    expect(ticket.failureReason).toBe("");
    expect((await pdfImages(pdf!)).map((i) => [i.width, i.height])).toEqual([[120, 60]]);
    const fonts = await pdfFonts(pdf!);
    expect(fonts.filter((font) => font.name.endsWith("+DejaVuSans-ExtraLight"))).toEqual([
      expect.objectContaining({ embedded: true, subset: true }),
    ]);
    expect(await pdfText(pdf!)).toContain("Ada Lovelace");
  });

  it("fails the ticket, naming the asset, when the tenant has no asset of that name", async () => {
    const { clients } = await tenant("missing");
    const templateId = await putTemplate(clients, `<html><body><img src="{{asset "logo"}}" alt=""><p>{{guestName}}</p></body></html>`);
    const { ticket } = await issue(clients, templateId);
    expect(ticket.status).toBe(TicketStatus.FAILED);
    expect(ticket.failureReason).toBe('asset "logo" not found: this tenant has no asset of that name (upload it with PutAsset)');
  });

  it("cannot read another tenant's asset: it does not exist for them", async () => {
    const a = await tenant("tenant-a");
    const b = await tenant("tenant-b");
    await putAsset(b.clients, "secret", LOGO, "image/png");
    const probe = `<html><body><p>{{#if (hasAsset "secret")}}HAS-SECRET{{else}}NO-SECRET{{/if}}</p></body></html>`;
    const preview = async (clients: Clients) =>
      pdfText((await clients.templates.previewTemplate({ source: { case: "content", value: probe } })).pdf);
    expect(await preview(a.clients)).toContain("NO-SECRET");
    expect(await preview(b.clients)).toContain("HAS-SECRET");

    const templateId = await putTemplate(a.clients, `<html><body><img src="{{asset "secret"}}" alt=""></body></html>`);
    const { ticket } = await issue(a.clients, templateId);
    expect(ticket.status).toBe(TicketStatus.FAILED);
    expect(ticket.failureReason).toBe('asset "secret" not found: this tenant has no asset of that name (upload it with PutAsset)');
  });

  it("never puts a manifest's type into the markup unchecked: an entry of an unknown type does not exist", async () => {
    const { id, clients } = await tenant("poisoned");
    const asset = await putAsset(clients, "logo", LOGO, "image/png");
    // A first render has the API publish the tenant's assets, so it leaves the entry below alone until it republishes.
    expect(await pdfImages((await issue(clients)).pdf!)).toHaveLength(1);
    // PutAsset refuses any type but the allowed ones: only a tampered Redis holds such an entry, so it is written directly.
    const manifestKey = assetManifestKey(api.config.queuePrefix, id);
    const poisoned = JSON.stringify({
      sha256: asset.sha256,
      contentType: 'image/png"><p>INJECTED</p><img src="x',
      size: Number(asset.size),
    });
    await redis.hset(manifestKey, "logo", poisoned);
    await new Promise((resolve) => setTimeout(resolve, MANIFEST_TTL_MS + 100));
    const templateId = await putTemplate(clients, `<html><body><img src="{{asset "logo"}}" alt=""></body></html>`);
    const { ticket } = await issue(clients, templateId);
    expect(ticket.failureReason).toBe('asset "logo" not found: this tenant has no asset of that name (upload it with PutAsset)');
    // The built-in template does without it.
    const { pdf } = await issue(clients);
    expect(await pdfImages(pdf!)).toEqual([]);
    expect(await pdfText(pdf!)).not.toContain("INJECTED");
    // The worker did read the poisoned entry: it was still there.
    expect(await redis.hget(manifestKey, "logo")).toBe(poisoned);
  });

  it("asks for the name in quotes when a template names an existing asset through a variable", async () => {
    const { clients } = await tenant("variable");
    // The preview's sample ticket is of type "Standard".
    await putAsset(clients, "Standard", LOGO, "image/png");
    await putAsset(clients, "other", LOGO, "image/png");
    const error = await clients.templates
      .previewTemplate({ source: { case: "content", value: `<img src="{{asset ticketType}}" alt=""> {{asset "other"}}` } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).rawMessage).toBe(
      'the preview failed: asset "Standard": write its name in quotes in the template ({{asset "Standard"}}), not through a variable',
    );
  });
});

describe("PreviewTemplate", () => {
  it("uses the tenant's assets and fails a missing one with the asset's name", async () => {
    const { clients } = await tenant("preview");
    const missing = await clients.templates
      .previewTemplate({ source: { case: "content", value: `<img src="{{asset "logo"}}" alt="">` } })
      .catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.InvalidArgument);
    expect((missing as ConnectError).rawMessage).toBe(
      'the preview failed: asset "logo" not found: this tenant has no asset of that name (upload it with PutAsset)',
    );
    await putAsset(clients, "logo", LOGO, "image/png");
    // The worker read the tenant's (empty) manifest for the first preview: it reads it again after the TTL.
    await new Promise((resolve) => setTimeout(resolve, MANIFEST_TTL_MS + 100));
    const { pdf } = await clients.templates.previewTemplate({});
    expect((await pdfImages(pdf)).map((i) => [i.width, i.height])).toEqual([[120, 60]]);
  });

  it.each(
    [
      { layout: PrintLayout.UNSPECIFIED, size: [210 * MM, 297 * MM], images: 1 },
      { layout: PrintLayout.A4_2UP, size: [297 * MM, 210 * MM], images: 1 },
      { layout: PrintLayout.LETTER, size: [612, 792], images: 1 },
      // Badges are drawn by the API from the ticket's data, with the logo asset it reads from PostgreSQL.
      { layout: PrintLayout.BADGE_A6, size: [105 * MM, 148 * MM], images: 1 },
    ].map((c) => ({ ...c, name: `PRINT_LAYOUT_${PrintLayout[c.layout]}` })),
  )("prints the sample in $name on its paper with the logo", async ({ layout, size, images }) => {
    const { clients } = await tenant("layout");
    await putAsset(clients, "logo", LOGO, "image/png");
    const { pdf } = await clients.templates.previewTemplate({ layout });
    const page = await pdfPageSize(pdf);
    expect(Math.abs(page.width - size[0]!)).toBeLessThan(1.5);
    expect(Math.abs(page.height - size[1]!)).toBeLessThan(1.5);
    expect(await pdfPageCount(pdf)).toBe(1);
    expect(await pdfImages(pdf)).toHaveLength(images);
  });

  it("refuses a layout outside the enum", async () => {
    const { clients } = await tenant("badlayout");
    const error = await clients.templates.previewTemplate({ layout: 99 as PrintLayout }).catch((e: unknown) => ConnectError.from(e));
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    expect((error as ConnectError).rawMessage).toMatch(/^layout: 99 is not a print layout/);
  });
});

/**
 * The case where each document of a batch embedding its own copy of an image makes the batch PDF
 * balloon: 200 tickets in ten chunk documents with a 100 KB logo on every ticket. One copy per
 * chunk would add 1 MB to the tickets' 2 MB, one per ticket 20 MB; the limit below allows 10 %.
 * The batches run one after the other (drawing both at once keeps both cores busy and is no
 * faster), and the logo's reads are counted over its own batch.
 */
describe("a 200-ticket batch of ten chunks with a 100 KB logo", () => {
  const GUESTS = 200;
  const BIG_LOGO = noisePng(190, 180, 9);
  let withLogo: Buffer;
  let without: Buffer;
  let fetched: number;

  let logoTenant: Clients;
  let logoBatchId: string;

  async function renderBatch(clients: Clients): Promise<string> {
    const { batch } = await clients.batches.createBatch(batchRequest(GUESTS));
    const done = await waitFor(
      async () => {
        const current = (await clients.batches.getBatch({ id: batch!.id })).batch;
        return current?.status === BatchStatus.COMPLETED ? current : undefined;
      },
      // Bounds for a stuck batch, not speed checks: on a slow host under the whole suite, a
      // 100-ticket chunk with the logo has taken over a minute.
      420_000,
      "batch completed",
    );
    // Both PDFs must hold every ticket for their sizes to compare.
    expect(
      done.failedCount,
      `tickets of the batch failed${done.failedCount > 0 ? await failureReasons(clients, batch!.eventId) : ""}`,
    ).toBe(0);
    return batch!.id;
  }

  /** The failed tickets' reasons, for the message of a failed check. */
  async function failureReasons(clients: Clients, eventId: string): Promise<string> {
    const reasons = new Set<string>();
    let pageToken = "";
    do {
      const page = await clients.tickets.listTickets({ eventId, pageSize: 100, pageToken });
      for (const ticket of page.tickets) if (ticket.status === TicketStatus.FAILED) reasons.add(ticket.failureReason);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return `: ${[...reasons].join("; ")}`;
  }

  beforeAll(async () => {
    const a = await tenant("big-logo");
    const b = await tenant("no-logo");
    logoTenant = a.clients;
    // PutAsset keeps a PNG within print size as sent: the stored logo weighs 100 KB too.
    const stored = await putAsset(a.clients, "logo", BIG_LOGO, "image/png");
    expect(stored.size).toBeGreaterThanOrEqual(100_000n);
    const before = await assetFetches();
    logoBatchId = await renderBatch(a.clients);
    fetched = (await assetFetches()) - before;
    withLogo = await collect(a.clients.batches.downloadBatchPdf({ id: logoBatchId }));
    without = await collect(b.clients.batches.downloadBatchPdf({ id: await renderBatch(b.clients) }));
  }, 900_000);

  it("reads the logo from Redis once for all ten chunks", () => {
    expect(fetched).toBe(1);
  });

  it("holds the logo once, and is at most 10 % larger than without it", async () => {
    expect(await pdfPageCount(withLogo)).toBe(GUESTS);
    const images = await pdfImages(withLogo);
    expect(images).toHaveLength(GUESTS);
    expect(new Set(images.map((image) => image.object)).size).toBe(1);
    expect(withLogo.length).toBeLessThanOrEqual(without.length * 1.1);
  });

  it("holds the logo once when imposed two to a sheet too", async () => {
    const pdf = await collect(logoTenant.batches.downloadBatchPdf({ id: logoBatchId, layout: PrintLayout.A4_2UP }));
    expect(await pdfPageCount(pdf)).toBe(GUESTS / 2);
    expect(new Set((await pdfImages(pdf)).map((image) => image.object)).size).toBe(1);
  });
});
