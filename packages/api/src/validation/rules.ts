import { z } from "zod";
import type { DescMessage } from "@bufbuild/protobuf";
import { UUID_PATTERN } from "@ticketgen/shared";
import {
  CreateTicketRequestSchema,
  GetTicketRequestSchema,
  ListTicketsRequestSchema,
  RevokeTicketRequestSchema,
  ValidateTicketRequestSchema,
  DownloadTicketPdfRequestSchema,
} from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import {
  DeleteAssetRequestSchema,
  GetAssetRequestSchema,
  GetTemplateRequestSchema,
  ListAssetsRequestSchema,
  PutAssetRequestSchema,
  ListTemplatesRequestSchema,
  PreviewTemplateRequestSchema,
  PutTemplateRequestSchema,
} from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import {
  CancelBatchRequestSchema,
  CreateBatchRequestSchema,
  DownloadBatchPdfRequestSchema,
  GetBatchRequestSchema,
  WatchBatchRequestSchema,
} from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { PrintLayout } from "@ticketgen/shared/gen/ticketgen/v1/common_pb";
import { MAX_PAGE_SIZE } from "../tickets/page-token.ts";

/**
 * One declarative rule set per request message, keyed by the message's type name. Paths are
 * proto field names (snake_case) in the error message: `guest.email: must be an e-mail address`.
 */

// PostgreSQL's text and jsonb cannot hold U+0000: refused here rather than failing the INSERT.
const NO_NUL_RULE = "must not contain NUL (U+0000) characters";
const noNul = (value: string) => !value.includes("\0");
const text = (max: number) => z.string().max(max, `must be at most ${max} characters`).refine(noNul, NO_NUL_RULE);
const required = (max: number) => text(max).min(1, "is required");
/** What a scanner read, NUL included: ValidateTicket judges it (MALFORMED) and never stores it. */
const scanned = (max: number) => z.string().max(max, `must be at most ${max} characters`).min(1, "is required");
const identifier = required(128).regex(/^[^\s\p{Cc}]*$/u, "must not contain spaces or control characters");
/** A required string in a given format: empty is "is required", anything else the format rule. */
const formatted = (max: number, pattern: RegExp, rule: string) =>
  z.string().superRefine((value, ctx) => {
    const message =
      value === "" ? "is required" : value.length > max ? `must be at most ${max} characters` : pattern.test(value) ? undefined : rule;
    if (message) ctx.addIssue({ code: "custom", message });
  });
const uuid = formatted(36, UUID_PATTERN, "must be a UUID");

// Same shape as the HTML spec's e-mail input: what browsers and most platforms accept.
const EMAIL =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;
const email = formatted(254, EMAIL, "must be an e-mail address");

/** Memoised: building an Intl formatter costs ~30 µs, and callers reuse a handful of values. */
function memo(check: (value: string) => boolean, limit = 1000): (value: string) => boolean {
  const known = new Map<string, boolean>();
  return (value) => {
    let result = known.get(value);
    if (result === undefined) {
      result = check(value);
      if (known.size < limit) known.set(value, result);
    }
    return result;
  };
}

const isTimeZone = memo((zone) => {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
});
const timeZone = required(64).refine(isTimeZone, "must be an IANA time zone such as Europe/Paris");

const isLocale = memo((tag) => {
  try {
    return Intl.getCanonicalLocales(tag).length === 1;
  } catch {
    return false;
  }
});
const locale = text(35).refine((tag) => tag === "" || isLocale(tag), "must be a BCP 47 language tag such as fr or en-GB");

/** A message-typed field: absent is reported as "is required", not as a type error. */
const message = <T extends z.ZodRawShape>(shape: T) =>
  z.object(shape, { error: (issue) => (issue.input === undefined ? "is required" : "must be a message") });

