import { createClient, Code, ConnectError, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RenderWorker } from "@ticketgen/render-worker";
import { BatchService, BatchStatus, type Batch } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TicketStatus, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { batchRequest } from "./support/batches.ts";
import { sample, scrape } from "./support/metrics.ts";
import { pdfText } from "./support/pdf.ts";
import { startRequestListener, type RequestListener } from "./support/request-listener.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, startTestApi, startTestWorker, waitFor, type TestApi } from "./support/stack.ts";

let api: TestApi;
let worker: RenderWorker;
let batches: Client<typeof BatchService>;
let listener: RequestListener;

beforeAll(async () => {
  api = await startTestApi();
  // The defaults that matter here: TEMPLATE_TIMEOUT_MS 2000, TEMPLATE_MAX_OUTPUT_BYTES 2 MB,
  // MAX_PAGES_PER_TICKET 10, RENDER_TIMEOUT_MS 20000, two renders at once.
  worker = await startTestWorker(api);
  batches = createClient(BatchService, grpcTransport(api.baseUrl));
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

/** `{{#each @root}}` nested: 21^depth iterations that no static check can see. */
const eachBomb = (depth: number, body = "") => `${"{{#each @root}}".repeat(depth)}${body}${"{{/each}}".repeat(depth)}`;

/** Ten inline partials, each calling the previous ten times: 1 KB of template, 10^10 characters. */
function partialBomb(): string {
  const names = "abcdefghij";
  let source = `{{#*inline "a"}}xxxxxxxxxx{{/inline}}`;
  for (let i = 1; i < names.length; i++) source += `{{#*inline "${names[i]}"}}${`{{>${names[i - 1]}}}`.repeat(10)}{{/inline}}`;
  return `${source}{{>j}}`;
}

async function issue(templateId: string): Promise<string> {
  const { ticket } = await api.tickets.createTicket({ ...ticketRequest(), templateId });
  return ticket!.id;
}

async function settled(id: string): Promise<Ticket> {
  return waitFor(
    async () => {
      const { ticket } = await api.tickets.getTicket({ lookup: { case: "id", value: id } });
      return ticket!.status === TicketStatus.PENDING ? undefined : ticket;
    },
    60_000,
    `ticket ${id} settled`,
  );
}

async function finished(id: string): Promise<Batch> {
  return waitFor(
    async () => {
      const { batch } = await batches.getBatch({ id });
      return batch!.status === BatchStatus.PROCESSING ? undefined : batch;
    },
    60_000,
    `batch ${id} finished`,
  );
}

async function batchTickets(eventId: string): Promise<Ticket[]> {
  return (await api.tickets.listTickets({ eventId, pageSize: 500 })).tickets;
}

describe("PutTemplate and PreviewTemplate refuse what the static check sees", () => {
  it("a template bomb of nested inline partials: INVALID_ARGUMENT naming the partial and what to do", async () => {
    const expected = {
      code: Code.InvalidArgument,
      message:
        'content: partial "f" expands to more than 1000000 characters of template (partials calling partials multiply); call partials fewer times or nest them less deeply',
    };
    const put = await rejection(api.templates.putTemplate({ id: "bomb", content: partialBomb() }));
    expect({ code: put?.code, message: put?.rawMessage }).toEqual(expected);
    const preview = await rejection(api.templates.previewTemplate({ source: { case: "content", value: partialBomb() } }));
    expect({ code: preview?.code, message: preview?.rawMessage }).toEqual(expected);
  });

  it("a recursive partial", async () => {
    const content = '{{#*inline "a"}}{{> b}}{{/inline}}{{#*inline "b"}}{{> a}}{{/inline}}{{> a}}';
    const put = await rejection(api.templates.putTemplate({ id: "loop", content }));
    expect({ code: put?.code, message: put?.rawMessage }).toEqual({
      code: Code.InvalidArgument,
      message:
        'content: partial "a" calls itself ("a" → "b" → "a"); a recursive partial never ends for a ticket: remove the call that loops back',
    });
  });
});

describe("a template past a render-time limit fails its own ticket; the worker renders everyone else's", () => {
  it("time: the ticket fails at the template limit, not the render timeout, and the tickets issued right after it render", async () => {
    await api.templates.putTemplate({ id: "slow", content: eachBomb(8) });
    const bomb = await issue("slow");
    const others = [await issue(""), await issue("")];
    const failed = await settled(bomb);
    expect({ status: failed.status, reason: failed.failureReason }).toEqual({
      status: TicketStatus.FAILED,
      reason: "template exceeded the 2000 ms time limit",
    });
    for (const id of others) expect((await settled(id)).status).toBe(TicketStatus.GENERATED);
  });

  it("output: a ticket whose HTML would pass 2 MB fails with the cap; so does its preview", async () => {
    const content = eachBomb(3, "x".repeat(1000));
    await api.templates.putTemplate({ id: "huge", content });
    const failed = await settled(await issue("huge"));
    expect({ status: failed.status, reason: failed.failureReason }).toEqual({
      status: TicketStatus.FAILED,
      reason: "template output exceeds 2 MB",
    });
    const preview = await rejection(api.templates.previewTemplate({ source: { case: "content", value: content } }));
    expect({ code: preview?.code, message: preview?.rawMessage }).toEqual({
      code: Code.InvalidArgument,
      message: "the preview failed: template output exceeds 2 MB",
    });
  });

  it("pages: a ticket printing past MAX_PAGES_PER_TICKET fails with the cap", async () => {
    await api.templates.putTemplate({ id: "endless", content: '<div style="height: 10000000px">{{firstName}}</div>' });
    const failed = await settled(await issue("endless"));
    expect({ status: failed.status, reason: failed.failureReason }).toEqual({
      status: TicketStatus.FAILED,
      reason: "template printed more than 10 pages for one ticket (MAX_PAGES_PER_TICKET)",
    });
  });

  it("in a batch chunk: the guests before the bomb render, the bomb's guest fails with the reason, the ones after are not tried", async () => {
    // Only Bob's partial is a bomb (picked by name at render time, beyond any static check).
    const content = `{{#*inline "Bob"}}${eachBomb(8)}{{/inline}}{{#*inline "Ada"}}<h1>Ada</h1>{{qrCode}}{{/inline}}{{> (lookup . "firstName")}}`;
    await api.templates.putTemplate({ id: "bob-bomb", content });
    const request = batchRequest(4, { templateId: "bob-bomb", firstName: (i) => (i === 2 ? "Bob" : "Ada") });
    const { batch } = await batches.createBatch(request);
    expect(await finished(batch!.id)).toMatchObject({ status: BatchStatus.COMPLETED, completedCount: 2, failedCount: 2 });
    const tickets = new Map((await batchTickets(request.event!.id)).map((t) => [t.guestId, t]));
    expect(["guest-0", "guest-1"].map((g) => tickets.get(g)?.status)).toEqual([TicketStatus.GENERATED, TicketStatus.GENERATED]);
    expect(["guest-2", "guest-3"].map((g) => [tickets.get(g)?.status, tickets.get(g)?.failureReason])).toEqual([
      [TicketStatus.FAILED, "template exceeded the 2000 ms time limit"],
      [TicketStatus.FAILED, "template exceeded the 2000 ms time limit on another ticket of this batch chunk; not tried again"],
    ]);
  });
});

describe("the Content-Security-Policy of every document the worker prints", () => {
  it("single ticket, preview and batch chunk: nothing reaches the network, and nothing even gets past Chromium's policy", async () => {
    const { origin } = listener;
    // `</head>` inside the head tag's attribute once cut a chunk's combined head short, leaving
    // a policy delivered as <meta> out of the document; the header cannot be cut.
    const hostile = `<!DOCTYPE html><html><head data-x="</head>"><meta http-equiv="Content-Security-Policy" content="default-src * 'unsafe-inline'">
      <link rel="stylesheet" href="${origin}/style.css">
      <style>@import url("${origin}/import.css"); @font-face { font-family: X; src: url("${origin}/font.woff"); } body { background: url("${origin}/bg.png"); } p { font-family: X; }</style>
      </head><body><img src="${origin}/img.png"><iframe src="${origin}/frame"></iframe>
      <p>Hostile {{firstName}}</p>{{qrCode}}</body></html>`;
    await api.templates.putTemplate({ id: "csp", content: hostile });

    const single = await settled(await issue("csp"));
    expect(single.status).toBe(TicketStatus.GENERATED);
    const preview = await api.templates.previewTemplate({ source: { case: "content", value: hostile } });
    expect(await pdfText(preview.pdf)).toContain("Hostile");
    const request = batchRequest(3, { templateId: "csp" });
    const { batch } = await batches.createBatch(request);
    expect(await finished(batch!.id)).toMatchObject({ status: BatchStatus.COMPLETED, completedCount: 3, failedCount: 0 });

    expect(listener.hits).toEqual([]);
    const metrics = await scrape(worker.metricsPort);
    expect(metrics).toContain("# TYPE render_blocked_requests_total counter");
    expect(sample(metrics, "render_blocked_requests_total", { kind: "subresource" }) ?? 0).toBe(0);
  });
});
