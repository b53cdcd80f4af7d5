import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";

export interface Delivery {
  deliveryId: string;
  type: string;
  /** ticketId or batchId of the event. */
  subjectId: string;
}

/**
 * The core service, as far as webhooks go: records every delivery it acknowledges. down()
 * closes its port (connections refused, open ones cut), up() opens the same port again.
 */
export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async up(): Promise<void> {
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        const event = JSON.parse(body) as { type: string; data: { ticketId?: string; batchId?: string } };
        this.deliveries.push({
          deliveryId: String(req.headers["x-ticketgen-delivery"]),
          type: event.type,
          subjectId: event.data.ticketId ?? event.data.batchId ?? "",
        });
        res.writeHead(204).end();
      });
    });
    server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", resolve));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/ticketgen`;
  }
}
