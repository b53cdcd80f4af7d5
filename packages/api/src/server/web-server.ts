import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, cors, createConnectRouter, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { listen, withTimeout, type Logger } from "@ticketgen/shared";
import type { ServedService } from "../pipeline/call-pipeline.ts";
import { withSpecGrpcMessage } from "./grpc-message-encoding.ts";

export interface WebServer {
  port: number;
  /** Stops accepting calls, lets in-flight calls finish (up to `timeoutMs`), then closes. */
  drain(timeoutMs: number): Promise<void>;
}

export interface WebServerLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised to every HTTP/2 client. */
  maxConcurrentStreams: number;
  /** Largest request header list; node:http2 resets a stream whose headers are larger, HTTP/1.1 gets 431. */
  maxHeaderListBytes: number;
  /** A connection with no open request for this long is closed; 0: never. */
  idleTimeoutMs: number;
  /** Largest request message an RPC accepts; a larger one fails with RESOURCE_EXHAUSTED. */
  requestBytes(method: DescMethod): number;
}

/** The first bytes of every HTTP/2 connection (RFC 9113 §3.4); no HTTP/1.1 request starts so. */
const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0");

/**
 * Connect and gRPC-Web on WEB_PORT, served by connect-node, for browsers, curl and
 * `buf curl --protocol connect`: HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge) on one
 * port, or both over TLS (ALPN) when a certificate is given. Cross-origin calls are answered
 * for `corsOrigins`. Each call runs the shared call pipeline (`interceptors`).
 */
export async function startWebServer(options: {
  port: number;
  host?: string;
  services: readonly ServedService[];
  interceptors: Interceptor[];
  limits: WebServerLimits;
  corsOrigins: readonly string[];
  tls?: { cert: Buffer; key: Buffer };
  logger: Logger;
}): Promise<WebServer> {
  const { limits } = options;
  const handler = nodeHandler(
    (router) => {
      const limited = withRequestLimits(router, limits.requestBytes);
      for (const { service, implementation } of options.services) limited.service(service, implementation);
    },
    options.interceptors,
    options.logger,
  );
  const http2Options: http2.ServerOptions = {
    maxSessionMemory: 64,
    settings: { maxConcurrentStreams: limits.maxConcurrentStreams, maxHeaderListSize: limits.maxHeaderListBytes },
  };
  const onRequest = withCors(options.corsOrigins, withHeaderListLimit(limits.maxHeaderListBytes, withSpecGrpcMessage(handler)));
  const h2 = options.tls
    ? http2.createSecureServer({ ...http2Options, cert: options.tls.cert, key: options.tls.key, allowHTTP1: true }, onRequest)
    : http2.createServer(http2Options, onRequest);
  const h1 = http.createServer({ maxHeaderSize: limits.maxHeaderListBytes }, onRequest as unknown as http.RequestListener);
  if (limits.idleTimeoutMs > 0) h1.keepAliveTimeout = limits.idleTimeoutMs;
  const sessions = new Set<http2.ServerHttp2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    if (limits.idleTimeoutMs > 0) closeWhenIdle(session, limits.idleTimeoutMs);
  });
  // Cleartext: one listener hands each connection to the HTTP/2 or the HTTP/1.1 server by its first bytes.
  const listener = options.tls
    ? h2
    : net.createServer((socket) => {
        socket.once("data", (chunk: Buffer) => {
          socket.pause();
          socket.unshift(chunk);
          const prefix = chunk.subarray(0, HTTP2_PREFACE.length);
          if (prefix.equals(HTTP2_PREFACE.subarray(0, prefix.length))) {
            // node:http2 reads the socket itself, the pre-read bytes included; resumed, they would be lost.
            h2.emit("connection", socket);
          } else {
            h1.emit("connection", socket);
            socket.resume();
          }
        });
      });
  await listen(listener, options.port, options.host ?? "0.0.0.0", "WEB_PORT");
  return {
    port: (listener.address() as AddressInfo).port,
    async drain(timeoutMs) {
      const started = Date.now();
      // RFC 9113 §6.8: a first GOAWAY refuses nothing and a PING round trip proves the client saw
      // it, so calls already on the wire are served rather than cancelled; then the final GOAWAY
      // (session.close) lets open streams complete and stops new ones.
      await Promise.all([...sessions].map((session) => announceShutdown(session, Math.min(timeoutMs, 1000))));
      const closed = Promise.all([
        new Promise<void>((resolve) => listener.close(() => resolve())),
        new Promise<void>((resolve) => h1.close(() => resolve())),
      ]);
      h1.closeIdleConnections();
      for (const session of sessions) session.close();
      await withTimeout(closed, Math.max(0, timeoutMs - (Date.now() - started)), () => {
        for (const session of sessions) session.destroy();
        h1.closeAllConnections();
      });
    },
  };
}

/**
 * Registers every RPC of a service on its own, with the request size limit of that RPC
 * (connect's readMaxBytes is per handler: per service or per RPC). A method the
 * implementation leaves out stays unregistered, which clients see as UNIMPLEMENTED.
 */
