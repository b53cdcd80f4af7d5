import type * as grpc from "@grpc/grpc-js";
import { HealthImplementation, type ServingStatus } from "grpc-health-check";
import type { HealthMonitor } from "./health-monitor.ts";

export interface GrpcHealth {
  /** Adds grpc.health.v1.Health to a grpc-js server. */
  addToServer(server: grpc.Server): void;
  /** Ends every Watch call, after the NOT_SERVING the drain set, so that the drain waits on none. */
  endWatches(): void;
}

/**
 * grpc.health.v1.Health from grpc-health-check, fed by the health monitor. Each served service
 * is SERVING while the dependencies it names answer; "" (the whole server, what Kubernetes'
 * gRPC probe asks by default) needs every dependency. Everything is NOT_SERVING once the drain
 * starts.
 */
export function grpcHealth(monitor: HealthMonitor, dependenciesOf: Readonly<Record<string, readonly string[]>>): GrpcHealth {
  const statusOf = (service: string): ServingStatus => {
    const serving = service === "" ? monitor.serving : monitor.servingWith(dependenciesOf[service]!);
    return serving ? "SERVING" : "NOT_SERVING";
  };
  const names = ["", ...Object.keys(dependenciesOf)];
  const current = new Map(names.map((name) => [name, statusOf(name)]));
  const implementation = new HealthImplementation(Object.fromEntries(current));
  // grpc-health-check sends every setStatus to the watchers, a repeated status too.
  monitor.on("change", () => {
    for (const name of names) {
      const status = statusOf(name);
      if (current.get(name) === status) continue;
      current.set(name, status);
      implementation.setStatus(name, status);
    }
  });

  const watches = new Set<grpc.ServerWritableStream<unknown, unknown>>();
  return {
    addToServer(server) {
      implementation.addToServer({
        addService(service, handlers) {
          const watch = handlers.watch as grpc.handleServerStreamingCall<unknown, unknown>;
          server.addService(service, {
            ...handlers,
            watch(call: grpc.ServerWritableStream<unknown, unknown>) {
              watches.add(call);
              call.once("cancelled", () => watches.delete(call));
              call.once("finish", () => watches.delete(call));
              watch(call);
            },
          });
        },
      });
    },
    endWatches() {
      for (const call of watches) call.end();
      watches.clear();
    },
  };
}
