import net from "node:net";

/**
 * A loopback TCP proxy in front of a real PostgreSQL or Redis: stop() makes the dependency
 * "go down" for the process under test (connections cut, new ones refused), freeze() makes it
 * hang, start() brings it back on the same port.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
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
      client.pipe(upstream).pipe(client);
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
