import { v7 as uuidv7 } from "uuid";

/**
 * A UUIDv7 greater than every one this process made before, also within one millisecond and
 * after the clock stepped back, so keyset pagination by id lists rows in creation order and a
 * cursor never passes a row created after it. uuid keeps that per-process sequence only when
 * v7() gets no options: an explicit timestamp would make the order within a millisecond random.
 */
export function timeOrderedId(): string {
  return uuidv7();
}
