import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { withSpecGrpcMessage } from "./grpc-message-encoding.ts";

export interface GrpcServer {
  port: number;
  /** Stops accepting calls, lets in-flight calls finish (up to `timeoutMs`), then closes. */
  drain(timeoutMs: number): Promise<void>;
}

// Large enough for a 10,000-guest CreateBatch.
const READ_MAX_BYTES = 32 * 1024 * 1024;

/**
 * gRPC, gRPC-Web and Connect on one HTTP/2 cleartext port: any gRPC client and Kubernetes'
 * native gRPC probe connect without TLS set-up.
 */
export async function startGrpcServer(options: {
  port: number;
  host?: string;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
}): Promise<GrpcServer> {
  const handler = connectNodeAdapter({
    routes: options.routes,
    interceptors: options.interceptors,
    readMaxBytes: READ_MAX_BYTES,
  });
  const server = http2.createServer({ maxSessionMemory: 64 }, withSpecGrpcMessage(handler));
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async drain(timeoutMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // GOAWAY: clients stop sending new calls on these connections; open streams complete.
      for (const session of sessions) session.close();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const session of sessions) session.destroy();
          resolve();
        }, timeoutMs);
      });
      await Promise.race([closed, deadline]);
      clearTimeout(timer);
    },
  };
}
