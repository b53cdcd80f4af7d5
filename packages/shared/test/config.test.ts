import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, loadDatabaseConfig, loadWorkerConfig, type Env } from "../src/index.ts";
import { makeTestCertificates } from "./support/certificates.ts";

const SECRET = "0123456789abcdef0123456789abcdef"; // 32 bytes

const secretsDir = mkdtempSync(join(tmpdir(), "ticketgen-config-secrets-"));
let files = 0;
/** A file holding `content`, as Kubernetes mounts a Secret's key. */
function secretFile(content: string | Buffer): string {
  const path = join(secretsDir, `secret-${++files}`);
  writeFileSync(path, content);
  return path;
}

function configError(env: Env): ConfigError {
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
    expect(config.resultRetry).toEqual({ delayMs: 500, maxDelayMs: 30_000 });
  });

  it("RESULT_RETRY_MAX_DELAY_MS below RESULT_RETRY_DELAY_MS is rejected in one line naming both", () => {
    const env = { QR_SIGNATURE_SECRET: SECRET, RESULT_RETRY_DELAY_MS: "2000", RESULT_RETRY_MAX_DELAY_MS: "1000" };
    expect(configError(env).message).toBe(
      "invalid configuration: RESULT_RETRY_MAX_DELAY_MS: must be at least RESULT_RETRY_DELAY_MS (2000)",
    );
    expect(loadConfig({ ...env, RESULT_RETRY_MAX_DELAY_MS: "2000" }).resultRetry).toEqual({ delayMs: 2000, maxDelayMs: 2000 });
  });

  describe("assets", () => {
    it("defaults: 2 MiB per asset, 100 assets and 20 MiB per tenant", () => {
      expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET }).assets).toEqual({
        maxBytes: 2 * 1024 * 1024,
        maxPerTenant: 100,
        maxTenantBytes: 20 * 1024 * 1024,
      });
      const env = { QR_SIGNATURE_SECRET: SECRET, MAX_ASSET_SIZE: "4096", MAX_TENANT_ASSETS: "3", MAX_TENANT_ASSET_BYTES: "8192" };
      expect(loadConfig(env).assets).toEqual({ maxBytes: 4096, maxPerTenant: 3, maxTenantBytes: 8192 });
    });

    it.each([
      ["MAX_ASSET_SIZE", "10", "must be an integer from 1024 to 33554432"],
      ["MAX_ASSET_SIZE", "2MB", "must be an integer from 1024 to 33554432"],
      ["MAX_TENANT_ASSETS", "0", "must be an integer from 1 to 10000"],
      ["MAX_TENANT_ASSET_BYTES", "1048576", "must be at least MAX_ASSET_SIZE (2097152)"],
    ])("%s=%s is refused: %s", (name, value, rule) => {
      expect(configError({ QR_SIGNATURE_SECRET: SECRET, [name]: value }).message).toBe(
        `invalid configuration: ${name}: ${rule} (got "${value}")`,
      );
    });
  });

  describe("PDF lifecycle", () => {
    it("keeps PDFs unless PDF_RETENTION_DAYS is set; reaps hourly, orphans after 24 h", () => {
      const config = loadConfig({ QR_SIGNATURE_SECRET: SECRET });
      expect(config.pdfRetentionDays).toBeUndefined();
      expect(config.blobReapIntervalMs).toBe(3_600_000);
      expect(config.orphanBlobMinAgeHours).toBe(24);
      expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET, PDF_RETENTION_DAYS: "0" }).pdfRetentionDays).toBe(0);
      expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET, PDF_RETENTION_DAYS: "90" }).pdfRetentionDays).toBe(90);
    });

    it.each([
      ["PDF_RETENTION_DAYS", "-1", "must be an integer from 0 to 36500"],
      ["PDF_RETENTION_DAYS", "forever", "must be an integer from 0 to 36500"],
      ["BLOB_REAP_INTERVAL_MS", "10", "must be an integer from 1000 to 86400000"],
      ["ORPHAN_BLOB_MIN_AGE_HOURS", "0", "must be an integer from 1 to 720"],
    ])("rejects %s=%s in one line naming it", (name, value, rule) => {
      expect(configError({ QR_SIGNATURE_SECRET: SECRET, [name]: value }).message).toBe(
        `invalid configuration: ${name}: ${rule} (got "${value}")`,
      );
    });
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
      [`k1:${SECRET}`, /QR_SIGNING_KEYS: the id of key 1 must be 1 to 8 characters A-Z or 0-9/],
      [`K1:${SECRET},K1:${SECRET}`, /QR_SIGNING_KEYS: key id "K1" appears twice/],
      [`K1:short`, /QR_SIGNING_KEYS: the secret of key "K1" is 5 bytes; at least 32 are required/],
      [`K1:${SECRET},${SECRET}`, /QR_SIGNING_KEYS: key 2 is not of the form kid:secret/],
      [",", /QR_SIGNING_KEYS: a key ring needs at least one key/],
    ])("rejects %j", (keys, pattern) => {
      const { message } = configError({ QR_SIGNING_KEYS: keys });
      expect(message).toMatch(pattern);
      expect(message).toContain("openssl rand -hex 32");
    });

    it("never echoes a secret into the error message, even one written without its kid or with a bad kid", () => {
      for (const [keys, secret] of [
        ["K1:short-secret-value", "short-secret-value"],
        ["forgotten-kid-secret-value-0123456789", "forgotten"],
        ["lower:case-kid-takes-the-start-of-a-secret-0123456789", "lower"],
        ["secret-with:a-colon-and-no-kid-0123456789", "secret-with"],
      ] as const) {
        const { message } = configError({ QR_SIGNING_KEYS: keys });
        expect(message).toMatch(/^invalid configuration: QR_SIGNING_KEYS: /);
        expect(message, keys).not.toContain(secret);
      }
      expect(configError({ QR_SIGNATURE_SECRET: "too-short-signing-secret" }).message).not.toContain("too-short-signing-secret");
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
      expect(loadWorkerConfig({ REDIS_CLUSTER_NODES: "r:1" }).redisCluster).toEqual({
        nodes: [{ host: "r", port: 1 }],
        password: undefined,
      });
    });

    it.each(["redis-0", "redis-0:6379,", "redis-0:0", "redis-0:65536", "::1:7000", "redis-0:6379;redis-1:6379"])(
      "rejects REDIS_CLUSTER_NODES=%j",
      (seeds) => {
        expect(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: seeds })).toThrow(
          `REDIS_CLUSTER_NODES: must be comma-separated host:port seed nodes, e.g. redis-0:6379,redis-1:6379 (got "${seeds}")`,
        );
      },
    );

    it("rejects REDIS_CLUSTER_NODES together with REDIS_URL, REDIS_HOST or REDIS_PORT", () => {
      expect(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: "r:7000", REDIS_URL: "redis://r:6379", REDIS_PORT: "6380" })).toThrow(
        "invalid configuration: REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL, REDIS_PORT; set one or the other",
      );
      expect(() => loadWorkerConfig({ REDIS_CLUSTER_NODES: "r:7000", REDIS_HOST: "r" })).toThrow(
        /REDIS_CLUSTER_NODES: cannot be combined with REDIS_HOST;/,
      );
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
      const config = loadDatabaseConfig({
        DB_HOST: "db.internal",
        DB_PORT: "6543",
        DB_USER: "app",
        DB_PASSWORD: "p@ss:w/rd",
        DB_NAME: "tickets",
      });
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

    it("DB_PASSWORD (or its file) goes into a DATABASE_URL without one, so the URL can live in a ConfigMap", () => {
      expect(loadDatabaseConfig({ DATABASE_URL: "postgres://app@db:5432/t?sslmode=require", DB_PASSWORD: "p@ss:w/rd" }).databaseUrl).toBe(
        "postgres://app:p%40ss%3Aw%2Frd@db:5432/t?sslmode=require",
      );
      expect(loadDatabaseConfig({ DATABASE_URL: "postgres://db/t", DB_PASSWORD_FILE: secretFile("pw\n") }).databaseUrl).toBe(
        "postgres://postgres:pw@db/t",
      );
      expect(() => loadDatabaseConfig({ DATABASE_URL: "postgres://app:old@db/t", DB_PASSWORD: "new" })).toThrow(
        "invalid configuration: DB_PASSWORD: cannot be combined with a password inside DATABASE_URL; keep the password in one place",
      );
    });

    it("rejects a DATABASE_URL that is not postgres and a bad DB_PORT, naming them", () => {
      expect(() => loadDatabaseConfig({ DATABASE_URL: "mysql://u@h/d" })).toThrow(
        /DATABASE_URL: must be a postgres:\/\/ or postgresql:\/\/ URL/,
      );
      expect(() => loadDatabaseConfig({ DB_HOST: "db", DB_PORT: "0" })).toThrow(/DB_PORT: must be an integer from 1 to 65535/);
    });

    it("loadDatabaseConfig needs no signing secret", () => {
      expect(() => loadDatabaseConfig({})).not.toThrow();
    });
  });

  describe("secrets from files (*_FILE)", () => {
    const LONG = "file-secret-0123456789abcdef0123456789";
    // Every secret the services read, with what reading it yields.
    const SECRETS: Array<[string, (env: Env) => unknown]> = [
      ["QR_SIGNATURE_SECRET", (env) => loadConfig(env).keyRing.signing.secret.toString()],
      [
        "QR_SIGNING_KEYS",
        (env) =>
          loadConfig({ ...env, QR_SIGNATURE_SECRET: undefined })
            .keyRing.byKid.get("K7")
            ?.secret.toString(),
      ],
      [
        "WEBHOOK_SECRET",
        (env) =>
          loadConfig({
            QR_SIGNATURE_SECRET: SECRET,
            CORE_SERVICE_WEBHOOK_URL: "https://core.example.com/hook",
            ...env,
          }).webhook?.secret.toString(),
      ],
      ["AUTH_JWT_SECRET", (env) => Buffer.from(loadConfig({ QR_SIGNATURE_SECRET: SECRET, ...env }).auth?.jwtSecret ?? []).toString()],
      [
        "S3_SECRET_ACCESS_KEY",
        (env) => {
          const store = loadWorkerConfig({ BLOB_STORE: "s3", S3_BUCKET: "b", ...env }).blobStore;
          return store.kind === "s3" ? store.secretAccessKey : undefined;
        },
      ],
      ["REDIS_PASSWORD", (env) => new URL(loadWorkerConfig(env).redisUrl).password],
      ["DB_PASSWORD", (env) => new URL(loadDatabaseConfig({ DB_HOST: "db", ...env }).databaseUrl!).password],
    ];
    const valueOf = (name: string) => (name === "QR_SIGNING_KEYS" ? `K7:${LONG}` : LONG);
    const base = (name: string): Env => (name.startsWith("QR_") ? {} : { QR_SIGNATURE_SECRET: SECRET });

    it.each(SECRETS)("%s_FILE: read from the file, one trailing newline dropped, same as the variable itself", (name, read) => {
      const inline = read({ ...base(name), [name]: valueOf(name) });
      expect(inline).toBe(LONG);
      expect(read({ ...base(name), [`${name}_FILE`]: secretFile(`${valueOf(name)}\n`) })).toBe(inline);
      expect(read({ ...base(name), [`${name}_FILE`]: secretFile(`${valueOf(name)}\r\n`) })).toBe(inline);
    });

    it.each(SECRETS)("%s and %s_FILE both set: one line naming both, no value", (name, read) => {
      const value = valueOf(name);
      expect(() => read({ ...base(name), [name]: value, [`${name}_FILE`]: secretFile(value) })).toThrow(
        new ConfigError(`invalid configuration: ${name}: set either ${name} or ${name}_FILE, not both`),
      );
    });

    it.each(SECRETS)("%s_FILE unreadable or empty: one line naming the variable and the path", (name, read) => {
      const missing = join(secretsDir, "no-such-file");
      expect(() => read({ ...base(name), [`${name}_FILE`]: missing })).toThrow(
        new ConfigError(`invalid configuration: ${name}_FILE: cannot read ${missing}: ENOENT: no such file or directory`),
      );
      expect(() => read({ ...base(name), [`${name}_FILE`]: secretsDir })).toThrow(
        new ConfigError(`invalid configuration: ${name}_FILE: cannot read ${secretsDir}: EISDIR: illegal operation on a directory`),
      );
      const empty = secretFile("\n");
      expect(() => read({ ...base(name), [`${name}_FILE`]: empty })).toThrow(
        new ConfigError(`invalid configuration: ${name}_FILE: ${empty} is empty`),
      );
    });

    it("a file larger than 64 KiB is not a secret: refused without reading it all", () => {
      const path = secretFile(Buffer.alloc(64 * 1024 + 1, "a"));
      expect(() => loadConfig({ QR_SIGNATURE_SECRET_FILE: path })).toThrow(`QR_SIGNATURE_SECRET_FILE: ${path} is larger than 65536 bytes`);
    });

    it("no problem with a secret from a file ever quotes it: too short, malformed key ring, short webhook or JWT secret", () => {
      const cases: Env[] = [
        { QR_SIGNATURE_SECRET_FILE: secretFile("short-file-secret\n") },
        { QR_SIGNING_KEYS_FILE: secretFile("no-kid-file-secret-0123456789abcdef0123\n") },
        {
          QR_SIGNATURE_SECRET: SECRET,
          CORE_SERVICE_WEBHOOK_URL: "https://core.example.com/h",
          WEBHOOK_SECRET_FILE: secretFile("short-webhook-file\n"),
        },
        { QR_SIGNATURE_SECRET: SECRET, AUTH_JWT_SECRET_FILE: secretFile("short-jwt-file\n") },
      ];
      for (const env of cases) {
        const { message } = configError(env);
        expect(message.split("\n")).toHaveLength(1);
        for (const secret of ["short-file-secret", "no-kid-file-secret", "short-webhook-file", "short-jwt-file"])
          expect(message).not.toContain(secret);
      }
    });

    it("an unreadable file is the only problem reported for its secret", () => {
      expect(configError({ QR_SIGNATURE_SECRET_FILE: "/nonexistent/qr" }).message).toBe(
        "invalid configuration: QR_SIGNATURE_SECRET_FILE: cannot read /nonexistent/qr: ENOENT: no such file or directory",
      );
      expect(configError({ QR_SIGNATURE_SECRET: SECRET, NODE_ENV: "production", AUTH_JWT_SECRET_FILE: "/nonexistent/jwt" }).message).toBe(
        "invalid configuration: AUTH_JWT_SECRET_FILE: cannot read /nonexistent/jwt: ENOENT: no such file or directory",
      );
    });
  });

  describe("gRPC server limits", () => {
    it("defaults", () => {
      expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET }).grpc).toEqual({
        maxConcurrentStreams: 1000,
        maxHeaderListBytes: 16 * 1024,
        idleTimeoutMs: 300_000,
        keepaliveTimeMs: 60_000,
        keepaliveTimeoutMs: 20_000,
        maxRequestBytes: 64 * 1024,
        maxBatchRequestBytes: 32 * 1024 * 1024,
        tls: undefined,
      });
    });

    it.each([
      ["GRPC_MAX_CONCURRENT_STREAMS", "0", "must be an integer from 1 to 2147483647"],
      ["GRPC_MAX_HEADER_LIST_BYTES", "512", "must be an integer from 1024 to 1048576"],
      ["GRPC_IDLE_TIMEOUT_MS", "-1", "must be an integer from 0 to 86400000"],
      ["GRPC_KEEPALIVE_TIME_MS", "10", "must be an integer from 1000 to 86400000"],
      ["GRPC_MAX_REQUEST_BYTES", "64k", "must be an integer from 1024 to 67108864"],
      ["GRPC_MAX_BATCH_REQUEST_BYTES", "1e12", "must be an integer from 1024 to 268435456"],
    ])("%s=%s is refused in one line naming it", (name, value, rule) => {
      expect(configError({ QR_SIGNATURE_SECRET: SECRET, [name]: value }).message).toBe(
        `invalid configuration: ${name}: ${rule} (got "${value}")`,
      );
    });
  });

  describe("WEB_PORT and CORS_ORIGINS", () => {
    it("default to port 3005 and no cross-origin caller", () => {
      expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET })).toMatchObject({ port: 3004, webPort: 3005, corsOrigins: [] });
    });

    it("reads a comma-separated list of origins, or *", () => {
      const origins = " https://box-office.example.com, http://localhost:5173 ";
      expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET, CORS_ORIGINS: origins }).corsOrigins).toEqual([
        "https://box-office.example.com",
        "http://localhost:5173",
      ]);
      expect(loadConfig({ QR_SIGNATURE_SECRET: SECRET, CORS_ORIGINS: "*" }).corsOrigins).toEqual(["*"]);
    });

    it("refuses an origin with a path, naming it", () => {
      expect(configError({ QR_SIGNATURE_SECRET: SECRET, CORS_ORIGINS: "https://box-office.example.com/app" }).message).toBe(
        'invalid configuration: CORS_ORIGINS: "https://box-office.example.com/app" is not an origin (scheme://host[:port], no path) or "*"',
      );
    });
  });

  describe("TLS", () => {
    const certs = makeTestCertificates();

    it("TLS_CERT_FILE and TLS_KEY_FILE: both read", () => {
      const { tls } = loadConfig({ QR_SIGNATURE_SECRET: SECRET, TLS_CERT_FILE: certs.certFile, TLS_KEY_FILE: certs.keyFile }).grpc;
      expect(tls?.cert.toString()).toContain("-----BEGIN CERTIFICATE-----");
      expect(tls?.key.toString()).toContain("PRIVATE KEY-----");
    });

    it.each([
      [
        { TLS_CERT_FILE: "cert" },
        "TLS_KEY_FILE: must be set together with TLS_CERT_FILE (TLS needs a certificate and its key); unset both for cleartext HTTP/2",
      ],
      [
        { TLS_KEY_FILE: "key" },
        "TLS_CERT_FILE: must be set together with TLS_KEY_FILE (TLS needs a certificate and its key); unset both for cleartext HTTP/2",
      ],
    ])("only one of the two: %j is refused in one line", (env, problem) => {
      expect(configError({ QR_SIGNATURE_SECRET: SECRET, ...env }).message).toBe(`invalid configuration: ${problem}`);
    });

    it("unreadable, not a certificate, not a key, or not the certificate's key: one line naming the variable and the path", () => {
      const problem = (env: Env) =>
        configError({ QR_SIGNATURE_SECRET: SECRET, TLS_CERT_FILE: certs.certFile, TLS_KEY_FILE: certs.keyFile, ...env }).message;
      expect(problem({ TLS_CERT_FILE: "/nonexistent/tls.crt" })).toBe(
        "invalid configuration: TLS_CERT_FILE: cannot read /nonexistent/tls.crt: ENOENT: no such file or directory",
      );
      expect(problem({ TLS_KEY_FILE: "/nonexistent/tls.key" })).toBe(
        "invalid configuration: TLS_KEY_FILE: cannot read /nonexistent/tls.key: ENOENT: no such file or directory",
      );
      expect(problem({ TLS_CERT_FILE: certs.keyFile })).toBe(
        `invalid configuration: TLS_CERT_FILE: ${certs.keyFile} is not a PEM certificate`,
      );
      expect(problem({ TLS_KEY_FILE: certs.certFile })).toBe(
        `invalid configuration: TLS_KEY_FILE: ${certs.certFile} is not an unencrypted PEM private key`,
      );
      expect(problem({ TLS_KEY_FILE: certs.otherKeyFile })).toBe(
        `invalid configuration: TLS_KEY_FILE: ${certs.otherKeyFile} is not the private key of the certificate in TLS_CERT_FILE`,
      );
    });
  });
});
