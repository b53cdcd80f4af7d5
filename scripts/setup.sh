# Sourced by demo.sh and test.sh: installs everything the project needs on a fresh machine
# (Node 20 + npm are assumed; pnpm comes through corepack, buf from its npm package).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# corepack's signature check fails against this registry mirror; pnpm's version is pinned in
# package.json#packageManager and its tarball integrity is still checked by npm.
export COREPACK_ENABLE_DOWNLOAD_PROMPT=0 COREPACK_INTEGRITY_KEYS=0
pnpm() { corepack pnpm "$@"; }
# Also puts a pnpm shim on PATH for people (and nested scripts) who type pnpm directly.
corepack enable pnpm 2>/dev/null || true

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

install_node_modules() {
  log "installing dependencies (pnpm $(pnpm --version))"
  pnpm install --frozen-lockfile --reporter=silent
}

# Redis is a local service on this project's machines; start one if it is installed but down.
ensure_redis() {
  local url="${REDIS_URL:-redis://127.0.0.1:6379}"
  if node -e "const n=require('net');const u=new URL(process.argv[1]);const s=n.connect(+u.port||6379,u.hostname,()=>process.exit(0));s.on('error',()=>process.exit(1))" "$url"; then
    return
  fi
  if command -v redis-server >/dev/null; then
    log "starting redis-server on 127.0.0.1:6379"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    sleep 0.5
  else
    echo "Redis is not reachable at $url: start one or set REDIS_URL" >&2
    exit 1
  fi
}

# The fonts tickets are drawn with, the smallest set of Debian packages that covers a name in any
# of the scripts the built-in templates promise (deploy/docker/worker.Dockerfile installs the same):
# DejaVu Sans Mono for ticket codes; Noto Sans for Latin, Greek, Cyrillic, Arabic, Hebrew,
# Devanagari, Bengali and Thai (fonts-noto-core, the only Noto package with Hebrew); Chinese,
# Japanese and Korean (fonts-noto-cjk); colour emoji (fonts-noto-color-emoji).
FONT_PACKAGES=(fonts-dejavu-core fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji)

# Debian packages: Chromium and fonts for the render workers; poppler and zbar for the tests,
# which read rendered PDFs and scan their QR codes the way a guest's phone would.
ensure_debian_packages() {
  local packages=(chromium "${FONT_PACKAGES[@]}" "$@")
  if dpkg -s "${packages[@]}" >/dev/null 2>&1; then return; fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  log "installing ${packages[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
}
