import http2 from "node:http2";

/**
 * gRPC calls framed by hand on node:http2, so that a test controls every byte: frames that lie
 * about their length, flags no client sets, bodies no encoder produces. An answer is whatever
 * status the server gave (trailers, or a Trailers-Only response) and the messages it sent.
 */

const { NGHTTP2_CANCEL } = http2.constants;

/** How a caller proves who it is; empty until the API asks for it. */
export interface Credentials {
  /** The `authorization` header, e.g. `Bearer <jwt>`. */
  authorization?: string;
}

/** The headers of every request this client sends: the one place credentials go in. */
export function grpcRequestHeaders(
  path: string,
  credentials: Credentials,
  extra: http2.OutgoingHttpHeaders = {},
): http2.OutgoingHttpHeaders {
  return {
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc+proto",
    te: "trailers",
    ...(credentials.authorization ? { authorization: credentials.authorization } : {}),
    ...extra,
  };
}

/** A message's bytes behind gRPC's 5-byte frame header; `flags` 1 marks it compressed. */
export function grpcFrame(message: Uint8Array, flags = 0, declaredLength = message.length): Buffer {
  const frame = Buffer.allocUnsafe(5 + message.length);
  frame[0] = flags;
  frame.writeUInt32BE(declaredLength, 1);
  frame.set(message, 5);
  return frame;
}

export interface RawCall {
  /** `/package.Service/Method`. */
  path: string;
  /** Everything the request stream carries, sent as is, then END_STREAM. */
  body: Buffer;
  /** Sent as grpc-timeout, for calls that stay open by contract (Health/Watch). */
  deadlineMs?: number;
  /** Extra request headers (grpc-encoding…). */
  headers?: http2.OutgoingHttpHeaders;
}

export interface RawAnswer {
  /** grpc-status of the trailers or of a Trailers-Only response; undefined when none came. */
  code: number | undefined;
  message: string | undefined;
  /** The response messages, without frame headers. */
  messages: Buffer[];
  /** No status within the limit: the call was cancelled by the client. */
  hung: boolean;
  /** The stream failed (reset, session error) before a status arrived. */
  failure?: string;
}

const REQUESTS_PER_SESSION = 500;

export class RawGrpcClient {
  private session: http2.ClientHttp2Session | undefined;
  private requests = 0;
  private readonly open = new Map<http2.ClientHttp2Session, number>();
  private readonly retired = new Set<http2.ClientHttp2Session>();

  constructor(
    private readonly baseUrl: string,
    private readonly credentials: Credentials = {},
  ) {}

  /** A live session: a session the server ended (GOAWAY, protocol error) is replaced. */
  private connection(): http2.ClientHttp2Session {
    // The client cancels every stream the server answered before reading its body. nghttp2 on
    // the server ends a connection whose peer resets streams faster than its rapid-reset limit
    // (a burst of 1,000, then 33 a second) with GOAWAY INTERNAL_ERROR, as it should; a fuzz
    // round sends thousands of such calls, so it spreads them over several connections.
    if (this.session && this.requests >= REQUESTS_PER_SESSION) {
      // Closed once its last stream ends: closing it now would refuse calls not yet sent.
      const retired = this.session;
      this.session = undefined;
      if (this.open.get(retired) === 0) retired.close();
      else this.retired.add(retired);
    }
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.requests = 0;
      // Node's client counts a large body it queued against its session memory (10 MB by
      // default) and, when the server answers before reading it all, never gives the memory
      // back: every later stream of the session is then refused locally (ENHANCE_YOUR_CALM).
      this.session = http2.connect(this.baseUrl, { maxSessionMemory: 4096 });
      // Failures surface per call; a dead session must not crash the test process.
      this.session.on("error", () => {});
    }
    return this.session;
  }

  call(call: RawCall, limitMs: number): Promise<RawAnswer> {
    return new Promise((resolve) => {
      let code: number | undefined;
      let message: string | undefined;
      let hung = false;
      let failure: string | undefined;
      let settled = false;
      const chunks: Buffer[] = [];
      const extra = { ...call.headers, ...(call.deadlineMs === undefined ? {} : { "grpc-timeout": `${call.deadlineMs}m` }) };
      const session = this.connection();
      this.requests++;
      this.open.set(session, (this.open.get(session) ?? 0) + 1);
      const stream = session.request(grpcRequestHeaders(call.path, this.credentials, extra));
      const settle = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (code === undefined && !hung) failure ??= `stream closed with RST_STREAM code ${stream.rstCode}`;
        resolve({ code, message, messages: unframe(Buffer.concat(chunks)), hung, failure });
        // As gRPC clients do once the status is in: stop sending what the server will not read.
        if (!stream.closed) stream.close(NGHTTP2_CANCEL);
      };
      const timer = setTimeout(() => {
        hung = true;
        settle();
      }, limitMs);
      const readStatus = (headers: http2.IncomingHttpHeaders) => {
        if (headers["grpc-status"] === undefined) return;
        code = Number(headers["grpc-status"]);
        message = headers["grpc-message"] === undefined ? undefined : decodeGrpcMessage(String(headers["grpc-message"]));
      };
      // Trailers-Only: the status comes with the response headers, which end the stream.
      stream.on("response", readStatus);
      stream.on("trailers", readStatus);
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (error: Error) => (failure = error.message));
      // The response is complete when its side of the stream ends, whether or not ours has.
      stream.on("end", settle);
      stream.on("close", settle);
      stream.once("close", () => {
        const left = this.open.get(session)! - 1;
        this.open.set(session, left);
        if (left === 0 && this.retired.delete(session)) {
          this.open.delete(session);
          session.close();
        }
      });
      // The server may answer before reading all of a large body.
      stream.end(call.body);
    });
  }

  close(): void {
    for (const session of [this.session, ...this.retired]) session?.close();
  }
}

function decodeGrpcMessage(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function unframe(data: Buffer): Buffer[] {
  const messages: Buffer[] = [];
  for (let offset = 0; offset + 5 <= data.length;) {
    const length = data.readUInt32BE(offset + 1);
    messages.push(data.subarray(offset + 5, offset + 5 + length));
    offset += 5 + length;
  }
  return messages;
}
