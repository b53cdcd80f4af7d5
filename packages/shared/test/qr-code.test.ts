import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import QRCode from "qrcode";
import { createKeyRing, signToken } from "../src/index.ts";

describe("QR code of a token", () => {
  const ring = createKeyRing([{ kid: "ROT2025Q", secret: Buffer.from("an 8-character kid needs a secret too, 32+ bytes", "utf8") }]);

  it("uses only QR alphanumeric characters and fits version 6 at level H (1,000 random tokens, 8-character kid)", () => {
    const versions = new Map<number, number>();
    for (let i = 0; i < 1000; i++) {
      const token = signToken(ring, {
        ticketId: randomUUID(),
        eventId: randomUUID(),
        expiresAt: new Date(Date.now() + Math.floor(Math.random() * 5 * 365 * 86400_000) + 1000),
      });
      expect(token).toMatch(/^[0-9A-Z $%*+\-./:]+$/);
      expect(token).toHaveLength(84);
      const qr = QRCode.create(token, { errorCorrectionLevel: "H" });
      versions.set(qr.version, (versions.get(qr.version) ?? 0) + 1);
      expect(qr.version).toBeLessThanOrEqual(6);
      expect(qr.segments.every((segment) => segment.mode.id !== "Byte")).toBe(true);
    }
    expect([...versions.keys()]).toEqual([6]);
  });

  it("draws an SVG", async () => {
    const token = signToken(ring, { ticketId: randomUUID(), eventId: "e", expiresAt: new Date(Date.now() + 3600_000) });
    const svg = await QRCode.toString(token, { type: "svg", errorCorrectionLevel: "H", margin: 1 });
    expect(svg).toMatch(/^<svg[^>]*viewBox="0 0 43 43"/);
  });
});
