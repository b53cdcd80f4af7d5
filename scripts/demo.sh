#!/usr/bin/env bash
# The main job: install, start the API on local defaults (embedded PGlite, local Redis) and
# issue real tickets through gRPC.
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
install_node_modules
ensure_redis
exec corepack pnpm --silent demo "$@"
