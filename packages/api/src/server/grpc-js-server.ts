import { createServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import type { DescMethod } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createHandlerContext,
  createServiceImplSpec,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
} from "@connectrpc/connect";
import { createAsyncIterable, transformInvokeImplementation } from "@connectrpc/connect/protocol";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { EXIT_CONFIG, listen, StartupError, withTimeout, type Logger } from "@ticketgen/shared";
import { methodName } from "../auth/method-scopes.ts";
import { headerSourceKey } from "../pipeline/auth-interceptor.ts";
import type { CallPipeline, ServedService } from "../pipeline/call-pipeline.ts";
import { capGrpcMessage } from "./grpc-message-encoding.ts";
import { grpcServiceDefinition, RefusedRequest } from "./grpc-js-services.ts";
import { abandonment, unaryInvoker } from "./grpc-js-unary.ts";
import { headerPairsOf, metadataSource } from "./grpc-metadata.ts";

export interface GrpcServer {
  port: number;
  /** Stops accepting calls (GOAWAY), lets in-flight calls finish (up to `timeoutMs`), then closes. */
  drain(timeoutMs: number): Promise<void>;
}

export interface GrpcServerLimits {
  /** SETTINGS_MAX_CONCURRENT_STREAMS advertised to every client. */
  maxConcurrentStreams: number;
  /** Largest request metadata; a call with more is refused. */
  maxHeaderListBytes: number;
  /** A connection with no open call for this long is closed; 0: never. */
  idleTimeoutMs: number;
  /** How often an otherwise quiet connection is pinged, and how long its answer may take, to find dead peers. */
  keepaliveTimeMs: number;
  keepaliveTimeoutMs: number;
  /** Largest request message an RPC accepts; a larger one fails with RESOURCE_EXHAUSTED. */
  requestBytes(method: DescMethod): number;
}

/**
 * gRPC on PORT, served by @grpc/grpc-js: cleartext HTTP/2 by default, so any gRPC client and
 * Kubernetes' native gRPC probe connect without TLS set-up; TLS when a certificate is given.
 * Each call runs the shared call pipeline around the service's handler, the same way
 * connect-node runs it on WEB_PORT; its caller is authenticated from the metadata first, so a
 * refused call's body is never read. `extra` adds services grpc-js packages implement
 * (health, reflection).
 */
