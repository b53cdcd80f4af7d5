import { createHmac, hash, timingSafeEqual } from "node:crypto";
import { base32Decode, base32Encode } from "./base32.ts";
import { LOWER_CASE_UUID_PATTERN } from "../uuid.ts";
import { KID_PATTERN, type KeyRing } from "./key-ring.ts";

/**
 * QR token v1 (specified in docs/qr-token.md):
 *
 *   TG1.<KID>.<BASE32(ticket_id[16] | event_tag[8] | expires_at[4] | mac[16])>
 *
 * event_tag = SHA-256(event_id)[0..8], expires_at = Unix seconds (uint32, big-endian),
 * mac = HMAC-SHA256(secret, "TG1.<KID>." | first 28 body bytes)[0..16].
 * Every character is in the QR alphanumeric set, so the QR stays at version 6 at level H.
 */
export const TOKEN_PREFIX = "TG1";
const ID_BYTES = 16;
const EVENT_TAG_BYTES = 8;
const EXPIRY_BYTES = 4;
const MAC_BYTES = 16;
const SIGNED_BYTES = ID_BYTES + EVENT_TAG_BYTES + EXPIRY_BYTES;
const BODY_BYTES = SIGNED_BYTES + MAC_BYTES;
const BODY_CHARS = Math.ceil((BODY_BYTES * 8) / 5);
const MAX_EXPIRY = 0xffffffff;

export interface TokenClaims {
  ticketId: string;
  eventId: string;
  expiresAt: Date;
}

export interface VerifiedToken {
  kid: string;
  ticketId: string;
  /** Hex of the first 8 bytes of SHA-256(event_id); compare with eventTag(). */
  eventTag: string;
  expiresAt: Date;
}

export type VerifyResult =
  { ok: true; token: VerifiedToken } | { ok: false; reason: "MALFORMED" | "INVALID_SIGNATURE" | "EXPIRED"; token?: VerifiedToken };

export function eventTag(eventId: string): Buffer {
  return hash("sha256", eventId, "buffer").subarray(0, EVENT_TAG_BYTES);
}

/**
 * Event tags by event id, bytes and hex. A door scans one event's tickets for hours and a batch
 * signs one event's tickets, so nearly every call hits; the hash was a quarter of a token check's
 * cost. Emptied when full, which bounds it whatever event ids callers send.
 */
const EVENT_TAG_CACHE_LIMIT = 10_000;
const eventTags = new Map<string, { bytes: Buffer; hex: string }>();

function knownEventTag(eventId: string): { bytes: Buffer; hex: string } {
  let tag = eventTags.get(eventId);
  if (!tag) {
    if (eventTags.size >= EVENT_TAG_CACHE_LIMIT) eventTags.clear();
    const bytes = eventTag(eventId);
    tag = { bytes, hex: bytes.toString("hex") };
    eventTags.set(eventId, tag);
  }
  return tag;
}

function mac(secret: Buffer, header: string, signed: Uint8Array): Buffer {
  return createHmac("sha256", secret).update(header, "ascii").update(signed).digest().subarray(0, MAC_BYTES);
}

function uuidToBytes(id: string): Buffer {
  if (!LOWER_CASE_UUID_PATTERN.test(id)) throw new Error(`ticket id ${id} is not a lower-case UUID`);
  return Buffer.from(id.replaceAll("-", ""), "hex");
}

function bytesToUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function signToken(ring: KeyRing, claims: TokenClaims): string {
  const { kid, secret } = ring.signing;
  const seconds = Math.floor(claims.expiresAt.getTime() / 1000);
  if (!(seconds > 0 && seconds <= MAX_EXPIRY)) throw new Error("token expiry is out of range");
  const body = Buffer.alloc(BODY_BYTES);
  uuidToBytes(claims.ticketId).copy(body, 0);
  knownEventTag(claims.eventId).bytes.copy(body, ID_BYTES);
  body.writeUInt32BE(seconds, ID_BYTES + EVENT_TAG_BYTES);
  const header = `${TOKEN_PREFIX}.${kid}.`;
  mac(secret, header, body.subarray(0, SIGNED_BYTES)).copy(body, SIGNED_BYTES);
  return header + base32Encode(body);
}

/** Never throws on any text, so scanners can feed it raw camera output. */
export function verifyToken(ring: KeyRing, text: string, now: Date = new Date()): VerifyResult {
  // An invalid clock would make every expiry comparison false, i.e. accept expired tokens.
  if (!Number.isFinite(now.getTime())) throw new TypeError("verifyToken: now is not a valid date");
  const parts = text.split(".");
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX) return { ok: false, reason: "MALFORMED" };
  const [, kid = "", encoded = ""] = parts;
  if (encoded.length !== BODY_CHARS || !KID_PATTERN.test(kid)) return { ok: false, reason: "MALFORMED" };
  const body = base32Decode(encoded);
  if (!body || body.length !== BODY_BYTES) return { ok: false, reason: "MALFORMED" };
  const key = ring.byKid.get(kid);
  if (!key) return { ok: false, reason: "INVALID_SIGNATURE" };
  const expected = mac(key.secret, `${TOKEN_PREFIX}.${kid}.`, body.subarray(0, SIGNED_BYTES));
  if (!timingSafeEqual(expected, body.subarray(SIGNED_BYTES))) return { ok: false, reason: "INVALID_SIGNATURE" };
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const token: VerifiedToken = {
    kid,
    ticketId: bytesToUuid(body.subarray(0, ID_BYTES)),
    eventTag: view.subarray(ID_BYTES, ID_BYTES + EVENT_TAG_BYTES).toString("hex"),
    expiresAt: new Date(view.readUInt32BE(ID_BYTES + EVENT_TAG_BYTES) * 1000),
  };
  if (now.getTime() >= token.expiresAt.getTime()) return { ok: false, reason: "EXPIRED", token };
  return { ok: true, token };
}

export function tokenMatchesEvent(token: VerifiedToken, eventId: string): boolean {
  return token.eventTag === knownEventTag(eventId).hex;
}
