import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { generateTicketCode, parseTicketCode } from "../src/index.ts";

const FORMAT = /^TKT-[0-9A-Z]+-[A-Z0-9]{6}-[0-9A-F]{8}$/;
const CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/** The ticket code format: checksum = first 8 hex (upper case) of SHA-256 over timestamp + random. */
function expectedChecksum(timestamp: string, random: string): string {
  return createHash("sha256").update(`${timestamp}${random}`, "utf8").digest("hex").slice(0, 8).toUpperCase();
}

/** A code built here, independently of generateTicketCode. */
function buildCode(now: number, random: string): string {
  const timestamp = now.toString(36).toUpperCase();
  return `TKT-${timestamp}-${random}-${expectedChecksum(timestamp, random)}`;
}

describe("ticket codes", () => {
  it("have the documented format, a base36 millisecond timestamp and a recomputable checksum", () => {
    const now = Date.UTC(2025, 7, 15, 18, 0, 0, 123);
    for (let i = 0; i < 500; i++) {
      const code = generateTicketCode(now);
      expect(code).toMatch(FORMAT);
      const [, timestamp, random, sum] = code.split("-");
      expect(parseInt(timestamp!, 36)).toBe(now);
      expect(timestamp).toBe(now.toString(36).toUpperCase());
      expect(sum).toBe(expectedChecksum(timestamp!, random!));
      expect(parseTicketCode(code)).toBe(code);
    }
    expect(generateTicketCode()).toMatch(FORMAT);
  });

  it("accept a code built independently from the spec", () => {
    const code = buildCode(1723744800000, "7GQ2ZP");
    expect(code).toMatch(FORMAT);
    expect(parseTicketCode(code)).toBe(code);
  });

  it("parseTicketCode normalises lower case and surrounding white space", () => {
    const code = buildCode(1723744800000, "7GQ2ZP");
    expect(parseTicketCode(code.toLowerCase())).toBe(code);
    expect(parseTicketCode(`  ${code}\n`)).toBe(code);
    const mixed = [...code].map((c, i) => (i % 2 ? c.toLowerCase() : c)).join("");
    expect(parseTicketCode(mixed)).toBe(code);
  });

  it("parseTicketCode rejects any single changed character", () => {
    const code = buildCode(1723744800000, "7GQ2ZP");
    for (let i = 0; i < code.length; i++) {
      for (const char of `${CHARS}-_ `) {
        if (char === code[i]) continue;
        const changed = code.slice(0, i) + char + code.slice(i + 1);
        expect(parseTicketCode(changed), `${i}: ${code[i]} → ${char}`).toBeUndefined();
      }
    }
  });

  it("parseTicketCode rejects garbage and near misses", () => {
    const code = buildCode(1723744800000, "7GQ2ZP");
    for (const text of [
      "",
      "TKT",
      "TKT---",
      code.slice(0, -1),
      `${code}0`,
      code.replace("7GQ2ZP", "7GQ2Z"),
      code.replace("TKT-", "TKT--"),
      code.replaceAll("-", ""),
      `TKT-${"Z".repeat(12)}-7GQ2ZP-${expectedChecksum("Z".repeat(12), "7GQ2ZP")}`,
    ]) {
      expect(parseTicketCode(text), text).toBeUndefined();
    }
  });

  it("10,000 generated codes are unique", () => {
    const codes = new Set<string>();
    for (let i = 0; i < 10_000; i++) codes.add(generateTicketCode());
    expect(codes.size).toBe(10_000);
  });
});
