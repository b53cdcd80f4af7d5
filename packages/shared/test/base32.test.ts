import { randomBytes, randomInt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { base32Decode, base32Encode } from "../src/token/base32.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

describe("base32 (RFC 4648, upper case, no padding, canonical)", () => {
  it.each([
    ["", ""],
    ["f", "MY"],
    ["fo", "MZXQ"],
    ["foo", "MZXW6"],
    ["foob", "MZXW6YQ"],
    ["fooba", "MZXW6YTB"],
    ["foobar", "MZXW6YTBOI"],
  ])("RFC 4648 test vector %j ↔ %s", (text, encoded) => {
    expect(base32Encode(Buffer.from(text))).toBe(encoded);
    expect(Buffer.from(base32Decode(encoded)!).toString()).toBe(text);
  });

  it("round-trips random bytes of every length from 0 to 100", () => {
    for (let length = 0; length <= 100; length++) {
      for (let i = 0; i < 20; i++) {
        const bytes = randomBytes(length);
        const encoded = base32Encode(bytes);
        expect(encoded).toMatch(/^[A-Z2-7]*$/);
        expect(encoded.length).toBe(Math.ceil((length * 8) / 5));
        expect(Buffer.from(base32Decode(encoded)!).equals(bytes)).toBe(true);
      }
    }
  });

  it("rejects a non-zero unused trailing bit, for every length that has unused bits", () => {
    for (let length = 1; length <= 12; length++) {
      const encoded = base32Encode(randomBytes(length));
      const unused = (encoded.length * 5) % 8;
      if (unused === 0) continue;
      const last = ALPHABET.indexOf(encoded.at(-1)!);
      for (let bit = 0; bit < unused; bit++) {
        const changed = encoded.slice(0, -1) + ALPHABET[last ^ (1 << bit)];
        expect(base32Decode(changed), `${encoded} → ${changed}`).toBeUndefined();
      }
    }
  });

  it("rejects lengths no byte string encodes to (1, 3, 6 mod 8)", () => {
    for (const length of [1, 3, 6, 9, 11, 14, 17, 70, 73]) {
      const text = "A".repeat(length);
      expect(base32Decode(text), `length ${length}`).toBeUndefined();
    }
  });

  it("rejects padding, lower case and characters outside the alphabet", () => {
    expect(base32Decode("MY======")).toBeUndefined();
    expect(base32Decode("MY=")).toBeUndefined();
    expect(base32Decode("my")).toBeUndefined();
    for (const char of "01890=-. a\n\u00e9") {
      const encoded = base32Encode(randomBytes(5));
      const at = randomInt(encoded.length);
      expect(base32Decode(encoded.slice(0, at) + char + encoded.slice(at + 1)), JSON.stringify(char)).toBeUndefined();
    }
  });

  it("every distinct canonical string decodes to distinct bytes (exhaustive over 2 characters)", () => {
    const seen = new Map<string, string>();
    for (const a of ALPHABET) {
      for (const b of ALPHABET) {
        const decoded = base32Decode(a + b);
        if (!decoded) continue;
        const key = Buffer.from(decoded).toString("hex");
        expect(seen.has(key)).toBe(false);
        seen.set(key, a + b);
        expect(base32Encode(decoded)).toBe(a + b);
      }
    }
    expect(seen.size).toBe(256);
  });
});
