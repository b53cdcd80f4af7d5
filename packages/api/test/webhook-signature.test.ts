import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signWebhook } from "../src/webhooks/webhook-signature.ts";

/** What a receiver does: any v1 signature made with the secret it holds, for that timestamp. */
function accepts(header: string, secret: string, body: string): boolean {
  const parts = header.split(",").map((part) => part.split("=", 2) as [string, string]);
  const t = parts.find(([k]) => k === "t")?.[1];
  const expected = createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
  return parts.some(([k, v]) => k === "v1" && v === expected);
}

describe("webhook signatures", () => {
  const body = JSON.stringify({ id: "ticket.generated.1", type: "ticket.generated" });
  const current = "current-webhook-secret-0123456789abcdef";
  const previous = "previous-webhook-secret-0123456789abcde";

  it("signs with one secret", () => {
    const header = signWebhook([Buffer.from(current)], body, 1_800_000_000);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64}$/);
    expect(accepts(header, current, body)).toBe(true);
    expect(accepts(header, previous, body)).toBe(false);
    expect(accepts(header, current, `${body} `)).toBe(false);
  });

  it("signs with both secrets during a rotation, so receivers on either one accept", () => {
    const header = signWebhook([Buffer.from(current), Buffer.from(previous)], body, 1_800_000_000);
    expect(header).toMatch(/^t=1800000000,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(accepts(header, current, body)).toBe(true);
    expect(accepts(header, previous, body)).toBe(true);
    expect(accepts(header, "some-other-secret-0123456789abcdef-0123", body)).toBe(false);
  });
});
