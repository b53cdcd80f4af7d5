import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { collectDefaultMetrics, Registry } from "prom-client";
import { listen } from "./listen.ts";

/** A registry with the process metrics (CPU, memory, event loop lag, GC) of one service. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  // Gauges named *_total break Prometheus' naming rules (promtool rejects them); the per-type
  // gauges nodejs_active_{handles,requests,resources}{type} carry the same counts.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"])
    registry.removeSingleMetric(name);
  return registry;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Another GET endpoint beside /metrics (a health probe): its status and a plain-text body. */
export type HttpRoute = () => Promise<{ status: number; body: string }>;

/** Prometheus text on GET /metrics, on its own port (METRICS_PORT) so scrapes never queue behind RPCs. */
export async function serveMetrics(
  registry: Registry,
  port: number,
  host = "0.0.0.0",
  routes: Record<string, HttpRoute> = {},
): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = req.url?.split("?")[0] ?? "";
    const route = req.method === "GET" && Object.hasOwn(routes, path) ? routes[path] : undefined;
    if (route) {
      route().then(
        ({ status, body }) => res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" }).end(body),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
      return;
    }
    if (req.method !== "GET" || path !== "/metrics") {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { "content-type": registry.contentType }).end(text),
      (error: unknown) => res.writeHead(500).end(String(error)),
    );
  });
  await listen(server, port, host, "METRICS_PORT");
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
