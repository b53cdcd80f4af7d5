import { Code, ConnectError } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { TicketStatus } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { pdfText } from "./support/pdf.ts";
import { startRequestListener, type RequestListener } from "./support/request-listener.ts";
import { ticketRequest } from "./support/requests.ts";
import { startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

let api: TestApi;
let worker: RenderWorker;
let listener: RequestListener;

beforeAll(async () => {
  api = await startTestApi({ MAX_FILE_SIZE: "4096" });
  worker = await startTestWorker(api);
  listener = await startRequestListener();
});

afterAll(async () => {
  listener?.close();
  await worker?.stop();
  await api?.stop();
});

const rejection = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (e: unknown) => ConnectError.from(e),
  );

async function renderedText(templateId: string): Promise<{ status: TicketStatus; text: string; failureReason: string }> {
  const request = ticketRequest();
  request.templateId = templateId;
  const { ticket } = await api.tickets.createTicket(request);
  const done = await waitFor(
    async () => {
      const { ticket: t } = await api.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } });
      return t && t.status !== TicketStatus.PENDING ? t : undefined;
    },
    30_000,
    "ticket rendered",
  );
  if (done.status !== TicketStatus.GENERATED) return { status: done.status, text: "", failureReason: done.failureReason };
  const chunks: Uint8Array[] = [];
  for await (const { chunk } of api.tickets.downloadTicketPdf({ id: done.id })) chunks.push(chunk);
  return { status: done.status, text: await pdfText(Buffer.concat(chunks)), failureReason: "" };
}

