import { createHmac, timingSafeEqual } from "node:crypto";
import { ConnectError, Code } from "@connectrpc/connect";
import { LOWER_CASE_UUID_PATTERN, type KeyRing } from "@ticketgen/shared";

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
const ID_BYTES = 16;
const MAC_BYTES = 16;
/** base64url of 32 bytes, without padding: 43 characters, the last with 2 unused (zero) bits. */
const TOKEN = /^[A-Za-z0-9_-]{43}$/;
// Domain separation: these MACs share the QR signing keys, whose messages start with "TG1.".
const LABEL = "ticketgen page token v1\n";

/**
 * Keyset cursor: the last ticket id of the page (UUIDv7, so time-ordered) and a MAC binding it
 * to the event, so that a token can neither be replayed against another listing nor edited.
 * Opaque to callers:
 *
 *   base64url(last_id[16] | HMAC-SHA256(key, LABEL | JSON [event_id, last_id])[0..16])
 *
 * keyed by the QR key ring (the first key signs, every key verifies), so tokens stay valid across
 * replicas, restarts and key rotation.
 */
export function encodePageToken(ring: KeyRing, eventId: string, lastId: string): string {
  if (!LOWER_CASE_UUID_PATTERN.test(lastId)) throw new Error(`page token: ${lastId} is not a lower-case UUID`);
  const id = Buffer.from(lastId.replaceAll("-", ""), "hex");
  return Buffer.concat([id, mac(ring.signing.secret, eventId, lastId)]).toString("base64url");
}

/** The last id of the previous page, or INVALID_ARGUMENT for anything ListTickets did not return for this event. */
export function decodePageToken(ring: KeyRing, token: string, eventId: string): string {
  const bytes = TOKEN.test(token) ? Buffer.from(token, "base64url") : undefined;
  // Canonical only (the unused bits zero), so that no other text decodes to the same bytes.
  if (bytes && bytes.toString("base64url") === token) {
    const lastId = uuidText(bytes.subarray(0, ID_BYTES));
    const given = bytes.subarray(ID_BYTES);
    for (const { secret } of ring.byKid.values()) {
      if (timingSafeEqual(mac(secret, eventId, lastId), given)) return lastId;
    }
  }
  throw new ConnectError("page_token: is not a token returned by ListTickets for this event_id", Code.InvalidArgument);
}

function mac(secret: Buffer, eventId: string, lastId: string): Buffer {
  // JSON keeps the two strings apart whatever they contain (lone surrogates are escaped).
  return createHmac("sha256", secret)
    .update(LABEL)
    .update(JSON.stringify([eventId, lastId]), "utf8")
    .digest()
    .subarray(0, MAC_BYTES);
}

function uuidText(bytes: Buffer): string {
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
