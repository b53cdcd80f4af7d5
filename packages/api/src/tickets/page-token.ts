import { ConnectError, Code } from "@connectrpc/connect";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Keyset cursor: the last ticket id of the page (UUIDv7, so time-ordered) bound to the event,
 * so a token cannot be replayed against another listing. Opaque to callers.
 */
export function encodePageToken(eventId: string, lastId: string): string {
  return Buffer.from(JSON.stringify([eventId, lastId]), "utf8").toString("base64url");
}

export function decodePageToken(token: string, eventId: string): string {
  try {
    const decoded: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (Array.isArray(decoded) && decoded[0] === eventId && typeof decoded[1] === "string" && UUID.test(decoded[1])) return decoded[1];
  } catch {
    // reported below
  }
  throw new ConnectError("page_token: is not a token returned by ListTickets for this event_id", Code.InvalidArgument);
}
