import net from "node:net";

/** How the proxy treats traffic: forward it, refuse it (port closed), or swallow it (a host that vanished). */
export type ProxyMode = "pass" | "refuse" | "blackhole";

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
    client.pipe(upstream).pipe(client);
  }

  /**
   * Cuts every open connection with a reset and closes the port, so new connections are refused
   * (ECONNREFUSED), as while a server restarts; until pass().
   */
  async refuse(): Promise<void> {
    this.mode = "refuse";
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream?.destroy();
    }
    this.pairs.clear();
    await this.unlisten();
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
