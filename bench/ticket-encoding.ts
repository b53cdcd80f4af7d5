/**
 * Per-call protobuf and crypto work of the API, each against the alternative it replaced or was
 * measured against (bench/optimisations.md, section 24):
 *   - a ValidateTicket answer, built and encoded: ticketToProto's literal vs create(TicketSchema, …);
 *   - the Ticket alone, built: the same two;
 *   - a CreateTicket request, decoded: protobuf-es' TextDecoder vs Buffer#toString (not adopted);
 *   - the token's MAC: HMAC-SHA256 keyed with the secret's Buffer vs a KeyObject (not adopted).
 * Strings are encoded with Buffer.from, as the API has them. The two sides of a row run in
 * alternating rounds so that drift hits both alike; prints a Markdown table of the median round.
 *
 *   node_modules/.bin/tsx bench/ticket-encoding.ts
 */
import { createHmac, createSecretKey } from "node:crypto";
import { isUtf8 } from "node:buffer";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  CreateTicketRequestSchema,
  TicketSchema,
  TicketStatus,
  ValidateTicketResponseSchema,
  ValidationResult,
} from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { encodeProtobufStringsWithBuffer } from "../packages/api/src/server/protobuf-text.ts";
import { ticketToProto } from "../packages/api/src/tickets/ticket-mapping.ts";
import type { TicketFacts } from "../packages/api/src/tickets/ticket-repository.ts";
import { quantile } from "./support/report.ts";

const ROUNDS = 15;
const CALLS = 50_000;

const row: TicketFacts = {
  id: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
  tenantId: "acme",
  ticketCode: "TKT-MB0L2X9Q-K7P2ZD-4F1A9C3E",
  eventId: "door-1",
  guestId: "door-g1",
  ticketTypeId: "std",
  batchId: null,
  batchPosition: null,
  status: "GENERATED",
  qrPayload: "TG1.K1.7Q2M3XQZJ5R4W8H6N0B1C9D2E3F4G5H6J7K8L9M0N1P2Q3R4S5T6V7W8X9Y0Z1A2B3C",
  templateId: "default",
  templateVersion: 0,
  locale: "fr",
  idempotencyKey: null,
  requestHash: null,
  pdfSize: 30_112,
  pdfSha256: "cd".repeat(32),
  pdfKey: "acme/tickets/x.pdf",
  failureReason: null,
  createdAt: new Date(),
  generatedAt: new Date(),
  validUntil: new Date(Date.now() + 86_400_000),
  redeemedAt: null,
  revokedAt: null,
  revocationReason: null,
};

/** The Ticket as create() makes it from the same row: what ticketToProto replaced. */
const created = (facts: TicketFacts) =>
  create(TicketSchema, {
    ...facts,
    status: TicketStatus[facts.status],
    pdfSize: BigInt(facts.pdfSize ?? 0),
    pdfSha256: facts.pdfSha256 ?? "",
    failureReason: facts.failureReason ?? "",
    revocationReason: facts.revocationReason ?? "",
    batchId: facts.batchId ?? "",
    createdAt: timestampFromDate(facts.createdAt),
    generatedAt: facts.generatedAt ? timestampFromDate(facts.generatedAt) : undefined,
    validUntil: timestampFromDate(facts.validUntil),
  } as never);

const answer = (ticket: ReturnType<typeof ticketToProto>) =>
  toBinary(ValidateTicketResponseSchema, create(ValidateTicketResponseSchema, { result: ValidationResult.VALID, ticket }));

const request = Buffer.from(
  toBinary(
    CreateTicketRequestSchema,
    create(CreateTicketRequestSchema, {
      event: { id: "event-1234", name: "Door Check Gala", location: "Paris, Grand Palais", timezone: "Europe/Paris" },
      guest: { id: "guest-123456", firstName: "Zoé", lastName: "Ørsted", email: "zoe.orsted@example.com" },
      ticketType: { id: "std", name: "Standard" },
    }),
  ),
);
encodeProtobufStringsWithBuffer();
const protobufText = getTextEncoding();
const bufferText = {
  ...protobufText,
  decodeUtf8(bytes: Uint8Array, strict?: boolean) {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (strict && !isUtf8(buffer)) throw new TypeError("invalid UTF-8");
    return buffer.toString("utf8");
  },
};
const decodeWith = (text: typeof protobufText) => () => {
  configureTextEncoding(text);
  try {
    return fromBinary(CreateTicketRequestSchema, request);
  } finally {
    configureTextEncoding(protobufText);
  }
};

const secret = Buffer.alloc(32, 7);
const key = createSecretKey(secret);
const signed = Buffer.alloc(28, 1);

const ROWS: ReadonlyArray<readonly [string, () => unknown, string, () => unknown]> = [
  ["ValidateTicket answer, built and encoded", () => answer(ticketToProto(row)), "with create()", () => answer(created(row))],
  ["Ticket, built", () => ticketToProto(row), "with create()", () => created(row)],
  ["CreateTicket request, decoded (TextDecoder)", decodeWith(protobufText), "Buffer#toString", decodeWith(bufferText)],
  [
    "token MAC, keyed with the Buffer",
    () => createHmac("sha256", secret).update("TG1.K1.", "ascii").update(signed).digest(),
    "a KeyObject",
    () => createHmac("sha256", key).update("TG1.K1.", "ascii").update(signed).digest(),
  ],
];

/** µs a call of one round of CALLS calls. */
function round(f: () => unknown): number {
  const started = performance.now();
  for (let i = 0; i < CALLS; i++) f();
  return ((performance.now() - started) * 1000) / CALLS;
}

console.log(`ticket encoding — node ${process.version}, median of ${ROUNDS} alternating rounds of ${CALLS.toLocaleString("en")} calls\n`);
console.log("| per call, as the API does it | µs | alternative | µs | API / alternative |");
console.log("|---|---:|---|---:|---:|");
for (const [label, ours, alternative, theirs] of ROWS) {
  round(ours);
  round(theirs);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    a.push(round(ours));
    b.push(round(theirs));
  }
  const [x, y] = [quantile(a, 0.5), quantile(b, 0.5)];
  console.log(`| ${label} | ${x.toFixed(2)} | ${alternative} | ${y.toFixed(2)} | ${(x / y).toFixed(2)} |`);
}
