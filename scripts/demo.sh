#!/usr/bin/env bash
# The main job: install, start the API and a render worker on local defaults (embedded PGlite,
# local Redis, PDFs under .data/blobs), issue real tickets through gRPC and save their PDFs.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
install_node_modules
ensure_debian_packages
ensure_redis
exec corepack pnpm --silent demo "$@"
