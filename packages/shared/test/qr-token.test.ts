import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createKeyRing, eventTag, signToken, tokenMatchesEvent, verifyToken, type KeyRing } from "../src/index.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/** Every character a QR alphanumeric segment can hold. */
const QR_ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

const secret = (label: string) => Buffer.from(`ticketgen unit-test secret ${label} .............`, "utf8");
const OLD = { kid: "K1", secret: secret("old") };
const NEW = { kid: "K2", secret: secret("new") };
const LONG = { kid: "ROT2025Q", secret: secret("long") };

const NOW = new Date("2025-08-15T18:00:00Z");
const EXPIRES = new Date("2025-09-01T22:00:00Z");
const claims = { ticketId: "01912d4c-8a3e-7b5f-9c21-3e4f5a6b7c8d", eventId: "evt-1", expiresAt: EXPIRES };

function tokenOf(ring: KeyRing, overrides: Partial<typeof claims> = {}): string {
  return signToken(ring, { ...claims, ...overrides });
}

describe("QR token: single-character changes", () => {
  // A ring that holds several keys, so that a changed kid can land on another real key.
  const ring = createKeyRing([LONG, OLD, NEW, { kid: "ROT2025R", secret: secret("r") }, { kid: "ROT2O25Q", secret: secret("o") }]);

  it.each([
    ["kid K1", createKeyRing([OLD]), "K1"],
    ["8-character kid", createKeyRing([LONG]), "ROT2025Q"],
  ])("no single-character change of a valid token (%s) verifies", (_label, signer, kid) => {
    const token = tokenOf(signer);
    expect(token.startsWith(`TG1.${kid}.`)).toBe(true);
    expect(verifyToken(ring, token, NOW).ok).toBe(true);
    let tried = 0;
    for (let i = 0; i < token.length; i++) {
      const original = token[i]!;
      const candidates = new Set([...QR_ALPHANUMERIC, original.toLowerCase(), "=", "a"]);
      candidates.delete(original);
      for (const char of candidates) {
        const changed = token.slice(0, i) + char + token.slice(i + 1);
        const result = verifyToken(ring, changed, NOW);
        tried++;
        expect(result.ok, `position ${i}: ${original} → ${JSON.stringify(char)}`).toBe(false);
        if (!result.ok) expect(["MALFORMED", "INVALID_SIGNATURE"]).toContain(result.reason);
      }
    }
    expect(tried).toBeGreaterThan(token.length * 40);
  });

  it("every other base32 character in the body is a signature failure, except non-canonical ones in the last position", () => {
    const token = tokenOf(createKeyRing([OLD]));
    const start = token.lastIndexOf(".") + 1;
    for (let i = start; i < token.length; i++) {
      for (const char of ALPHABET) {
        if (char === token[i]) continue;
        const result = verifyToken(ring, token.slice(0, i) + char + token.slice(i + 1), NOW);
        const last = i === token.length - 1;
        // The last character carries 2 data bits; its 3 low bits must be zero.
        const expected = last && (ALPHABET.indexOf(char) & 0b111) !== 0 ? "MALFORMED" : "INVALID_SIGNATURE";
        expect(result, `position ${i} → ${char}`).toEqual({ ok: false, reason: expected });
      }
    }
  });

  it("the last character is canonical in a signed token", () => {
    for (let i = 0; i < 200; i++) {
      const token = tokenOf(createKeyRing([OLD]), { ticketId: randomUUID() });
      expect(ALPHABET.indexOf(token.at(-1)!) & 0b111).toBe(0);
    }
  });
});

