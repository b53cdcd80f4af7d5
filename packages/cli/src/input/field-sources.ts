import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Where the value of a request's top-level field was read, by its index for a list:
 * `guests` with 2 → `guests.csv:4`. Undefined when no file gave it (a flag, say).
 */
export type FieldSources = Record<string, (index: number | undefined) => string | undefined>;

// The API joins violations with "; " and writes each as `path: rule` (`guests[2].email: …`).
const VIOLATION_START = /; (?=[a-z_]+(?:\[\d+\])?(?:\.[\w.[\]]+)?: )/;
const VIOLATION = /^([a-z_]+)(?:\[(\d+)\])?(?:\.([\w.[\]]+))?: (.*)$/s;

/**
 * An INVALID_ARGUMENT naming request paths, with each path the files account for replaced by
 * the file (and line) it came from: `guests[1].email: …` → `guests.csv:3: email: …`. Anything
 * else is returned as it is.
 */
export function withFieldSources(error: unknown, sources: FieldSources): unknown {
  if (!(error instanceof ConnectError) || error.code !== Code.InvalidArgument) return error;
  const violations = error.rawMessage.split(VIOLATION_START).map((violation) => {
    const match = VIOLATION.exec(violation);
    if (!match) return violation;
    const [, top = "", index, field, rule] = match;
    const source = sources[top]?.(index === undefined ? undefined : Number(index));
    if (source === undefined) return violation;
    return field === undefined ? `${source}: ${rule}` : `${source}: ${field}: ${rule}`;
  });
  return new ConnectError(violations.join("; "), error.code, error.metadata, undefined, error.cause);
}
