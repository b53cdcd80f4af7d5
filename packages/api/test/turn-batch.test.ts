import { describe, expect, it } from "vitest";
import { lookupsPerTurn, TurnBatch } from "../src/turn-batch.ts";

describe("TurnBatch", () => {
  it("hands the calls of one event-loop turn to one run and settles each call on its own", async () => {
    const runs: number[][] = [];
    const batch = new TurnBatch<number, number>(async (items) => {
      runs.push(items);
      return items.map((n) =>
        n < 0 ? { status: "rejected", reason: new Error(`negative: ${n}`) } : { status: "fulfilled", value: n * 10 },
      );
    });
    const outcomes = await Promise.allSettled([batch.add(1), batch.add(-2), batch.add(3)]);
    expect(outcomes).toEqual([
      { status: "fulfilled", value: 10 },
      { status: "rejected", reason: new Error("negative: -2") },
      { status: "fulfilled", value: 30 },
    ]);
    expect(await batch.add(4)).toBe(40);
    expect(runs).toEqual([[1, -2, 3], [4]]);
  });

  it("a call that comes after awaits and ticks, within the same turn, joins the turn's run", async () => {
    const runs: number[][] = [];
    const batch = new TurnBatch<number, number>(async (items) => {
      runs.push(items);
      return items.map((n) => ({ status: "fulfilled", value: n }));
    });
    const late = async () => {
      for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => process.nextTick(resolve));
      return batch.add(2);
    };
    expect(await Promise.all([batch.add(1), late()])).toEqual([1, 2]);
    expect(runs).toEqual([[1, 2]]);
  });

  it("splits a turn into runs of at most maxBatchSize calls, in order", async () => {
    const runs: number[][] = [];
    const batch = new TurnBatch<number, number>(
      async (items) => {
        runs.push(items);
        return items.map((n) => ({ status: "fulfilled", value: n }));
      },
      { maxBatchSize: 2 },
    );
    expect(await Promise.all([1, 2, 3, 4, 5].map((n) => batch.add(n)))).toEqual([1, 2, 3, 4, 5]);
    expect(runs).toEqual([[1, 2], [3, 4], [5]]);
  });

  it("runs a call made twice twice: nothing is cached between calls", async () => {
    let runs = 0;
    const batch = new TurnBatch<string, number>(async (items) => items.map(() => ({ status: "fulfilled", value: ++runs })));
    expect(await batch.add("a")).toBe(1);
    expect(await batch.add("a")).toBe(2);
  });

  it("fails every call of a run that throws", async () => {
    const batch = new TurnBatch<number, number>(() => Promise.reject(new Error("connection lost")));
    const outcomes = await Promise.allSettled([batch.add(1), batch.add(2)]);
    expect(outcomes.map((o) => o.status)).toEqual(["rejected", "rejected"]);
  });
});

/** Lookups over a fake store that records every fetch it was asked for. */
function recording(store: Record<string, Record<string, string>>, fail?: (group: string) => Error | undefined) {
  const fetches: Array<{ group: string; keys: string[] }> = [];
  const lookUp = lookupsPerTurn<string>(async (group, keys) => {
    fetches.push({ group, keys });
    const error = fail?.(group);
    if (error) throw error;
    return new Map(keys.filter((key) => key in (store[group] ?? {})).map((key) => [key, store[group]![key]!]));
  });
  return { lookUp, fetches };
}

describe("lookupsPerTurn", () => {
  it("answers the lookups of one turn with one fetch per group, each key once", async () => {
    const { lookUp, fetches } = recording({ acme: { a: "A", b: "B" }, other: { a: "other A" } });
    const answers = await Promise.all([
      lookUp("acme", "a"),
      lookUp("acme", "b"),
      lookUp("acme", "a"),
      lookUp("acme", "missing"),
      lookUp("other", "a"),
    ]);
    expect(answers).toEqual(["A", "B", "A", undefined, "other A"]);
    expect(fetches).toEqual([
      { group: "acme", keys: ["a", "b", "missing"] },
      { group: "other", keys: ["a"] },
    ]);
  });

  it("fails the lookups of a group whose fetch failed, and only those", async () => {
    const { lookUp } = recording({ acme: { a: "A" }, other: { a: "other A" } }, (group) =>
      group === "acme" ? new Error("connection lost") : undefined,
    );
    const outcomes = await Promise.allSettled([lookUp("acme", "a"), lookUp("acme", "b"), lookUp("other", "a")]);
    expect(outcomes).toEqual([
      { status: "rejected", reason: new Error("connection lost") },
      { status: "rejected", reason: new Error("connection lost") },
      { status: "fulfilled", value: "other A" },
    ]);
  });
});
