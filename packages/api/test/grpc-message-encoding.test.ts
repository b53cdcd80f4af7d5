import { describe, expect, it } from "vitest";
import { encodeGrpcMessage, MAX_GRPC_MESSAGE_LENGTH } from "../src/server/grpc-message-encoding.ts";

describe("grpc-message encoding", () => {
  it("percent-encodes only bytes outside printable ASCII, and '%'", () => {
    expect(encodeGrpcMessage("guest.email: must be an e-mail address")).toBe("guest.email: must be an e-mail address");
    expect(encodeGrpcMessage("100% Zoé\n")).toBe("100%25 Zo%C3%A9%0A");
    // A lone surrogate, which encodeURIComponent throws on, goes out as U+FFFD.
    expect(encodeGrpcMessage("a\uD800b")).toBe("a%EF%BF%BDb");
  });

  it("cuts a long message at a character boundary and ends it with …", () => {
    for (const unit of ["x", "é", "👩‍👩‍👧‍👦", "%"]) {
      const encoded = encodeGrpcMessage(`template "${unit.repeat(100_000)}" not found`);
      expect(encoded.length).toBeLessThanOrEqual(MAX_GRPC_MESSAGE_LENGTH);
      expect(encoded.length).toBeGreaterThan(MAX_GRPC_MESSAGE_LENGTH - 40);
      expect(encoded.endsWith("%E2%80%A6")).toBe(true);
      const decoded = decodeURIComponent(encoded);
      expect(decoded.startsWith(`template "${unit}`)).toBe(true);
      expect(decoded.endsWith("…")).toBe(true);
    }
    const fits = "x".repeat(MAX_GRPC_MESSAGE_LENGTH);
    expect(encodeGrpcMessage(fits)).toBe(fits);
    expect(encodeGrpcMessage(`${fits}y`)).toBe(`${"x".repeat(MAX_GRPC_MESSAGE_LENGTH - 9)}%E2%80%A6`);
  });
});