// Tokens carry the expiry as uint32 seconds; events outside this range are caller mistakes.
const MIN_SECONDS = BigInt(Date.UTC(2000, 0, 1) / 1000);
const MAX_SECONDS = BigInt(Date.UTC(2100, 0, 1) / 1000);
const timestamp = message({
  seconds: z.bigint().refine((s) => s >= MIN_SECONDS && s < MAX_SECONDS, "must be between 2000-01-01 and 2100-01-01"),
  nanos: z.number().int().min(0).max(999_999_999, "must be from 0 to 999999999"),
});
const seconds = (t: { seconds: bigint } | undefined) => t?.seconds;

const eventInfo = message({
  id: identifier,
  name: required(200),
  startsAt: timestamp,
  endsAt: timestamp.optional(),
  location: text(300),
  timezone: timeZone,
}).refine(
  (event) => {
    const start = seconds(event.startsAt);
    const end = seconds(event.endsAt);
    return start === undefined || end === undefined || end >= start;
  },
  { message: "must not be before starts_at", path: ["endsAt"] },
);

const guestInfo = message({
  id: identifier,
  firstName: required(100),
  lastName: text(100),
  email,
});

const ticketTypeInfo = message({ id: identifier, name: required(100) });

const TEMPLATE_ID = /^[\w.-]*$/;
const TEMPLATE_ID_RULE = "must be letters, digits, _ . or -";
/** Optional where a ticket names its template (empty: the built-in one). */
const templateId = text(128).regex(TEMPLATE_ID, TEMPLATE_ID_RULE);
const storedTemplateId = formatted(128, TEMPLATE_ID, TEMPLATE_ID_RULE);
/** Asset ids follow template ids' rule: `{{asset "logo.main"}}` names one in a template. */
const assetId = storedTemplateId;
const pageSize = z.number().int().min(0, "must not be negative").max(MAX_PAGE_SIZE, `must be at most ${MAX_PAGE_SIZE}`);
const idempotencyKey = text(128);
/** Unknown values arrive as plain numbers (proto3 enums are open): refused with the known names. */
const PRINT_LAYOUTS = Object.values(PrintLayout).filter((value): value is PrintLayout => typeof value === "number");
const PRINT_LAYOUT_RULE = `is not a print layout; use one of ${PRINT_LAYOUTS.filter((layout) => layout !== PrintLayout.UNSPECIFIED)
  .map((layout) => `PRINT_LAYOUT_${PrintLayout[layout]}`)
  .join(", ")} (unset means PRINT_LAYOUT_A4)`;
const printLayout = z.number().superRefine((value, ctx) => {
  if (!PRINT_LAYOUTS.includes(value)) ctx.addIssue({ code: "custom", message: `${value} ${PRINT_LAYOUT_RULE}` });
});

/**
 * Adds a proto oneof to a message rule: exactly one case is set, and its value follows that
 * case's rule. Violations are reported under the case's field name, as on the wire.
 */
const withOneof = <T extends z.ZodRawShape>(shape: T, name: string, cases: Record<string, z.ZodType>) =>
  z.looseObject(shape).superRefine((message, ctx) => {
    const field = (message as Record<string, { case?: string; value?: unknown }>)[name];
    const schema = field?.case === undefined ? undefined : cases[field.case];
    if (!schema || field?.case === undefined) {
      const names = Object.keys(cases).map(snakeCase).join(" or ");
      ctx.addIssue({ code: "custom", message: `one of ${names} is required`, path: [name] });
      return;
    }
    for (const issue of schema.safeParse(field.value).error?.issues ?? []) {
      ctx.addIssue({ code: "custom", message: issue.message, path: [field.case, ...issue.path] });
    }
  });

export const MAX_BATCH_GUESTS = 10_000;