describe("QR token: key rotation", () => {
  const before = createKeyRing([OLD]);
  const during = createKeyRing([NEW, OLD]);
  const after = createKeyRing([NEW]);

  it("the first key of the ring signs and every key verifies", () => {
    const oldToken = tokenOf(before);
    const newToken = tokenOf(during);
    expect(oldToken.startsWith("TG1.K1.")).toBe(true);
    expect(newToken.startsWith("TG1.K2.")).toBe(true);
    expect(verifyToken(during, oldToken, NOW)).toMatchObject({ ok: true, token: { kid: "K1" } });
    expect(verifyToken(during, newToken, NOW)).toMatchObject({ ok: true, token: { kid: "K2" } });
    expect(verifyToken(before, newToken, NOW)).toEqual({ ok: false, reason: "INVALID_SIGNATURE" });
  });

  it("a kid that left the ring, or never was in it, is INVALID_SIGNATURE", () => {
    expect(verifyToken(after, tokenOf(before), NOW)).toEqual({ ok: false, reason: "INVALID_SIGNATURE" });
    const stranger = createKeyRing([{ kid: "K9", secret: secret("stranger") }]);
    expect(verifyToken(during, tokenOf(stranger), NOW)).toEqual({ ok: false, reason: "INVALID_SIGNATURE" });
  });

  it("a known kid with another secret is INVALID_SIGNATURE", () => {
    const impostor = createKeyRing([{ kid: "K1", secret: secret("impostor") }]);
    expect(verifyToken(during, tokenOf(impostor), NOW)).toEqual({ ok: false, reason: "INVALID_SIGNATURE" });
  });

  it("createKeyRing refuses bad kids, short secrets, duplicates and an empty ring", () => {
    expect(() => createKeyRing([])).toThrow(/at least one key/);
    expect(() => createKeyRing([{ kid: "k1", secret: secret("x") }])).toThrow(/1 to 8 characters A-Z or 0-9/);
    expect(() => createKeyRing([{ kid: "ABCDEFGHI", secret: secret("x") }])).toThrow(/1 to 8/);
    expect(() => createKeyRing([{ kid: "K1", secret: Buffer.alloc(31, 1) }])).toThrow(/31 bytes; at least 32/);
    expect(() => createKeyRing([OLD, { kid: "K1", secret: secret("y") }])).toThrow(/appears twice/);
    expect(() => createKeyRing([{ kid: "K1", secret: Buffer.alloc(32, 1) }])).not.toThrow();
  });
});

describe("QR token: expiry and event", () => {
  const ring = createKeyRing([OLD]);
  const token = tokenOf(ring);

  it("is VALID one second before expiry and EXPIRED at expiry and after", () => {
    expect(verifyToken(ring, token, new Date(EXPIRES.getTime() - 1000)).ok).toBe(true);
    expect(verifyToken(ring, token, new Date(EXPIRES.getTime() - 1)).ok).toBe(true);
    for (const now of [EXPIRES, new Date(EXPIRES.getTime() + 1), new Date(EXPIRES.getTime() + 86400_000)]) {
      const result = verifyToken(ring, token, now);
      expect(result).toMatchObject({ ok: false, reason: "EXPIRED", token: { ticketId: claims.ticketId } });
    }
  });

  it("truncates a sub-second expiry down to the whole second", () => {
    const t = tokenOf(ring, { expiresAt: new Date(EXPIRES.getTime() + 999) });
    expect(t).toBe(token);
  });

  it("refuses to sign an expiry outside uint32 seconds or a ticket id that is not a lower-case UUID", () => {
    expect(() => tokenOf(ring, { expiresAt: new Date(0) })).toThrow(/out of range/);
    expect(() => tokenOf(ring, { expiresAt: new Date(2 ** 32 * 1000) })).toThrow(/out of range/);
    expect(() => tokenOf(ring, { expiresAt: new Date(Number.NaN) })).toThrow(/out of range/);
    expect(() => tokenOf(ring, { ticketId: claims.ticketId.toUpperCase() })).toThrow(/lower-case UUID/);
    expect(tokenOf(ring, { expiresAt: new Date((2 ** 32 - 1) * 1000) })).toMatch(/^TG1\.K1\.[A-Z2-7]{71}$/);
  });

  it("binds the event: same id matches, any other id (even differing only in case) does not", () => {
    const result = verifyToken(ring, token, NOW);
    if (!result.ok) throw new Error("expected a valid token");
    expect(result.token.eventTag).toBe(eventTag("evt-1").toString("hex"));
    expect(tokenMatchesEvent(result.token, "evt-1")).toBe(true);
    expect(tokenMatchesEvent(result.token, "evt-2")).toBe(false);
    expect(tokenMatchesEvent(result.token, "EVT-1")).toBe(false);
    expect(tokenMatchesEvent(result.token, "")).toBe(false);
  });

  it("binds each of more events than its memo of event tags holds, signed and checked in turn", () => {
    const events = Array.from({ length: 10_050 }, (_, i) => `evt-${i}`);
    const verified = events.map((eventId) => {
      const result = verifyToken(ring, tokenOf(ring, { eventId }), NOW);
      if (!result.ok) throw new Error(`expected a valid token for ${eventId}`);
      return result.token;
    });
    const mismatches = verified.filter(
      (token, i) => !tokenMatchesEvent(token, events[i]!) || tokenMatchesEvent(token, events[i + 1] ?? "evt-0"),
    );
    expect(mismatches).toEqual([]);
    expect(verified[0]!.eventTag).toBe(eventTag("evt-0").toString("hex"));
  });
});

