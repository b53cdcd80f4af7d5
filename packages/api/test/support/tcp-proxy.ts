import net from "node:net";

/**
 * A loopback TCP proxy in front of a real PostgreSQL or Redis: stop() makes the dependency
 * "go down" for the process under test (connections cut, new ones refused), freeze() makes it
 * hang, start() brings it back on the same port. hold() keeps its answers back until release():
 * a query is executed, its result not yet seen.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private held: Array<{ client: net.Socket; data: Buffer }> | undefined;
  private keep: (data: Buffer) => boolean = () => true;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on("close", () => this.sockets.delete(socket));
        socket.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.on("data", (data: Buffer) => {
        // Behind an answer kept back, everything on that connection waits too, in order.
        if (this.held && (this.keep(data) || this.held.some((h) => h.client === client))) this.held.push({ client, data });
        else client.write(data);
      });
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /** A dependency that hangs: connections stay open, but nothing more gets through either way. */
  freeze(): void {
    for (const socket of this.sockets) {
      socket.unpipe();
      socket.pause();
    }
  }

  /** Answers from the dependency (those `keep` accepts) are kept back from now on. */
  hold(keep: (data: Buffer) => boolean = () => true): void {
    this.keep = keep;
    this.held ??= [];
  }

  /** The answers kept back since hold(), as received. */
  get heldData(): Buffer {
    return Buffer.concat((this.held ?? []).map(({ data }) => data));
  }

  /** Delivers the answers kept back, in order, and lets the next ones through. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const { client, data } of held) client.write(data);
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  url(protocol: string, path = ""): string {
    return `${protocol}://127.0.0.1:${this.port}${path}`;
  }
}

export function proxyFor(url: string): TcpProxy {
  const parsed = new URL(url);
  return new TcpProxy(parsed.hostname, Number(parsed.port));
}
