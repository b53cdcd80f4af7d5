import type { DescService } from "@bufbuild/protobuf";
import type { Interceptor, ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "@ticketgen/shared";
import type { CallAuthenticator } from "../auth/authenticate.ts";
import type { RateLimiter } from "../limits/rate-limiter.ts";
import type { ApiMetrics } from "../metrics/api-metrics.ts";
import { authInterceptor } from "./auth-interceptor.ts";
import { errorInterceptor } from "./error-interceptor.ts";
import { loggingInterceptor } from "./logging-interceptor.ts";
import { rateLimitInterceptor } from "./rate-limit-interceptor.ts";
import { validationInterceptor } from "./validation-interceptor.ts";

/** A service and its handlers, as every transport adapter serves them. */
export interface ServedService {
  service: DescService;
  implementation: Partial<ServiceImpl<DescService>>;
}

export function served<S extends DescService>(service: S, implementation: Partial<ServiceImpl<S>>): ServedService {
  return { service, implementation: implementation as Partial<ServiceImpl<DescService>> };
}

/**
 * The one call pipeline, outermost first, that both transports (grpc-js on PORT, connect-node on
 * WEB_PORT) run around every handler, unary and streaming: the log line and metrics see the
 * final code; errors become a gRPC code and an actionable message; the caller is authenticated
 * from the headers before its request is validated; validated requests are rate limited.
 */
export function callPipeline(deps: {
  logger: Logger;
  metrics: ApiMetrics;
  authenticate: CallAuthenticator;
  rateLimiter: RateLimiter;
}): Interceptor[] {
  return [
    loggingInterceptor(deps.logger),
    deps.metrics.interceptor(),
    errorInterceptor(deps.logger),
    authInterceptor(deps.authenticate),
    validationInterceptor,
    rateLimitInterceptor(deps.rateLimiter),
  ];
}
