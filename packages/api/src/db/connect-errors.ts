import { EXIT_CONFIG, EXIT_UNAVAILABLE, firstLine, StartupError, type DatabaseConfig } from "@ticketgen/shared";
import { errorCodes } from "./pg-errors.ts";

/** Connection codes of Node and postgres.js that mean the server is not there (yet). */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
]);
/** SQLSTATEs of a login PostgreSQL refuses: invalid_password, invalid_authorization_specification (no such role, pg_hba). */
const LOGIN_REFUSED = new Set(["28P01", "28000"]);
const INVALID_CATALOG_NAME = "3D000";

/**
 * Why the first connection to PostgreSQL failed, naming the settings to fix; undefined when
 * the error is not about connecting.
 */
export function connectProblem(error: unknown, url: string, config: DatabaseConfig): StartupError | undefined {
  const { address, name } = config.databaseSettings;
  const target = new URL(url);
  const server = `PostgreSQL at ${target.host || "localhost"}`;
  const database = decodeURIComponent(target.pathname.slice(1)) || decodeURIComponent(target.username) || "postgres";
  const codes = errorCodes(error);
  const why = firstLine(error);
  if (codes.includes(INVALID_CATALOG_NAME)) {
    // 78, not 69: the server answers, and no amount of waiting creates the database; someone
    // has to create it or point the setting at the right one.
    const fix = name === "DB_NAME" ? "or set DB_NAME to an existing database" : "or correct the database name in DATABASE_URL";
    return new StartupError(
      `${name}: database "${database}" does not exist on ${server}; create it (\`createdb ${database}\`) ${fix}`,
      EXIT_CONFIG,
      { cause: error },
    );
  }
  if (codes.some((code) => LOGIN_REFUSED.has(code))) {
    const [setting, fix] =
      address === "DATABASE_URL"
        ? [address, "the user and password in DATABASE_URL (or DB_PASSWORD)"]
        : ["DB_USER/DB_PASSWORD", "DB_USER and DB_PASSWORD"];
    return new StartupError(`${setting}: ${server} refuses the login: ${why}; correct ${fix}`, EXIT_CONFIG, { cause: error });
  }
  if (codes.includes("ENOTFOUND")) {
    // 69: a name that exists only while its container or Service does (compose, Kubernetes)
    // fails to resolve exactly like a misspelt one, and a restart is how a supervisor waits.
    return new StartupError(
      `${address}: host "${target.hostname}" does not resolve; correct ${address} or start the database`,
      EXIT_UNAVAILABLE,
      { cause: error },
    );
  }
  if (codes.some((code) => UNREACHABLE.has(code))) {
    return new StartupError(`${address}: ${server} is unreachable (${why}); start PostgreSQL or point ${address} at it`, EXIT_UNAVAILABLE, {
      cause: error,
    });
  }
  return undefined;
}
