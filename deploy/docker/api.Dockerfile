# syntax=docker/dockerfile:1
# The ticketgen API (gRPC on PORT, Connect and gRPC-Web on WEB_PORT, Prometheus on METRICS_PORT). Build from the repository root:
#   docker build -f deploy/docker/api.Dockerfile -t ticketgen-api .
#
# The image runs the API's bundle (scripts/build.ts) with plain node: no TypeScript loader, and
# only the dependencies the bundle leaves external are installed.
ARG NODE_IMAGE=node:24-bookworm-slim

# The workspace with its dev dependencies (esbuild, tsx), to bundle the API.
FROM ${NODE_IMAGE} AS build
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
# The local fixes to dependencies (pnpm-workspace.yaml, patchedDependencies) the lockfile expects.
COPY patches patches/
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    pnpm install --frozen-lockfile --filter . --filter @ticketgen/api --filter @ticketgen/shared
COPY tsconfig.json tsconfig.base.json ./
COPY scripts/build.ts scripts/
COPY packages/shared/src packages/shared/src
COPY packages/api/src packages/api/src
RUN pnpm build api
# What the bundle imports at run time (PGlite, for the embedded database; grpc-js, its health
# and reflection packages, which read their .proto files): the API's
# production dependencies, nothing of the build's.
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    rm -rf node_modules packages/*/node_modules \
 && pnpm install --frozen-lockfile --prod --filter @ticketgen/api

FROM ${NODE_IMAGE}
# The fonts badges and labels are drawn in (packages/api/src/print/card-fonts.ts): Noto for names
# in the scripts the built-in templates reach, DejaVu Sans Mono for ticket codes (~140 MB, most
# of it CJK).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-dejavu-core fonts-noto-core fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/api/node_modules packages/api/node_modules
COPY --from=build /app/packages/api/dist packages/api/dist
# Migrations: the API applies them at start under a PostgreSQL advisory lock.
COPY packages/api/drizzle packages/api/drizzle
COPY deploy/docker/grpc-health-check.mjs /usr/local/lib/ticketgen/grpc-health-check.mjs
# The local blob store's directory (BLOB_STORE=local), owned by the runtime user so that a
# fresh named volume mounted here inherits that ownership.
RUN mkdir -p /data/blobs && chown 1000:1000 /data/blobs
# Numeric, so that Kubernetes' runAsNonRoot can verify it (the image's "node" user).
USER 1000:1000
ENV PORT=3004 WEB_PORT=3005 METRICS_PORT=9464 BLOB_DIR=/data/blobs
EXPOSE 3004 3005 9464
# SIGTERM drains: NOT_SERVING, GOAWAY, in-flight calls finish (SHUTDOWN_TIMEOUT_MS), exit 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/usr/local/lib/ticketgen/grpc-health-check.mjs"]
# The young generation of `pnpm start:api`: fewer scavenges per call under load
# (bench/optimisations.md, section 23).
CMD ["node", "--max-semi-space-size=32", "packages/api/dist/main.mjs"]
