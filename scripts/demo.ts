/**
 * The demo: starts the API on local defaults (embedded PGlite in .data/, local Redis), then
 * acts as a platform service would over gRPC: issues tickets, lists them, scans one at the
 * door twice, revokes another.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckResponse_ServingStatus } from "@ticketgen/shared/gen/health/v1/health_pb";
import { TicketService, TicketStatus, ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";

const port = process.env.PORT ?? "3004";
const baseUrl = `http://127.0.0.1:${port}`;

/** A demo secret, generated once and kept in .data/ so that earlier tickets still verify. */
function demoSecret(): string {
  const file = ".data/demo-signing-secret";
  if (!existsSync(file)) {
    mkdirSync(".data", { recursive: true });
    writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 });
  }
  return readFileSync(file, "utf8").trim();
}

const api = spawn("node_modules/.bin/tsx", ["packages/api/src/main.ts"], {
  env: {
    ...process.env,
    PORT: port,
    QR_SIGNATURE_SECRET: process.env.QR_SIGNATURE_SECRET ?? demoSecret(),
    PGLITE_DIR: process.env.PGLITE_DIR ?? `${process.cwd()}/.data/pglite`,
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  },
  stdio: ["ignore", "inherit", "inherit"],
});
const stopApi = () => new Promise<void>((resolve) => (api.exitCode !== null ? resolve() : (api.once("exit", () => resolve()), api.kill("SIGTERM"))));

const transport = createGrpcTransport({ baseUrl });
const tickets = createClient(TicketService, transport);
const health = createClient(Health, transport);

async function serving(): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (api.exitCode !== null) throw new Error(`the API exited with code ${api.exitCode}`);
    const status = await health.check({}).then((r) => r.status, () => undefined);
    if (status === HealthCheckResponse_ServingStatus.SERVING) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the API did not become SERVING within 60 s");
}

const guests = [
  { id: "guest-1", firstName: "Ada", lastName: "Lovelace", email: "ada@example.com" },
  { id: "guest-2", firstName: "Grace", lastName: "Hopper", email: "grace@example.com" },
  { id: "guest-3", firstName: "Alan", lastName: "Turing", email: "alan@example.com" },
];

try {
  console.log(`starting the ticketgen API on ${baseUrl} (embedded PGlite in .data/pglite, Redis at ${process.env.REDIS_URL ?? "redis://127.0.0.1:6379"})`);
  await serving();
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

  const page = await tickets.listTickets({ eventId });
  console.log(`\nListTickets(${eventId}): ${page.tickets.length} tickets`);

  const [first, second] = issued;
  const scan = (qrPayload: string) => tickets.validateTicket({ credential: { case: "qrPayload", value: qrPayload }, eventId, redeem: true });
  console.log(`\nat the door, scanning ${first!.ticketCode}:`);
  console.log(`  first scan:  ${ValidationResult[(await scan(first!.qrPayload)).result]}`);
  console.log(`  second scan: ${ValidationResult[(await scan(first!.qrPayload)).result]}`);
  await tickets.revokeTicket({ id: second!.id, reason: "refunded" });
  console.log(`  ${second!.ticketCode} after revocation: ${ValidationResult[(await scan(second!.qrPayload)).result]}`);
  const forged = first!.qrPayload.slice(0, -4) + "AAAA";
  console.log(`  a forged QR: ${ValidationResult[(await scan(forged)).result]}`);
  console.log("\nrender workers arrive with the next milestone: tickets stay PENDING until then.");
} finally {
  await stopApi();
}
