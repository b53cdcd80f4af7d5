import { describe, expect, it } from "vitest";
import { createKeyRing, eventTag, signToken, tokenMatchesEvent, verifyToken, type KeyRing } from "../src/index.ts";
import { buildVectorFile, readVectorFile, type Expected, type Vector, type VectorKey } from "./support/vectors.ts";

const file = readVectorFile();

function ringOf(keys: VectorKey[]): KeyRing {
  return createKeyRing(keys.map((key) => ({ kid: key.kid, secret: Buffer.from(key.secret, "utf8") })));
}

/** The verdict a scanner gets from the shared code: verifyToken, then the event check. */
function referenceVerdict(vector: Vector) {
  const result = verifyToken(ringOf(vector.keyRing), vector.token, new Date(vector.now));
  let verdict: Expected = result.ok ? "VALID" : result.reason;
  if (result.ok && vector.eventId !== undefined && !tokenMatchesEvent(result.token, vector.eventId)) verdict = "WRONG_EVENT";
  return { verdict, result };
}

describe("committed QR token vectors (docs/qr-token-vectors.json)", () => {
  it("are exactly what the recipe in support/vectors.ts generates", () => {
    expect(file).toEqual(buildVectorFile());
  });

  it("cover every verdict and the cases the spec promises", () => {
    const verdicts = new Set(file.vectors.map((v) => v.expected));
    expect([...verdicts].sort()).toEqual(["EXPIRED", "INVALID_SIGNATURE", "MALFORMED", "VALID", "WRONG_EVENT"]);
    const names = new Set(file.vectors.map((v) => v.name));
    for (const name of [
      "valid",
      "rotation-old-key",
      "unknown-kid",
      "tampered-mac",
      "tampered-ticket-id",
      "non-canonical-last-char",
      "lower-case-token",
      "expired-at-boundary",
      "wrong-event",
      "empty",
      "old-json-design",
      "url",
    ]) {
      expect(names, name).toContain(name);
    }
    expect(names.size).toBe(file.vectors.length);
  });

  describe.each(file.vectors.map((v) => [v.name, v] as const))("%s", (_name, vector) => {
    const { signingKey, claims, decoded } = vector;

    if (signingKey && claims) {
      it("signing the claims reproduces the token", () => {
        const token = signToken(ringOf([signingKey]), {
          ticketId: claims.ticketId,
          eventId: claims.eventId,
          expiresAt: new Date(claims.expiresAt),
        });
        expect(token).toBe(vector.token);
      });
    }

    it(`verifies as ${vector.expected}`, () => {
      const { verdict, result } = referenceVerdict(vector);
      expect(verdict).toBe(vector.expected);
      if (["VALID", "EXPIRED", "WRONG_EVENT"].includes(vector.expected)) {
        // A genuine token (the MAC matched) reports its fields.
        expect(decoded).not.toBeNull();
        expect(result.token).toEqual({
          kid: decoded!.kid,
          ticketId: decoded!.ticketId,
          eventTag: decoded!.eventTagHex,
          expiresAt: new Date(decoded!.expiresAtUnix * 1000),
        });
      } else {
        expect(result.token).toBeUndefined();
      }
    });

    if (signingKey && claims && decoded) {
      it("decoded fields restate the claims", () => {
        expect(decoded.kid).toBe(signingKey.kid);
        expect(decoded.ticketId).toBe(claims.ticketId);
        expect(decoded.eventTagHex).toBe(eventTag(claims.eventId).toString("hex"));
        expect(decoded.expiresAtUnix * 1000).toBe(Date.parse(claims.expiresAt));
        expect(decoded.bodyHex).toHaveLength(88);
        expect(decoded.bodyHex.slice(0, 32)).toBe(claims.ticketId.replaceAll("-", ""));
        expect(decoded.bodyHex.slice(32, 48)).toBe(decoded.eventTagHex);
        expect(decoded.bodyHex.slice(56)).toBe(decoded.macHex);
      });
    }
  });
});
