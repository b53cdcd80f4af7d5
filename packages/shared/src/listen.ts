import type { Server } from "node:net";
import { EXIT_CONFIG, StartupError } from "./startup-error.ts";

/** What Node's listen errors mean to whoever sets the port. */
const LISTEN_PROBLEMS: Record<string, (address: string, setting: string) => string> = {
  EADDRINUSE: (address, setting) => `${address} is already in use by another process; stop that process or set ${setting} to a free port`,
  EACCES: (address, setting) =>
    `not allowed to listen on ${address} (ports below 1024 need privileges); set ${setting} to a port above 1023`,
  EADDRNOTAVAIL: (address) => `${address} is not an address of this machine`,
};

/**
 * Listens on host:port. A port that is taken or forbidden fails start-up with a StartupError
 * naming `setting` (the variable that chose the port) and the address.
 */
export function listen(server: Server, port: number, host: string, setting: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => {
      const problem = error.code === undefined ? undefined : LISTEN_PROBLEMS[error.code];
      const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
      reject(problem ? new StartupError(`${setting}: ${problem(address, setting)}`, EXIT_CONFIG, { cause: error }) : error);
    };
    server.once("error", failed);
    server.listen(port, host, () => {
      server.off("error", failed);
      resolve();
    });
  });
}
