/**
 * The committed QR token test vectors (docs/qr-token-vectors.json): their shape, and the
 * deterministic recipe that produced them. `pnpm exec tsx packages/shared/test/support/generate-vectors.ts`
 * rewrites the file from this recipe; vectors.test.ts checks that the committed file is exactly
 * what the recipe gives, so the file can never drift from the code silently.
 */
import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { createKeyRing, signToken } from "../../src/index.ts";
import { base32Decode, base32Encode } from "../../src/token/base32.ts";

export type Expected = "VALID" | "MALFORMED" | "INVALID_SIGNATURE" | "EXPIRED" | "WRONG_EVENT";

export interface VectorKey {
  kid: string;
  /** UTF-8 text; the HMAC key is its UTF-8 bytes. */
  secret: string;
}

export interface Decoded {
  kid: string;
  ticketId: string;
  eventTagHex: string;
  expiresAtUnix: number;
  macHex: string;
  /** All 44 body bytes (what the base32 part decodes to). */
  bodyHex: string;
}

export interface Vector {
  name: string;
  description: string;
  /** The verifier's key ring, in order (the first key would sign new tokens). */
  keyRing: VectorKey[];
  /** Present when `token` is exactly signToken(ring of this one key, claims). */
  signingKey?: VectorKey;
  claims?: { ticketId: string; eventId: string; expiresAt: string };
  /** Present when the token was derived from another vector's token by hand. */
  derivedFrom?: string;
  token: string;
  /** The fields of the body when the text parses and its base32 part decodes canonically, else null. */
  decoded: Decoded | null;
  /** Verification time (ISO 8601, UTC). */
  now: string;
  /** When present, the scanner's event id: a VALID token whose event tag differs gives WRONG_EVENT. */
  eventId?: string;
  expected: Expected;
}

export interface VectorFile {
  format: string;
  spec: string;
  generator: string;
  notes: string[];
  vectors: Vector[];
}

export const VECTORS_PATH = new URL("../../../../docs/qr-token-vectors.json", import.meta.url);

export function readVectorFile(): VectorFile {
  return JSON.parse(readFileSync(VECTORS_PATH, "utf8")) as VectorFile;
}

// ---------------------------------------------------------------------------------------
// Recipe
// ---------------------------------------------------------------------------------------

const K1: VectorKey = { kid: "K1", secret: "ticketgen test vector secret K1 - 0123456789abcdef" };
const K2: VectorKey = { kid: "K2", secret: "ticketgen test vector secret K2 - rotated in 2025!!" };
const K1_OTHER_SECRET: VectorKey = { kid: "K1", secret: "ticketgen test vector secret K1 - but a different one" };
const UNKNOWN: VectorKey = { kid: "K9", secret: "ticketgen test vector secret K9 - not in any key ring" };
const LONG_KID: VectorKey = { kid: "ROT2025Q", secret: "ticketgen test vector secret ROT2025Q 8-character kid" };

const TICKET_ID = "01912d4c-8a3e-7b5f-9c21-3e4f5a6b7c8d";
const EVENT_ID = "5b0c7e2a-2f6d-4c1e-9a7b-8d3e1f2a4c6b";
const OTHER_EVENT_ID = "5b0c7e2a-2f6d-4c1e-9a7b-8d3e1f2a4c6c";
const EXPIRES_AT = "2025-09-01T22:00:00.000Z";
const BEFORE = "2025-08-15T18:00:00.000Z";

function sign(key: VectorKey, claims: { ticketId: string; eventId: string; expiresAt: string }): string {
  const ring = createKeyRing([{ kid: key.kid, secret: Buffer.from(key.secret, "utf8") }]);
  return signToken(ring, { ticketId: claims.ticketId, eventId: claims.eventId, expiresAt: new Date(claims.expiresAt) });
}

