import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { generateTicketCode, parseTicketCode } from "../src/index.ts";
import { anyText, properties, singleCharacterChanges } from "./support/properties.ts";

/**
 * Property tests of ticket codes. Contract of parseTicketCode: never throws; returns the
 * canonical (trimmed, upper-case) code when the text is a well-formed code with a correct
 * checksum, otherwise undefined.
 */

const CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const HEX = "0123456789ABCDEF";
/** Every millisecond a Date can hold after 1970: base36 timestamps of 1 to 11 characters. */
const now = fc.oneof(fc.integer({ min: 0, max: 8.64e15 }), fc.integer({ min: 0, max: 36 ** 4 }));

/** A code built from the format's description, independently of generateTicketCode. */
function specCode(timestamp: number, random: string): string {
  const base36 = timestamp.toString(36).toUpperCase();
  const sum = createHash("sha256")
    .update(base36 + random, "utf8")
    .digest("hex")
    .slice(0, 8)
    .toUpperCase();
  return `TKT-${base36}-${random}-${sum}`;
}
const random = fc.string({ unit: fc.constantFrom(...CHARS), minLength: 6, maxLength: 6 });

describe("ticket codes (property)", () => {
  it("round-trip: every generated code parses back to itself, in any case and with white space around it", () => {
    fc.assert(
      fc.property(now, fc.constantFrom("", " ", "\t", "\r\n"), (ms, space) => {
        const code = generateTicketCode(ms);
        expect(parseTicketCode(code)).toBe(code);
        expect(parseTicketCode(`${space}${code.toLowerCase()}${space}`)).toBe(code);
        expect(parseInt(code.split("-")[1]!, 36)).toBe(ms);
      }),
      properties(3000),
    );
  });

  it("parseTicketCode never throws, and what it accepts is canonical and has a correct checksum", () => {
    const codeLike = fc
      .tuple(
        fc.constantFrom("TKT", "tkt", "TKT-", ""),
        fc.string({ unit: fc.constantFrom(...CHARS, "a", "-"), maxLength: 13 }),
        fc.string({ unit: fc.constantFrom(...CHARS, "z"), maxLength: 7 }),
        fc.string({ unit: fc.constantFrom(...HEX, "g", "-"), maxLength: 9 }),
      )
      .map((parts) => parts.join("-"));
    fc.assert(
      fc.property(fc.oneof(anyText(`${CHARS}TKT-abc `, 80), codeLike), (text) => {
        const code = parseTicketCode(text);
        if (code === undefined) return;
        expect(code).toBe(text.trim().toUpperCase());
        const [, timestamp, rand] = code.split("-");
        expect(code).toBe(specCode(parseInt(timestamp!, 36), rand!));
      }),
      properties(5000),
    );
    for (const huge of ["T".repeat(1 << 20), `TKT-${"1".repeat(1 << 20)}-AAAAAA-00000000`, " ".repeat(1 << 20), "\uD800".repeat(1 << 20)]) {
      expect(parseTicketCode(huge)).toBeUndefined();
    }
  });

  it("the checksum refuses every single-character substitution, deletion or insertion that changes the code", () => {
    // Case and surrounding white space are not changes (the code is read case-insensitively and
    // trimmed): a change counts when the canonical text differs. Look-alikes outside ASCII
    // include some whose upper case is ASCII (ı → I, ſ → S) or longer (ß → SS).
    const alphabet = `${CHARS}abcdefghijklmnopqrstuvwxyz-_ .\t\u0000\u00a0ıſßﬀ\uff21\u212a\uD800`;
    let tried = 0;
    fc.assert(
      fc.property(now, random, (ms, rand) => {
        const code = specCode(ms, rand);
        expect(parseTicketCode(code)).toBe(code);
        const accepted: string[] = [];
        for (const { change, text } of singleCharacterChanges(code, alphabet)) {
          if (text.trim().toUpperCase() === code) continue;
          tried++;
          if (parseTicketCode(text) !== undefined) accepted.push(change);
        }
        expect(accepted, code).toEqual([]);
      }),
      properties(200),
    );
    expect(tried).toBeGreaterThan(200 * 20 * new Set(alphabet).size);
  });
});
