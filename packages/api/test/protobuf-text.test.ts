import { afterEach, describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";
import { TicketSchema } from "@ticketgen/shared/gen/ticketgen/v1/ticket_pb";
import { encodeProtobufStringsWithBuffer } from "../src/server/protobuf-text.ts";

const STRINGS = ["", "TKT-MB0L2X9Q-K7P2ZD-4F1A9C3E", "Zoé Ørsted", "👩‍👩‍👧‍👦 🎟️", "a\uD800b", "\uDC00", "x\0y", "é".repeat(20_000)];

describe("protobuf strings encoded with Buffer", () => {
  const protobufOwn = getTextEncoding();
  afterEach(() => configureTextEncoding(protobufOwn));

  it("writes the bytes protobuf-es' TextEncoder writes, lone surrogates included, and reads back the same", () => {
    const tickets = STRINGS.map((text) => create(TicketSchema, { id: text, ticketCode: text, qrPayload: `${text}|${text}` }));
    const expected = tickets.map((ticket) => toBinary(TicketSchema, ticket));

    encodeProtobufStringsWithBuffer();
    expect(getTextEncoding().encodeUtf8).not.toBe(protobufOwn.encodeUtf8);
    tickets.forEach((ticket, i) => {
      const bytes = toBinary(TicketSchema, ticket);
      expect(Buffer.from(bytes).equals(Buffer.from(expected[i]!))).toBe(true);
      expect(fromBinary(TicketSchema, bytes).ticketCode).toBe(fromBinary(TicketSchema, expected[i]!).ticketCode);
    });
  });
});
