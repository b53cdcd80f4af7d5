import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, loadDatabaseConfig, loadWorkerConfig } from "../src/index.ts";

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
    expect(message).toBe('invalid configuration: PORT: must be an integer from 0 to 65535 (got "abc")');
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
    expect(config.redisCluster).toBeUndefined();
    expect(config.queuePrefix).toBe("{ticketgen}");
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

  describe("Redis Cluster", () => {
    it("REDIS_CLUSTER_NODES: seed nodes (IPv6 in brackets), REDIS_PASSWORD, the default hash-tagged prefix", () => {
      const config = loadWorkerConfig({ REDIS_CLUSTER_NODES: " redis-0:6379, 10.0.0.2:7001 ,[::1]:7002", REDIS_PASSWORD: "s3cret" });
      expect(config.redisCluster).toEqual({
        nodes: [
          { host: "redis-0", port: 6379 },
          { host: "10.0.0.2", port: 7001 },
          { host: "::1", port: 7002 },
        ],
        password: "s3cret",
      });
      expect(config.queuePrefix).toBe("{ticketgen}");
      expect(loadWorkerConfig({ REDIS_CLUSTER_NODES: "r:1" }).redisCluster).toEqual({ nodes: [{ host: "r", port: 1 }], password: undefined });
    });

    it.each(["redis-0", "redis-0:6379,", "redis-0:0", "redis-0:65536", "::1:7000", "redis-0:6379;redis-1:6379"])("rejects REDIS_CLUSTER_NODES=%j", (seeds) => {
      expect(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: seeds })).toThrow(
        `REDIS_CLUSTER_NODES: must be comma-separated host:port seed nodes, e.g. redis-0:6379,redis-1:6379 (got "${seeds}")`,
      );
    });

    it("rejects REDIS_CLUSTER_NODES together with REDIS_URL, REDIS_HOST or REDIS_PORT", () => {
      expect(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: "r:7000", REDIS_URL: "redis://r:6379", REDIS_PORT: "6380" })).toThrow(
        "invalid configuration: REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL, REDIS_PORT; set one or the other",
      );
      expect(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: "r:7000", REDIS_HOST: "r" })).toThrow(/REDIS_CLUSTER_NODES: cannot be combined with REDIS_HOST;/);
    });

    it("a cluster needs a QUEUE_PREFIX with a hash tag; a single Redis takes any prefix", () => {
      for (const prefix of ["ticketgen", "{}ticketgen", "ticketgen{", "ticketgen}{"]) {
        expect(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: "r:7000", QUEUE_PREFIX: prefix })).toThrow(
          `QUEUE_PREFIX: must contain a hash tag such as {ticketgen} when REDIS_CLUSTER_NODES is set (got "${prefix}")`,
        );
        expect(loadWorkerConfig({ QUEUE_PREFIX: prefix }).queuePrefix).toBe(prefix);
      }
      for (const prefix of ["{tg}", "staging:{tg}", "{tg}:v2", "}{tg}"]) {
        expect(loadWorkerConfig({ REDIS_CLUSTER_NODES: "r:7000", QUEUE_PREFIX: prefix }).queuePrefix).toBe(prefix);
      }
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
