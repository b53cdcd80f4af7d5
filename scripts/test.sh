#!/usr/bin/env bash
# The whole test suite, as CI runs it: contract lint, generated code and migrations up to
# date, type check, then every vitest test against real PostgreSQL and Redis. Ends with one
# line "N passed, N failed".
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
install_node_modules
# prometheus for promtool, which lints both services' /metrics output.
ensure_debian_packages poppler-utils zbar-tools prometheus
ensure_redis
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="$PWD/node_modules/.bin:$PATH"

log "lint: ESLint (typescript-eslint, import cycles) and Prettier"
pnpm lint

log "buf lint (STANDARD)"
buf lint

log "generated code is up to date"
buf generate -o "$work/gen"
if ! diff -r "$work/gen/packages/shared/src/gen" packages/shared/src/gen >/dev/null; then
  echo "packages/shared/src/gen is stale: run 'pnpm generate' and commit the result" >&2
  exit 1
fi

log "migrations match the drizzle schema"
cp -r packages/api/drizzle "$work/drizzle"
# drizzle-kit prefixes --out with "./" and exits 0 on errors: give it a relative path and
# accept only its explicit "No schema changes".
out=$(cd packages/api && node_modules/.bin/drizzle-kit generate --dialect postgresql --schema src/db/schema.ts \
  --out "$(realpath --relative-to=. "$work/drizzle")" 2>&1 || true)
if ! grep -q "No schema changes" <<<"$out"; then
  printf '%s\n' "$out" >&2
  echo "packages/api/drizzle is stale: run 'pnpm db:generate' and commit the migration" >&2
  exit 1
fi

log "type check"
tsc -p tsconfig.json --noEmit

log "vitest"
status=0
vitest run --reporter=default --reporter=json --outputFile.json="$work/vitest.json" || status=$?
node -e '
  const r = require(process.argv[1]);
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + (r.numRuntimeErrors ?? 0)} failed`);
' "$work/vitest.json" || { echo "0 passed, 1 failed"; exit 1; }
exit "$status"