/** Parses with the shared base32 decoder; null for anything that is not TG1.<kid>.<71 canonical chars>. */
function decode(token: string): Decoded | null {
  const parts = token.split(".");
  if (parts.length !== 3 || parts[0] !== "TG1") return null;
  const [, kid = "", encoded = ""] = parts;
  if (kid.length < 1 || kid.length > 8 || encoded.length !== 71) return null;
  const bytes = base32Decode(encoded);
  if (!bytes || bytes.length !== 44) return null;
  const body = Buffer.from(bytes);
  const hex = body.toString("hex");
  return {
    kid,
    ticketId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`,
    eventTagHex: body.subarray(16, 24).toString("hex"),
    expiresAtUnix: body.readUInt32BE(24),
    macHex: body.subarray(28, 44).toString("hex"),
    bodyHex: hex,
  };
}

/** Replaces the character at `index` of the base32 part. */
function replaceBodyChar(token: string, index: number, char: string): string {
  const start = token.lastIndexOf(".") + 1;
  const at = start + index;
  if (token[at] === char) throw new Error("replacement must change the token");
  return token.slice(0, at) + char + token.slice(at + 1);
}

/** Re-encodes the token with some body bytes changed, keeping the kid and the old mac. */
function withBody(token: string, change: (body: Buffer) => void): string {
  const dot = token.lastIndexOf(".");
  const body = Buffer.from(base32Decode(token.slice(dot + 1))!);
  change(body);
  return token.slice(0, dot + 1) + base32Encode(body);
}

export function buildVectorFile(): VectorFile {
  const claims = { ticketId: TICKET_ID, eventId: EVENT_ID, expiresAt: EXPIRES_AT };
  const valid = sign(K1, claims);
  const expiresUnix = Date.parse(EXPIRES_AT) / 1000;
  const lastChar = valid.at(-1)!;
  // The last character carries 2 data bits and 3 unused bits that must be zero.
  const nonCanonicalLast = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"["ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".indexOf(lastChar) + 1]!;
  const oldDesignPayload = {
    ticketId: TICKET_ID,
    eventId: EVENT_ID,
    guestId: "7d1f6a52-0c3b-4e8a-b5d9-2a6c4e8f0b13",
    ticketCode: "TKT-M0JZ5K00-7GQ2ZP-3F9A0C1B",
    timestamp: 1723744800000,
  };
  const oldDesign = JSON.stringify({
    ...oldDesignPayload,
    signature: createHmac("sha256", K1.secret).update(JSON.stringify(oldDesignPayload)).digest("hex"),
  });
  const rotationRing = [K2, K1];

  type Draft = Omit<Vector, "decoded" | "keyRing" | "now"> & { keyRing?: VectorKey[]; now?: string };
  const drafts: Draft[] = [
    {
      name: "valid",
      description: "A token signed with K1, verified by a ring holding K1, before expiry, without an event check.",
      signingKey: K1,
      claims,
      token: valid,
      expected: "VALID",
    },
    {
      name: "valid-event-match",
      description: "The same token with the scanner's event id equal to the signed one.",
      signingKey: K1,
      claims,
      token: valid,
      eventId: EVENT_ID,
      expected: "VALID",
    },
    {
      name: "rotation-old-key",
      description: "Rotation: the ring is [K2 (new, signs), K1 (old, verifies)]; a token signed earlier by K1 still verifies.",
      keyRing: rotationRing,
      signingKey: K1,
      claims,
      token: valid,
      eventId: EVENT_ID,
      expected: "VALID",
    },
    {
      name: "rotation-new-key",
      description: "Rotation: the token a ring [K2, K1] issues now is signed by K2 and carries kid K2.",
      keyRing: rotationRing,
      signingKey: K2,
      claims,
      token: sign(K2, claims),
      expected: "VALID",
    },
    {
      name: "eight-char-kid",
      description: "The longest key id (8 characters): the token is 84 characters, the QR alphanumeric capacity of version 6 at level H.",
      keyRing: [LONG_KID],
      signingKey: LONG_KID,
      claims,
      token: sign(LONG_KID, claims),
      expected: "VALID",
    },
    {
      name: "utf8-event-id",
      description: "The event tag hashes the UTF-8 bytes of the event id (here non-ASCII).",
      signingKey: K1,
      claims: { ...claims, eventId: "fête-de-la-musique-2025" },
      token: sign(K1, { ...claims, eventId: "fête-de-la-musique-2025" }),
      eventId: "fête-de-la-musique-2025",
      expected: "VALID",
    },
    {
      name: "unknown-kid",
      description: "Signed by K9, which the ring [K1] does not hold: INVALID_SIGNATURE (the body still decodes).",
      signingKey: UNKNOWN,
      claims,
      token: sign(UNKNOWN, claims),
      expected: "INVALID_SIGNATURE",
    },
    {
      name: "rotated-out-key",
      description: "After rotation finished the ring is [K2] only: a token signed by K1 is INVALID_SIGNATURE.",
      keyRing: [K2],
      signingKey: K1,
      claims,
      token: valid,
      expected: "INVALID_SIGNATURE",
    },
    {
      name: "same-kid-other-secret",
      description: "The ring holds a K1 with a different secret: the MAC does not match, INVALID_SIGNATURE.",
      keyRing: [K1_OTHER_SECRET],
      signingKey: K1,
      claims,
      token: valid,
      expected: "INVALID_SIGNATURE",
    },
    {
      name: "kid-swapped",
      description: "The kid is part of the MAC input: relabelling a K1 token as K2 (a key the ring holds) is INVALID_SIGNATURE.",
      keyRing: rotationRing,
      derivedFrom: "valid",
      token: valid.replace("TG1.K1.", "TG1.K2."),
      expected: "INVALID_SIGNATURE",
    },
    {
      name: "tampered-mac",
      description: "One character inside the MAC part (body character 60) changed: INVALID_SIGNATURE.",
      derivedFrom: "valid",
      token: replaceBodyChar(valid, 60, valid[valid.lastIndexOf(".") + 61] === "A" ? "B" : "A"),
      expected: "INVALID_SIGNATURE",
    },
    {
      name: "tampered-ticket-id",
      description: "One character inside the ticket id (body character 3) changed: INVALID_SIGNATURE.",
      derivedFrom: "valid",
      token: replaceBodyChar(valid, 3, valid[valid.lastIndexOf(".") + 4] === "Q" ? "R" : "Q"),
      expected: "INVALID_SIGNATURE",
    },
    {
      name: "tampered-expiry",
      description: "expires_at pushed one year later with the original MAC kept: INVALID_SIGNATURE.",
      derivedFrom: "valid",
      token: withBody(valid, (body) => body.writeUInt32BE(expiresUnix + 365 * 86400, 24)),
      expected: "INVALID_SIGNATURE",
    },
    {
      name: "tampered-event-tag",
      description: "The event tag replaced by the tag of another event, original MAC kept: INVALID_SIGNATURE, not WRONG_EVENT.",
      derivedFrom: "valid",
      token: withBody(valid, (body) => createHash("sha256").update(OTHER_EVENT_ID, "utf8").digest().copy(body, 16, 0, 8)),
      eventId: OTHER_EVENT_ID,
      expected: "INVALID_SIGNATURE",
    },
    {
      name: "non-canonical-last-char",
      description: `The last character ${lastChar} replaced by ${nonCanonicalLast}: same 2 data bits but a non-zero unused bit, MALFORMED.`,
      derivedFrom: "valid",
      token: valid.slice(0, -1) + nonCanonicalLast,
      expected: "MALFORMED",
    },
    {
      name: "lower-case-token",
      description: "The whole token in lower case: MALFORMED (the prefix is TG1 and the alphabet upper case only).",
      derivedFrom: "valid",
      token: valid.toLowerCase(),
      expected: "MALFORMED",
    },
    {
      name: "lower-case-body",
      description: "Only the base32 part in lower case: MALFORMED.",
      derivedFrom: "valid",
      token: valid.slice(0, valid.lastIndexOf(".") + 1) + valid.slice(valid.lastIndexOf(".") + 1).toLowerCase(),
      expected: "MALFORMED",
    },
    {
      name: "lower-case-kid",
      description: "Only the kid in lower case (k1): a kid is 1-8 characters A-Z 0-9, so MALFORMED.",
      derivedFrom: "valid",
      token: valid.replace("TG1.K1.", "TG1.k1."),
      expected: "MALFORMED",
    },
    {
      name: "one-second-before-expiry",
      description: "now = expires_at - 1 s: VALID.",
      signingKey: K1,
      claims,
      token: valid,
      now: new Date(Date.parse(EXPIRES_AT) - 1000).toISOString(),
      expected: "VALID",
    },
    {
      name: "expired-at-boundary",
      description: "now = expires_at exactly: EXPIRED (a token is valid while now < expires_at).",
      signingKey: K1,
      claims,
      token: valid,
      now: EXPIRES_AT,
      expected: "EXPIRED",
    },
    {
      name: "expired-and-wrong-event",
      description: "Expired and for another event: EXPIRED, because expiry is checked before the event.",
      signingKey: K1,
      claims,
      token: valid,
      now: "2025-09-02T08:00:00.000Z",
      eventId: OTHER_EVENT_ID,
      expected: "EXPIRED",
    },
    {
      name: "wrong-event",
      description: "A genuine, unexpired token presented at another event's door: WRONG_EVENT.",
      signingKey: K1,
      claims,
      token: valid,
      eventId: OTHER_EVENT_ID,
      expected: "WRONG_EVENT",
    },
    {
      name: "event-id-case-matters",
      description: "The event id is hashed exactly as given: the upper-case spelling of the same UUID is another event, WRONG_EVENT.",
      signingKey: K1,
      claims,
      token: valid,
      eventId: EVENT_ID.toUpperCase(),
      expected: "WRONG_EVENT",
    },
    { name: "empty", description: "The empty string: MALFORMED.", token: "", expected: "MALFORMED" },
    {
      name: "old-json-design",
      description: "A QR payload of the old design (JSON with a hex HMAC): MALFORMED.",
      token: oldDesign,
      expected: "MALFORMED",
    },
    {
      name: "url",
      description: "A URL (what a phone camera app may hand over): MALFORMED.",
      token: `https://tickets.example.com/t/${valid}`,
      expected: "MALFORMED",
    },
    {
      name: "trailing-newline",
      description: "The token followed by a line feed: MALFORMED (no trimming; a scanner app must pass the exact QR text).",
      derivedFrom: "valid",
      token: `${valid}\n`,
      expected: "MALFORMED",
    },
    {
      name: "padding",
      description: "The base32 part with RFC 4648 padding added: MALFORMED (no padding).",
      derivedFrom: "valid",
      token: `${valid}=`,
      expected: "MALFORMED",
    },
    {
      name: "truncated",
      description: "The last character removed: MALFORMED (the base32 part is exactly 71 characters).",
      derivedFrom: "valid",
      token: valid.slice(0, -1),
      expected: "MALFORMED",
    },
    {
      name: "other-version",
      description: "Prefix TG2: MALFORMED.",
      derivedFrom: "valid",
      token: valid.replace("TG1.", "TG2."),
      expected: "MALFORMED",
    },
    {
      name: "empty-kid",
      description: "An empty kid: MALFORMED.",
      derivedFrom: "valid",
      token: valid.replace("TG1.K1.", "TG1.."),
      expected: "MALFORMED",
    },
    {
      name: "nine-char-kid",
      description: "A 9-character kid: MALFORMED.",
      derivedFrom: "valid",
      token: valid.replace("TG1.K1.", "TG1.ROT2025QX."),
      expected: "MALFORMED",
    },
    {
      name: "extra-part",
      description: "A fourth dot-separated part: MALFORMED.",
      derivedFrom: "valid",
      token: `${valid}.X`,
      expected: "MALFORMED",
    },
  ];

  const vectors: Vector[] = drafts.map((draft) => {
    const { keyRing = [K1], now = BEFORE, ...rest } = draft;
    const vector: Vector = {
      name: rest.name,
      description: rest.description,
      keyRing,
      ...(rest.signingKey ? { signingKey: rest.signingKey } : {}),
      ...(rest.claims ? { claims: rest.claims } : {}),
      ...(rest.derivedFrom ? { derivedFrom: rest.derivedFrom } : {}),
      token: rest.token,
      decoded: decode(rest.token),
      now,
      ...(rest.eventId !== undefined ? { eventId: rest.eventId } : {}),
      expected: rest.expected,
    };
    return vector;
  });

  return {
    format: "ticketgen QR token v1 (TG1)",
    spec: "docs/qr-token.md",
    generator: "packages/shared/test/support/generate-vectors.ts (recipe in packages/shared/test/support/vectors.ts)",
    notes: [
      "secret: the HMAC key is the UTF-8 encoding of the string.",
      "keyRing: the verifier's ring in order; the first key signs new tokens, every key verifies.",
      "signingKey + claims: token is exactly what signing these claims with this single key gives.",
      "derivedFrom: token was made by editing another vector's token (tampering, garbage).",
      "decoded: the body fields whenever the text is TG1.<1-8 char kid>.<71 canonical base32 chars>, whatever the verdict; null otherwise.",
      "expected: the verdict of verifyToken at `now`, then, only when it is VALID and eventId is present, WRONG_EVENT if the event tag differs.",
    ],
    vectors,
  };
}
