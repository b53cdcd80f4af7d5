/**
 * A second verifier written only from docs/qr-token.md, sharing no code with src/ (node:crypto
 * and a hand-written base32 decoder). It must agree with the shared verifyToken on every
 * committed vector and on mutated tokens: that is the evidence the spec alone is enough for a
 * door-scanner app in another language.
 */
import { createHash, createHmac, randomInt, timingSafeEqual } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createKeyRing, tokenMatchesEvent, verifyToken } from "../src/index.ts";
import { readVectorFile, type Expected, type VectorKey } from "./support/vectors.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** docs/qr-token.md, "Base32": exactly 71 characters → 44 bytes, the 3 unused low bits zero. */
function decodeBody(text: string): Buffer | undefined {
  if (text.length !== 71) return undefined;
  let bits = "";
  for (const char of text) {
    const value = ALPHABET.indexOf(char);
    if (value < 0) return undefined;
    bits += value.toString(2).padStart(5, "0");
  }
  if (bits.slice(352) !== "000") return undefined;
  const out = Buffer.alloc(44);
  for (let i = 0; i < 44; i++) out[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return out;
}

interface Decision {
  verdict: Expected;
  fields?: { kid: string; ticketId: string; eventTagHex: string; expiresAtUnix: number };
}

/** docs/qr-token.md, "Verification procedure", step by step. */
export function specVerify(keys: VectorKey[], text: string, nowMs: number, eventId?: string): Decision {
  // 1. Shape.
  const parts = text.split(".");
  if (parts.length !== 3 || parts[0] !== "TG1") return { verdict: "MALFORMED" };
  const kid = parts[1]!;
  const encoded = parts[2]!;
  if (!/^[A-Z0-9]{1,8}$/.test(kid)) return { verdict: "MALFORMED" };
  // 2. Canonical base32.
  const body = decodeBody(encoded);
  if (!body) return { verdict: "MALFORMED" };
  // 3. Key.
  const key = keys.find((k) => k.kid === kid);
  if (!key) return { verdict: "INVALID_SIGNATURE" };
  // 4. MAC over ASCII "TG1.<KID>." then body[0..28), first 16 bytes, constant-time compare.
  const mac = createHmac("sha256", Buffer.from(key.secret, "utf8"))
    .update(Buffer.concat([Buffer.from(`TG1.${kid}.`, "ascii"), body.subarray(0, 28)]))
    .digest()
    .subarray(0, 16);
  if (!timingSafeEqual(mac, body.subarray(28, 44))) return { verdict: "INVALID_SIGNATURE" };
  const hex = body.subarray(0, 16).toString("hex");
  const fields = {
    kid,
    ticketId: [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-"),
    eventTagHex: body.subarray(16, 24).toString("hex"),
    expiresAtUnix: body.readUInt32BE(24),
  };
  // 5. Expiry: valid while now < expires_at.
  if (nowMs >= fields.expiresAtUnix * 1000) return { verdict: "EXPIRED", fields };
  // 6. Event.
  if (eventId !== undefined) {
    const tag = createHash("sha256").update(Buffer.from(eventId, "utf8")).digest().subarray(0, 8).toString("hex");
    if (tag !== fields.eventTagHex) return { verdict: "WRONG_EVENT", fields };
  }
  return { verdict: "VALID", fields };
}

function referenceVerify(keys: VectorKey[], text: string, nowMs: number, eventId?: string): Expected {
  const ring = createKeyRing(keys.map((k) => ({ kid: k.kid, secret: Buffer.from(k.secret, "utf8") })));
  const result = verifyToken(ring, text, new Date(nowMs));
  if (!result.ok) return result.reason;
  return eventId !== undefined && !tokenMatchesEvent(result.token, eventId) ? "WRONG_EVENT" : "VALID";
}

const { vectors } = readVectorFile();

describe("a verifier written from docs/qr-token.md alone", () => {
  it.each(vectors.map((v) => [v.name, v] as const))("gives the expected verdict and fields for %s", (_name, vector) => {
    const decision = specVerify(vector.keyRing, vector.token, Date.parse(vector.now), vector.eventId);
    expect(decision.verdict).toBe(vector.expected);
    expect(decision.verdict).toBe(referenceVerify(vector.keyRing, vector.token, Date.parse(vector.now), vector.eventId));
    if (decision.fields) {
      const { macHex: _mac, bodyHex: _body, ...fields } = vector.decoded!;
      expect(decision.fields).toEqual(fields);
    }
  });

  it("agrees with verifyToken on 5,000 randomly mutated tokens", () => {
    const genuine = vectors.filter((v) => v.expected === "VALID");
    const charset = `${ALPHABET}01890.abcxyz=-: /`;
    for (let i = 0; i < 5000; i++) {
      const vector = genuine[randomInt(genuine.length)]!;
      const chars = [...vector.token];
      const edits = 1 + randomInt(3);
      for (let e = 0; e < edits; e++) {
        const at = randomInt(chars.length + 1);
        const op = randomInt(3);
        const char = charset[randomInt(charset.length)]!;
        if (op === 0) chars.splice(at, 1, char);
        else if (op === 1) chars.splice(at, 0, char);
        else chars.splice(at, 1);
      }
      const text = chars.join("");
      const now = Date.parse(vector.now) + randomInt(-2, 3) * 86400_000 * 20;
      const expected = referenceVerify(vector.keyRing, text, now, vector.eventId);
      expect(specVerify(vector.keyRing, text, now, vector.eventId).verdict, JSON.stringify(text)).toBe(expected);
    }
  });
});
