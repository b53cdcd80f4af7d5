import { createHash } from "node:crypto";

/** Queue names and job payloads shared by the API (producer) and the render workers. */
export const RENDER_QUEUE = "render";
export const RENDER_TICKET_JOB = "render-ticket";
export const PREVIEW_TEMPLATE_JOB = "preview-template";
export const RENDER_CHUNK_JOB = "render-chunk";
/** Render outcomes, from the workers back to the API (workers never touch the database). */
export const RESULTS_QUEUE = "render-results";
export const RENDER_RESULT_JOB = "render-result";
export const CHUNK_RESULTS_JOB = "chunk-results";
/**
 * Backoff type of result jobs: the API, which applies them, computes each delay (exponential,
 * capped). Their attempts have no practical cap, so an outcome waits out any database outage.
 */
export const RESULT_BACKOFF = "result-backoff";
export const RESULT_ATTEMPTS = Number.MAX_SAFE_INTEGER;

/**
 * BullMQ priorities (lower runs first, FIFO within one): an interactive single ticket or a
 * preview overtakes every queued batch chunk, so it never waits behind a 10,000-guest batch.
 */
export const SINGLE_TICKET_PRIORITY = 1;
export const BATCH_CHUNK_PRIORITY = 10;
/** BullMQ's largest priority. */
export const MAX_JOB_PRIORITY = 2_097_152;

/**
 * A chunk's priority grows with how much of its own tenant's batch work is queued ahead of it
 * (unrendered chunks of the tenant's earlier batches, then of its own batch): every tenant's
 * first chunk sorts with every other tenant's first, so a tenant's 10,000-guest batches take
 * turns with a newcomer's chunks instead of holding them back, and tenants are served round-robin.
 */
export function batchChunkPriority(tenantChunksAhead: number): number {
  return Math.min(MAX_JOB_PRIORITY, BATCH_CHUNK_PRIORITY + tenantChunksAhead);
}

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
      /**
       * PDFs found under the ticket's prefix when a retried render stored its own: what earlier
       * attempts left (one killed, or cut off from Redis, after storing its PDF). The API deletes
       * those its row does not name once the ticket's PDF is recorded.
       */
      earlierPdfKeys?: string[];
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
  return `${ticketPdfPrefix(tenantId, ticketId)}${sha256}.pdf`;
}

/** Every PDF ever stored for one ticket starts with this. */
export function ticketPdfPrefix(tenantId: string, ticketId: string): string {
  return `tickets/${tenantId}/${ticketId}/`;
}

/**
 * The results-queue job id of a ticket's outcome: the same report sent twice is dropped by
 * Redis, while a second render's success (another PDF) still reaches the API, which deletes
 * the PDF of whichever success was applied second.
 */
export function renderResultJobId(result: RenderResult): string {
  return result.outcome === "generated" ? `${result.ticketId}.generated.${result.pdfSha256}` : `${result.ticketId}.failed`;
}

/**
 * One part of a Redis key or channel built from an id: ':' (our separator) and '{' '}' (Redis
 * Cluster hash tags) are escaped, so two different id tuples never make the same key.
 */
const part = (id: string) => encodeURIComponent(id);

/** Redis key holding a tenant template version's source, for workers (no database access). */
export function templateSourceKey(prefix: string, tenantId: string, templateId: string, version: number): string {
  return `${prefix}:template:${part(tenantId)}:${part(templateId)}:${version}`;
}

/**
 * Redis hash of a tenant's assets, for workers (no database access): field = asset id, value =
 * the JSON of a PublishedAsset. The API writes it on PutAsset and DeleteAsset.
 */
export function assetManifestKey(prefix: string, tenantId: string): string {
  return `${prefix}:assets:${part(tenantId)}`;
}

/** Redis key holding an asset's bytes, by tenant and content hash (tenants never share bytes). */
export function assetBytesKey(prefix: string, tenantId: string, sha256: string): string {
  return `${prefix}:asset:${part(tenantId)}:${sha256}`;
}

/** What PutAsset stores, and so what a manifest entry may name: print images and web fonts Chromium draws. */
export const ASSET_TYPES = ["image/png", "image/jpeg", "image/webp", "image/svg+xml", "font/woff2", "font/ttf"] as const;
export type AssetType = (typeof ASSET_TYPES)[number];

/** One entry of a tenant's asset manifest. */
export interface PublishedAsset {
  /** Hex SHA-256 of the stored bytes (after sanitising and downscaling). */
  sha256: string;
  /** The sniffed type: image/png, image/jpeg, image/webp, image/svg+xml, font/woff2 or font/ttf. */
  contentType: string;
  size: number;
}

/** Up to BATCH_SIZE tickets of one batch, drawn in one Chromium document and split. */
export interface RenderChunkJob {
  tenantId: string;
  batchId: string;
  chunkIndex: number;
  tickets: RenderTicketJob[];
}

/** Every outcome of one chunk, applied by the API in one transaction. */
export interface ChunkResults {
  tenantId: string;
  batchId: string;
  chunkIndex: number;
  results: RenderResult[];
}

export function chunkJobId(batchId: string, chunkIndex: number): string {
  return `${batchId}.${chunkIndex}`;
}

/** As renderResultJobId, for a whole chunk: its outcomes' PDFs name it. */
export function chunkResultsJobId(chunk: ChunkResults): string {
  const outcomes = chunk.results.map((r) => `${r.ticketId}:${r.outcome === "generated" ? r.pdfSha256 : "failed"}`).join(",");
  return `${chunkJobId(chunk.batchId, chunk.chunkIndex)}.results.${createHash("sha256").update(outcomes).digest("hex")}`;
}

/** The chunk's whole document (its generated tickets in guest order): DownloadBatchPdf joins these. */
export function batchChunkPdfKey(tenantId: string, batchId: string, chunkIndex: number): string {
  return `batches/${tenantId}/${batchId}/chunk-${String(chunkIndex).padStart(5, "0")}.pdf`;
}

/** A batch's cancel mark, set and read in batch-cancellation.ts. */
export function batchCancelledKey(prefix: string, tenantId: string, batchId: string): string {
  return `${prefix}:batch-cancelled:${part(tenantId)}:${part(batchId)}`;
}

/** Pub/sub channel on which every API replica announces a batch's progress. */
export function batchProgressChannel(prefix: string, tenantId: string, batchId: string): string {
  return `${prefix}:batch-progress:${part(tenantId)}:${part(batchId)}`;
}
