import { randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createClient, Code, ConnectError } from "@connectrpc/connect";
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SCOPES, type Scope } from "@ticketgen/shared";
import { Health, HealthCheckResponse_ServingStatus } from "@ticketgen/shared/gen/health/v1/health_pb";
import { BatchService } from "@ticketgen/shared/gen/ticketgen/v1/batch_pb";
import { TemplateService } from "@ticketgen/shared/gen/ticketgen/v1/template_pb";
import { TicketService, ValidationResult } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { METHOD_SCOPES } from "../src/auth/method-scopes.ts";
import { clientsFor, grpcTransport, startTestApi, TEST_AUTH_SECRET, type TestApi } from "./support/stack.ts";
import { ticketRequest } from "./support/requests.ts";

const ISSUER = "https://id.example.test/";
const AUDIENCE = "ticketgen";
const now = () => Math.floor(Date.now() / 1000);
const JWKS_COOLDOWN_MS = 1000;

/** A JWKS endpoint on loopback that counts its fetches and can rotate keys. */
class JwksServer {
  fetches = 0;
  keys: JWK[] = [];
  /** Anything but 200 answers with that status and no key set. */
  status = 200;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((_req, res) => {
      this.fetches++;
      if (this.status !== 200) {
        res.writeHead(this.status).end("upstream trouble");
        return;
      }
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/.well-known/jwks.json`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()));
  }
}

interface SigningKey {
  alg: "RS256" | "ES256" | "EdDSA";
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
  publicPem: string;
}

async function signingKey(alg: SigningKey["alg"]): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `${alg}-${randomUUID()}`;
  return { alg, kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" }, publicPem: await exportSPKI(publicKey) };
}

const claims = (overrides: JWTPayload = {}): JWTPayload => ({
  tenant_id: "acme",
  scope: SCOPES.join(" "),
  iss: ISSUER,
  aud: AUDIENCE,
  iat: now(),
  exp: now() + 600,
  ...overrides,
});

/** Claims as given (undefined drops one), HS256 with `secret` unless a key is given. */
function sign(payload: JWTPayload, key: SigningKey | Uint8Array = Buffer.from(TEST_AUTH_SECRET)): Promise<string> {
  const defined = Object.fromEntries(Object.entries(payload).filter(([, value]) => value !== undefined));
  const jwt = new SignJWT(defined);
  if (key instanceof Uint8Array) return jwt.setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key);
  return jwt.setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" }).sign(key.privateKey);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

let api: TestApi;
let jwks: JwksServer;
let keys: Record<SigningKey["alg"], SigningKey>;

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "the call should have been refused").toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

/** GetTicket of an unknown id: NOT_FOUND proves the token was accepted, anything else is its refusal. */
async function tryToken(token: string | undefined, header = token && `Bearer ${token}`): Promise<ConnectError> {
  const client = createClient(TicketService, grpcTransport(api.baseUrl));
  return refusal(client.getTicket({ lookup: { case: "id", value: randomUUID() } }, { headers: header ? { authorization: header } : {} }));
}

function expectRefused(error: ConnectError, code: Code, message: string, token?: string): void {
  expect({ code: Code[error.code], message: error.rawMessage }).toEqual({ code: Code[code], message });
  if (token) for (const part of token.split(".").filter((p) => p.length > 8)) expect(error.rawMessage).not.toContain(part);
}

const accepted = (error: ConnectError) => expect(Code[error.code], error.rawMessage).toBe("NotFound");

beforeAll(async () => {
  jwks = new JwksServer();
  const url = await jwks.start();
  keys = { RS256: await signingKey("RS256"), ES256: await signingKey("ES256"), EdDSA: await signingKey("EdDSA") };
  jwks.keys = Object.values(keys).map((key) => key.jwk);
  api = await startTestApi({
    AUTH_JWT_SECRET: TEST_AUTH_SECRET,
    AUTH_JWKS_URL: url,
    AUTH_JWT_ISSUER: ISSUER,
    AUTH_JWT_AUDIENCE: AUDIENCE,
    AUTH_JWKS_COOLDOWN_MS: String(JWKS_COOLDOWN_MS),
  });
});

afterAll(async () => {
  await api?.stop();
  await jwks?.close();
});

describe("authentication", () => {
  it("lets anyone call health and reflection without a token", async () => {
    const health = createClient(Health, grpcTransport(api.baseUrl));
    expect((await health.check({})).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await health.check({ service: TicketService.typeName })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("refuses a call without a token, or with another scheme", async () => {
    expectRefused(
      await tryToken(undefined),
      Code.Unauthenticated,
      "authorization: a bearer token is required (authorization: Bearer <JWT>)",
    );
    expectRefused(await tryToken(undefined, "Basic dXNlcjpwYXNz"), Code.Unauthenticated, 'authorization: must be "Bearer <JWT>"');
    expectRefused(await tryToken(undefined, "Bearer"), Code.Unauthenticated, 'authorization: must be "Bearer <JWT>"');
  });

  it("refuses malformed tokens without echoing them", async () => {
    const header = b64({ alg: "HS256", typ: "JWT" });
    for (const token of [
      "not-a-jwt",
      "a.b.c",
      `${header}.${b64(claims())}`,
      `${header}.${b64(claims())}.AAAA.AAAA`,
      `${header}.${b64(claims())}.!!!`,
    ]) {
      expectRefused(await tryToken(token), Code.Unauthenticated, "the bearer token is malformed (not a signed JWT)", token);
    }
  });

  it("accepts a valid HS256 token and refuses one signed with another secret", async () => {
    accepted(await tryToken(await sign(claims())));
    const forged = await sign(claims(), Buffer.from("another-secret-of-at-least-32-bytes!!"));
    expectRefused(await tryToken(forged), Code.Unauthenticated, "the bearer token's signature is invalid", forged);
  });

  it("refuses a changed claim under a genuine signature", async () => {
    const [header, , signature] = (await sign(claims())).split(".");
    const tampered = `${header}.${b64(claims({ tenant_id: "other" }))}.${signature}`;
    expectRefused(await tryToken(tampered), Code.Unauthenticated, "the bearer token's signature is invalid", tampered);
  });

  it('refuses alg "none" and algorithm confusion', async () => {
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64(claims())}.`;
    expectRefused(
      await tryToken(unsigned),
      Code.Unauthenticated,
      "the bearer token is signed with an algorithm this service does not accept",
      unsigned,
    );
    // The classic confusion: HS256 keyed with the RSA public key an attacker can download.
    for (const secret of [keys.RS256.publicPem, JSON.stringify(keys.RS256.jwk)]) {
      const confused = await new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid: keys.RS256.kid }).sign(Buffer.from(secret));
      expectRefused(await tryToken(confused), Code.Unauthenticated, "the bearer token's signature is invalid", confused);
    }
    const hs512 = await new SignJWT(claims()).setProtectedHeader({ alg: "HS512" }).sign(Buffer.from(TEST_AUTH_SECRET));
    expectRefused(
      await tryToken(hs512),
      Code.Unauthenticated,
      "the bearer token is signed with an algorithm this service does not accept",
      hs512,
    );
  });

  it("requires exp and honours exp, nbf and iat with 60 s of clock skew", async () => {
    const refused = async (overrides: JWTPayload, message: string) => {
      const token = await sign(claims(overrides));
      expectRefused(await tryToken(token), Code.Unauthenticated, message, token);
    };
    await refused({ exp: undefined }, 'the bearer token has no "exp" claim');
    await refused({ exp: now() - 90 }, "the bearer token has expired; obtain a new one");
    await refused({ nbf: now() + 90 }, "the bearer token is not valid yet (nbf is in the future)");
    await refused({ iat: now() + 90 }, "the bearer token was issued in the future (iat); check the issuer's clock");
    accepted(await tryToken(await sign(claims({ exp: now() - 30, nbf: now() + 30, iat: now() + 30 }))));
  });

  it("checks the issuer and the audience", async () => {
    const refused = async (overrides: JWTPayload, message: string) => {
      const token = await sign(claims(overrides));
      expectRefused(await tryToken(token), Code.Unauthenticated, message, token);
    };
    await refused({ iss: "https://evil.example.test/" }, 'the bearer token\'s "iss" claim is not the one this service expects');
    await refused({ iss: undefined }, 'the bearer token has no "iss" claim');
    await refused({ aud: "another-service" }, 'the bearer token\'s "aud" claim is not the one this service expects');
    await refused({ aud: undefined }, 'the bearer token has no "aud" claim');
    accepted(await tryToken(await sign(claims({ aud: ["another-service", AUDIENCE] }))));
  });

  it("requires a well-formed tenant_id claim", async () => {
    const missing = await sign(claims({ tenant_id: undefined }));
    expectRefused(await tryToken(missing), Code.Unauthenticated, 'the bearer token has no "tenant_id" claim', missing);
    for (const tenant of ["", "a:b", "../etc", "{tag}", "x".repeat(65), 42]) {
      const token = await sign(claims({ tenant_id: tenant }));
      expectRefused(
        await tryToken(token),
        Code.Unauthenticated,
        'the bearer token\'s "tenant_id" claim must be 1-64 letters, digits, _ . or -, starting with a letter or digit',
        token,
      );
    }
  });

  it("verifies RS256, ES256 and EdDSA tokens against the JWKS", async () => {
    for (const key of Object.values(keys)) accepted(await tryToken(await sign(claims(), key)));
    const stranger = await signingKey("ES256");
    const unknown = await sign(claims(), { ...stranger, kid: keys.ES256.kid });
    expectRefused(await tryToken(unknown), Code.Unauthenticated, "the bearer token's signature is invalid", unknown);
  });

  it("refetches the JWKS for an unknown kid, at most once per cooldown", async () => {
    // jose times the cooldown with Date.now(): frozen, the flood below stays within one cooldown
    // however slow this machine is; moved on, the cooldown ends without sleeping through it.
    vi.useFakeTimers({ toFake: ["Date"] });
    const passCooldown = () => vi.setSystemTime(Date.now() + JWKS_COOLDOWN_MS + 1);
    try {
      const rotated = await signingKey("ES256");
      const token = await sign(claims(), rotated);
      // Not published yet: refused, and a flood of unknown kids costs at most one more fetch.
      passCooldown();
      const before = jwks.fetches;
      expectRefused(
        await tryToken(token),
        Code.Unauthenticated,
        "the bearer token is signed with a key (kid) this service does not know",
        token,
      );
      for (let i = 0; i < 20; i++) {
        const flood = await sign(claims(), { ...rotated, kid: `unknown-${i}` });
        expectRefused(
          await tryToken(flood),
          Code.Unauthenticated,
          "the bearer token is signed with a key (kid) this service does not know",
        );
      }
      expect(jwks.fetches - before).toBe(1);
      // Published: accepted once the cooldown has passed.
      jwks.keys = [...jwks.keys, rotated.jwk];
      passCooldown();
      accepted(await tryToken(token));
      expect(jwks.fetches - before).toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it("accepts tokens of the previous HS256 secret during a rotation, and no other", async () => {
    const next = "next-auth-secret-0123456789abcdef-0123456";
    const rotating = await startTestApi({ AUTH_JWT_SECRET: next, AUTH_JWT_PREVIOUS_SECRET: TEST_AUTH_SECRET });
    try {
      const client = createClient(TicketService, grpcTransport(rotating.baseUrl));
      const get = async (secret: string) => {
        const token = await sign({ tenant_id: "acme", scope: "tickets:read", exp: now() + 60 }, Buffer.from(secret));
        return refusal(
          client.getTicket({ lookup: { case: "id", value: randomUUID() } }, { headers: { authorization: `Bearer ${token}` } }),
        );
      };
      accepted(await get(next));
      accepted(await get(TEST_AUTH_SECRET));
      expectRefused(await get("a-third-secret-0123456789abcdef-01234567"), Code.Unauthenticated, "the bearer token's signature is invalid");
    } finally {
      await rotating.stop();
    }
  });

  it("answers UNAVAILABLE while the JWKS answers with an error, and accepts the token once it is back", async () => {
    const failing = new JwksServer();
    failing.keys = [keys.ES256.jwk];
    failing.status = 503;
    const down = await startTestApi({ AUTH_JWKS_URL: await failing.start() });
    try {
      const client = createClient(TicketService, grpcTransport(down.baseUrl));
      const token = await sign({ tenant_id: "acme", scope: "tickets:read", exp: now() + 60 }, keys.ES256);
      const get = () =>
        refusal(client.getTicket({ lookup: { case: "id", value: randomUUID() } }, { headers: { authorization: `Bearer ${token}` } }));
      expectRefused(await get(), Code.Unavailable, "the token signing keys (AUTH_JWKS_URL) could not be fetched; retry later", token);
      failing.status = 200;
      accepted(await get());
    } finally {
      await down.stop();
      await failing.close();
    }
  });

  it("answers UNAVAILABLE while the JWKS cannot be fetched", async () => {
    const down = await startTestApi({ AUTH_JWKS_URL: "http://127.0.0.1:9/jwks.json" });
    try {
      const client = createClient(TicketService, grpcTransport(down.baseUrl));
      const token = await sign({ tenant_id: "acme", scope: "tickets:read", exp: now() + 60 }, keys.RS256);
      const error = await refusal(
        client.getTicket({ lookup: { case: "id", value: randomUUID() } }, { headers: { authorization: `Bearer ${token}` } }),
      );
      expectRefused(error, Code.Unavailable, "the token signing keys (AUTH_JWKS_URL) could not be fetched; retry later", token);
    } finally {
      await down.stop();
    }
  });
});

describe("scopes", () => {
  type AnyClient = Record<string, (request: object, options: { headers: Record<string, string>; timeoutMs: number }) => unknown>;
  const services = [TicketService, BatchService, TemplateService];

  /** Calls every ticketgen RPC with an empty request; returns the scope-related outcome of each. */
  async function callEverything(token: string): Promise<Map<string, ConnectError | "passed">> {
    const outcomes = new Map<string, ConnectError | "passed">();
    const transport = grpcTransport(api.baseUrl);
    for (const service of services) {
      const client = createClient(service, transport) as unknown as AnyClient;
      for (const method of service.methods) {
        const call = async () => {
          // A call let through may wait for work (PreviewTemplate with no worker): the deadline ends it.
          const result = client[method.localName]!({}, { headers: { authorization: `Bearer ${token}` }, timeoutMs: 1000 });
          if (result && typeof (result as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
            for await (const _ of result as AsyncIterable<unknown>) break;
          } else await result;
        };
        const name = `${service.typeName}/${method.name}`;
        // Past authorization, an empty request is refused by validation (or found missing).
        const error = await call().then(
          () => undefined,
          (e: unknown) => ConnectError.from(e),
        );
        outcomes.set(name, error && (error.code === Code.PermissionDenied || error.code === Code.Unauthenticated) ? error : "passed");
      }
    }
    return outcomes;
  }

  it("lets each scope reach exactly its RPCs and names the missing scope otherwise", async () => {
    for (const scope of SCOPES) {
      const token = await sign(claims({ scope }));
      const outcomes = await callEverything(token);
      for (const [method, outcome] of outcomes) {
        const needed = METHOD_SCOPES.get(method)!;
        if (needed === scope) expect(outcome, `${scope} → ${method}`).toBe("passed");
        else {
          expect(outcome, `${scope} → ${method}`).toBeInstanceOf(ConnectError);
          expectRefused(
            outcome as ConnectError,
            Code.PermissionDenied,
            `this call needs the "${needed}" scope; the token grants: ${scope}`,
            token,
          );
        }
      }
    }
  });

  it("gives a door scanner's token ValidateTicket and nothing else", async () => {
    const full = clientsFor(api.baseUrl, await sign(claims()));
    const { ticket } = await full.tickets.createTicket(ticketRequest());
    const scanner = clientsFor(api.baseUrl, await sign(claims({ scope: "tickets:validate" })));
    const verdict = await scanner.tickets.validateTicket({ credential: { case: "qrPayload", value: ticket!.qrPayload } });
    expect(verdict.result).toBe(ValidationResult.VALID);
    const denied = await refusal(scanner.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } }));
    expectRefused(denied, Code.PermissionDenied, 'this call needs the "tickets:read" scope; the token grants: tickets:validate');
    const revoke = await refusal(scanner.tickets.revokeTicket({ id: ticket!.id, reason: "scanner" }));
    expectRefused(revoke, Code.PermissionDenied, 'this call needs the "tickets:write" scope; the token grants: tickets:validate');
    const unknownScopes = clientsFor(api.baseUrl, await sign(claims({ scope: "admin tickets:everything" })));
    expectRefused(
      await refusal(unknownScopes.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } })),
      Code.PermissionDenied,
      'this call needs the "tickets:read" scope; the token grants: none',
    );
    expect((await full.tickets.getTicket({ lookup: { case: "id", value: ticket!.id } })).ticket?.status).toBeDefined();
  });

  it("checks authentication before validation, so a stranger learns nothing about the rules", async () => {
    const client = createClient(BatchService, grpcTransport(api.baseUrl));
    const error = await refusal(client.createBatch({}));
    expectRefused(error, Code.Unauthenticated, "authorization: a bearer token is required (authorization: Bearer <JWT>)");
  });

  it("keeps the scope list and the table in step", () => {
    expect(new Set(METHOD_SCOPES.values())).toEqual(new Set<Scope>(SCOPES));
  });
});
