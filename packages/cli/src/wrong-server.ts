import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { Code, ConnectError } from "@connectrpc/connect";
import { serverBaseUrl } from "./client.ts";

/** What answers at an address, as one probe connection tells. */
type Peer = "nothing" | "tls-h2" | "tls-http1" | "http1" | "h2c" | "other";

const PROBE_TIMEOUT_MS = 2000;

// The failures of a call that never got an HTTP/2 response: a wrong port or protocol shows as
// one of these (INTERNAL "Protocol error", an OpenSSL record error, a cancelled stream, or
// ABORTED "read ECONNRESET" when a TLS server resets the cleartext preface before the stream).
const TRANSPORT_CODES = new Set([Code.Internal, Code.Canceled, Code.Unavailable, Code.Aborted]);

interface SystemError extends Error {
  code?: string;
}

/** The socket error behind a failure; a connection tried on several addresses is an AggregateError. */
function causeOf(error: ConnectError): SystemError | undefined {
  const cause = error.cause instanceof AggregateError ? error.cause.errors[0] : error.cause;
  return cause instanceof Error ? cause : undefined;
}

/**
 * One line saying what is probably wrong when the server at `server` is not a ticketgen API
 * speaking what the CLI speaks (h2c for http:// and bare addresses, TLS for https://), or when
 * nothing listens there; undefined for every other failure.
 */
export async function wrongServerHint(error: unknown, server: string): Promise<string | undefined> {
  if (!(error instanceof ConnectError) || !TRANSPORT_CODES.has(error.code)) return undefined;
  // Any response header means an HTTP/2 server answered: the address is right.
  if ([...error.metadata.keys()].length > 0) return undefined;
  const url = new URL(serverBaseUrl(server));
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const address = url.host;
  const cause = causeOf(error);
  const peer = cause?.code === "ECONNREFUSED" ? "nothing" : await probe(host, port);
  const change = "point --server (or TICKETGEN_SERVER) at the API's gRPC port (its PORT, 3004 by default)";
  switch (peer) {
    case "nothing":
      return `nothing is listening at ${address}${cause?.message ? ` (${cause.message})` : ""}: is the API running? If it is elsewhere, ${change}`;
    case "http1":
    case "tls-http1":
      return `${address} answers HTTP/1.1, not gRPC over HTTP/2: is this the metrics port (METRICS_PORT, 9464 by default)? ${capitalized(change)}`;
    case "tls-h2":
      if (url.protocol === "https:") return undefined;
      return `${address} speaks TLS, but the CLI speaks cleartext HTTP/2 (h2c) to http:// and bare addresses: use --server https://${address}`;
    case "h2c":
      if (url.protocol === "http:") return undefined;
      return `${address} speaks cleartext HTTP/2 (h2c), not TLS: use --server http://${address} (or ${address})`;
    case "other":
      return `${address} does not answer as a gRPC server (neither h2c nor TLS): ${change}`;
  }
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** TLS first: a TLS server waits for the client's hello, so a cleartext probe would hear nothing. */
async function probe(host: string, port: number): Promise<Peer> {
  const tls = await probeTls(host, port);
  return tls ?? probeCleartext(host, port);
}

/** What a TLS server speaks by the ALPN protocol it picks; undefined when it does not speak TLS. */
function probeTls(host: string, port: number): Promise<Peer | undefined> {
  return new Promise((resolve) => {
    // Only what the server speaks matters here, not who it is: its certificate is not checked.
    const socket = tlsConnect({
      host,
      port,
      servername: isIP(host) ? undefined : host,
      rejectUnauthorized: false,
      ALPNProtocols: ["h2", "http/1.1"],
    });
    settle(socket, resolve, undefined, (done) =>
      socket.once("secureConnect", () => done(socket.alpnProtocol === "h2" ? "tls-h2" : "tls-http1")),
    );
  });
}

/**
 * Sends an HTTP/1.1 request and reads the first bytes back: an HTTP/1.1 status line, or an
 * HTTP/2 frame (an h2c server sends its SETTINGS frame first, whatever it receives).
 */
function probeCleartext(host: string, port: number): Promise<Peer> {
  return new Promise<Peer | undefined>((resolve) => {
    const socket = netConnect({ host, port });
    settle(socket, resolve, "other", (done) => {
      socket.once("connect", () => socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
      socket.once("data", (data: Buffer) => {
        if (data.subarray(0, 7).toString("latin1") === "HTTP/1.") done("http1");
        else if (data.length >= 9 && data[3] === 0x04) done("h2c");
        else done("other");
      });
    });
  }).then((peer) => peer ?? "other");
}

/**
 * Resolves once: with what `listen` finds, "nothing" when the connection is refused, else
 * `fallback` (any other error, a close, a timeout); the socket is destroyed either way.
 */
function settle(
  socket: Socket,
  resolve: (peer: Peer | undefined) => void,
  fallback: Peer | undefined,
  listen: (done: (peer: Peer) => void) => void,
): void {
  let settled = false;
  const done = (value: Peer | undefined) => {
    if (settled) return;
    settled = true;
    socket.destroy();
    resolve(value);
  };
  socket.setTimeout(PROBE_TIMEOUT_MS, () => done(fallback));
  listen(done);
  socket.once("error", (error: SystemError) => done(error.code === "ECONNREFUSED" ? "nothing" : fallback));
  socket.once("close", () => done(fallback));
}
