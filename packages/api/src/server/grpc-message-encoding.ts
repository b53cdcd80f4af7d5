import type { Http2ServerRequest, Http2ServerResponse, OutgoingHttpHeaders } from "node:http2";

const HEADER = "grpc-message";

/**
 * Percent-encodes as the gRPC spec asks: only bytes outside printable ASCII, and '%'.
 * connect-es sends encodeURIComponent() (':' becomes %3A), which @grpc/grpc-js decodes with
 * decodeURI() and so shows callers "guest.email%3A must be …".
 */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function reencode(headers: OutgoingHttpHeaders | undefined): void {
  const value = headers?.[HEADER];
  if (typeof value !== "string") return;
  try {
    headers![HEADER] = encodeGrpcMessage(decodeURIComponent(value));
  } catch {
    // Not percent-encoded by connect: leave it as it is.
  }
}

/** Wraps a Node handler so that grpc-message, in headers or trailers, follows the spec. */
export function withSpecGrpcMessage(
  handler: (req: Http2ServerRequest, res: Http2ServerResponse) => void,
): (req: Http2ServerRequest, res: Http2ServerResponse) => void {
  return (req, res) => {
    const writeHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => Http2ServerResponse;
    const addTrailers = res.addTrailers.bind(res);
    res.writeHead = ((status: number, headers?: OutgoingHttpHeaders) => {
      reencode(headers);
      return writeHead(status, headers);
    }) as typeof res.writeHead;
    res.addTrailers = (headers) => {
      reencode(headers as OutgoingHttpHeaders);
      addTrailers(headers);
    };
    handler(req, res);
  };
}
