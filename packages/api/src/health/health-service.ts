import { on } from "node:events";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type Health, HealthCheckResponse_ServingStatus as Status } from "@ticketgen/shared/gen/health/v1/health_pb";
import type { HealthMonitor } from "./health-monitor.ts";

/**
 * grpc.health.v1.Health. Each served service is SERVING while the dependencies it names answer;
 * "" (the whole server, what Kubernetes' gRPC probe asks by default) needs every dependency.
 * Everything is NOT_SERVING once the drain starts.
 */
export function healthService(
  monitor: HealthMonitor,
  dependenciesOf: Readonly<Record<string, readonly string[]>>,
  drainSignal: AbortSignal,
): ServiceImpl<typeof Health> {
  const statusOf = (service: string): Status | undefined => {
    if (service === "") return monitor.serving ? Status.SERVING : Status.NOT_SERVING;
    const dependencies = Object.hasOwn(dependenciesOf, service) ? dependenciesOf[service] : undefined;
    if (!dependencies) return undefined;
    return monitor.servingWith(dependencies) ? Status.SERVING : Status.NOT_SERVING;
  };
  const names = ["", ...Object.keys(dependenciesOf)];

  return {
    check(req) {
      const status = statusOf(req.service);
      if (status === undefined) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return { status };
    },

    list() {
      return { statuses: Object.fromEntries(names.map((name) => [name, { status: statusOf(name)! }])) };
    },

    async *watch(req, context) {
      const signal = AbortSignal.any([context.signal, drainSignal]);
      // Subscribe before reading the status so that no change falls in between.
      const changes = on(monitor, "change", { signal });
      let last = statusOf(req.service) ?? Status.SERVICE_UNKNOWN;
      yield { status: last };
      try {
        // An unknown service stays unknown (the set is fixed), but the spec keeps the call open.
        for await (const _ of changes) {
          const status = statusOf(req.service) ?? Status.SERVICE_UNKNOWN;
          if (status === last) continue;
          last = status;
          yield { status };
        }
      } catch (error) {
        if ((error as Error).name !== "AbortError") throw error;
      }
    },
  };
}
