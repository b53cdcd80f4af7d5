# syntax=docker/dockerfile:1
# The ticketgen API (gRPC on PORT, Prometheus on METRICS_PORT). Build from the repository root:
#   docker build -f deploy/docker/api.Dockerfile -t ticketgen-api .
#
# The services run their TypeScript through tsx, as in development and in every test: the code
# has enums (generated protobuf) and constructor parameter properties, which Node's built-in
# type stripping refuses, and compiling would change the package exports the workspace uses.
ARG NODE_IMAGE=node:24-bookworm-slim

# Production dependencies of the API and the shared package only (no CLI, no worker, no dev tools).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# corepack fetches the pnpm pinned in package.json#packageManager. Its signature check fails
# against registry mirrors (as in scripts/setup.sh); the tarball's integrity is still checked.
ENV COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS=0
RUN corepack enable pnpm
# Every workspace manifest, so that the lockfile matches the workspace it was written for.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml ./
COPY packages/api/package.json packages/api/
COPY packages/cli/package.json packages/cli/
COPY packages/render-worker/package.json packages/render-worker/
COPY packages/shared/package.json packages/shared/
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile --prod --filter @ticketgen/api --filter @ticketgen/shared

# tsx is a root devDependency, so the filtered install above leaves it out: install it on its
# own at the versions pnpm-lock.yaml pins (packages/api/test/deploy-manifests.test.ts checks them).
FROM ${NODE_IMAGE} AS tsx
ARG TSX_VERSION=4.23.15
ARG ESBUILD_VERSION=0.28.2
RUN npm install --prefix /opt/tsx --omit=dev --no-audit --no-fund \
      "tsx@${TSX_VERSION}" "esbuild@${ESBUILD_VERSION}" \
 && npm cache clean --force

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
COPY --from=tsx /opt/tsx /opt/tsx
COPY --from=deps /app/node_modules node_modules
COPY --from=deps /app/packages/shared/node_modules packages/shared/node_modules
COPY --from=deps /app/packages/api/node_modules packages/api/node_modules
COPY package.json tsconfig.json tsconfig.base.json ./
COPY packages/shared/package.json packages/shared/
COPY packages/shared/src packages/shared/src
COPY packages/api/package.json packages/api/
COPY packages/api/src packages/api/src
# Migrations: the API applies them at start under a PostgreSQL advisory lock.
COPY packages/api/drizzle packages/api/drizzle
COPY deploy/docker/grpc-health-check.mjs /usr/local/lib/ticketgen/grpc-health-check.mjs
# The local blob store's directory (BLOB_STORE=local), owned by the runtime user so that a
# fresh named volume mounted here inherits that ownership.
RUN mkdir -p /data/blobs && chown 1000:1000 /data/blobs
# Numeric, so that Kubernetes' runAsNonRoot can verify it (the image's "node" user).
USER 1000:1000
ENV PORT=3004 METRICS_PORT=9464 BLOB_DIR=/data/blobs
EXPOSE 3004 9464
# SIGTERM drains: NOT_SERVING, GOAWAY, in-flight calls finish (SHUTDOWN_TIMEOUT_MS), exit 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/usr/local/lib/ticketgen/grpc-health-check.mjs"]
CMD ["node", "--import", "/opt/tsx/node_modules/tsx/dist/loader.mjs", "packages/api/src/main.ts"]
