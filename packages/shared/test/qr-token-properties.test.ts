import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createKeyRing, eventTag, parseSigningKeys, signToken, tokenMatchesEvent, verifyToken, type SigningKey } from "../src/index.ts";
import { base32Decode, base32Encode } from "../src/token/base32.ts";
import { anyText, properties, singleCharacterChanges } from "./support/properties.ts";

/**
 * Property tests of the QR token codec (docs/qr-token.md). Contracts:
 * - base32Decode never throws: bytes for a canonical encoding, otherwise undefined.
 * - verifyToken never throws on any text (§6: "any string, however long or strange, yields one
 *   of these results"); its only throw is the documented TypeError for an invalid `now`.
 * - parseSigningKeys + createKeyRing (configuration) return a ring or throw a plain Error whose
 *   message says what is wrong (the configuration prefixes the variable name); never a
 *   TypeError or RangeError.
 */

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const KID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/** What a token is made of, and its near misses: case, padding, the digits base32 lacks, separators. */
const TOKEN_ALPHABET = `${KID_CHARS}abcdefghijklmnopqrstuvwxyz.=:-_ \n\r\t`;
const MAX_EXPIRY_SECONDS = 2 ** 32 - 1;

const kid = fc.string({ unit: fc.constantFrom(...KID_CHARS), minLength: 1, maxLength: 8 });
const secret = fc.uint8Array({ minLength: 32, maxLength: 80 }).map((bytes) => Buffer.from(bytes));
const signingKey = fc.record({ kid, secret });
/** Expiries the format can hold (1 s … 2^32-1 s), with sub-second parts that signing truncates. */
const expiresAt = fc.integer({ min: 1000, max: MAX_EXPIRY_SECONDS * 1000 + 999 }).map((ms) => new Date(ms));
const claims = fc.record({ ticketId: fc.uuid(), eventId: anyText("evt-0123456789"), expiresAt });

/** Text shaped like a token (prefix, kid, body of about the right length), or anything at all. */
const tokenLike = fc.oneof(
  anyText(TOKEN_ALPHABET, 120),
  fc
    .tuple(
      fc.constantFrom("TG1", "TG2", "tg1", ""),
      fc.string({ unit: fc.constantFrom(...KID_CHARS, "a", "."), maxLength: 10 }),
      fc.string({ unit: fc.constantFrom(...BASE32, "A", "a", "0", "=", "."), minLength: 68, maxLength: 74 }),
    )
    .map(([prefix, k, body]) => `${prefix}.${k}.${body}`),
);

describe("base32 (property)", () => {
  it("round-trips any bytes: decode(encode(bytes)) = bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        expect(base32Decode(base32Encode(bytes))).toEqual(bytes);
      }),
      properties(2000),
    );
  });

  it("never throws on any text, and what it decodes is the one canonical encoding of those bytes", () => {
    fc.assert(
      fc.property(fc.oneof(anyText(`${BASE32}=a01`, 120), fc.string({ unit: fc.constantFrom(...BASE32), maxLength: 120 })), (text) => {
        const bytes = base32Decode(text);
        if (bytes !== undefined) expect(base32Encode(bytes)).toBe(text);
      }),
      properties(5000),
    );
  });
});

