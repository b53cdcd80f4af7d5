import { createHmac } from "node:crypto";

export const SIGNATURE_HEADER = "x-ticketgen-signature";

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver recomputes it with the
 * shared secret and rejects old timestamps, so a captured delivery cannot be replayed later.
 * While the secret rotates, one `v1=` per secret (the new one first): a receiver accepts the
 * delivery when any of them matches the secret it holds.
 */
export function signWebhook(secrets: readonly Buffer[], body: string, timestamp: number): string {
  const macs = secrets.map((secret) => `v1=${createHmac("sha256", secret).update(`${timestamp}.${body}`).digest("hex")}`);
  return [`t=${timestamp}`, ...macs].join(",");
}
