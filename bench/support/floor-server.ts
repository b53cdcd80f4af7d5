/**
 * The floors under the API's figures, for bench/load.ts: a server with nothing of ticketgen in
 * it that answers grpc.health.v1 Check with SERVING on a loopback port, in one of two builds.
 *
 *   node --import tsx bench/support/floor-server.ts connect|http2
 *
 * - `connect`: connect-node's adapter on node:http2 with the one route: the chosen stack alone,
 *   without our interceptors, database or validation.
 * - `http2`: node:http2 alone; the request frame decoded and the answer framed by hand. What
 *   the runtime and this machine cost before any RPC framework.
 *
 * Prints `{"port":N}` once listening; exits on SIGTERM (so `--cpu-prof` is written).
 */
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { connectNodeAdapter } from "@connectrpc/connect-node";
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

const kind = process.argv[2];
if (kind !== "connect" && kind !== "http2") throw new Error("usage: floor-server.ts connect|http2");
const server = kind === "connect" ? bareConnect() : bareHttp2();
server.listen(0, "127.0.0.1", () => console.log(JSON.stringify({ port: (server.address() as AddressInfo).port })));
process.once("SIGTERM", () => process.exit(0));
