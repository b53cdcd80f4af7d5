import type { DescService } from "@bufbuild/protobuf";
import { Code, type ConnectError, type Interceptor, type ServiceImpl } from "@connectrpc/connect";
import type { Logger } from "@ticketgen/shared";
import type { CallAuthenticator, HeaderSource } from "../auth/authenticate.ts";
import { METHOD_SCOPES } from "../auth/method-scopes.ts";
import type { RateLimiter } from "../limits/rate-limiter.ts";
import type { ApiMetrics } from "../metrics/api-metrics.ts";
import { authInterceptor } from "./auth-interceptor.ts";
import { errorInterceptor, toConnectError } from "./error-interceptor.ts";
import { callObserver, type FinishedCall } from "./call-observer.ts";
import { logCall } from "./call-log.ts";
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

export interface CallPipeline {
  /** Outermost first: what every transport runs around every handler. */
  interceptors: Interceptor[];
  /**
   * The pipeline's authentication, from the headers alone, for a transport that has them before
   * the body (grpc-js): the refusal to answer at once, logged and counted as the pipeline does,
   * or undefined to go on. The pipeline authenticates again (a verified token is cached).
   */
  refuseEarly(headers: HeaderSource, method: string): Promise<ConnectError | undefined>;
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
}): CallPipeline {
  const log = logCall(deps.logger);
  // The log line and the metrics, from one observer: one more async layer a call costs.
  const finished = (call: FinishedCall) => {
    log(call);
    deps.metrics.recordCall(call);
  };
  return {
    interceptors: [
      callObserver(finished),
      errorInterceptor(deps.logger),
      authInterceptor(deps.authenticate),
      validationInterceptor,
      rateLimitInterceptor(deps.rateLimiter),
    ],
    async refuseEarly(headers, method) {
      // Other methods (health, reflection, unknown paths) are the transport's to answer.
      if (!METHOD_SCOPES.has(method)) return undefined;
      const started = performance.now();
      try {
        await deps.authenticate(headers, method);
        return undefined;
      } catch (error) {
        const refusal = toConnectError(error, deps.logger);
        finished({ method, code: Code[refusal.code], seconds: (performance.now() - started) / 1000 });
        return refusal;
      }
    },
  };
}
