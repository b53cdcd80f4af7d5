/** PostgreSQL's unique_violation SQLSTATE. */
export const UNIQUE_VIOLATION = "23505";

/** The driver's error code (SQLSTATE or a connection code), searched through wrapped causes. */
export function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") codes.push(code);
  }
  return codes;
}

export const isUniqueViolation = (error: unknown) => errorCodes(error).includes(UNIQUE_VIOLATION);
