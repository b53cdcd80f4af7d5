import { hash, randomInt } from "node:crypto";

/**
 * Ticket codes: TKT-<base36 ms timestamp>-<6 random A-Z0-9>-<8 hex checksum>, upper case.
 * The checksum (first 8 hex of SHA-256 over timestamp + random) lets a door app reject a
 * mistyped code before asking the server.
 */
const RANDOM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const RANDOM_LENGTH = 6;
const CODE_PATTERN = /^TKT-([0-9A-Z]{1,11})-([A-Z0-9]{6})-([0-9A-F]{8})$/;

function checksum(timestamp: string, random: string): string {
  return hash("sha256", timestamp + random, "hex")
    .slice(0, 8)
    .toUpperCase();
}

export function generateTicketCode(now: number = Date.now()): string {
  const timestamp = now.toString(36).toUpperCase();
  let random = "";
  for (let i = 0; i < RANDOM_LENGTH; i++) random += RANDOM_ALPHABET[randomInt(RANDOM_ALPHABET.length)];
  return `TKT-${timestamp}-${random}-${checksum(timestamp, random)}`;
}

/** The canonical (upper-case) code when the text is a well-formed code with a valid checksum. */
export function parseTicketCode(text: string): string | undefined {
  const canonical = text.trim().toUpperCase();
  const match = CODE_PATTERN.exec(canonical);
  if (!match) return undefined;
  const [, timestamp = "", random = "", sum = ""] = match;
  return checksum(timestamp, random) === sum ? canonical : undefined;
}
