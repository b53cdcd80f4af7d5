/**
 * The demo: starts the API and a render worker on local defaults (embedded PGlite, local Redis,
 * PDFs on disk, all under .data/demo/), then acts as a platform service would over gRPC: issues
 * tickets, waits for their PDFs and saves them, scans one at the door twice, revokes another,
 * then has the CLI turn a guest list into a batch with a live progress bar and one PDF.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { mintAccessToken, SCOPES } from "@ticketgen/shared";
import { TicketService, TicketStatus, ValidationResult, type Ticket } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { authorisedClient, downloaded, startLocalStack } from "./local-stack.ts";
import { portInUse } from "./port-in-use.ts";

const port = process.env.PORT ?? "3004";
const baseUrl = `http://127.0.0.1:${port}`;

if (await portInUse(Number(port))) {
  console.error(
    `demo: port ${port} is already in use (by \`pnpm start:api\`?), and the demo would talk to that process instead of its own API; stop it, or run the demo on another port: PORT=3104 ./scripts/demo.sh`,
  );
  process.exit(1);
}

// The demo's own database, PDFs and secrets: tickets it signs never mix with those of
// `pnpm start:api`, whose defaults are .data/pglite and .data/blobs with secrets of its own.
const dataDir = resolve(".data/demo");

/** A demo secret, generated once and kept in the demo's data so that earlier tickets and tokens still verify. */
function demoSecret(name: string): string {
  const file = `${dataDir}/${name}`;
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  }
  return readFileSync(file, "utf8").trim();
}

const outputDir = resolve(process.env.DEMO_OUTPUT_DIR ?? "demo-tickets");
const env = {
  ...process.env,
  PORT: port,
  // The demo calls gRPC only; any free WEB_PORT keeps it clear of an API already running.
  WEB_PORT: "0",
  METRICS_PORT: "0",
  QR_SIGNATURE_SECRET: process.env.QR_SIGNATURE_SECRET ?? demoSecret("signing-secret"),
  AUTH_JWT_SECRET: process.env.AUTH_JWT_SECRET ?? demoSecret("auth-secret"),
  PGLITE_DIR: process.env.PGLITE_DIR ?? `${dataDir}/pglite`,
  BLOB_DIR: process.env.BLOB_DIR ?? `${dataDir}/blobs`,
  // A render worker of `pnpm start:api` on the same Redis would otherwise take the demo's jobs
  // and write their PDFs where the demo's API never looks.
  QUEUE_PREFIX: process.env.QUEUE_PREFIX ?? "{ticketgen-demo}",
  LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
};
const stack = startLocalStack(env);

// The demo acts as organiser "demo" with every scope, and as that organiser's door scanner.
const token = await mintAccessToken(Buffer.from(env.AUTH_JWT_SECRET), { tenantId: "demo", scopes: SCOPES, ttlSeconds: 3600 });
const scannerToken = await mintAccessToken(Buffer.from(env.AUTH_JWT_SECRET), {
  tenantId: "demo",
  scopes: ["tickets:validate"],
  ttlSeconds: 3600,
});
const tickets = authorisedClient(TicketService, baseUrl, token);
const scanner = authorisedClient(TicketService, baseUrl, scannerToken);