export async function startGrpcJsServer(options: {
  port: number;
  host?: string;
  services: readonly ServedService[];
  pipeline: CallPipeline;
  limits: GrpcServerLimits;
  tls?: { cert: Buffer; key: Buffer };
  extra?: (server: grpc.Server) => void;
  logger: Logger;
}): Promise<GrpcServer> {
  const { limits, logger } = options;
  // grpc-js' own diagnostics (console by default) go to the service's log, as JSON lines.
  grpc.setLogger({
    error: (...data: unknown[]) => logger.warn({ action: "grpc_js" }, data.join(" ")),
    info: (...data: unknown[]) => logger.info({ action: "grpc_js" }, data.join(" ")),
    debug: (...data: unknown[]) => logger.debug({ action: "grpc_js" }, data.join(" ")),
  });
  const largestRequest = Math.max(
    ...options.services.flatMap(({ service }) => service.methods.map((method) => limits.requestBytes(method))),
  );
  const server = new grpc.Server({
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    // Each RPC's own, smaller limit is applied as its request is decoded.
    "grpc.max_receive_message_length": largestRequest,
    "grpc.max_send_message_length": -1,
    // channelz (per-call counters and timestamps) has no reader here: the service exports Prometheus metrics.
    "grpc.enable_channelz": 0,
    "grpc.keepalive_time_ms": limits.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": limits.keepaliveTimeoutMs,
    ...(limits.idleTimeoutMs > 0 ? { "grpc.max_connection_idle_ms": limits.idleTimeoutMs } : {}),
    interceptors: [beforeTheBody(limits.maxHeaderListBytes, options.pipeline, options.services)],
  });
  for (const { service, implementation } of options.services) {
    const spec = createServiceImplSpec(service, implementation);
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const [localName, method] of Object.entries(spec.methods)) handlers[localName] = handlerOf(method, options.pipeline.interceptors);
    server.addService(grpcServiceDefinition(service, limits.requestBytes), handlers);
  }
  options.extra?.(server);
  const credentials = options.tls
    ? grpc.ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false)
    : grpc.ServerCredentials.createInsecure();
  const host = options.host ?? "0.0.0.0";
  if (options.port !== 0) {
    // A taken or forbidden port fails start-up with the same words as every other listener's.
    const probe = createServer();
    await listen(probe, options.port, host, "PORT");
    await new Promise((resolve) => probe.close(resolve));
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.port}`, credentials, (error, bound) => {
      if (!error) resolve(bound);
      else
        reject(
          new StartupError(
            `PORT: cannot listen on ${host}:${options.port} (${error.message}); stop the process using it or set PORT to a free port`,
            EXIT_CONFIG,
            { cause: error },
          ),
        );
    }),
  );
  return {
    port,
    async drain(timeoutMs) {
      // tryShutdown stops listening and sends every connection a GOAWAY; open calls go on.
      const closed = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      await withTimeout(closed, timeoutMs, () => server.forceShutdown());
    },
  };
}

/**
 * For every service, health and reflection included, before a call's body is read: refuses a
 * call whose metadata is over the limit (sized as RFC 9113 §6.5.2 does) with RESOURCE_EXHAUSTED,
 * since grpc-js applies no such limit to requests, then an unauthenticated or unauthorised one
 * (the pipeline's refusal). Keeps every status message well-formed and short enough for any
 * peer's header limits (health quotes the service name it was asked). One interceptor for both:
 * grpc-js wraps the call once per interceptor, on every call.
 */
function beforeTheBody(maxBytes: number, pipeline: CallPipeline, services: readonly ServedService[]): grpc.ServerInterceptor {
  // The pipeline's names of the served methods, by path: the same string every call.
  const names = new Map(services.flatMap(({ service }) => service.methods.map((method) => [`/${methodName(method)}`, methodName(method)])));
  return (method, call) => {
    const refuse = (status: grpc.StatusObject) => call.sendStatus({ ...status, details: capGrpcMessage(status.details) });
    return new grpc.ServerInterceptingCall(call, {
      sendStatus(status, next) {
        next(status.code === grpc.status.OK ? status : { ...status, details: capGrpcMessage(status.details) });
      },
      start(next) {
        next({
          onReceiveMetadata(metadata, forward) {
            let size = 0;
            for (const [key, values] of Object.entries(metadata.toJSON())) {
              for (const value of values) size += Buffer.byteLength(key) + Buffer.byteLength(value) + 32;
            }
            if (size > maxBytes) {
              return refuse({
                code: grpc.status.RESOURCE_EXHAUSTED,
                details: `request metadata of ${size} bytes is over the limit of ${maxBytes} (GRPC_MAX_HEADER_LIST_BYTES)`,
                metadata: new grpc.Metadata(),
              });
            }
            void pipeline
              .refuseEarly(metadataSource(metadata), names.get(method.path) ?? method.path.slice(1))
              .then((refusal) => (refusal ? refuse(statusOf(refusal)) : forward(metadata)));
          },
        });
      },
    });
  };
}

function handlerOf(spec: MethodImplSpec, interceptors: Interceptor[]): grpc.UntypedHandleCall {
  switch (spec.kind) {
    case "unary": {
      const invoke = unaryInvoker(spec, interceptors);
      return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        const request = call.request;
        if (request instanceof RefusedRequest) return callback(statusOf(request.error));
        invoke(call, request).then(
          (response) => callback(null, response),
          (error: unknown) => callback(statusOf(error)),
        );
      };
    }
    case "server_streaming":
      return (call: grpc.ServerWritableStream<unknown, unknown>) => {
        const handling = streamContext(call, spec.method);
        const request = call.request;
        if (handling instanceof ConnectError) return void call.emit("error", statusOf(handling));
        if (request instanceof RefusedRequest) return void call.emit("error", statusOf(request.error));
        const responses = transformInvokeImplementation(spec, handling.context, interceptors)(createAsyncIterable([request as never]));
        void writeAll(call, responses, handling.answered);
      };
    default:
      throw new Error(`${spec.method.toString()}: ${spec.kind} RPCs are not served on PORT`);
  }
}

/**
 * A server stream's context, as connect's invoker wants it: the request metadata as headers
 * (a value that is no valid header refuses the call), and the call's signal (`abandonment`).
 */
function streamContext(
  call: grpc.ServerWritableStream<unknown, unknown>,
  method: DescMethod,
): { context: HandlerContext; answered: () => void } | ConnectError {
  const abandoned = abandonment(call);
  try {
    const context = createHandlerContext({
      service: method.parent,
      method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: call.getPath(),
      requestSignal: abandoned.signal(),
      requestHeader: headerPairsOf(call.metadata),
    });
    context.values.set(headerSourceKey, metadataSource(call.metadata));
    return { context, answered: abandoned.answered };
  } catch (error) {
    abandoned.answered();
    return new ConnectError(`request metadata: ${(error as Error).message}`, Code.InvalidArgument);
  }
}

/** Writes a server stream, waiting whenever the client reads slower; stops at once when the call is cancelled. */
async function writeAll(
  call: grpc.ServerWritableStream<unknown, unknown>,
  responses: AsyncIterable<unknown>,
  answered: () => void,
): Promise<void> {
  try {
    for await (const response of responses) {
      if (call.cancelled) return;
      if (!call.write(response)) {
        await new Promise<void>((resolve) => {
          call.once("drain", resolve);
          call.once("cancelled", resolve);
        });
      }
    }
    answered();
    call.end();
  } catch (error) {
    answered();
    if (!call.cancelled) call.emit("error", statusOf(error));
  }
}

/**
 * A call's error as grpc-js sends it: code, message, and the error details as a
 * google.rpc.Status in grpc-status-details-bin, encoded by connect's own gRPC code so that both
 * transports send the same bytes.
 */
function statusOf(error: unknown): grpc.StatusObject {
  const connectError = ConnectError.from(error);
  const metadata = new grpc.Metadata();
  const details = setTrailerStatus(new Headers(), connectError).get("grpc-status-details-bin");
  if (details) metadata.set("grpc-status-details-bin", Buffer.from(details, "base64"));
  return { code: connectError.code as number, details: connectError.rawMessage, metadata };
}
