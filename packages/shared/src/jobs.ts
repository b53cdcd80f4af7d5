/** Queue names and job payloads shared by the API (producer) and the render workers. */
export const RENDER_QUEUE = "render";
export const RENDER_TICKET_JOB = "render-ticket";
export const PREVIEW_TEMPLATE_JOB = "preview-template";
/** Render outcomes, from the workers back to the API (workers never touch the database). */
export const RESULTS_QUEUE = "render-results";
export const RENDER_RESULT_JOB = "render-result";

/** Priority of interactive single tickets; batch chunks use larger (later) numbers. */
export const SINGLE_TICKET_PRIORITY = 1;

export interface EventSnapshot {
  id: string;
  name: string;
  startsAt: string;
  endsAt: string | null;
  location: string;
  timezone: string;
}

export interface GuestSnapshot {
  id: string;
  firstName: string;
  lastName: string;
  email: string;
}

export interface TicketTypeSnapshot {
  id: string;
  name: string;
}

/** Everything a worker needs to draw one ticket: workers hold no database credentials. */
export interface RenderTicketJob {
  tenantId: string;
  ticketId: string;
  ticketCode: string;
  qrPayload: string;
  /** Empty: the built-in template for `locale`. */
  templateId: string;
  /** 0 for built-ins; tenant templates are immutable per version, so workers cache by it. */
  templateVersion: number;
  locale: string;
  event: EventSnapshot;
  guest: GuestSnapshot;
  ticketType: TicketTypeSnapshot;
  createdAt: string;
}

/** Renders a sample ticket with a stored template version or inline content; returns the PDF. */
export interface PreviewTemplateJob {
  tenantId: string;
  templateId: string;
  templateVersion: number;
  /** Inline source to try before storing it; wins over templateId. */
  content: string;
  locale: string;
  sample: RenderTicketJob;
}

/** Base64 PDF: previews are small and answered once, so they travel in the job's return value. */
export interface PreviewTemplateResult {
  pdfBase64: string;
}

export type RenderResult =
  | {
      outcome: "generated";
      tenantId: string;
      ticketId: string;
      pdfKey: string;
      pdfSize: number;
      pdfSha256: string;
      generatedAt: string;
      renderMs: number;
    }
  | {
      outcome: "failed";
      tenantId: string;
      ticketId: string;
      reason: string;
      failedAt: string;
    };

/** Where a ticket's PDF lives in the blob store: content-addressed, so re-renders never clash. */
export function ticketPdfKey(tenantId: string, ticketId: string, sha256: string): string {
  return `tickets/${tenantId}/${ticketId}/${sha256}.pdf`;
}

/** Redis key holding a tenant template version's source, for workers (no database access). */
export function templateSourceKey(prefix: string, tenantId: string, templateId: string, version: number): string {
  return `${prefix}:template:${tenantId}:${templateId}:${version}`;
}
