import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { waitFor } from "./stack.ts";

const run = promisify(execFile);

export interface RedisCluster {
  ports: number[];
  /** REDIS_CLUSTER_NODES for this cluster. */
  seeds: string;
  /** `redis-cli` against one node, e.g. `cli(port, "cluster", "keyslot", key)`; stdout trimmed. */
  cli(port: number, ...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

/** Ports free on loopback right now, all different (every listener stays open until all are chosen). */
async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
    }
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/**
 * A Redis Cluster of `masters` masters and no replicas on loopback, from Debian's redis-server,
 * with every port (clients' and the cluster bus's) picked free and its state in a scratch directory.
 */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), "ticketgen-redis-cluster-"));
  const all = await freePorts(2 * masters);
  const ports = all.slice(0, masters);
  const cli = async (port: number, ...args: string[]) =>
    (await run("redis-cli", ["-h", "127.0.0.1", "-p", String(port), ...args])).stdout.trim();
  const servers: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      servers.map(async (server) => {
        if (server.exitCode !== null || server.signalCode !== null) return undefined;
        const exited = new Promise((resolve) => server.once("exit", resolve));
        server.kill("SIGKILL");
        return exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    ports.forEach((port, i) => {
      const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"];
      // The bus port is picked too: the default, port + 10000, may be taken or beyond 65535.
      args.push(
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        join(dir, `nodes-${port}.conf`),
        "--cluster-port",
        String(all[masters + i]),
      );
      servers.push(spawn("redis-server", args, { stdio: "ignore" }));
    });
    for (const port of ports)
      await waitFor(
        () =>
          cli(port, "ping").then(
            (r) => (r === "PONG" ? r : undefined),
            () => undefined,
          ),
        10_000,
        `redis-server on ${port}`,
      );
    await run("redis-cli", ["--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes"]);
    for (const port of ports) {
      await waitFor(
        async () => ((await cli(port, "cluster", "info")).includes("cluster_state:ok") ? true : undefined),
        20_000,
        `cluster_state:ok on ${port}`,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ports, seeds: ports.map((p) => `127.0.0.1:${p}`).join(","), cli, stop };
}