const rules: Array<[DescMessage, z.ZodType]> = [
  [
    CreateTicketRequestSchema,
    z.object({
      event: eventInfo,
      guest: guestInfo,
      ticketType: ticketTypeInfo,
      templateId,
      locale,
      idempotencyKey,
    }),
  ],
  [GetTicketRequestSchema, withOneof({}, "lookup", { id: uuid, ticketCode: required(64) })],
  [
    ListTicketsRequestSchema,
    z.object({
      eventId: identifier,
      pageSize,
      pageToken: text(200),
    }),
  ],
  [
    ValidateTicketRequestSchema,
    // A scanner sends whatever the camera read: the payload is judged by ValidateTicket, not here.
    withOneof({ eventId: text(128) }, "credential", { qrPayload: scanned(4096), ticketCode: scanned(64) }),
  ],
  [RevokeTicketRequestSchema, z.object({ id: uuid, reason: text(500) })],
  [DownloadTicketPdfRequestSchema, z.object({ id: uuid, layout: printLayout })],
  [
    CreateBatchRequestSchema,
    z.object({
      event: eventInfo,
      ticketType: ticketTypeInfo,
      guests: z
        .array(guestInfo)
        .min(1, "must list at least one guest")
        .max(MAX_BATCH_GUESTS, `must list at most ${MAX_BATCH_GUESTS} guests`),
      templateId,
      locale,
      idempotencyKey,
    }),
  ],
  [GetBatchRequestSchema, z.object({ id: uuid })],
  [CancelBatchRequestSchema, z.object({ id: uuid })],
  [WatchBatchRequestSchema, z.object({ id: uuid })],
  [DownloadBatchPdfRequestSchema, z.object({ id: uuid, layout: printLayout })],
  // Content size depends on MAX_FILE_SIZE, so TemplateService checks it with the content itself.
  [
    PutTemplateRequestSchema,
    z.object({ id: storedTemplateId, name: text(200), content: z.string().min(1, "is required").refine(noNul, NO_NUL_RULE) }),
  ],
  [GetTemplateRequestSchema, z.object({ id: storedTemplateId, version: z.number().int().min(0, "must not be negative") })],
  [ListTemplatesRequestSchema, z.object({ pageSize, pageToken: text(200) })],
  // Size depends on MAX_ASSET_SIZE and the type on the bytes: PutAsset checks both with the data.
  [
    PutAssetRequestSchema,
    z.object({
      id: assetId,
      contentType: text(100),
      data: z.instanceof(Uint8Array).refine((data) => data.length > 0, "is required"),
    }),
  ],
  [GetAssetRequestSchema, z.object({ id: assetId })],
  [ListAssetsRequestSchema, z.object({ pageSize, pageToken: text(200) })],
  [DeleteAssetRequestSchema, z.object({ id: assetId })],
  [
    PreviewTemplateRequestSchema,
    // No source previews the built-in template.
    z.looseObject({ locale, layout: printLayout }).superRefine((request, ctx) => {
      const source = (request as { source?: { case?: string; value?: unknown } }).source;
      const schema =
        source?.case === "templateId"
          ? storedTemplateId
          : source?.case === "content"
            ? z.string().min(1, "is required").refine(noNul, NO_NUL_RULE)
            : undefined;
      for (const issue of schema?.safeParse(source!.value).error?.issues ?? []) {
        ctx.addIssue({ code: "custom", message: issue.message, path: [source!.case!] });
      }
    }),
  ],
];

export const requestRules: ReadonlyMap<string, z.ZodType> = new Map(rules.map(([desc, schema]) => [desc.typeName, schema]));

export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/** `guests[3].first_name`: the proto path of a zod issue. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : `${i === 0 ? "" : "."}${snakeCase(String(part))}`)).join("");
}

/** Every violation as `path: rule`, or undefined when the request is valid. */
export function validateRequest(typeName: string, request: unknown): string | undefined {
  const schema = requestRules.get(typeName);
  if (!schema) return undefined;
  const result = schema.safeParse(request);
  if (result.success) return undefined;
  return result.error.issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`).join("; ");
}
