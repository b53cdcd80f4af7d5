import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "@ticketgen/shared";

const BASE = { QR_SIGNATURE_SECRET: "s".repeat(32) };

function problem(env: Record<string, string>): string {
  try {
    loadConfig({ ...BASE, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("the configuration was accepted");
}

describe("authentication settings", () => {
  it("leaves authentication off when nothing is set, outside production", () => {
    expect(loadConfig(BASE).auth).toBeUndefined();
  });

  it("refuses production without authentication in one line naming the variables", () => {
    expect(problem({ NODE_ENV: "production" })).toBe(
      "invalid configuration: AUTH_JWT_SECRET or AUTH_JWKS_URL: must be set under NODE_ENV=production, where every call needs a bearer token",
    );
  });

  it("takes an HS256 secret of at least 32 bytes, never echoing a short one", () => {
    const message = problem({ AUTH_JWT_SECRET: "short-secret" });
    expect(message).toBe("invalid configuration: AUTH_JWT_SECRET: must be at least 32 bytes (e.g. `openssl rand -hex 32`)");
    const auth = loadConfig({ ...BASE, AUTH_JWT_SECRET: "k".repeat(32), NODE_ENV: "production" }).auth;
    expect(auth && Buffer.from(auth.jwtSecret!).toString()).toBe("k".repeat(32));
  });

  it("takes a previous HS256 secret for rotations, only beside a current one", () => {
    const auth = loadConfig({ ...BASE, AUTH_JWT_SECRET: "n".repeat(32), AUTH_JWT_PREVIOUS_SECRET: "o".repeat(32) }).auth!;
    expect(Buffer.from(auth.previousJwtSecret!).toString()).toBe("o".repeat(32));
    expect(problem({ AUTH_JWT_PREVIOUS_SECRET: "o".repeat(32) })).toBe(
      "invalid configuration: AUTH_JWT_PREVIOUS_SECRET: is only used beside AUTH_JWT_SECRET (the new secret)",
    );
    expect(problem({ AUTH_JWT_SECRET: "n".repeat(32), AUTH_JWT_PREVIOUS_SECRET: "old" })).toBe(
      "invalid configuration: AUTH_JWT_PREVIOUS_SECRET: must be at least 32 bytes, like AUTH_JWT_SECRET",
    );
  });

  it("takes a JWKS URL with issuer and audience", () => {
    const auth = loadConfig({
      ...BASE,
      AUTH_JWKS_URL: "https://id.example.com/jwks.json",
      AUTH_JWT_ISSUER: "https://id.example.com/",
      AUTH_JWT_AUDIENCE: "ticketgen",
    }).auth;
    expect(auth).toMatchObject({
      jwtSecret: undefined,
      jwksUrl: "https://id.example.com/jwks.json",
      issuer: "https://id.example.com/",
      audience: "ticketgen",
      jwksCooldownMs: 30_000,
    });
    expect(problem({ AUTH_JWKS_URL: "ftp://id.example.com/jwks" })).toBe(
      "invalid configuration: AUTH_JWKS_URL: must be a https:// or http:// URL",
    );
    expect(problem({ AUTH_JWKS_URL: "http://id.example.com/jwks", NODE_ENV: "production" })).toBe(
      "invalid configuration: AUTH_JWKS_URL: must be a https:// URL",
    );
  });
});

describe("webhook secret rotation", () => {
  const hook = { CORE_SERVICE_WEBHOOK_URL: "https://core.example.com/hook", WEBHOOK_SECRET: "w".repeat(32) };

  it("takes a previous webhook secret of at least 32 bytes", () => {
    expect(loadConfig({ ...BASE, ...hook }).webhook?.previousSecret).toBeUndefined();
    expect(loadConfig({ ...BASE, ...hook, WEBHOOK_PREVIOUS_SECRET: "p".repeat(32) }).webhook?.previousSecret?.toString()).toBe(
      "p".repeat(32),
    );
    expect(problem({ ...hook, WEBHOOK_PREVIOUS_SECRET: "short" })).toBe(
      "invalid configuration: WEBHOOK_PREVIOUS_SECRET: must be at least 32 bytes, like WEBHOOK_SECRET",
    );
  });
});
