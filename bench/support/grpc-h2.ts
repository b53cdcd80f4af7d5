import http2 from "node:http2";
import { Code } from "@connectrpc/connect";

/**
 * Unary gRPC calls framed by hand on node:http2, for the load client: request bodies are
 * encoded once, and an answer is read as bytes plus `grpc-status`. A full client (connect's,
 * grpc-js) spends several times the API's CPU per call, and on this 2-core machine every core
 * the load generator takes is one the API under test does not get.
 */
export interface UnaryAnswer {
  /** gRPC code name: OK, NOT_FOUND, DEADLINE_EXCEEDED, UNAVAILABLE… */
  code: string;
  /** The response message's bytes (without the 5-byte gRPC frame header), when there was one. */
  message: Uint8Array | undefined;
}

const { NGHTTP2_CANCEL } = http2.constants;

/** Connect's `NotFound` → gRPC's `NOT_FOUND`. */
export const codeName = (code: Code) => Code[code]!.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

/** A message's bytes behind gRPC's length-prefixed frame header (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export class GrpcH2Connection {
  private readonly session: http2.ClientHttp2Session;

  constructor(baseUrl: string) {
    this.session = http2.connect(baseUrl);
    // Failures surface per call (UNAVAILABLE); a dead session must not crash the process.
    this.session.on("error", () => {});
  }

  unary(path: string, frame: Buffer, timeoutMs: number): Promise<UnaryAnswer> {
    return new Promise((resolve) => {
      let status: number | undefined;
      let timedOut = false;
      const chunks: Buffer[] = [];
      const stream = this.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc+proto",
        te: "trailers",
        "grpc-timeout": `${timeoutMs}m`,
      });
      const timer = setTimeout(() => {
        timedOut = true;
        stream.close(NGHTTP2_CANCEL);
      }, timeoutMs);
      const readStatus = (headers: http2.IncomingHttpHeaders) => {
        const value = headers["grpc-status"];
        if (value !== undefined) status = Number(value);
      };
      stream.on("response", readStatus); // a trailers-only answer carries the status here
      stream.on("trailers", readStatus);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", () => {}); // "close" follows and decides the outcome
      stream.on("close", () => {
        clearTimeout(timer);
        const code = timedOut ? Code.DeadlineExceeded : (status ?? Code.Unavailable);
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        resolve({ code: code === 0 ? "OK" : codeName(code), message: body.length >= 5 ? body.subarray(5) : undefined });
      });
      stream.end(frame);
    });
  }

  close(): void {
    this.session.close();
  }
}
