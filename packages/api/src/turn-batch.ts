import DataLoader from "dataloader";

/**
 * Calls made during one turn of the event loop, handed to `run` together once the turn ends
 * (DataLoader, scheduled by setImmediate: its default batch is one microtask queue, and calls
 * reach here after different numbers of awaits). Under load, calls arrive in bursts (one socket
 * read carries many HTTP/2 streams); one statement or round trip for the burst spares each call
 * one of its own. `run` settles every item on its own (same order as given), so one item's
 * failure need not be the others'. Nothing is cached: each call is run, whoever makes it.
 */
export class TurnBatch<T, R> {
  private readonly loader: DataLoader<T, R>;

  /** `maxBatchSize`: a turn with more calls is split into runs of at most this many. */
  constructor(run: (items: T[]) => Promise<Array<PromiseSettledResult<R>>>, { maxBatchSize = Infinity } = {}) {
    this.loader = new DataLoader<T, R>(
      async (items) => (await run([...items])).map((outcome) => (outcome.status === "fulfilled" ? outcome.value : asError(outcome.reason))),
      { cache: false, maxBatchSize, batchScheduleFn: (dispatch) => setImmediate(dispatch) },
    );
  }

  add(item: T): Promise<R> {
    return this.loader.load(item);
  }
}

// DataLoader rejects a call whose result is an Error, and resolves it with anything else.
const asError = (reason: unknown) => (reason instanceof Error ? reason : new Error(String(reason)));

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