function withRequestLimits(router: ConnectRouter, requestBytes: (method: DescMethod) => number): ConnectRouter {
  const limited: ConnectRouter = {
    handlers: router.handlers,
    service(service, implementation, options) {
      for (const method of service.methods) {
        const impl = (implementation as Record<string, ((...args: never[]) => unknown) | undefined>)[method.localName];
        if (impl) router.rpc(method, impl.bind(implementation) as never, { ...options, readMaxBytes: requestBytes(method) });
      }
      return limited;
    },
    rpc(method, impl, options) {
      router.rpc(method, impl, { ...options, readMaxBytes: requestBytes(method) });
      return limited;
    },
  };
  return limited;
}

/**
 * node:http2 applies SETTINGS_MAX_HEADER_LIST_SIZE only once the client has acknowledged our
 * SETTINGS, so the requests of a connection's first flight would pass with headers of any size.
 * This applies the same limit, sized as RFC 9113 §6.5.2 does, with node's reset.
 */
function withHeaderListLimit(maxBytes: number, handler: NodeHandler): NodeHandler {
  return (req, res) => {
    const raw = req.rawHeaders;
    let size = 0;
    for (let i = 0; i < raw.length; i += 2) size += Buffer.byteLength(raw[i]!) + Buffer.byteLength(raw[i + 1]!) + 32;
    if (size <= maxBytes) handler(req, res);
    else if ("stream" in req) req.stream.close(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    else {
      res.writeHead(431);
      res.end();
    }
  };
}

/**
 * Closes a connection once no stream has been open on it for `idleMs`, the same two-step way
 * as the drain, so a call sent meanwhile is still served. A long-lived stream (WatchBatch,
 * Health/Watch) keeps its connection open however quiet it is. Hand-written: node:http2's
 * session timeout counts frames, not open streams, and would cut such a stream.
 */
function closeWhenIdle(session: http2.ServerHttp2Session, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      void announceShutdown(session, 1000).then(() => {
        if (!session.closed && !session.destroyed) session.close();
      });
    }, idleMs);
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      if (--open === 0 && !session.closed && !session.destroyed) arm();
    });
  });
  session.once("close", () => clearTimeout(timer));
  arm();
}

type NodeHandler = (req: http2.Http2ServerRequest | http.IncomingMessage, res: http2.Http2ServerResponse | http.ServerResponse) => void;

/**
 * CORS for browsers on the allowed origins, as connect's docs set it: preflights are answered
 * here; actual responses expose the headers connect's protocols need.
 */
function withCors(origins: readonly string[], handler: NodeHandler): NodeHandler {
  const anyOrigin = origins.includes("*");
  return (req, res) => {
    const origin = req.headers.origin;
    const allowed = origin !== undefined && (anyOrigin || origins.includes(origin));
    if (allowed) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "origin");
      res.setHeader("access-control-expose-headers", cors.exposedHeaders.join(", "));
    }
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined) {
      if (allowed) {
        res.setHeader("access-control-allow-methods", cors.allowedMethods.join(", "));
        res.setHeader("access-control-allow-headers", [...cors.allowedHeaders, "Authorization"].join(", "));
        res.setHeader("access-control-max-age", "7200");
      }
      res.writeHead(204);
      res.end();
      return;
    }
    handler(req, res);
  };
}

/**
 * connect-node's connectNodeAdapter, except for a call connect fails to answer: the adapter only
 * logs that failure and leaves the stream open, and the caller waits forever. Such a call is
 * answered INTERNAL. (Seen: connect's gRPC and gRPC-Web trailer encoder throws on a status
 * message that is not well-formed UTF-16, which V8's JSON.parse error for a JSON body starting
 * with a character outside the BMP is.)
 */
function nodeHandler(routes: (router: ConnectRouter) => void, interceptors: Interceptor[], logger: Logger): NodeHandler {
  const router = createConnectRouter({ interceptors, acceptCompression: [compressionGzip, compressionBrotli] });
  routes(router);
  const handlers = new Map(router.handlers.map((handler) => [handler.requestPath, handler]));
  return (req, res) => {
    const handler = handlers.get((req.url ?? "").split("?", 1)[0] ?? "");
    if (!handler) {
      res.writeHead(404);
      res.end();
      return;
    }
    handler(universalRequestFromNodeRequest(req, res, undefined, undefined))
      .then((answer) => universalResponseToNodeResponse(answer, res))
      .catch((error: unknown) => {
        if (ConnectError.from(error).code === Code.Aborted) return;
        logger.error(
          { err: error, rpc: `${handler.service.typeName}/${handler.method.name}` },
          "connect failed to answer a call; answered INTERNAL",
        );
        answerInternal(req, res);
      });
  };
}

function answerInternal(req: http2.Http2ServerRequest | http.IncomingMessage, res: http2.Http2ServerResponse | http.ServerResponse): void {
  if ("stream" in res ? res.stream.destroyed : res.destroyed) return;
  if (res.headersSent) {
    if ("stream" in res) res.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    else res.destroy();
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
