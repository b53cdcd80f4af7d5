import { Queue, QueueEvents } from "bullmq";
import { Code, ConnectError } from "@connectrpc/connect";
import { v7 as uuidv7 } from "uuid";
import {
  generateTicketCode,
  PREVIEW_TEMPLATE_JOB,
  RENDER_QUEUE,
  signToken,
  SINGLE_TICKET_PRIORITY,
  type KeyRing,
  type PreviewTemplateJob,
  type PreviewTemplateResult,
  type RedisConnection,
  type RenderTicketJob,
} from "@ticketgen/shared";
import type { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import type { CardLogo, TenantLogos } from "../print/card-logo.ts";
import { printPdf } from "../print/print-download.ts";
import { printPlan } from "../print/print-layouts.ts";
import { cardTicketOf } from "../print/card-ticket.ts";

const DAY_MS = 86_400_000;

/**
 * PreviewTemplate: the API has no browser, so a render worker draws a sample ticket (with the
 * tenant's assets) and returns the PDF through the job's result; the API puts it on paper in
 * the layout asked for, as DownloadTicketPdf would. Previews jump the queue like single tickets.
 */
export class TemplatePreviewer {
  private readonly queue: Queue<PreviewTemplateJob, PreviewTemplateResult>;
  private events: QueueEvents | undefined;

  constructor(
    producer: RedisConnection,
    /** A worker connection: QueueEvents blocks on a copy of it. */
    private readonly blocking: RedisConnection,
    private readonly prefix: string,
    private readonly keyRing: KeyRing,
    private readonly timeoutMs: number,
    /** The logo a badge or label preview shows, as a download's would. */
    private readonly logos: TenantLogos,
  ) {
    this.queue = new Queue(RENDER_QUEUE, { connection: producer, prefix });
  }

  async preview(
    tenantId: string,
    source: { templateId: string; version: number; content: string },
    locale: string,
    layout: PrintLayout,
  ): Promise<Uint8Array> {
    // Created on first use: QueueEvents holds a blocking connection of its own.
    this.events ??= new QueueEvents(RENDER_QUEUE, { connection: this.blocking, prefix: this.prefix });
    await this.events.waitUntilReady();
    const ticketId = uuidv7();
    const now = Date.now();
    const startsAt = new Date(now + 30 * DAY_MS);
    const job = await this.queue.add(
      PREVIEW_TEMPLATE_JOB,
      {
        tenantId,
        templateId: source.templateId,
        templateVersion: source.version,
        content: source.content,
        locale,
        sample: {
          tenantId,
          ticketId,
          ticketCode: generateTicketCode(now),
          qrPayload: signToken(this.keyRing, { ticketId, eventId: "preview", expiresAt: new Date(now + DAY_MS) }),
          templateId: source.templateId,
          templateVersion: source.version,
          locale,
          event: {
            id: "preview",
            name: "Sample Event",
            startsAt: startsAt.toISOString(),
            endsAt: new Date(startsAt.getTime() + 4 * 3_600_000).toISOString(),
            location: "Main Hall",
            timezone: "Europe/Paris",
          },
          guest: { id: "sample-guest", firstName: "Camille", lastName: "Martin", email: "camille.martin@example.com" },
          ticketType: { id: "standard", name: "Standard" },
          createdAt: new Date(now).toISOString(),
        },
      },
      { priority: SINGLE_TICKET_PRIORITY, attempts: 1, removeOnComplete: true, removeOnFail: true },
    );
    let pdf: Buffer;
    try {
      const result = await job.waitUntilFinished(this.events, this.timeoutMs);
      pdf = Buffer.from(result.pdfBase64, "base64");
    } catch (error) {
      const message = (error as Error).message;
      if (/timed out/i.test(message)) {
        await job.remove().catch(() => {});
        throw new ConnectError(`no render worker finished the preview within ${this.timeoutMs} ms; are workers running?`, Code.Unavailable);
      }
      throw new ConnectError(`the preview failed: ${message}`, Code.InvalidArgument);
    }
    return printPlan(layout).kind === "stored" ? pdf : inLayout(pdf, job.data.sample, layout, () => this.logos.of(tenantId));
  }

  async close(): Promise<void> {
    await this.events?.close();
    await this.queue.close();
  }
}

/** The sample's PDF on the layout's paper: the same imposition, or card, as a download's. */
async function inLayout(
  pdf: Uint8Array,
  sample: RenderTicketJob,
  layout: PrintLayout,
  logo: () => Promise<CardLogo | undefined>,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  const output = printPdf(layout, {
    stored: () => [pdf],
    cards: async function* () {
      yield cardTicketOf(sample);
    },
    logo,
    title: `${sample.event.name} — preview`,
  });
  for await (const chunk of output) chunks.push(chunk);
  return Buffer.concat(chunks);
}