const guests = [
  { id: "guest-1", firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" },
  { id: "guest-2", firstName: "Grace", lastName: "Hopper", email: "grace@example.com" },
  { id: "guest-3", firstName: "Alan", lastName: "Turing", email: "alan@example.com" },
];

async function savePdf(ticket: Ticket, name: string): Promise<string> {
  const file = `${outputDir}/${name}.pdf`;
  writeFileSync(file, await downloaded(tickets.downloadTicketPdf({ id: ticket.id })));
  return file;
}

try {
  console.log(
    `starting the ticketgen API on ${baseUrl} and a render worker (embedded PGlite and PDFs in ${env.PGLITE_DIR} and ${env.BLOB_DIR}, Redis at ${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"})`,
  );
  await stack.serving();
  const eventId = `demo-gala-${Date.now()}`;
  const startsAt = new Date(Date.now() + 14 * 86_400_000);
  const event = {
    id: eventId,
    name: "ticketgen Launch Gala",
    startsAt: timestampFromDate(startsAt),
    endsAt: timestampFromDate(new Date(startsAt.getTime() + 5 * 3_600_000)),
    location: "Salle Pleyel, Paris",
    timezone: "Europe/Paris",
  };

  console.log(`\nissuing ${guests.length} tickets for "${event.name}" over gRPC:`);
  const issued = [];
  for (const guest of guests) {
    const { ticket } = await tickets.createTicket({
      event,
      guest,
      ticketType: { id: "vip", name: "VIP" },
      locale: "fr",
      idempotencyKey: `${eventId}/${guest.id}`,
    });
    issued.push(ticket!);
    console.log(`  ${ticket!.ticketCode}  ${guest.firstName} ${guest.lastName}  ${TicketStatus[ticket!.status]}  QR ${ticket!.qrPayload}`);
  }

  mkdirSync(outputDir, { recursive: true });
  console.log(`\nrendering (one pooled Chromium) and saving the PDFs to ${outputDir}/:`);
  const started = Date.now();
  for (const [i, ticket] of issued.entries()) {
    const done = await stack.rendered(tickets, ticket.id);
    if (done.status !== TicketStatus.GENERATED) throw new Error(`ticket ${done.ticketCode} failed: ${done.failureReason}`);
    const file = await savePdf(done, `${done.ticketCode}-${guests[i]!.lastName}`);
    console.log(`  ${file}  ${(Number(done.pdfSize) / 1024).toFixed(1)} KB  sha256 ${done.pdfSha256.slice(0, 12)}…`);
  }
  console.log(`  all ${issued.length} generated within ${((Date.now() - started) / 1000).toFixed(1)} s of the last CreateTicket`);

  const page = await tickets.listTickets({ eventId });
  console.log(`\nListTickets(${eventId}): ${page.tickets.length} tickets`);

  const [first, second] = issued;
  const scan = (qrPayload: string) =>
    scanner.validateTicket({ credential: { case: "qrPayload", value: qrPayload }, eventId, redeem: true });
  console.log(`\nat the door, scanning ${first!.ticketCode}:`);
  console.log(`  first scan:  ${ValidationResult[(await scan(first!.qrPayload)).result]}`);
  console.log(`  second scan: ${ValidationResult[(await scan(first!.qrPayload)).result]}`);
  await tickets.revokeTicket({ id: second!.id, reason: "refunded" });
  console.log(`  ${second!.ticketCode} after revocation: ${ValidationResult[(await scan(second!.qrPayload)).result]}`);
  const forged = first!.qrPayload.slice(0, -4) + "AAAA";
  console.log(`  a forged QR: ${ValidationResult[(await scan(forged)).result]}`);
  const peek = await scanner.getTicket({ lookup: { case: "id", value: first!.id } }).then(
    () => "allowed",
    (error: unknown) => ConnectError.from(error).rawMessage,
  );
  console.log(`  the scanner's token (tickets:validate only) asking for a ticket's details: ${peek}`);

  console.log(`\na batch: the ticketgen CLI uploads scripts/demo-data/guests.csv, follows WatchBatch and saves one PDF for the lot:`);
  const batchPdf = `${outputDir}/batch-devconf-2036.pdf`;
  const cli = spawn(
    "node_modules/.bin/tsx",
    [
      "packages/cli/src/main.ts",
      "batch",
      "create",
      "--server",
      baseUrl,
      "--event",
      "scripts/demo-data/event.json",
      "--guests",
      "scripts/demo-data/guests.csv",
      "--locale",
      "en",
      "--out",
      batchPdf,
    ],
    { stdio: "inherit", env: { ...process.env, TICKETGEN_TOKEN: token } },
  );
  const [code] = (await once(cli, "exit")) as [number | null];
  if (code !== 0) throw new Error(`the ticketgen CLI exited with code ${code}`);
} finally {
  await stack.stop();
}
