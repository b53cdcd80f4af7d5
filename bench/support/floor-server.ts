/**
 * The floors under the API's figures, for bench/load.ts: a server with nothing of ticketgen in
 * it that answers grpc.health.v1 Check with SERVING on a loopback port, in one of three builds.
 *
 *   node --import tsx bench/support/floor-server.ts connect|grpc-js|http2
 *
 * - `connect`: connect-node's adapter on node:http2 with the one route: the chosen stack alone,
 *   without our interceptors, database or validation.
 * - `grpc-js`: @grpc/grpc-js with the one method, messages encoded by protobuf-es: the
 *   stack the API serves PORT with, alone.
 * - `http2`: node:http2 alone; the request frame decoded and the answer framed by hand. What
 *   the runtime and this machine cost before any RPC framework.
 *
 * Prints `{"port":N}` once listening; exits on SIGTERM (so `--cpu-prof` is written).
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  Health,
  HealthCheckRequestSchema,
  HealthCheckResponse_ServingStatus,
  HealthCheckResponseSchema,
} from "@ticketgen/shared/gen/health/v1/health_pb";
import { grpcFrame } from "./grpc-h2.ts";

const SERVING = HealthCheckResponse_ServingStatus.SERVING;
const CHECK_PATH = `/${Health.typeName}/${Health.method.check.name}`;

function bareHttp2(): http2.Http2Server {
  const answer = grpcFrame(toBinary(HealthCheckResponseSchema, create(HealthCheckResponseSchema, { status: SERVING })));
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => {
      if (headers[":path"] !== CHECK_PATH) {
        stream.respond({ ":status": 200, "content-type": "application/grpc+proto", "grpc-status": "12" }, { endStream: true });
        return;
      }
      fromBinary(HealthCheckRequestSchema, Buffer.concat(chunks).subarray(5));
      stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(answer);
    });
  });
  return server;
}

function bareConnect(): http2.Http2Server {
  return http2.createServer(
    connectNodeAdapter({
      routes: (router) =>
        router.service(Health, {
          check: () => ({ status: SERVING }),
          async *watch() {
            yield { status: SERVING };
          },
        }),
    }),
  );
}

function bareGrpcJs(): grpc.Server {
  const server = new grpc.Server();
  const check: grpc.MethodDefinition<unknown, unknown> = {
    path: CHECK_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (message) => Buffer.from(toBinary(HealthCheckRequestSchema, message as never)),
    requestDeserialize: (bytes) => fromBinary(HealthCheckRequestSchema, bytes),
    responseSerialize: (message) => Buffer.from(toBinary(HealthCheckResponseSchema, message as never)),
    responseDeserialize: (bytes) => fromBinary(HealthCheckResponseSchema, bytes),
  };
  const answer = create(HealthCheckResponseSchema, { status: SERVING });
  server.addService({ check }, { check: (_call: unknown, callback: grpc.sendUnaryData<unknown>) => callback(null, answer) });
  return server;
}

const kind = process.argv[2];
if (kind === "grpc-js") {
  bareGrpcJs().bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    console.log(JSON.stringify({ port }));
  });
} else if (kind === "connect" || kind === "http2") {
  const server = kind === "connect" ? bareConnect() : bareHttp2();
  server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
} else {
  throw new Error("usage: floor-server.ts connect|grpc-js|http2");
}
process.once("SIGTERM", () => process.exit(0));
