/**
 * Calls made during one turn of the event loop, handed to `run` together once the turn ends.
 * Under load, calls arrive in bursts (one socket read carries many HTTP/2 streams); one
 * statement or round trip for the burst spares each call one of its own. `run` settles every
 * item on its own (same order as given), so one item's failure need not be the others'.
 */
export class TurnBatch<T, R> {
  private pending: { items: T[]; settled: Promise<Array<PromiseSettledResult<R>>> } | undefined;

  constructor(private readonly run: (items: T[]) => Promise<Array<PromiseSettledResult<R>>>) {}

  async add(item: T): Promise<R> {
    this.pending ??= this.next();
    const batch = this.pending;
    const index = batch.items.push(item) - 1;
    const outcome = (await batch.settled)[index]!;
    if (outcome.status === "rejected") throw outcome.reason;
    return outcome.value;
  }

  private next(): { items: T[]; settled: Promise<Array<PromiseSettledResult<R>>> } {
    const items: T[] = [];
    const settled = new Promise<Array<PromiseSettledResult<R>>>((resolve) =>
      setImmediate(() => {
        this.pending = undefined;
        resolve(this.run(items));
      }),
    );
    return { items, settled };
  }
}

/**
 * Lookups by key, batched per turn: one `fetchMany` per group (a tenant, say) with each key
 * once. A failed fetch fails the lookups of its group only; a key it did not return is undefined.
 */
export function lookupsPerTurn<V>(
  fetchMany: (group: string, keys: string[]) => Promise<Map<string, V>>,
): (group: string, key: string) => Promise<V | undefined> {
  const batch = new TurnBatch<{ group: string; key: string }, V | undefined>(async (lookups) => {
    const groups = new Map<string, Set<string>>();
    for (const { group, key } of lookups) {
      let keys = groups.get(group);
      if (!keys) groups.set(group, (keys = new Set()));
      keys.add(key);
    }
    const fetched = new Map([...groups].map(([group, keys]) => [group, fetchMany(group, [...keys])]));
    return Promise.allSettled(lookups.map(async ({ group, key }) => (await fetched.get(group)!).get(key)));
  });
  return (group, key) => batch.add({ group, key });
}