describe("TemplateService", () => {
  it("stores versions, returns the latest by default and any version on request, and lists templates", async () => {
    const v1 = await api.templates.putTemplate({ id: "gala", name: "Gala", content: "<h1>{{eventName}} v1</h1>{{qrCode}}" });
    const v2 = await api.templates.putTemplate({ id: "gala", name: "Gala", content: "<h1>{{eventName}} v2</h1>{{qrCode}}" });
    expect([v1.template?.version, v2.template?.version]).toEqual([1, 2]);
    expect((await api.templates.getTemplate({ id: "gala" })).template?.content).toContain("v2");
    expect((await api.templates.getTemplate({ id: "gala", version: 1 })).template?.content).toContain("v1");
    await api.templates.putTemplate({ id: "another", content: "<p>{{ticketCode}}</p>" });
    // Other test files store templates of their own in the same tenant: page through them all.
    const listed = [];
    let pageToken = "";
    do {
      const page = await api.templates.listTemplates({ pageSize: 1, pageToken });
      listed.push(...page.templates);
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(listed.map((t) => t.id)).toEqual([...listed.map((t) => t.id)].sort());
    expect(listed.filter((t) => ["another", "gala"].includes(t.id)).map((t) => [t.id, t.version, t.content])).toEqual([
      ["another", 1, ""],
      ["gala", 2, ""],
    ]);
    const missing = await rejection(api.templates.getTemplate({ id: "nope" }));
    expect({ code: missing?.code, message: missing?.rawMessage }).toEqual({ code: Code.NotFound, message: 'template "nope" not found' });
  });

  it("rejects a broken template with Handlebars' own message, and an over-sized one", async () => {
    const broken = await rejection(api.templates.putTemplate({ id: "broken", content: "<p>{{#if eventName}}unclosed</p>" }));
    expect(broken?.code).toBe(Code.InvalidArgument);
    expect(broken?.rawMessage).toMatch(/^content: .*eventName doesn't match if|^content: Parse error/);
    const huge = await rejection(api.templates.putTemplate({ id: "huge", content: "x".repeat(5000) }));
    expect(huge?.rawMessage).toBe("content: is 5000 bytes; templates may be at most 4096 bytes (MAX_FILE_SIZE)");
  });

  it("renders tickets with a tenant template pinned at the version current when they were issued", async () => {
    await api.templates.putTemplate({ id: "pinned", content: "<h1>Pinned A {{firstName}}</h1>{{qrCode}}" });
    const first = await renderedText("pinned");
    await api.templates.putTemplate({ id: "pinned", content: "<h1>Pinned B {{firstName}}</h1>{{qrCode}}" });
    const second = await renderedText("pinned");
    expect(first.text).toContain("Pinned A Ada");
    expect(second.text).toContain("Pinned B Ada");
    const unknown = await rejection(api.tickets.createTicket({ ...ticketRequest(), templateId: "nope" }));
    expect(unknown?.code).toBe(Code.NotFound);
  });

  it("previews a stored template or inline content as a PDF", async () => {
    const preview = await api.templates.previewTemplate({
      source: { case: "content", value: "<h1>Preview for {{firstName}} {{lastName}}</h1>" },
      locale: "fr",
    });
    expect(Buffer.from(preview.pdf.subarray(0, 5)).toString()).toBe("%PDF-");
    expect(await pdfText(preview.pdf)).toContain("Preview for Camille Martin");
    const stored = await api.templates.previewTemplate({ source: { case: "templateId", value: "gala" } });
    expect(await pdfText(stored.pdf)).toContain("Sample Event v2");
  });

  it("lets no template reach the network: images, stylesheets, scripts, fonts, iframes, redirects", async () => {
    const { origin } = listener;
    const hostile = `<!doctype html><html><head>
      <link rel="stylesheet" href="${origin}/style.css">
      <style>@import url("${origin}/import.css"); @font-face { font-family: X; src: url("${origin}/font.woff"); } body { background: url("${origin}/bg.png"); font-family: X; }</style>
      <script src="${origin}/script.js"></script>
      <meta http-equiv="refresh" content="0; url=${origin}/refresh">
      </head><body><img src="${origin}/img.png"><iframe src="${origin}/frame"></iframe>
      <object data="${origin}/object"></object><video poster="${origin}/poster.png"></video>
      <p>Hostile {{firstName}}</p>{{qrCode}}</body></html>`;
    await api.templates.putTemplate({ id: "hostile", content: hostile });
    const rendered = await renderedText("hostile");
    expect(rendered.status).toBe(TicketStatus.GENERATED);
    expect(rendered.text).toContain("Hostile Ada");
    await api.templates.previewTemplate({ source: { case: "content", value: hostile } });
    expect(listener.hits).toEqual([]);
  });

  it("renders a tenant template after Redis lost its source (a flush): the API publishes it again", async () => {
    await api.templates.putTemplate({ id: "survivor", content: "<h1>Survivor {{guestName}}</h1>{{qrCode}}" });
    expect((await renderedText("survivor")).text).toContain("Survivor");
    // Workers cache sources: only a worker that has not seen this one yet must read it from Redis.
    await worker.stop();
    const redis = new Redis(api.config.redisUrl);
    try {
      const prefix = api.config.queuePrefix;
      const lost = [...(await redis.keys(`${prefix}:template:*`)), `${prefix}:published`];
      expect(lost.length).toBeGreaterThan(1);
      await redis.del(...lost);
      // The API's probe (HEALTH_INTERVAL_MS 200 here) notices the marker gone.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      worker = await startTestWorker(api);
      const again = await renderedText("survivor");
      expect(again.failureReason).toBe("");
      expect(again.text).toContain("Survivor");
      expect(await redis.exists(`${prefix}:published`)).toBe(1);
    } finally {
      redis.disconnect();
    }
  });

  it("fails a ticket whose data breaks the template, with the reason, without retries", async () => {
    // A dynamic partial named after the guest: this guest's name has no partial.
    await api.templates.putTemplate({ id: "fragile", content: "<p>{{> (lookup . 'firstName') }}</p>" });
    const failed = await renderedText("fragile");
    expect(failed.status).toBe(TicketStatus.FAILED);
    expect(failed.failureReason).toMatch(/The partial Ada could not be found/);
  });
});
