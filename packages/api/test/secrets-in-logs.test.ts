import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mintAccessToken, SCOPES, type Env } from "@ticketgen/shared";
import { TicketStatus, ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { startS3Server, type S3Server } from "../../shared/test/support/s3-server.ts";
import { spawnService, type Spawned } from "./support/processes.ts";
import { freePort, RedisServer } from "./support/redis-server.ts";
import { ticketRequest } from "./support/requests.ts";
import { clientsFor, testEnv, waitFor } from "./support/stack.ts";

/** Known values, unique to this run, for every secret the services read. */
const run = randomBytes(4).toString("hex");
const secret = (name: string) => `${name}-${run}-${randomBytes(16).toString("hex")}`;
const SECRETS = {
  qr: secret("qr-signing-key"),
  jwt: secret("jwt-secret"),
  webhook: secret("webhook-secret"),
  s3: secret("s3-secret-key"),
  redis: secret("redis-password"),
  db: secret("db-password"),
};

/** Every form a secret could take in a log line: as is, base64, base64url, hex, a JSON Buffer. */
function forms(value: string): string[] {
  const bytes = Buffer.from(value);
  return [value, bytes.toString("base64"), bytes.toString("base64url"), bytes.toString("hex"), bytes.toJSON().data.join(",")];
}

function expectNoSecret(output: string, values: readonly string[]): void {
  expect(output.length).toBeGreaterThan(0);
  for (const value of values)
    for (const form of forms(value)) expect(output, `a form of ${value.split("-").slice(0, -2).join("-")}`).not.toContain(form);
}

const secretsDir = mkdtempSync(join(tmpdir(), "ticketgen-secrets-"));
function secretFile(name: string, content: string): string {
  const path = join(secretsDir, name);
  // As a Kubernetes Secret volume shows a key written with a trailing newline.
  writeFileSync(path, `${content}\n`);
  return path;
}

const BUCKET = "tickets";
let redis: RedisServer;
let s3: S3Server;
let receiver: Server;
const deliveries: Array<{ headers: IncomingHttpHeaders; body: string }> = [];
const spawned: Spawned[] = [];

beforeAll(async () => {
  redis = new RedisServer(await freePort(), { password: SECRETS.redis });
  await redis.start();
  s3 = await startS3Server(BUCKET);
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  for (const child of spawned.splice(0)) child.kill();
  await redis?.stop();
  await s3?.close();
  receiver?.close();
});

function start(service: "api" | "render-worker", env: Env): Spawned {
  const child = spawnService(service, env);
  spawned.push(child);
  return child;
}

/** What API and worker share: the password-protected Redis and the S3 store, at LOG_LEVEL=debug. */
function sharedEnv(): Env {
  return {
    ...testEnv({ LOG_LEVEL: "debug" }),
    QR_SIGNATURE_SECRET: undefined,
    REDIS_URL: redis.url,
    BLOB_STORE: "s3",
    S3_BUCKET: BUCKET,
    S3_ENDPOINT: s3.endpoint,
    S3_FORCE_PATH_STYLE: "true",
    S3_ACCESS_KEY_ID: s3.accessKeyId,
  };
}

describe("no secret is ever logged", () => {
  it(
    "a real API and worker at LOG_LEVEL=debug, secrets from files and from the environment, issuing, rendering, validating, downloading and announcing a ticket",
    { timeout: 120_000 },
    async () => {
      const common = sharedEnv();
      // The API reads its secrets from files (Kubernetes' way), the worker from the environment.
      const api = start("api", {
        ...common,
        QR_SIGNING_KEYS_FILE: secretFile("qr-signing-keys", `K1:${SECRETS.qr}`),
        AUTH_JWT_SECRET: SECRETS.jwt,
        CORE_SERVICE_WEBHOOK_URL: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`,
        WEBHOOK_SECRET_FILE: secretFile("webhook-secret", SECRETS.webhook),
        S3_SECRET_ACCESS_KEY_FILE: secretFile("s3-secret-access-key", SECRETS.s3),
        REDIS_PASSWORD_FILE: secretFile("redis-password", SECRETS.redis),
        DB_PASSWORD_FILE: secretFile("db-password", SECRETS.db),
      });
      const worker = start("render-worker", { ...common, REDIS_PASSWORD: SECRETS.redis, S3_SECRET_ACCESS_KEY: SECRETS.s3 });
      const port = (await api.outputMatching(/"port":(\d+)\D/))[1];
      const baseUrl = `http://127.0.0.1:${port}`;
      const token = await mintAccessToken(Buffer.from(SECRETS.jwt), { tenantId: `tenant-${run}`, scopes: SCOPES, ttlSeconds: 600 });
      const { tickets } = clientsFor(baseUrl, token);

      const { ticket: created } = await tickets.createTicket(ticketRequest());
      const ticket = await waitFor(
        async () => {
          const { ticket } = await tickets.getTicket({ lookup: { case: "id", value: created!.id } });
          return ticket?.status === TicketStatus.GENERATED ? ticket : undefined;
        },
        60_000,
        "ticket generated (rendered by the worker, stored in S3)",
      );
      const verdict = await tickets.validateTicket({ credential: { case: "qrPayload", value: ticket.qrPayload }, eventId: ticket.eventId });
      expect(verdict.result).toBe(ValidationResult.VALID);
      let pdfBytes = 0;
      for await (const { chunk } of tickets.downloadTicketPdf({ id: ticket.id })) pdfBytes += chunk.length;
      expect(pdfBytes).toBe(Number(ticket.pdfSize));
      // Refused callers: no token, and a token signed with another secret.
      const refused = async (client: ReturnType<typeof clientsFor>) =>
        ConnectError.from(await client.tickets.getTicket({ lookup: { case: "id", value: randomUUID() } }).catch((error: unknown) => error))
          .code;
      expect(await refused(clientsFor(baseUrl))).toBe(Code.Unauthenticated);
      const forged = await mintAccessToken(Buffer.from(secret("forger")), { tenantId: `tenant-${run}`, scopes: SCOPES, ttlSeconds: 600 });
      expect(await refused(clientsFor(baseUrl, forged))).toBe(Code.Unauthenticated);

      // The webhook went out, signed with the secret from the file.
      const delivery = await waitFor(async () => deliveries.find((d) => d.body.includes(ticket.id)), 30_000, "webhook delivered");
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]+)$/.exec(String(delivery.headers["x-ticketgen-signature"]))!;
      expect(v1).toBe(createHmac("sha256", SECRETS.webhook).update(`${t}.${delivery.body}`).digest("hex"));

      for (const child of [api, worker]) child.kill("SIGTERM");
      expect([await api.exited(), await worker.exited()]).toEqual([0, 0]);
      expectNoSecret(api.output(), [...Object.values(SECRETS), token]);
      expectNoSecret(worker.output(), [...Object.values(SECRETS), token]);
    },
  );

  it(
    "bad configurations: the API and the worker refuse to start, exit 78, and name the variables without their values",
    { timeout: 30_000 },
    async () => {
      const short = secret("short").slice(0, 20);
      const api = start("api", {
        ...sharedEnv(),
        // A key ring whose second key lost its kid, a webhook secret too short, a JWT secret given twice.
        QR_SIGNING_KEYS_FILE: secretFile("bad-qr-signing-keys", `K1:${SECRETS.qr},${SECRETS.qr}`),
        CORE_SERVICE_WEBHOOK_URL: "http://127.0.0.1:9/hooks",
        WEBHOOK_SECRET: short,
        AUTH_JWT_SECRET: SECRETS.jwt,
        AUTH_JWT_SECRET_FILE: secretFile("jwt-secret", SECRETS.jwt),
        S3_SECRET_ACCESS_KEY: SECRETS.s3,
        S3_SECRET_ACCESS_KEY_FILE: secretFile("s3-secret-access-key-too", SECRETS.s3),
        DB_PASSWORD: SECRETS.db,
        DATABASE_URL: `postgres://app:${SECRETS.redis}@127.0.0.1:5432/test`,
      });
      const worker = start("render-worker", {
        ...sharedEnv(),
        REDIS_PASSWORD: SECRETS.redis,
        REDIS_PASSWORD_FILE: secretFile("redis-password-too", SECRETS.redis),
      });
      expect([await api.exited(), await worker.exited()]).toEqual([78, 78]);
      const [first, ...problems] = api.output().trim().split("\n");
      expect(first).toBe("ticketgen api: invalid configuration:");
      expect(problems.map((line) => line.trim().split(":")[0]).sort()).toEqual([
        "AUTH_JWT_SECRET",
        "DB_PASSWORD",
        "QR_SIGNING_KEYS",
        "S3_SECRET_ACCESS_KEY",
        "WEBHOOK_SECRET",
      ]);
      expect(worker.output()).toBe(
        "ticketgen render-worker: invalid configuration: REDIS_PASSWORD: set either REDIS_PASSWORD or REDIS_PASSWORD_FILE, not both\n",
      );
      expectNoSecret(api.output(), [...Object.values(SECRETS), short]);
      expectNoSecret(worker.output(), Object.values(SECRETS));
    },
  );

  it(
    "a wrong Redis password at LOG_LEVEL=debug: the worker stops naming the setting, with the stack, never the password it tried",
    { timeout: 30_000 },
    async () => {
      const wrong = secret("wrong-redis-password");
      const worker = start("render-worker", { ...sharedEnv(), REDIS_PASSWORD_FILE: secretFile("wrong-redis-password", wrong) });
      expect(await worker.exited()).toBe(78);
      expect(worker.output()).toMatch(/^ticketgen render-worker: REDIS_PASSWORD: Redis at \S+ refuses the password: WRONGPASS/m);
      // The debug stack includes ioredis' error, whose command arguments (the password) are left out.
      expect(worker.output()).toMatch(/^caused by: ReplyError: WRONGPASS/m);
      expectNoSecret(worker.output(), [wrong, ...Object.values(SECRETS)]);
    },
  );
});
