#!/bin/sh
# Builds the Rust client, runs its unit tests and the conformance suite against its adapter.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$here"
cargo build --locked --quiet --bins
cargo test --locked --quiet
"$repo/conformance/run" --expect-passed 144 --expect-na-capabilities "" -- "$here/target/debug/riverboat-conformance-adapter"
