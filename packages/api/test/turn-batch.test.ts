import { describe, expect, it } from "vitest";
import { TurnBatcher } from "../src/db/turn-batcher.ts";

/** A batcher over a fake store that records every fetch it was asked for. */
function recording(store: Record<string, Record<string, string>>, fail?: (group: string) => Error | undefined) {
  const fetches: Array<{ group: string; keys: string[] }> = [];
  const batcher = new TurnBatcher<string>(async (group, keys) => {
    fetches.push({ group, keys });
    const error = fail?.(group);
    if (error) throw error;
    return new Map(keys.filter((key) => key in (store[group] ?? {})).map((key) => [key, store[group]![key]!]));
  });
  return { batcher, fetches };
}

describe("TurnBatcher", () => {
  it("answers the lookups of one event-loop turn with one fetch per group, each key once", async () => {
    const { batcher, fetches } = recording({ acme: { a: "A", b: "B" }, other: { a: "other A" } });
    const answers = await Promise.all([
      batcher.load("acme", "a"),
      batcher.load("acme", "b"),
      batcher.load("acme", "a"),
      batcher.load("acme", "missing"),
      batcher.load("other", "a"),
    ]);
    expect(answers).toEqual(["A", "B", "A", undefined, "other A"]);
    expect(fetches).toEqual([
      { group: "acme", keys: ["a", "b", "missing"] },
      { group: "other", keys: ["a"] },
    ]);
  });

  it("starts a new fetch for lookups made after the turn", async () => {
    const { batcher, fetches } = recording({ acme: { a: "A" } });
    expect(await batcher.load("acme", "a")).toBe("A");
    expect(await batcher.load("acme", "a")).toBe("A");
    expect(fetches).toHaveLength(2);
  });

  it("fails every lookup of a failed fetch, and only those", async () => {
    const { batcher } = recording({ acme: { a: "A" }, other: { a: "other A" } }, (group) => (group === "acme" ? new Error("connection lost") : undefined));
    const [failed, sameBatch, otherGroup] = await Promise.allSettled([batcher.load("acme", "a"), batcher.load("acme", "b"), batcher.load("other", "a")]);
    expect(failed).toEqual({ status: "rejected", reason: new Error("connection lost") });
    expect(sameBatch).toEqual({ status: "rejected", reason: new Error("connection lost") });
    expect(otherGroup).toEqual({ status: "fulfilled", value: "other A" });
  });
});
