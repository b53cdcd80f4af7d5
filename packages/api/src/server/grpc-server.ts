import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError, createConnectRouter, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { Logger } from "@ticketgen/shared";
import { withSpecGrpcMessage } from "./grpc-message-encoding.ts";

export interface GrpcServer {
  port: number;
  /** Stops accepting calls, lets in-flight calls finish (up to `timeoutMs`), then closes. */
  drain(timeoutMs: number): Promise<void>;
}

// Large enough for a 10,000-guest CreateBatch.
export const READ_MAX_BYTES = 32 * 1024 * 1024;

/**
 * gRPC, gRPC-Web and Connect on one HTTP/2 cleartext port: any gRPC client and Kubernetes'
 * native gRPC probe connect without TLS set-up.
 */
export async function startGrpcServer(options: {
  port: number;
  host?: string;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  logger: Logger;
}): Promise<GrpcServer> {
  const handler = nodeHandler(options.routes, options.interceptors, options.logger);
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
      const started = Date.now();
      // RFC 9113 §6.8: a first GOAWAY refuses nothing and a PING round trip proves the client saw
      // it, so calls already on the wire are served rather than cancelled; then the final GOAWAY
      // (session.close) lets open streams complete and stops new ones. Node's server.close()
      // sends that final GOAWAY to every session at once, so it must come after the round trip.
      await Promise.all([...sessions].map((session) => announceShutdown(session, Math.min(timeoutMs, 1000))));
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const session of sessions) session.destroy();
          resolve();
        }, Math.max(0, timeoutMs - (Date.now() - started)));
      });
      await Promise.race([closed, deadline]);
      clearTimeout(timer);
    },
  };
}

type NodeHandler = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void;

/**
 * connect-node's connectNodeAdapter, except for a call connect fails to answer: the adapter only
 * logs that failure and leaves the stream open, and the caller waits forever. Such a call is
 * answered INTERNAL. (Seen: connect's gRPC and gRPC-Web trailer encoder throws on a status
 * message that is not well-formed UTF-16, which V8's JSON.parse error for a JSON body starting
 * with a character outside the BMP is.)
 */
function nodeHandler(routes: (router: ConnectRouter) => void, interceptors: Interceptor[], logger: Logger): NodeHandler {
  const router = createConnectRouter({ interceptors, readMaxBytes: READ_MAX_BYTES, acceptCompression: [compressionGzip, compressionBrotli] });
  routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (req, res) => {
    const handler = handlers.get(req.url.split("?", 1)[0] ?? "");
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    handler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then((answer) => universalResponseToNodeResponse(answer, res))
      .catch((error: unknown) => {
        if (ConnectError.from(error).code === Code.Aborted) return;
        logger.error({ err: error, rpc: `${handler.service.typeName}/${handler.method.name}` }, "connect failed to answer a call; answered INTERNAL");
        answerInternal(req, res);
      });
  };
}

function answerInternal(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): void {
  if (res.stream.destroyed) return;
  if (res.headersSent) {
    res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const contentType = req.headers["content-type"] ?? "";
  if (contentType.startsWith("application/grpc")) {
    // gRPC and gRPC-Web: a Trailers-Only response.
    res.writeHead(200, { "content-type": contentType, "grpc-status": String(Code.Internal), "grpc-message": "internal error" });
    res.end();
  } else {
    res.writeHead(500, { "content-type": "application/json" });
    res.end(JSON.stringify({ code: "internal", message: "internal error" }));
  }
}

const MAX_STREAM_ID = 2 ** 31 - 1;

/** Sends a GOAWAY that keeps every stream id acceptable and waits (bounded) for a PING's answer. */
function announceShutdown(session: http2.ServerHttp2Session, timeoutMs: number): Promise<void> {
  if (session.closed || session.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    session.goaway(http2.constants.NGHTTP2_NO_ERROR, MAX_STREAM_ID);
    if (!session.ping(done)) done();
  });
}
