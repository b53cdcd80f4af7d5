import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface RequestListener {
  /** `http://127.0.0.1:<port>`: where a hostile template points its requests. */
  origin: string;
  /** Every request that reached it, as `METHOD /path`. */
  hits: string[];
  close(): void;
}

/** A real local listener: any request a template manages to make shows up in `hits`. */
export async function startRequestListener(): Promise<RequestListener> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.end("pwned");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => server.close() };
}
