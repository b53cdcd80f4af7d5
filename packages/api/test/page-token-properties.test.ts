import { Code, ConnectError } from "@connectrpc/connect";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createKeyRing } from "@ticketgen/shared";
import { decodePageToken, encodePageToken } from "../src/tickets/page-token.ts";
import { anyText, properties, singleCharacterChanges } from "../../shared/test/support/properties.ts";

/**
 * Property tests of ListTickets' page tokens. Contract of decodePageToken: returns the last
 * ticket id of the page the token was issued for, or throws ConnectError INVALID_ARGUMENT
 * "page_token: is not a token returned by ListTickets for this event_id"; nothing else.
 */

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const REFUSED = "page_token: is not a token returned by ListTickets for this event_id";

const key = (kid: string) => fc.uint8Array({ minLength: 32, maxLength: 64 }).map((bytes) => ({ kid, secret: Buffer.from(bytes) }));
const ring = key("K1").map((k) => createKeyRing([k]));
const eventId = anyText("evt-0123456789", 128);

/** The decoded id, or "refused" for the documented error; any other throw fails the test. */
function decode(...args: Parameters<typeof decodePageToken>): string {
  try {
    return decodePageToken(...args);
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.InvalidArgument && error.rawMessage === REFUSED) return "refused";
    throw error;
  }
}

describe("page tokens (property)", () => {
  it("round-trip: decode(encode(event, id)) = id, also after the signing key was rotated", () => {
    fc.assert(
      fc.property(key("K1"), key("K2"), eventId, fc.uuid(), (old, current, event, id) => {
        const token = encodePageToken(createKeyRing([old]), event, id);
        expect(decode(createKeyRing([old]), token, event)).toBe(id);
        expect(decode(createKeyRing([current, old]), token, event)).toBe(id);
        // A key that left the ring no longer vouches for its tokens.
        expect(decode(createKeyRing([current]), token, event)).toBe("refused");
      }),
      properties(1000),
    );
  });

  it("never throws anything but INVALID_ARGUMENT, and accepts nothing made up, on any text and event id", () => {
    const tokenLike = fc.oneof(anyText(BASE64URL, 100), fc.string({ unit: fc.constantFrom(...BASE64URL), minLength: 42, maxLength: 44 }));
    fc.assert(
      fc.property(ring, tokenLike, eventId, (r, token, event) => {
        expect(decode(r, token, event)).toBe("refused");
      }),
      properties(5000),
    );
    const r = createKeyRing([{ kid: "K1", secret: Buffer.alloc(32, 1) }]);
    for (const huge of ["A".repeat(1 << 20), "\uD800".repeat(1 << 20), "=".repeat(1 << 20)]) {
      expect(decode(r, huge, "evt-1")).toBe("refused");
      expect(decode(r, encodePageToken(r, "evt-1", "01912d4c-8a3e-7b5f-9c21-3e4f5a6b7c8d"), huge)).toBe("refused");
    }
  });

  it("is bound to its event: a token of one event is refused for any other", () => {
    fc.assert(
      fc.property(ring, eventId, eventId, fc.uuid(), (r, event, other, id) => {
        fc.pre(event !== other);
        expect(decode(r, encodePageToken(r, event, id), other)).toBe("refused");
      }),
      properties(1000),
    );
  });

  it("no single-character substitution, deletion or insertion of a genuine token is accepted", () => {
    const alphabet = `${BASE64URL}=+/. \n\u0000é\uD800`;
    let tried = 0;
    fc.assert(
      fc.property(ring, eventId, fc.uuid(), (r, event, id) => {
        const token = encodePageToken(r, event, id);
        const accepted: string[] = [];
        for (const { change, text } of singleCharacterChanges(token, alphabet)) {
          tried++;
          if (decode(r, text, event) !== "refused") accepted.push(change);
        }
        expect(accepted, token).toEqual([]);
      }),
      properties(15),
    );
    expect(tried).toBeGreaterThan(15 * 43 * 2 * new Set(alphabet).size);
  });
});
