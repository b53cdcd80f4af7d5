import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, loadDatabaseConfig } from "../src/index.ts";

const SECRET = "0123456789abcdef0123456789abcdef"; // 32 bytes

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("loadConfig did not throw");
}

describe("config", () => {
  it("without a signing secret: ConfigError naming QR_SIGNATURE_SECRET and how to set it", () => {
    expect(() => loadConfig({})).toThrow(ConfigError);
    const { message } = configError({});
    expect(message).toMatch(/QR_SIGNATURE_SECRET: is not set/);
    expect(message).toContain("set QR_SIGNATURE_SECRET to a random string of at least 32 bytes");
    expect(message).toContain("openssl rand -hex 32");
    expect(message).toContain("QR_SIGNING_KEYS");
  });

  it("a 31-byte secret is rejected, naming the variable and the 32-byte minimum", () => {
    const { message } = configError({ QR_SIGNATURE_SECRET: SECRET.slice(1) });
    expect(message).toMatch(/QR_SIGNATURE_SECRET: .*31 bytes; at least 32 are required/);
  });

  it("counts the secret in UTF-8 bytes, not characters", () => {
    expect(loadConfig({ QR_SIGNATURE_SECRET: "é".repeat(16) }).keyRing.signing.secret.length).toBe(32);
    const { message } = configError({ QR_SIGNATURE_SECRET: `${"é".repeat(15)}x` });
    expect(message).toMatch(/QR_SIGNATURE_SECRET: .*31 bytes/);
  });

  it("QR_SIGNATURE_SECRET alone gives a one-key ring with kid K1", () => {
    const { keyRing } = loadConfig({ QR_SIGNATURE_SECRET: SECRET });
    expect(keyRing.signing.kid).toBe("K1");
    expect(keyRing.signing.secret.equals(Buffer.from(SECRET))).toBe(true);
    expect([...keyRing.byKid.keys()]).toEqual(["K1"]);
  });

  it("PORT=abc is rejected naming PORT, together with every other problem", () => {
    const { message } = configError({ QR_SIGNATURE_SECRET: SECRET, PORT: "abc" });
    expect(message).toMatch(/^\s*PORT: must be an integer from 0 to 65535 \(got "abc"\)$/m);
    const both = configError({ PORT: "abc", QR_SIZE: "5" }).message;
    expect(both).toMatch(/^\s*PORT:/m);
    expect(both).toMatch(/^\s*QR_SIZE:/m);
    expect(both).toMatch(/^\s*QR_SIGNATURE_SECRET:/m);
  });

  it("defaults", () => {
    const config = loadConfig({ QR_SIGNATURE_SECRET: SECRET });
    expect(config.port).toBe(3004);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(config.qrSize).toBe(200);
    expect(config.qrMargin).toBe(1);
  });

  describe("QR_SIGNING_KEYS", () => {
    it("parses kid:secret pairs; the first signs, all verify; secrets may contain ':'", () => {
      const { keyRing } = loadConfig({
        QR_SIGNING_KEYS: ` K2:${SECRET}:with:colons , K1:${SECRET} `,
        QR_SIGNATURE_SECRET: "ignored when QR_SIGNING_KEYS is set",
      });
      expect(keyRing.signing.kid).toBe("K2");
      expect(keyRing.signing.secret.toString()).toBe(`${SECRET}:with:colons`);
      expect([...keyRing.byKid.keys()]).toEqual(["K2", "K1"]);
      expect(keyRing.byKid.get("K1")!.secret.toString()).toBe(SECRET);
    });

    it.each([
      [`k1:${SECRET}`, /QR_SIGNING_KEYS: key id "k1" must be 1 to 8 characters A-Z or 0-9/],
      [`K1:${SECRET},K1:${SECRET}`, /QR_SIGNING_KEYS: key id "K1" appears twice/],
      [`K1:short`, /QR_SIGNING_KEYS: the secret of key "K1" is 5 bytes; at least 32 are required/],
      [SECRET, /QR_SIGNING_KEYS: .* is not of the form kid:secret/],
      [",", /QR_SIGNING_KEYS: a key ring needs at least one key/],
    ])("rejects %j", (keys, pattern) => {
      const { message } = configError({ QR_SIGNING_KEYS: keys });
      expect(message).toMatch(pattern);
      expect(message).toContain("openssl rand -hex 32");
    });

    it("does not echo a secret into the error message", () => {
      const { message } = configError({ QR_SIGNING_KEYS: "K1:short-secret-value" });
      expect(message).not.toContain("short-secret-value");
    });
  });

  describe("database", () => {
    it("builds DATABASE_URL from DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME (escaped)", () => {
      const config = loadDatabaseConfig({ DB_HOST: "db.internal", DB_PORT: "6543", DB_USER: "app", DB_PASSWORD: "p@ss:w/rd", DB_NAME: "tickets" });
      expect(config.databaseUrl).toBe("postgres://app:p%40ss%3Aw%2Frd@db.internal:6543/tickets");
      expect(new URL(config.databaseUrl!).password).toBe("p%40ss%3Aw%2Frd");
    });

    it("defaults user, port and database name", () => {
      expect(loadDatabaseConfig({ DB_HOST: "db" }).databaseUrl).toBe("postgres://postgres@db:5432/ticketgen");
    });

    it("DATABASE_URL wins over DB_*; without either the embedded database is used", () => {
      expect(loadDatabaseConfig({ DATABASE_URL: "postgresql://u@h/d", DB_HOST: "db" }).databaseUrl).toBe("postgresql://u@h/d");
      expect(loadDatabaseConfig({}).databaseUrl).toBeUndefined();
    });

    it("rejects a DATABASE_URL that is not postgres and a bad DB_PORT, naming them", () => {
      expect(() => loadDatabaseConfig({ DATABASE_URL: "mysql://u@h/d" })).toThrow(/DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/);
      expect(() => loadDatabaseConfig({ DB_HOST: "db", DB_PORT: "0" })).toThrow(/DB_PORT: must be an integer from 1 to 65535/);
    });

    it("loadDatabaseConfig needs no signing secret", () => {
      expect(() => loadDatabaseConfig({})).not.toThrow();
    });
  });
});
