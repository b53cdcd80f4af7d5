import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@ticketgen/shared/gen/health/v1/health_pb";
import { TicketService } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { spawnService } from "./support/processes.ts";
import { ticketRequest } from "./support/requests.ts";
import { grpcTransport, testEnv } from "./support/stack.ts";

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
});

function spawnApi(env: Record<string, string | undefined>) {
  const api = spawnService("api", env);
  children.push(api.child);
  return api;
}

async function listening(api: ReturnType<typeof spawnApi>): Promise<number> {
  return Number((await api.outputMatching(/"port":(\d+)\D/))[1]);
}

describe("API process", () => {
  it("refuses to start without a signing secret, naming the variable", async () => {
    const api = spawnApi({ ...testEnv(), QR_SIGNATURE_SECRET: undefined });
    const [code] = await once(api.child, "close");
    expect(code).toBe(78);
    expect(api.output()).toContain("QR_SIGNATURE_SECRET: is not set; set QR_SIGNATURE_SECRET to a random string of at least 32 bytes");
  });

  it("refuses to start under NODE_ENV=production without authentication, in one line naming the variables", async () => {
    const api = spawnApi({ ...testEnv(), NODE_ENV: "production" });
    const [code] = await once(api.child, "close");
    expect(code).toBe(78);
    expect(api.output()).toBe(
      "ticketgen api: invalid configuration: AUTH_JWT_SECRET or AUTH_JWKS_URL: must be set under NODE_ENV=production, where every call needs a bearer token\n",
    );
  });

  it("warns at start when it runs without authentication outside production", async () => {
    const api = spawnApi({ ...testEnv(), LOG_LEVEL: "warn" });
    const [warning] = await api.outputMatching(/^.*auth_disabled.*\n/m);
    expect(JSON.parse(warning)).toMatchObject({ level: 40, action: "auth_disabled" });
  });

  it("refuses a bad value, naming it", async () => {
    const api = spawnApi({ ...testEnv(), PORT: "http", QR_SIGNATURE_SECRET: "short" });
    const [code] = await once(api.child, "close");
    expect(code).toBe(78);
    expect(api.output()).toContain('PORT: must be an integer from 0 to 65535 (got "http")');
    expect(api.output()).toContain('QR_SIGNATURE_SECRET: the secret of key "K1" is 5 bytes; at least 32 are required');
  });

  it("drains on SIGTERM: NOT_SERVING, in-flight calls finish, new calls refused, exit 0", async () => {
    const api = spawnApi({ ...testEnv(), LOG_LEVEL: "info" });
    const baseUrl = `http://127.0.0.1:${await listening(api)}`;
    const tickets = createClient(TicketService, grpcTransport(baseUrl));
    const health = createClient(Health, grpcTransport(baseUrl));

    const watched: Status[] = [];
    const watching = (async () => {
      for await (const { status } of health.watch({ service: "" })) watched.push(status);
    })();

    const calls = Array.from({ length: 30 }, () => tickets.createTicket(ticketRequest()));
    await Promise.race(calls);
    api.child.kill("SIGTERM");
    const results = await Promise.allSettled(calls);
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);

    await watching;
    expect(watched).toEqual([Status.SERVING, Status.NOT_SERVING]);

    const [code] = await once(api.child, "close");
    expect(code).toBe(0);
    expect(api.output()).toContain('"action":"api_stopped"');
    const late = await tickets.createTicket(ticketRequest()).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(late?.code).toBe(Code.Unavailable);
  });
});
