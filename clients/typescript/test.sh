#!/bin/sh
# Installs the pinned dependencies, builds the TypeScript client, runs its unit tests and
# the conformance suite against its adapter.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
npm run --silent build
npm run --silent build:test
# The unit tests that touch a database use a private PostgreSQL cluster, migrated to River's
# main line in public and in my_schema; each test clones that database.
riverboat="$repo/.venv/bin/riverboat"
db=$(mktemp -d)
chmod 755 "$db"  # the server may run as another user, which must be able to enter it
trap '"$riverboat" dev-db stop --data-dir "$db/cluster" >/dev/null 2>&1 || true; rm -rf "$db"' EXIT
url=$("$riverboat" dev-db start --data-dir "$db/cluster")
"$repo/.venv/bin/python" -c 'import sys, psycopg; psycopg.connect(sys.argv[1], autocommit=True).execute("CREATE SCHEMA my_schema")' "$url"
"$riverboat" migrate up --database-url "$url" --line main >/dev/null
"$riverboat" migrate up --database-url "$url" --line main --schema my_schema >/dev/null
RIVERBOAT_TEST_DATABASE_URL="$url" node --test build-test/
expect="--expect-passed 144 --expect-na-capabilities="
"$repo/conformance/run" $expect -- node "$here/dist/conformance-adapter.js"
# Again with River's tables in a schema of their own, which the adapter is told to use.
"$repo/conformance/run" $expect --schema conformance_custom -- node "$here/dist/conformance-adapter.js"
