import net from "node:net";

/**
 * How the proxy treats traffic: forward it; refuse it (port closed); accept it, then reset it
 * or hang up at once; reset it once PostgreSQL has accepted the login; or swallow it (a host
 * that vanished).
 */
export type ProxyMode = "pass" | "refuse" | "reset" | "hang-up" | "reset-after-login" | "blackhole";

/** PostgreSQL's ReadyForQuery message ('Z', length 5), which ends a successful login; its status byte follows. */
const READY_FOR_QUERY = Buffer.from([0x5a, 0, 0, 0, 5]);

/**
 * A loopback TCP proxy in front of a dependency the suite must not stop itself (the system
 * PostgreSQL) or wants to make unreachable without restarting (Redis). Its port stays bound
 * whatever the mode, so the services keep one address throughout.
 */
export class FaultProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<[net.Socket, net.Socket | undefined]>();
  private mode: ProxyMode = "pass";
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    await this.listen();
  }

  private async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private async unlisten(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  private accept(client: net.Socket): void {
    client.on("error", () => client.destroy());
    // What a load balancer with no healthy backend does: the connection is accepted, then reset
    // or closed without a word.
    if (this.mode === "reset") {
      client.resetAndDestroy();
      return;
    }
    if (this.mode === "hang-up") {
      // What the client sends is read and dropped: unread, its own hang-up would never be seen
      // and the socket would stay open (and the port with it, on refuse()).
      client.resume();
      client.end();
      return;
    }
    const pair: [net.Socket, net.Socket | undefined] = [client, undefined];
    this.pairs.add(pair);
    client.on("close", () => {
      pair[1]?.destroy();
      this.pairs.delete(pair);
    });
    // A black hole accepts and then never answers, as a partitioned host looks to a client.
    if (this.mode === "blackhole") return;
    const upstream = net.connect(this.targetPort, this.targetHost);
    pair[1] = upstream;
    upstream.on("error", () => client.destroy());
    upstream.on("close", () => client.destroy());
    if (this.mode === "reset-after-login") this.resetAfterLogin(client, upstream);
    else client.pipe(upstream).pipe(client);
  }

  /** Forwards a new connection until its login has succeeded, then, unless pass() came first, resets it as the client sends its first query. */
  private resetAfterLogin(client: net.Socket, upstream: net.Socket): void {
    let loggedIn = false;
    // The end of the previous read, so that a message split across two reads is still found.
    let previous: Buffer = Buffer.alloc(0);
    upstream.on("data", (data: Buffer) => {
      client.write(data);
      loggedIn ||= Buffer.concat([previous, data]).includes(READY_FOR_QUERY);
      previous = data.subarray(-(READY_FOR_QUERY.length - 1));
    });
    client.on("data", (data: Buffer) => {
      if (!loggedIn || this.mode !== "reset-after-login") upstream.write(data);
      else {
        client.resetAndDestroy();
        upstream.destroy();
      }
    });
  }

  /**
   * Cuts every open connection with a reset and closes the port, so new connections are refused
   * (ECONNREFUSED), as while a server restarts; until pass(). Connections still waiting in the
   * port's accept queue are reset by the kernel as it closes (`connect ECONNRESET` for their
   * clients), as they are when a server process stops listening.
   */
  async refuse(): Promise<void> {
    this.mode = "refuse";
    this.cutAll();
    await this.unlisten();
  }

  /** Cuts every open connection with a reset, and resets every new one as soon as it is accepted; until pass(). */
  reset(): void {
    this.mode = "reset";
    this.cutAll();
  }

  /** Cuts every open connection with a reset; new ones are accepted and closed at once (no reset, no answer); until pass(). */
  hangUp(): void {
    this.mode = "hang-up";
    this.cutAll();
  }

  /**
   * Cuts every open connection with a reset; new ones to PostgreSQL log in, then are reset as
   * the client sends its first query: a server that dies whenever a connection starts work. Until pass().
   */
  resetLoggedIn(): void {
    this.mode = "reset-after-login";
    this.cutAll();
  }

  private cutAll(): void {
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream?.destroy();
    }
    this.pairs.clear();
  }

  /** Open connections stall (nothing crosses either way) and new ones are accepted into silence. */
  blackhole(): void {
    this.mode = "blackhole";
    for (const [client, upstream] of this.pairs) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
      upstream?.pause();
    }
  }

  /** Back to forwarding. Stalled connections are dropped: nothing they carried can be trusted. */
  async pass(): Promise<void> {
    if (this.mode === "refuse") await this.listen();
    if (this.mode === "blackhole") {
      for (const [client, upstream] of this.pairs) {
        client.destroy();
        upstream?.destroy();
      }
      this.pairs.clear();
    }
    this.mode = "pass";
  }

  async close(): Promise<void> {
    await this.refuse();
  }

  url(protocol: string, path = ""): string {
    return `${protocol}://127.0.0.1:${this.port}${path}`;
  }
}
