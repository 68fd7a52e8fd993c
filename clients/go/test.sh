#!/bin/sh
# Builds the Go client, vets it, runs its unit tests and the conformance suite against its
# adapter. -mod=readonly makes go.sum's pins binding: nothing is resolved anew.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"
export GOFLAGS="-mod=readonly ${GOFLAGS:-}"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/riverboat-conformance-adapter" ./cmd/riverboat-conformance-adapter
go vet ./...
go test -count=1 ./...
expect="--expect-passed 144 --expect-na-capabilities="
"$repo/conformance/run" $expect -- "$bin/riverboat-conformance-adapter"
# Again with River's tables in a schema of their own, which the adapter is told to use.
"$repo/conformance/run" $expect --schema conformance_custom -- "$bin/riverboat-conformance-adapter"
