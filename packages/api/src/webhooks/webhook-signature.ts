import { createHmac } from "node:crypto";

export const SIGNATURE_HEADER = "x-ticketgen-signature";

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it with the
 * shared secret and rejects old timestamps, so a captured delivery cannot be replayed later.
 */
export function signWebhook(secret: Buffer, body: string, timestamp: number): string {
  const mac = createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex");
  return `t=${timestamp},v1=${mac}`;
}
