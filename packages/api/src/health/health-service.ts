import { on } from "node:events";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "@ticketgen/shared/gen/health/v1/health_pb";
import type { HealthMonitor } from "./health-monitor.ts";

/**
 * grpc.health.v1.Health. Every service depends on the same PostgreSQL and Redis, so they share
 * one status; "" is the whole server, as Kubernetes' gRPC probe asks by default.
 */
export function healthService(monitor: HealthMonitor, services: readonly string[], drainSignal: AbortSignal): ServiceImpl<typeof Health> {
  const known = new Set(["", ...services]);
  const status = () => (monitor.serving ? Status.SERVING : Status.NOT_SERVING);
  return {
    check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return { status: status() };
    },

    list() {
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status: status() }])) };
    },

    async *watch(req, context) {
      if (!known.has(req.service)) {
        yield { status: Status.SERVICE_UNKNOWN };
        return;
      }
      // Subscribe before reading the status so that no change falls in between.
      const changes = on(monitor, "change", { signal: AbortSignal.any([context.signal, drainSignal]) });
      yield { status: status() };
      try {
        for await (const [serving] of changes) {
          yield { status: serving ? Status.SERVING : Status.NOT_SERVING };
        }
      } catch (error) {
        if ((error as Error).name !== "AbortError") throw error;
      }
    },
  };
}
