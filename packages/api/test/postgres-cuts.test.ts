import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultProxy } from "../../../faults/support/fault-proxy.ts";
import { batchRequest } from "./support/batches.ts";
import { scratchDatabase } from "./support/database.ts";
import { spawnService, type Spawned } from "./support/processes.ts";
import { ticketRequest } from "./support/requests.ts";
import { clientsFor, testEnv, waitFor, type Clients } from "./support/stack.ts";

const cleanup: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** Long enough for any answer, failure included: a call still unanswered by then has been left waiting. */
const CALL_DEADLINE_MS = 15_000;
const CUT_MS = 3_000;
const FLAPPING_MS = 8_000;

type Cut = (proxy: FaultProxy) => Promise<void> | void;

/** Every way the proxy cuts PostgreSQL off; the flapping case takes them in turn. */
const CUTS: Record<string, Cut> = {
  "refused (port closed)": (proxy) => proxy.refuse(),
  "reset as soon as accepted": (proxy) => proxy.reset(),
  "closed as soon as accepted, without a word": (proxy) => proxy.hangUp(),
  "reset once logged in, at the first query": (proxy) => proxy.resetLoggedIn(),
};

/** A proxy in front of `database`'s server, forwarding until told otherwise. */
async function startProxy(database: URL): Promise<FaultProxy> {
  const proxy = new FaultProxy(database.hostname, Number(database.port || 5432));
  await proxy.start();
  cleanup.push(() => proxy.close());
  return proxy;
}

/** The API as production runs it (its bundle, its own process), reaching `database` through `proxy`. */
async function startApi(database: URL, proxy: FaultProxy): Promise<{ api: Spawned; clients: Clients }> {
  const api = spawnService("api", {
    ...testEnv(),
    DATABASE_URL: proxy.url("postgres", database.pathname),
    LOG_LEVEL: "info",
    // No worker renders the batches created here: they all stay in flight.
    MAX_BATCHES_IN_FLIGHT: "10000",
  });
  cleanup.push(() => api.kill());
  const port = Number((await api.outputMatching(/"port":(\d+)\D/))[1]);
  return { api, clients: clientsFor(`http://127.0.0.1:${port}`) };
}

/** What a process that ended printed besides its JSON log: the error it ended on. */
function lastWords(api: Spawned): string {
  const lines = api
    .output()
    .split("\n")
    .filter((line) => line.trim() && !line.startsWith("{"));
  return `exit ${api.child.exitCode}: ${lines.slice(-10).join("\n")}`;
}

/** How a call ended: "OK", or its gRPC code and message. */
async function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => "OK",
    (error: unknown) => {
      const e = ConnectError.from(error);
      return `${Code[e.code]}: ${e.rawMessage}`;
    },
  );
}

/** Calls that go to the database, a transaction (CreateBatch) among them, started every 50 ms for `ms`; `ticketId` is looked up. */
async function callsDuring(clients: Clients, ticketId: string, ms: number): Promise<string[]> {
  const options = { timeoutMs: CALL_DEADLINE_MS };
  const calls: Array<Promise<string>> = [];
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) {
    calls.push(
      outcome(clients.tickets.createTicket(ticketRequest(), options)),
      outcome(clients.tickets.getTicket({ lookup: { case: "id", value: ticketId } }, options)),
      outcome(clients.batches.createBatch(batchRequest(3), options)),
    );
  }
  return Promise.all(calls);
}

const UNAVAILABLE = "Unavailable: the ticket database is unavailable; retry later";

/**
 * One API process through all the cuts, as one process lives through outages in production:
 * each cut ends restored, and the process must still be there for the next.
 */
describe("the API under PostgreSQL cut off", () => {
  let proxy: FaultProxy;
  let api: Spawned;
  let clients: Clients;
  let ticketId: string;

  beforeAll(async () => {
    // A database of its own: the batches left in flight here count against their tenant.
    const database = await scratchDatabase("pgcuts");
    cleanup.push(() => database.drop());
    const url = new URL(database.url);
    proxy = await startProxy(url);
    ({ api, clients } = await startApi(url, proxy));
    ticketId = (await clients.tickets.createTicket(ticketRequest())).ticket!.id;
  });

  async function restored(): Promise<void> {
    await proxy.pass();
    await waitFor(
      async () => ((await outcome(clients.tickets.createTicket(ticketRequest()))) === "OK" ? true : undefined),
      10_000,
      "a ticket issued once PostgreSQL is back",
    );
  }

  it.each(Object.entries(CUTS))("%s: every call answers UNAVAILABLE, the process stays up, and it recovers", async (_, cut) => {
    await cut(proxy);
    const during = await callsDuring(clients, ticketId, CUT_MS);
    expect(api.child.exitCode, lastWords(api)).toBeNull();
    expect(new Set(during)).toEqual(new Set([UNAVAILABLE]));
    await restored();
  });

  it("cut and restored every few hundred ms in every way in turn, calls and batches in flight: every call answers, the process stays up, and it recovers", async () => {
    let flapping = true;
    const flaps = (async () => {
      const cuts = Object.values(CUTS);
      for (let i = 0; flapping; i++) {
        await cuts[i % cuts.length]!(proxy);
        await sleep(100 + Math.random() * 300);
        await proxy.pass();
        await sleep(100 + Math.random() * 300);
      }
    })();
    const during = await callsDuring(clients, ticketId, FLAPPING_MS);
    flapping = false;
    await flaps;

    expect(api.child.exitCode, lastWords(api)).toBeNull();
    expect(new Set(during.filter((o) => o !== "OK" && o !== UNAVAILABLE))).toEqual(new Set());
    await restored();
  });

  it("after all that, drains and exits 0 on SIGTERM", async () => {
    api.child.kill("SIGTERM");
    expect(await api.exited()).toBe(0);
  });
});
