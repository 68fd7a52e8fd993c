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
node --test build-test/
"$repo/conformance/run" --expect-passed 128 --expect-na-capabilities "" -- node "$here/dist/conformance-adapter.js"
