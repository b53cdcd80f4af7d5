import { InvalidArgumentError, Option, type Command } from "commander";
import { isScope, loadJwtSecret, mintAccessToken, SCOPES, TENANT_ID_PATTERN, type Scope } from "@ticketgen/shared";
import { CliError } from "../errors.ts";

function scopeList(value: string): Scope[] {
  const scopes = value.split(/[\s,]+/).filter(Boolean);
  const unknown = scopes.filter((scope) => !isScope(scope));
  if (unknown.length > 0) throw new InvalidArgumentError(`unknown scope ${unknown.join(", ")}; known: ${SCOPES.join(" ")}`);
  return scopes as Scope[];
}

function seconds(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value);
  if (!match) throw new InvalidArgumentError("must be a number of seconds, or a number with s, m, h or d (e.g. 12h)");
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2]!]!;
  return Number(match[1]) * unit;
}

function tenant(value: string): string {
  if (!TENANT_ID_PATTERN.test(value))
    throw new InvalidArgumentError("must be 1-64 letters, digits, _ . or -, starting with a letter or digit");
  return value;
}

/** The API's HS256 secret, from the same variables the API reads. */
function secretFromEnv(): Uint8Array {
  let secret: string | undefined;
  try {
    secret = loadJwtSecret();
  } catch (error) {
    throw new CliError((error as Error).message.replace(/^invalid configuration:\s*/, ""));
  }
  if (!secret) throw new CliError("AUTH_JWT_SECRET (or AUTH_JWT_SECRET_FILE) must be set to the API's secret to mint a token");
  return Buffer.from(secret, "utf8");
}

/**
 * `ticketgen token`: an HS256 token signed with the API's AUTH_JWT_SECRET, for development
 * and operations. Production callers get theirs from the platform's identity provider.
 */
export function registerTokenCommand(token: Command): void {
  token
    .description("mint a bearer token signed with AUTH_JWT_SECRET (development and operations)")
    .addOption(new Option("--tenant <id>", "the tenant_id claim: whose data the token reaches").argParser(tenant).default("default"))
    .addOption(
      new Option("--scope <scopes>", `space- or comma-separated scopes (default: all of ${SCOPES.join(" ")})`).argParser(scopeList),
    )
    .addOption(new Option("--ttl <duration>", "lifetime: seconds, or with s, m, h, d").argParser(seconds).default(3600, "1h"))
    .option("--issuer <iss>", "iss claim (set it when the API checks AUTH_JWT_ISSUER)", process.env.AUTH_JWT_ISSUER)
    .option("--audience <aud>", "aud claim (set it when the API checks AUTH_JWT_AUDIENCE)", process.env.AUTH_JWT_AUDIENCE)
    .action(async (options: { tenant: string; scope?: Scope[]; ttl: number; issuer?: string; audience?: string }) => {
      const jwt = await mintAccessToken(secretFromEnv(), {
        tenantId: options.tenant,
        scopes: options.scope ?? SCOPES,
        ttlSeconds: options.ttl,
        issuer: options.issuer,
        audience: options.audience,
      });
      process.stdout.write(`${jwt}\n`);
    });
}
