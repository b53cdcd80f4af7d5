# syntax=docker/dockerfile:1
# The ticketgen render worker: BullMQ consumer driving Debian's Chromium (Prometheus, /livez and
# /readyz on METRICS_PORT). Build from the repository root:
#   docker build -f deploy/docker/worker.Dockerfile -t ticketgen-render-worker .
#
# The image runs the worker's bundle (scripts/build.ts) with plain node: the TypeScript loader
# cost the worker ~60 MB of its memory budget (bench/optimisations.md, section 9).
ARG NODE_IMAGE=node:24-bookworm-slim

# The workspace with its dev dependencies (esbuild, tsx), to bundle the worker.
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
    pnpm install --frozen-lockfile --filter . --filter @ticketgen/render-worker --filter @ticketgen/shared
COPY tsconfig.json tsconfig.base.json ./
COPY scripts/build.ts scripts/
COPY packages/shared/src packages/shared/src
COPY packages/render-worker/src packages/render-worker/src
RUN pnpm build render-worker
# What the bundle imports at run time (playwright-core, which reads its own files): the
# worker's production dependencies, nothing of the build's.
RUN --mount=type=cache,id=pnpm-store,target=/root/.local/share/pnpm/store \
    rm -rf node_modules packages/*/node_modules \
 && pnpm install --frozen-lockfile --prod --filter @ticketgen/render-worker

FROM ${NODE_IMAGE}
# Debian's Chromium (playwright-core drives it; no browser download), the fonts of
# scripts/setup.sh's FONT_PACKAGES (names in Latin, Greek, Cyrillic, Arabic, Hebrew, Devanagari,
# Bengali, Thai, Chinese, Japanese, Korean and colour emoji; ~145 MB, most of it CJK), and tini
# as PID 1: Chromium's helper processes outlive a recycled browser and need reaping, which node
# does not do. EXTRA_FONT_PACKAGES: more scripts for tenants' templates, e.g. "fonts-noto-extra".
ARG EXTRA_FONT_PACKAGES=""
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      chromium fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji tini ${EXTRA_FONT_PACKAGES} \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/packages/render-worker/node_modules packages/render-worker/node_modules
COPY --from=build /app/packages/render-worker/dist packages/render-worker/dist
# Launches Chromium so that it dies with the worker (PR_SET_PDEATHSIG through util-linux's setpriv).
COPY packages/render-worker/bin packages/render-worker/bin
COPY templates templates
# The local blob store's directory (BLOB_STORE=local), owned by the runtime user so that a
# fresh named volume mounted here inherits that ownership.
RUN mkdir -p /data/blobs && chown 1000:1000 /data/blobs
# Numeric, so that Kubernetes' runAsNonRoot can verify it (the image's "node" user).
USER 1000:1000
ENV METRICS_PORT=9465 BLOB_DIR=/data/blobs TEMPLATES_PATH=/app/templates \
    CHROMIUM_EXECUTABLE_PATH=/usr/bin/chromium
EXPOSE 9465
# SIGTERM drains: no new jobs, renders in progress finish (SHUTDOWN_TIMEOUT_MS, then they are
# handed back), Chromium closes, exit 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.METRICS_PORT}/readyz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The heap of `pnpm start:worker`: V8 collects chunk HTML and split PDFs before the heap
# balloons (bench/optimisations.md, sections 4 and 9).
CMD ["node", "--max-old-space-size=256", "--max-semi-space-size=4", "packages/render-worker/dist/main.mjs"]
