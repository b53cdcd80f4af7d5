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

  it("takes a JWKS URL with issuer and audience", () => {
    const auth = loadConfig({ ...BASE, AUTH_JWKS_URL: "https://id.example.com/jwks.json", AUTH_JWT_ISSUER: "https://id.example.com/", AUTH_JWT_AUDIENCE: "ticketgen" }).auth;
    expect(auth).toMatchObject({ jwtSecret: undefined, jwksUrl: "https://id.example.com/jwks.json", issuer: "https://id.example.com/", audience: "ticketgen", jwksCooldownMs: 30_000 });
    expect(problem({ AUTH_JWKS_URL: "ftp://id.example.com/jwks" })).toBe("invalid configuration: AUTH_JWKS_URL: must be a https:// or http:// URL");
  });
});
