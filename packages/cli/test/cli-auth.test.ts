import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ticketRequest } from "../../api/test/support/requests.ts";
import { clientsFor, startTestApi, TEST_AUTH_SECRET, testToken, type TestApi } from "../../api/test/support/stack.ts";
import { runCli } from "./support/run-cli.ts";

let api: TestApi;
const withSecret = { AUTH_JWT_SECRET: TEST_AUTH_SECRET, AUTH_JWT_SECRET_FILE: undefined, TICKETGEN_TOKEN: undefined };

beforeAll(async () => {
  api = await startTestApi({ AUTH_JWT_SECRET: TEST_AUTH_SECRET });
});

afterAll(async () => {
  await api?.stop();
});

describe("ticketgen token and --token", () => {
  it("mints a token the API accepts, with the tenant, scopes and lifetime asked for", async () => {
    const run = await runCli(["token", "--tenant", "acme", "--scope", "tickets:validate,tickets:read", "--ttl", "2h"], 60_000, withSecret);
    expect(run.code, run.stderr).toBe(0);
    const token = run.stdout.trim();
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ tenant_id: "acme", scope: "tickets:validate tickets:read" });
    expect(claims.exp! - claims.iat!).toBe(7200);

    const { ticket } = await clientsFor(api.baseUrl, await testToken("acme")).tickets.createTicket(ticketRequest());
    const validate = await runCli(["--server", api.baseUrl, "--token", token, "ticket", "validate", ticket!.ticketCode]);
    expect(validate, validate.stderr).toMatchObject({ code: 0, stderr: "" });
    expect(validate.stdout).toMatch(new RegExp(`^VALID  ${ticket!.ticketCode}\\n`));
  });

  it("reads TICKETGEN_TOKEN, and reports a refusal in one line", async () => {
    const scanner = (await runCli(["token", "--scope", "tickets:validate"], 60_000, withSecret)).stdout.trim();
    const denied = await runCli(["--server", api.baseUrl, "ticket", "get", "TKT-X"], 60_000, { TICKETGEN_TOKEN: scanner });
    expect(denied).toEqual({
      code: 1,
      stdout: "",
      stderr: 'ticketgen: PERMISSION_DENIED: this call needs the "tickets:read" scope; the token grants: tickets:validate\n',
    });
    const anonymous = await runCli(["--server", api.baseUrl, "ticket", "get", "TKT-X"], 60_000, { TICKETGEN_TOKEN: undefined });
    expect(anonymous.stderr).toBe("ticketgen: UNAUTHENTICATED: authorization: a bearer token is required (authorization: Bearer <JWT>)\n");
  });

  it("takes the secret from AUTH_JWT_SECRET_FILE, and explains a missing, short or doubly set one by the API's rules", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "ticketgen-token-")), "secret");
    writeFileSync(file, `${TEST_AUTH_SECRET}\n`);
    // Each run is a process of its own: run them side by side.
    const [fromFile, none, short, both, scope] = await Promise.all([
      runCli(["token"], 60_000, { AUTH_JWT_SECRET: undefined, AUTH_JWT_SECRET_FILE: file }),
      runCli(["token"], 60_000, { AUTH_JWT_SECRET: undefined, AUTH_JWT_SECRET_FILE: undefined }),
      runCli(["token"], 60_000, { AUTH_JWT_SECRET: "short" }),
      runCli(["token"], 60_000, { AUTH_JWT_SECRET: TEST_AUTH_SECRET, AUTH_JWT_SECRET_FILE: file }),
      runCli(["token", "--scope", "tickets:everything"], 60_000, withSecret),
    ]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(decodeJwt(fromFile.stdout.trim())).toMatchObject({ tenant_id: "default" });
    expect(none).toEqual({
      code: 1,
      stdout: "",
      stderr: "ticketgen: AUTH_JWT_SECRET (or AUTH_JWT_SECRET_FILE) must be set to the API's secret to mint a token\n",
    });
    expect(short.stderr).toBe("ticketgen: AUTH_JWT_SECRET: must be at least 32 bytes (e.g. `openssl rand -hex 32`)\n");
    expect(both.stderr).toBe("ticketgen: AUTH_JWT_SECRET: set either AUTH_JWT_SECRET or AUTH_JWT_SECRET_FILE, not both\n");
    expect(scope.stderr).toBe(
      "ticketgen: option '--scope <scopes>' argument 'tickets:everything' is invalid. unknown scope tickets:everything; known: tickets:read tickets:write tickets:validate batches:read batches:write templates:read templates:write\n",
    );
  });
});
