interface Lookup<V> {
  resolve(value: V | undefined): void;
  reject(error: unknown): void;
}

/**
 * Gathers the lookups asked for during one turn of the event loop and answers them with one
 * fetch per group. Under load, calls arrive in bursts (one socket read carries many HTTP/2
 * streams); one query for the burst spares each call a statement, a socket write and a
 * result of its own. A fetch that fails fails every lookup it was answering.
 */
export class TurnBatcher<V> {
  /** group → key → the lookups waiting for it. */
  private pending: Map<string, Map<string, Array<Lookup<V>>>> | undefined;

  constructor(private readonly fetchMany: (group: string, keys: string[]) => Promise<Map<string, V>>) {}

  load(group: string, key: string): Promise<V | undefined> {
    if (!this.pending) {
      this.pending = new Map();
      setImmediate(() => this.flush());
    }
    let keys = this.pending.get(group);
    if (!keys) this.pending.set(group, (keys = new Map()));
    let waiting = keys.get(key);
    if (!waiting) keys.set(key, (waiting = []));
    const list = waiting;
    return new Promise((resolve, reject) => list.push({ resolve, reject }));
  }

  private flush(): void {
    const groups = this.pending!;
    this.pending = undefined;
    for (const [group, keys] of groups) {
      this.fetchMany(group, [...keys.keys()]).then(
        (found) => {
          for (const [key, waiting] of keys) for (const lookup of waiting) lookup.resolve(found.get(key));
        },
        (error: unknown) => {
          for (const waiting of keys.values()) for (const lookup of waiting) lookup.reject(error);
        },
      );
    }
  }
}
