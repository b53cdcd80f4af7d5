import { randomFillSync } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

/*
 * uuid's v7() draws the 16 random bytes of each id through crypto.getRandomValues, one call
 * per id: about 3 % of CreateTicket's API CPU under load. Here they come from a pool refilled
 * 4 KB at a time. uuid keeps its monotonic sequence only when v7() gets no options, so the
 * sequence is kept here, the way uuid keeps it (RFC 9562 §6.2, method 1): drawn from the random
 * bytes in a new millisecond, incremented within one and while the clock stands behind.
 */
const pool = new Uint8Array(4096);
let pooled = 0;
let lastMs = -Infinity;
let sequence = 0;

/**
 * A UUIDv7 greater than every one this process made before, also within one millisecond and
 * after the clock stepped back, so keyset pagination by id lists rows in creation order and a
 * cursor never passes a row created after it.
 */
export function timeOrderedId(): string {
  if (pooled === 0) {
    randomFillSync(pool);
    pooled = pool.length;
  }
  const random = pool.subarray(pool.length - pooled, pool.length - pooled + 16);
  pooled -= 16;
  const now = Date.now();
  if (now > lastMs) {
    sequence = ((random[6]! & 0x7f) << 24) | (random[7]! << 16) | (random[8]! << 8) | random[9]!;
    lastMs = now;
  } else {
    sequence = (sequence + 1) | 0;
    if (sequence === 0) lastMs++;
  }
  return uuidv7({ random, msecs: lastMs, seq: sequence });
}
