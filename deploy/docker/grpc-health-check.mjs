// HEALTHCHECK of the API image: grpc.health.v1.Health/Check for the whole server (service "")
// with Node's own http2, so the image needs no grpc_health_probe binary. Over h2c, or over TLS
// when the API has TLS_CERT_FILE (same environment as the API). Also usable as a Kubernetes
// exec probe, where the kubelet's native gRPC probe cannot speak TLS.
// Exit 0 only for SERVING: the API answers NOT_SERVING while PostgreSQL or Redis is down and
// while it drains.
import { connect } from "node:http2";

const port = process.env.PORT || "3004";
const tls = Boolean(process.env.TLS_CERT_FILE);
const fail = (why) => {
  console.error(`grpc health: ${why}`);
  process.exit(1);
};
setTimeout(() => fail("no answer within 3 s"), 3000).unref();

// The probe asks this container's own port whether it serves; who holds the certificate is
// not in question there, so it is not verified (its name need not cover 127.0.0.1).
const session = connect(`${tls ? "https" : "http"}://127.0.0.1:${port}`, tls ? { rejectUnauthorized: false } : {});
session.on("error", (error) => fail(error.message));
const call = session.request({
  ":method": "POST",
  ":path": "/grpc.health.v1.Health/Check",
  "content-type": "application/grpc",
  te: "trailers",
});
const chunks = [];
let trailers = {};
call.on("data", (chunk) => chunks.push(chunk));
call.on("trailers", (headers) => (trailers = headers));
call.on("error", (error) => fail(error.message));
call.on("end", () => {
  session.close();
  // Trailers-only responses carry grpc-status in the headers instead.
  const status = trailers["grpc-status"] ?? call.sentHeaders?.["grpc-status"];
  if (status !== "0") fail(`grpc-status ${status ?? "missing"} ${trailers["grpc-message"] ?? ""}`);
  // One length-prefixed message: flag byte, 4-byte length, then HealthCheckResponse, whose
  // only field is `status = 1` (varint): 0x08 0x01 is SERVING; an empty message is UNKNOWN.
  const frame = Buffer.concat(chunks);
  const message = frame.subarray(5, 5 + (frame.length >= 5 ? frame.readUInt32BE(1) : 0));
  const serving = message.length === 2 && message[0] === 0x08 && message[1] === 0x01;
  if (!serving) fail(`not SERVING (response ${message.toString("hex") || "empty"})`);
  process.exit(0);
});
call.end(Buffer.alloc(5));
