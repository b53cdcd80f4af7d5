import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse, OutgoingHttpHeaders } from "node:http2";

type Request = Http2ServerRequest | IncomingMessage;
type Response = Http2ServerResponse | ServerResponse;

const HEADER = "grpc-message";

/**
 * Longest grpc-message sent, percent-encoded. Messages may quote the request (an id, every rule
 * a 10,000-guest batch breaks); unbounded, they outgrow what peers accept in a header block
 * (grpc-js: 8 KiB of metadata, Node: 64 KiB), and the peer resets the stream or the connection:
 * the caller gets no status at all.
 */
export const MAX_GRPC_MESSAGE_LENGTH = 4096;
const ELLIPSIS = "%E2%80%A6";

/**
 * Percent-encodes as the gRPC spec asks: only bytes outside printable ASCII, and '%'.
 * connect-es sends encodeURIComponent() (':' becomes %3A), which @grpc/grpc-js decodes with
 * decodeURI() and so shows callers "guest.email%3A must be …". Cut to MAX_GRPC_MESSAGE_LENGTH,
 * at a character boundary, ending in "…".
 */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  // The longest prefix that leaves room for the ellipsis.
  let cut = 0;
  for (const char of message) {
    const code = char.codePointAt(0)!;
    let encoded = char;
    if (code < 0x20 || code > 0x7e || code === 0x25) {
      encoded = "";
      for (const byte of Buffer.from(char, "utf8")) encoded += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
    if (out.length + encoded.length > MAX_GRPC_MESSAGE_LENGTH) return out.slice(0, cut) + ELLIPSIS;
    out += encoded;
    if (out.length <= MAX_GRPC_MESSAGE_LENGTH - ELLIPSIS.length) cut = out.length;
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
export function withSpecGrpcMessage(handler: (req: Request, res: Response) => void): (req: Request, res: Response) => void {
  return (req, res) => {
    const writeHead = res.writeHead.bind(res) as (status: number, headers?: OutgoingHttpHeaders) => Response;
    const addTrailers = res.addTrailers.bind(res);
    res.writeHead = ((status: number, headers?: OutgoingHttpHeaders) => {
      reencode(headers);
      return writeHead(status, headers);
    }) as typeof res.writeHead;
    res.addTrailers = (headers: OutgoingHttpHeaders) => {
      reencode(headers);
      addTrailers(headers as never);
    };
    handler(req, res);
  };
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * A status message as @grpc/grpc-js sends it (encodeURI, which throws on a lone surrogate): made
 * well-formed, and cut at a character boundary so that its encoding stays within
 * MAX_GRPC_MESSAGE_LENGTH, ending in "…".
 */
export function capGrpcMessage(message: string): string {
  const wellFormed = message.replace(LONE_SURROGATE, "\uFFFD");
  if (encodeURI(wellFormed).length <= MAX_GRPC_MESSAGE_LENGTH) return wellFormed;
  let out = "";
  let length = 0;
  for (const char of wellFormed) {
    length += encodeURI(char).length;
    if (length > MAX_GRPC_MESSAGE_LENGTH - ELLIPSIS.length) break;
    out += char;
  }
  return `${out}…`;
}