describe("QR token (property)", () => {
  it("verifyToken never throws and never says VALID for arbitrary text, including 1 MB of it", () => {
    const ring = createKeyRing([{ kid: "K1", secret: Buffer.alloc(32, 7) }]);
    fc.assert(
      fc.property(tokenLike, fc.date({ noInvalidDate: true }), (text, now) => {
        const result = verifyToken(ring, text, now);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(["MALFORMED", "INVALID_SIGNATURE"]).toContain(result.reason);
      }),
      properties(5000),
    );
    for (const huge of ["A".repeat(1 << 20), `TG1.K1.${"A".repeat(1 << 20)}`, ".".repeat(1 << 20), "\uD800".repeat(1 << 20)]) {
      expect(verifyToken(ring, huge)).toEqual({ ok: false, reason: "MALFORMED" });
    }
    // The one documented throw: a clock that is not a date would accept expired tokens.
    expect(() => verifyToken(ring, "TG1.K1.A", new Date(Number.NaN))).toThrow(TypeError);
  });

  it("round-trips: verify(sign(claims)) gives back the claims, VALID before expiry and EXPIRED from it on", () => {
    fc.assert(
      fc.property(
        signingKey,
        fc.uniqueArray(signingKey, { maxLength: 3, selector: (key) => key.kid }),
        claims,
        fc.double({ min: 0, max: 1, noNaN: true }),
        (signer, others, c, fraction) => {
          const ring = createKeyRing([signer]);
          // Every key of a ring verifies: the signer as an older key behind others (rotation).
          const verifiers = [ring, createKeyRing([...others.filter((other) => other.kid !== signer.kid), signer])];
          const token = signToken(ring, c);
          const expirySeconds = Math.floor(c.expiresAt.getTime() / 1000);
          const expected = {
            kid: signer.kid,
            ticketId: c.ticketId,
            eventTag: eventTag(c.eventId).toString("hex"),
            expiresAt: new Date(expirySeconds * 1000),
          };
          const before = new Date(Math.floor(expirySeconds * 1000 * fraction) - 1);
          for (const verifier of verifiers) {
            const valid = verifyToken(verifier, token, before);
            expect(valid).toEqual({ ok: true, token: expected });
            if (valid.ok) expect(tokenMatchesEvent(valid.token, c.eventId)).toBe(true);
            expect(verifyToken(verifier, token, expected.expiresAt)).toEqual({ ok: false, reason: "EXPIRED", token: expected });
          }
        },
      ),
      properties(1000),
    );
  });

  it("no single-character substitution, deletion or insertion of a genuine token verifies", () => {
    // Characters tried at every position: all that a token may hold, their lower case, padding,
    // the digits base32 lacks, white space, look-alikes outside ASCII, plus one drawn per token.
    const alphabet = `${TOKEN_ALPHABET}\u0000\u00a0\uff21\u0130\u212a\uD800é`;
    let tried = 0;
    fc.assert(
      fc.property(signingKey, claims, fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), (signer, c, extra) => {
        // Every kid one change away holds the same secret: a changed kid must still fail,
        // because the kid is part of what the MAC signs.
        const neighbours = new Map<string, SigningKey>([[signer.kid, signer]]);
        for (const { text } of singleCharacterChanges(signer.kid, KID_CHARS)) {
          if (/^[A-Z0-9]{1,8}$/.test(text) && !neighbours.has(text)) neighbours.set(text, { kid: text, secret: signer.secret });
        }
        const ring = createKeyRing([...neighbours.values()]);
        const token = signToken(createKeyRing([signer]), c);
        const now = new Date(0);
        expect(verifyToken(ring, token, now).ok).toBe(true);
        const accepted: string[] = [];
        for (const { change, text } of singleCharacterChanges(token, alphabet + extra)) {
          tried++;
          if (verifyToken(ring, text, now).ok) accepted.push(change);
        }
        expect(accepted, token).toEqual([]);
      }),
      properties(25),
    );
    // Per token of at least 77 characters: a deletion, a substitution and an insertion per position.
    expect(tried).toBeGreaterThan(25 * 77 * 2 * new Set(alphabet).size);
  });
});

describe("signing keys (property)", () => {
  const keys = fc.uniqueArray(
    fc.record({
      kid,
      // What QR_SIGNING_KEYS can carry: no ',' and no surrounding white space; ':' is allowed.
      secret: fc.string({ unit: fc.constantFrom(..."abcXYZ019:-_+/=é€", " "), minLength: 32, maxLength: 60 }).filter((s) => s.trim() === s),
    }),
    { minLength: 1, maxLength: 4, selector: (key) => key.kid },
  );

  it("round-trips: kid:secret,kid:secret parses back to the same ring, signer first", () => {
    fc.assert(
      fc.property(keys, fc.constantFrom(",", ", ", " , "), (list, separator) => {
        const parsed = parseSigningKeys(list.map((k) => `${k.kid}:${k.secret}`).join(separator));
        expect(parsed).toEqual(list.map((k) => ({ kid: k.kid, secret: Buffer.from(k.secret, "utf8") })));
        const ring = createKeyRing(parsed);
        expect(ring.signing.kid).toBe(list[0]!.kid);
        expect([...ring.byKid.keys()]).toEqual(list.map((k) => k.kid));
      }),
      properties(1000),
    );
  });

  it("parsing any text gives a ring or a plain Error with a message, nothing else", () => {
    fc.assert(
      fc.property(anyText(`${KID_CHARS}k:,  abc`, 300), (spec) => {
        try {
          createKeyRing(parseSigningKeys(spec));
        } catch (error) {
          expect((error as Error).constructor).toBe(Error);
          expect((error as Error).message).not.toBe("");
        }
      }),
      properties(3000),
    );
  });
});
