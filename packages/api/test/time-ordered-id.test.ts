import { afterEach, describe, expect, it, vi } from "vitest";
import { validate, version } from "uuid";
import { timeOrderedId } from "../src/db/time-ordered-id.ts";

const msOf = (id: string) => parseInt(id.replaceAll("-", "").slice(0, 12), 16);

describe("timeOrderedId", () => {
  afterEach(() => vi.restoreAllMocks());

  it("makes valid version-7 UUIDs, each greater than the one before, many within one millisecond", () => {
    const ids = Array.from({ length: 20_000 }, timeOrderedId);
    expect(ids.every((id) => validate(id) && version(id) === 7 && /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab]/.test(id))).toBe(true);
    const unordered = ids.filter((id, i) => i > 0 && id <= ids[i - 1]!);
    expect(unordered).toEqual([]);
    expect(new Set(ids.map(msOf)).size).toBeLessThan(ids.length);
  });

  it("stays ordered while the clock stands still or steps back, and follows it when it moves on", () => {
    const now = Date.now() + 60_000;
    const clock = vi.spyOn(Date, "now").mockReturnValue(now);
    const before = Array.from({ length: 500 }, timeOrderedId);
    clock.mockReturnValue(now - 5_000);
    const behind = Array.from({ length: 500 }, timeOrderedId);
    clock.mockReturnValue(now + 1_000);
    const after = timeOrderedId();

    const ids = [...before, ...behind, after];
    expect(ids.filter((id, i) => i > 0 && id <= ids[i - 1]!)).toEqual([]);
    expect(msOf(behind.at(-1)!)).toBe(now);
    expect(msOf(after)).toBe(now + 1_000);
  });

  it("draws different random bits for every id, across refills of its pool", () => {
    const tails = Array.from({ length: 1_000 }, () => timeOrderedId().slice(-12));
    expect(new Set(tails).size).toBe(tails.length);
  });
});