describe("QR token: garbage never throws and never verifies", () => {
  const ring = createKeyRing([OLD, NEW]);
  const valid = tokenOf(ring);
  const noisyChars = `${QR_ALPHANUMERIC}abcxyz=.\n\t\u00e9\u20ac\ud83c\udfab\ud800\u0000{}"`;

  function randomString(length: number, chars: string): string {
    let out = "";
    for (let i = 0; i < length; i++) out += chars[randomInt(chars.length)];
    return out;
  }

  function expectRejected(text: string) {
    let result;
    expect(() => (result = verifyToken(ring, text, NOW)), JSON.stringify(text)).not.toThrow();
    expect(result!.ok, JSON.stringify(text)).toBe(false);
  }

  it("random strings", () => {
    for (let i = 0; i < 3000; i++) expectRejected(randomString(randomInt(0, 200), noisyChars));
  });

  it("random bytes read as UTF-8 and as Latin-1", () => {
    for (let i = 0; i < 2000; i++) {
      const bytes = randomBytes(randomInt(0, 120));
      expectRejected(bytes.toString("utf8"));
      expectRejected(bytes.toString("latin1"));
    }
  });

  it("near-miss tokens: random bodies, wrong lengths, extra dots, prefixes and suffixes", () => {
    const header = "TG1.K1.";
    for (let i = 0; i < 2000; i++) {
      expectRejected(header + randomString(71, ALPHABET));
      expectRejected(header + randomString(randomInt(60, 80), ALPHABET).replace(/^.{71}$/, (s) => `${s}A`));
      expectRejected(`TG1.${randomString(randomInt(0, 10), "ABCK12")}.${valid.slice(7)}`.replace("TG1.K1.", "TG1.K3."));
    }
    for (const text of [
      ".",
      "..",
      "TG1",
      "TG1.",
      "TG1..",
      "TG1.K1.",
      "TG1.K1..",
      `${valid}.`,
      `.${valid}`,
      ` ${valid}`,
      `${valid} `,
      `${valid}\r\n`,
      `${valid}${valid}`,
      valid.replaceAll(".", ":"),
      valid.replace("TG1.", ""),
      `TG1.K1.${valid.slice(7).toLowerCase()}`,
      `TG1.K1.${"=".repeat(71)}`,
      `TG1.K1.${"A".repeat(70)}`,
      `TG1.K1.${"A".repeat(72)}`,
      `TG1.K1.${"A".repeat(71)}`,
      "x".repeat(1_000_000),
      `${"TG1.K1.".repeat(10_000)}`,
    ]) {
      expectRejected(text);
    }
  });
});

describe("verifyToken with an invalid clock", () => {
  it("throws instead of skipping the expiry check", () => {
    const keys = createKeyRing([OLD]);
    const token = signToken(keys, { ticketId: randomUUID(), eventId: "e", expiresAt: new Date("2030-01-01T00:00:00Z") });
    expect(() => verifyToken(keys, token, new Date(Number.NaN))).toThrow("verifyToken: now is not a valid date");
  });
});
